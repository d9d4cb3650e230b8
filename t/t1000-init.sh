#!/bin/sh
test_description='dmlctl init: new and adopted repositories, the genesis entry, key choice, finding the repository'
. ./test-lib.sh

# The key ID of a key in the key directory.
key_id() {
	dmlctl key show "$1" >key-show.out &&
	sed -n 's/^id  *//p' key-show.out
}

# The author of a repository's genesis entry.
genesis_author() {
	dmlctl -C "$1" ledger show 0 >genesis-show.out &&
	sed -n 's/^author //p' genesis-show.out
}

test_line_count_1() {
	test "$(wc -l <"$1")" -eq 1
}

test_must_be_empty() {
	if [ -s "$1" ]; then
		say "test_must_be_empty: $1 is not empty:" >&4
		sed "s/^/|	/" "$1" >&4
		return 1
	fi
}

# Run a command in a session of its own, without a controlling terminal, so
# that it cannot ask for a passphrase on /dev/tty even when the tests are run
# from a terminal.
without_tty() {
	"$PYTHON" -c 'import os, sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

test_expect_success 'init without any key fails with a hint and creates nothing' '
	test_expect_exit 2 dmlctl init nokey 2>err &&
	test_grep "no signing key" err &&
	test_grep "dmlctl key generate" err &&
	test ! -e nokey
'

test_expect_success 'init without a passphrase for an encrypted key creates nothing' '
	printf "secret\n" >pass &&
	DMLCTL_PASSPHRASE_FILE=pass dmlctl -q key generate locked >/dev/null &&
	test_expect_exit 128 without_tty dmlctl init -k locked nopass 2>err &&
	test_grep "passphrase" err &&
	test ! -e nopass &&
	printf "wrong\n" >wrong &&
	DMLCTL_PASSPHRASE_FILE=wrong test_expect_exit 128 dmlctl init -k locked wrongpass 2>err &&
	test_grep "wrong passphrase" err &&
	test ! -e wrongpass
'

test_expect_success 'init creates a repository with a work tree and a genesis entry' '
	test_key founder &&
	dmlctl init -k founder plain >out &&
	test_grep "^Initialized dmlctl ledger .plain. in .*/plain/\.git/$" out &&
	test -d plain/.git &&
	test "$(git -C plain rev-parse --is-bare-repository)" = false &&
	git -C plain rev-parse --verify -q refs/dml/ledger >/dev/null &&
	git -C plain rev-list refs/dml/ledger >commits &&
	test_line_count_1 commits &&
	dmlctl -C plain ledger show 0 >show &&
	test_grep "^entry 0$" show &&
	test_grep "^type ledger.genesis$" show &&
	test_grep "^ledger sha256:0\{64\}$" show &&
	! grep "^seq " show &&
	! grep "^prev " show &&
	test_grep "^name plain$" show &&
	sed -n "s/^genesis  *//p" out >want &&
	dmlctl -C plain --json ledger show 0 >show.json &&
	"$PYTHON" -c "import json, sys; print(json.load(sys.stdin)[\"id\"])" <show.json >got &&
	test_cmp want got &&
	dmlctl -C plain ledger verify
'

test_expect_success 'the genesis commit links entry 0: its ID and the first chain value' '
	id=$(cat want) &&
	git -C plain cat-file commit refs/dml/ledger >commit &&
	sed "1,/^\$/d" commit >got &&
	"$PYTHON" - "$id" >expect <<-\EOF &&
	import hashlib, sys
	i = sys.argv[1]
	c = hashlib.sha256(bytes(32) + bytes.fromhex(i[len("sha256:"):])).hexdigest()
	sys.stdout.write("ledger.genesis #0\n\nEntry: %s\nChain: sha256:%s\n" % (i, c))
	EOF
	test_cmp expect got &&
	founder=$(genesis_author plain) &&
	test_grep "^committer dmlctl <$founder> " commit
'

test_expect_success 'init creates no branch and leaves the work tree empty' '
	git -C plain show-ref >refs &&
	sed "/ refs\/dml\//d" refs >other-refs &&
	test_must_be_empty other-refs &&
	git -C plain status --porcelain >status &&
	test_must_be_empty status
'

test_expect_success 'init --bare creates a bare repository' '
	dmlctl init -k founder --bare hub.git >out &&
	test_grep "^Initialized dmlctl ledger .* in .*/hub.git/$" out &&
	test "$(git -C hub.git rev-parse --is-bare-repository)" = true &&
	test ! -e hub.git/.git &&
	dmlctl -C hub.git ledger verify &&
	DMLCTL_DIR=hub.git dmlctl ledger log >log &&
	test_grep "ledger.genesis" log
'

test_expect_success 'setup: a git repository with commits, a dirty index and untracked files' '
	git init -q project &&
	(
		cd project &&
		echo one >tracked &&
		git add tracked &&
		git commit -q -m one &&
		git branch side &&
		git tag v1 &&
		echo two >>tracked &&
		git commit -q -a -m two &&
		echo staged >staged &&
		git add staged &&
		echo changed >>tracked &&
		echo untracked >untracked
	) &&
	git -C project rev-parse HEAD >head.before &&
	git -C project status --porcelain >status.before &&
	git -C project show-ref >refs.before &&
	git -C project symbolic-ref HEAD >sym.before &&
	cp project/.git/index index.before &&
	test_grep "^A  staged$" status.before &&
	test_grep "^?? untracked$" status.before
'

test_expect_success 'init adopts an existing repository without touching its branches, index or work tree' '
	dmlctl init -k founder project >out &&
	test_grep "^Adopted dmlctl ledger .project. in .*/project/\.git/$" out &&
	git -C project rev-parse HEAD >head.after &&
	test_cmp head.before head.after &&
	git -C project status --porcelain >status.after &&
	test_cmp status.before status.after &&
	git -C project symbolic-ref HEAD >sym.after &&
	test_cmp sym.before sym.after &&
	git -C project show-ref >refs.all &&
	sed "/ refs\/dml\//d" refs.all >refs.after &&
	test_cmp refs.before refs.after &&
	grep " refs/dml/ledger$" refs.all &&
	cmp index.before project/.git/index &&
	echo untracked >want &&
	test_cmp want project/untracked &&
	dmlctl -C project ledger verify
'

test_expect_success 'init from inside a repository adopts it' '
	git init -q inside &&
	mkdir inside/sub &&
	(
		cd inside/sub &&
		dmlctl init -k founder >../../out
	) &&
	test_grep "^Adopted dmlctl ledger" out &&
	test ! -e inside/sub/.git &&
	dmlctl -C inside ledger verify
'

test_expect_success 'init twice fails and leaves the ledger unchanged' '
	git -C plain rev-parse refs/dml/ledger >ledger.before &&
	test_expect_exit 128 dmlctl init -k founder plain 2>err &&
	test_grep "already has a ledger" err &&
	test_expect_exit 128 dmlctl init -k founder --name other plain 2>err &&
	test_expect_exit 128 dmlctl -C plain init -k founder 2>err &&
	test_grep "already has a ledger" err &&
	git -C plain rev-parse refs/dml/ledger >ledger.after &&
	test_cmp ledger.before ledger.after &&
	dmlctl -C plain ledger log >log &&
	test "$(wc -l <log)" -eq 1
'

test_expect_success 'setup: three keys' '
	test_key k1 && test_key k2 && test_key k3 &&
	key_id k1 >id1 && key_id k2 >id2 && key_id k3 >id3 &&
	test_grep "^ed25519:[0-9a-f]\{64\}$" id1 &&
	! cmp -s id1 id2
'

test_expect_success 'with several keys and none chosen init is a usage error' '
	test_expect_exit 2 dmlctl init several 2>err &&
	test_grep "several keys and none chosen" err &&
	test ! -e several
'

test_expect_success '-k beats DMLCTL_KEY' '
	DMLCTL_KEY=k1 dmlctl -q init -k k2 sel-k >/dev/null &&
	genesis_author sel-k >got &&
	test_cmp id2 got
'

test_expect_success 'DMLCTL_KEY beats git config dml.signingKey' '
	git config --global dml.signingKey k1 &&
	DMLCTL_KEY=k3 dmlctl -q init sel-env >/dev/null &&
	genesis_author sel-env >got &&
	test_cmp id3 got
'

test_expect_success 'the global git config dml.signingKey is used without -k or DMLCTL_KEY' '
	dmlctl -q init sel-global >/dev/null &&
	genesis_author sel-global >got &&
	test_cmp id1 got
'

test_expect_success 'the repository config dml.signingKey beats the global one' '
	git init -q sel-repo &&
	git -C sel-repo config dml.signingKey k2 &&
	dmlctl -q -C sel-repo init >/dev/null &&
	genesis_author sel-repo >got &&
	test_cmp id2 got &&
	dmlctl -C sel-repo ledger note -m "by the repository key" >out &&
	dmlctl -C sel-repo ledger show 1 >show &&
	sed -n "s/^author //p" show >got &&
	test_cmp id2 got &&
	git config --global --unset dml.signingKey
'

test_expect_success 'the only key in the key directory is used' '
	{ git config --global --unset dml.signingKey || test $? = 5; } &&
	mkdir onlykeys &&
	cp "$DMLCTL_KEYS/k3.key" "$DMLCTL_KEYS/k3.pub" onlykeys/ &&
	DMLCTL_KEYS=$PWD/onlykeys dmlctl -q init sel-only >/dev/null &&
	genesis_author sel-only >got &&
	test_cmp id3 got
'

test_expect_success 'a key given by path is used' '
	dmlctl -q init -k "$DMLCTL_KEYS/k1.key" sel-path >/dev/null &&
	genesis_author sel-path >got &&
	test_cmp id1 got
'

test_expect_success 'an unknown key is an error and creates nothing' '
	test_expect_exit 128 dmlctl init -k nosuchkey sel-none 2>err &&
	test_grep "no key named .nosuchkey." err &&
	test ! -e sel-none
'

test_expect_success '-C, DMLCTL_DIR and a subdirectory find the repository' '
	dmlctl -C plain ledger log >want &&
	test_grep "ledger.genesis" want &&
	mkdir -p plain/a/b &&
	dmlctl -C plain/a/b ledger log >got &&
	test_cmp want got &&
	(cd plain/a/b && dmlctl ledger log) >got &&
	test_cmp want got &&
	DMLCTL_DIR=plain dmlctl ledger log >got &&
	test_cmp want got &&
	DMLCTL_DIR=$PWD/plain/.git dmlctl ledger log >got &&
	test_cmp want got &&
	(cd plain/a && DMLCTL_DIR=../../hub.git dmlctl ledger log) >got &&
	dmlctl -C hub.git ledger log >want &&
	test_cmp want got
'

test_expect_success '-C a missing directory fails' '
	test_expect_exit 128 dmlctl -C no-such-dir ledger log 2>err &&
	test_grep "cannot change to .no-such-dir." err &&
	test_expect_exit 2 dmlctl -C 2>err &&
	test_grep "requires a directory" err
'

test_expect_success 'DMLCTL_DIR naming something that is not a repository fails' '
	mkdir notrepo &&
	DMLCTL_DIR=notrepo test_expect_exit 128 dmlctl ledger log 2>err &&
	test_grep "not a git repository" err
'

test_expect_success 'commands outside any repository say so' '
	mkdir -p outside/deeper &&
	(
		cd outside/deeper &&
		test_expect_exit 128 dmlctl ledger log 2>../../err1 &&
		test_expect_exit 128 dmlctl ledger verify 2>../../err2 &&
		test_expect_exit 128 dmlctl key list --members 2>../../err3 &&
		test_expect_exit 128 dmlctl ledger note -k k1 -m hello 2>../../err4
	) &&
	test_grep "not a git repository" err1 &&
	test_grep "not a git repository" err2 &&
	test_grep "not a git repository" err3 &&
	test_grep "not a git repository" err4 &&
	test ! -e outside/.git && test ! -e outside/deeper/.git
'

test_expect_success 'a git repository without a ledger says so' '
	git init -q noledger &&
	test_expect_exit 128 dmlctl -C noledger ledger log 2>err &&
	test_grep "no ledger in this repository" err &&
	test_expect_exit 128 dmlctl -C noledger ledger verify 2>err &&
	test_grep "no ledger in this repository" err &&
	test_expect_exit 128 dmlctl -C noledger ledger note -k k1 -m x 2>err &&
	test_grep "no ledger" err
'

test_expect_success '--name, --founder-roles and --allow are recorded in the genesis' '
	dmlctl -q init -k k1 --name "Heart study 2" --founder-roles admin,steward \
		--allow key.add:admin --allow key.add:steward --allow key.revoke:admin \
		--allow round.open:steward policy >/dev/null &&
	dmlctl -C policy ledger show 0 >show &&
	sed -n "/^name /,\$p" show >got &&
	{
		echo "name Heart study 2" &&
		echo "member $(cat id1) admin,steward" &&
		echo "allow key.add admin" &&
		echo "allow key.add steward" &&
		echo "allow key.revoke admin" &&
		echo "allow round.open steward"
	} >want &&
	test_cmp want got &&
	dmlctl -C policy key list --members >members &&
	test_grep " active  *admin,steward$" members
'

test_expect_success 'many long --founder-roles are recorded in full' '
	# 16 roles of 40 characters: a member line of 735 bytes, more than
	# the buffer that used to cut it short without a word.
	for i in 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16
	do
		echo "role-$i-abcdefghijklmnopqrstuvwxyz012345"
	done >roles &&
	test "$(awk "length(\$0) != 40" roles | wc -l)" -eq 0 &&
	roles=$(paste -s -d, roles) &&
	test ${#roles} -eq 655 &&
	dmlctl -q init -k k1 --founder-roles "$roles" manyroles >/dev/null &&
	dmlctl -C manyroles ledger show 0 >show &&
	echo "member $(cat id1) $roles" >want &&
	grep "^member " show >got &&
	test_cmp want got &&
	dmlctl -C manyroles ledger verify
'

test_expect_success 'key list --members and key show print many long roles in full' '
	roles=$(paste -s -d, roles) &&
	dmlctl -C manyroles key list --members >members &&
	test_grep " active  *$roles\$" members &&
	dmlctl -C manyroles key show k1 >show &&
	test_grep "^member  *$roles since entry 0\$" show &&
	dmlctl -C manyroles --json key list --members >members.json &&
	"$PYTHON" - "$roles" <<-\EOF
	import json, sys
	ms = json.load(open("members.json"))
	assert [m["roles"] for m in ms] == [sys.argv[1]], ms
	EOF
'

test_expect_success 'more roles than a member may hold is a usage error, not cut short' '
	for i in $(seq 1 70)
	do
		echo "role-$i-abcdefghijklmnopqrstuvwxyz0123456789"
	done >longroles.txt &&
	test_expect_exit 2 dmlctl init -k k1 --founder-roles "$(paste -s -d, longroles.txt)" \
		longroles 2>err &&
	test_grep "founder-roles" err &&
	test ! -e longroles
'

test_expect_success 'the default name and policy' '
	dmlctl -C plain ledger show 0 >show &&
	sed -n "/^name /,\$p" show >got &&
	{
		echo "name plain" &&
		echo "member $(genesis_author plain) admin,coordinator,member,treasurer" &&
		echo "allow key.add admin" &&
		echo "allow key.revoke admin" &&
		echo "allow reward.pay treasurer" &&
		echo "allow round.aggregate coordinator" &&
		echo "allow round.close coordinator" &&
		echo "allow round.open coordinator"
	} >want &&
	test_cmp want got
'

test_expect_success 'the policy is enforced: a role the rule does not name may not add keys' '
	dmlctl -q init -k k1 --founder-roles member --allow key.add:admin weak >/dev/null &&
	git -C weak rev-parse refs/dml/ledger >before &&
	test_expect_exit 1 dmlctl -C weak key add -k k1 "$(cat id2)" 2>err &&
	test_grep "may not write .key.add. entries" err &&
	git -C weak rev-parse refs/dml/ledger >after &&
	test_cmp before after
'

test_expect_success 'DMLCTL_TIME fixes the genesis time' '
	DMLCTL_TIME=1700000000 dmlctl -q init -k k1 timed >/dev/null &&
	dmlctl -C timed ledger show 0 >show &&
	test_grep "^time 1700000000$" show &&
	test_grep "^date 2023-11-14T22:13:20Z$" show &&
	DMLCTL_TIME=soon test_expect_exit 2 dmlctl init -k k1 badtime 2>err &&
	test_grep "DMLCTL_TIME" err &&
	test ! -e badtime
'

test_expect_success 'bad --founder-roles values are usage errors' '
	for roles in "" Admin "admin," ",admin" "admin,,member" "ad min" "a;b"
	do
		test_expect_exit 2 dmlctl init -k k1 --founder-roles "$roles" badroles 2>err &&
		test_grep "founder-roles" err &&
		test ! -e badroles || return 1
	done
'

test_expect_success 'bad --allow values are usage errors' '
	for rule in note :admin note: Note:admin "note:Admin" "no te:admin" "note:admin:x" ""
	do
		test_expect_exit 2 dmlctl init -k k1 --allow "$rule" badallow 2>err &&
		test_grep "allow" err &&
		test ! -e badallow || return 1
	done
'

test_expect_success 'other usage errors' '
	test_expect_exit 2 dmlctl init -k k1 one two 2>err &&
	test_grep "at most one directory" err &&
	test ! -e one && test ! -e two &&
	test_expect_exit 2 dmlctl init --frobnicate 2>err &&
	test_grep "unknown option" err &&
	test_grep "^usage: dmlctl init" err &&
	test_expect_exit 2 dmlctl init -k 2>err &&
	test_grep "requires a value" err &&
	test_expect_exit 2 dmlctl init -k k1 --name " padded" badname 2>err &&
	test_grep "ledger name" err &&
	test ! -e badname
'

test_expect_success 'init -h prints the usage and exits 0' '
	dmlctl init -h >out &&
	test_grep "^usage: dmlctl init" out &&
	test_grep -e "--founder-roles" out &&
	test_grep -e "--allow" out
'

test_expect_success 'init --json prints one JSON object describing the ledger' '
	dmlctl --json init -k k1 --name "json ledger" jsonrepo >out.json &&
	json_valid <out.json &&
	"$PYTHON" -c "
import json, sys
o = json.load(open(\"out.json\"))
assert o[\"created\"] is True, o
assert o[\"name\"] == \"json ledger\", o
assert o[\"founder\"] == open(\"id1\").read().strip(), o
assert o[\"repository\"].endswith(\"/jsonrepo/.git/\"), o
g = o[\"genesis\"]
assert g[\"seq\"] == 0 and g[\"type\"] == \"ledger.genesis\", g
assert g[\"ledger\"] == \"sha256:\" + \"0\" * 64, g
assert \"prev\" not in g, g
assert g[\"body\"][\"name\"] == \"json ledger\", g
assert g[\"statement\"].startswith(\"dmlctl-entry 1\\n\"), g
" &&
	dmlctl init -k k1 --json --bare jsonrepo2.git >out2.json &&
	json_valid <out2.json &&
	git init -q jsonadopt &&
	dmlctl init -k k1 --json jsonadopt >out3.json &&
	"$PYTHON" -c "import json; assert json.load(open(\"out3.json\"))[\"created\"] is False"
'

test_done
