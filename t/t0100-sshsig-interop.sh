#!/bin/sh
test_description='statement and commit signatures verify with ssh-keygen -Y and git'
. ./test-lib.sh

NS=dmlctl-statement@dmlctl.org
DATA=$TEST_DIRECTORY/data/sshsig

if ! command -v ssh-keygen >/dev/null 2>&1; then
	say "# skipping: ssh-keygen not found"
	test_done
fi

# ssh-keygen -Y exits 255 when a signature does not verify, which
# test_must_fail would take for a crash: this asserts exactly that status.
ssh_keygen_refuses() {
	test_expect_exit 255 ssh-keygen "$@"
}

# The entry's statement and its signature, straight from the ledger commit.
extract() {
	git -C repo cat-file blob "$1:statement" >statement &&
	git -C repo cat-file blob "$1:statement.sig" >statement.sig
}

test_expect_success 'setup: a ledger with a note signed by dmlctl' '
	test_init_repo repo &&
	(cd repo && dmlctl -q ledger note -k founder -m "signed by dmlctl" >/dev/null) &&
	extract refs/dml/ledger &&
	test_grep "^type note$" statement &&
	test_grep "^-----BEGIN SSH SIGNATURE-----$" statement.sig &&
	printf "founder@example.com namespaces=\"%s\" %s\n" "$NS" \
		"$(dmlctl key export founder)" >allowed_signers
'

test_expect_success 'ssh-keygen -Y verify accepts the statement signature' '
	ssh-keygen -Y verify -f allowed_signers -I founder@example.com -n "$NS" \
		-s statement.sig <statement >out 2>&1 &&
	test_grep "Good \"$NS\" signature for founder@example.com" out
'

test_expect_success 'ssh-keygen -Y check-novalidate accepts it too' '
	ssh-keygen -Y check-novalidate -n "$NS" -s statement.sig <statement >out 2>&1 &&
	test_grep "Good \"$NS\" signature" out
'

test_expect_success 'ssh-keygen -Y find-principals names the author' '
	ssh-keygen -Y find-principals -f allowed_signers -s statement.sig >out &&
	echo founder@example.com >expect &&
	test_cmp expect out
'

test_expect_success 'the genesis statement verifies as well' '
	extract refs/dml/ledger~1 &&
	test_grep "^type ledger.genesis$" statement &&
	ssh-keygen -Y verify -f allowed_signers -I founder@example.com -n "$NS" \
		-s statement.sig <statement >/dev/null 2>&1
'

test_expect_success 'ssh-keygen refuses another namespace, principal or statement' '
	extract refs/dml/ledger &&
	ssh_keygen_refuses -Y check-novalidate -n git -s statement.sig \
		<statement >/dev/null 2>&1 &&
	ssh_keygen_refuses -Y verify -f allowed_signers -I someone@example.com \
		-n "$NS" -s statement.sig <statement >/dev/null 2>&1 &&
	sed "s/signed by dmlctl/signed by someone else/" statement >forged &&
	! cmp -s statement forged &&
	ssh_keygen_refuses -Y verify -f allowed_signers -I founder@example.com \
		-n "$NS" -s statement.sig <forged >/dev/null 2>&1
'

test_expect_success 'an allowed-signers line limited to "git" does not admit statements' '
	printf "founder@example.com namespaces=\"git\" %s\n" \
		"$(dmlctl key export founder)" >git_signers &&
	ssh_keygen_refuses -Y verify -f git_signers -I founder@example.com \
		-n "$NS" -s statement.sig <statement >/dev/null 2>&1
'

test_expect_success 'git verify-commit accepts the ledger commits' '
	dmlctl -C repo ledger allowed-signers >git_allowed &&
	git -C repo -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$PWD/git_allowed" \
		verify-commit refs/dml/ledger 2>out &&
	git -C repo -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$PWD/git_allowed" \
		verify-commit refs/dml/ledger~1 2>>out &&
	test_grep "Good \"git\" signature" out
'

test_expect_success 'a key imported from ssh-keygen signs what ssh-keygen verifies' '
	cp "$DATA/test_ed25519" id_test &&
	chmod 600 id_test &&
	dmlctl -q key import --no-passphrase --name sshtest id_test >/dev/null &&
	dmlctl key export sshtest >exported &&
	cut -d" " -f1,2 "$DATA/test_ed25519.pub" >expect &&
	cut -d" " -f1,2 exported >actual &&
	test_cmp expect actual &&
	dmlctl -C repo -q key add -k founder sshtest >/dev/null &&
	(cd repo && dmlctl -q ledger note -k sshtest -m "signed by an ssh-keygen key" >/dev/null) &&
	extract refs/dml/ledger &&
	printf "test@example.com namespaces=\"%s\" %s\n" "$NS" \
		"$(cat "$DATA/test_ed25519.pub")" >test_signers &&
	ssh-keygen -Y verify -f test_signers -I test@example.com -n "$NS" \
		-s statement.sig <statement >/dev/null 2>&1 &&
	dmlctl -C repo ledger verify >/dev/null
'

test_done
