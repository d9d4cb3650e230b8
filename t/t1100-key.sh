#!/bin/sh
test_description='dmlctl key: key files, passphrases, import and export, members added and revoked'
. ./test-lib.sh

# Run a command in a session of its own, without a controlling terminal, so
# that it cannot ask for a passphrase on /dev/tty even when the tests are run
# from a terminal.
without_tty() {
	"$PYTHON" -c 'import os, sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

# The first ten characters of ls -l: type and permission bits.
mode_of() {
	ls -ld "$1" >mode.out &&
	cut -c1-10 mode.out
}

# One field of "dmlctl key show": id, fingerprint or openssh.
show_field() {
	dmlctl key show "$1" >show-field.out &&
	sed -n "s/^$2  *//p" show-field.out
}

test_expect_success 'generate an unencrypted key' '
	dmlctl key generate --no-passphrase alice >out &&
	test_grep "^Generated key .alice. (unencrypted) in $DMLCTL_KEYS$" out &&
	test_grep "^ed25519:[0-9a-f]\{64\}$" out &&
	test_grep "^SHA256:[A-Za-z0-9+/]\{43\}$" out &&
	test -f "$DMLCTL_KEYS/alice.key" &&
	test -f "$DMLCTL_KEYS/alice.pub" &&
	dmlctl key list >list &&
	test_grep "^alice  *SHA256:[^ ]*  unencrypted$" list
'

test_expect_success 'key files are mode 0600 and the key directory 0700' '
	test "$(mode_of "$DMLCTL_KEYS")" = drwx------ &&
	test "$(mode_of "$DMLCTL_KEYS/alice.key")" = -rw------- &&
	test "$(mode_of "$DMLCTL_KEYS/alice.pub")" = -rw-r--r--
'

test_expect_success 'a missing key directory is created with mode 0700, parents included' '
	DMLCTL_KEYS=$PWD/new/nested/keys dmlctl -q key generate --no-passphrase x >/dev/null &&
	test "$(mode_of new/nested/keys)" = drwx------ &&
	test "$(mode_of new/nested/keys/x.key)" = -rw-------
'

test_expect_success 'without a name the key is called default' '
	DMLCTL_KEYS=$PWD/defkeys dmlctl key generate --no-passphrase >out &&
	test_grep "^Generated key .default." out &&
	test -f defkeys/default.key &&
	DMLCTL_KEYS=$PWD/defkeys dmlctl key list >list &&
	test_grep "^default " list
'

test_expect_success 'generate an encrypted key with DMLCTL_PASSPHRASE_FILE' '
	printf "correct horse\n" >pass &&
	DMLCTL_PASSPHRASE_FILE="$PWD/pass" dmlctl key generate bob >out &&
	test_grep "^Generated key .bob. (encrypted)" out &&
	test "$(mode_of "$DMLCTL_KEYS/bob.key")" = -rw------- &&
	dmlctl key list >list &&
	test_grep "^bob  *SHA256:[^ ]*  encrypted$" list &&
	test_grep "^alice  *SHA256:[^ ]*  unencrypted$" list
'

test_expect_success 'the secret key file holds no seed in clear when encrypted' '
	# A key file is armored: the same seed stored unencrypted and encrypted
	# must give files of different content and size.
	test_grep "^-----BEGIN DMLCTL SECRET KEY-----$" "$DMLCTL_KEYS/bob.key" &&
	test_grep "^-----BEGIN DMLCTL SECRET KEY-----$" "$DMLCTL_KEYS/alice.key" &&
	test "$(wc -c <"$DMLCTL_KEYS/bob.key")" -gt "$(wc -c <"$DMLCTL_KEYS/alice.key")"
'

test_expect_success 'an empty passphrase is refused: use --no-passphrase' '
	: >empty &&
	DMLCTL_PASSPHRASE_FILE=empty test_expect_exit 128 dmlctl key generate nopass 2>err &&
	test_grep "empty passphrase" err &&
	test_grep -e "--no-passphrase" err &&
	test ! -e "$DMLCTL_KEYS/nopass.key" &&
	test ! -e "$DMLCTL_KEYS/nopass.pub"
'

test_expect_success 'without a terminal or passphrase file generate fails and writes nothing' '
	test_expect_exit 128 without_tty dmlctl key generate noterm </dev/null 2>err &&
	test_grep "DMLCTL_PASSPHRASE_FILE" err &&
	test ! -e "$DMLCTL_KEYS/noterm.key"
'

test_expect_success 'generating an existing name fails and leaves the key unchanged' '
	cp "$DMLCTL_KEYS/alice.key" alice.key.before &&
	cp "$DMLCTL_KEYS/alice.pub" alice.pub.before &&
	test_expect_exit 128 dmlctl key generate --no-passphrase alice 2>err &&
	test_grep "a key named .alice. exists already" err &&
	DMLCTL_PASSPHRASE_FILE="$PWD/pass" test_expect_exit 128 dmlctl key generate alice 2>err &&
	test_grep "exists already" err &&
	cmp alice.key.before "$DMLCTL_KEYS/alice.key" &&
	cmp alice.pub.before "$DMLCTL_KEYS/alice.pub"
'

test_expect_success 'invalid key names are usage errors' '
	long=$(printf "%065d" 0) &&
	for name in "bad/name" ".hidden" "-dash" "a b" "semi;colon" "$long" ""
	do
		test_expect_exit 2 dmlctl key generate --no-passphrase -- "$name" 2>err &&
		test_grep "invalid key name" err || return 1
	done &&
	dmlctl key list >list &&
	test "$(wc -l <list)" -eq 2
'

test_expect_success 'a 64-character name is valid' '
	name=$(printf "k%063d" 0) &&
	dmlctl -q key generate --no-passphrase "$name" >/dev/null &&
	test -f "$DMLCTL_KEYS/$name.key" &&
	rm "$DMLCTL_KEYS/$name.key" "$DMLCTL_KEYS/$name.pub"
'

test_expect_success 'show prints the ID, fingerprint and OpenSSH line' '
	dmlctl key show alice >show &&
	test_grep "^id           ed25519:[0-9a-f]\{64\}$" show &&
	test_grep "^fingerprint  SHA256:" show &&
	test_grep "^openssh      ssh-ed25519 AAAA" show &&
	dmlctl key generate --no-passphrase carol >gen &&
	sed -n "2p" gen >want &&
	show_field carol id >got &&
	test_cmp want got &&
	sed -n "3p" gen >want &&
	show_field carol fingerprint >got &&
	test_cmp want got
'

test_expect_success 'show works for a key given by .pub file, OpenSSH line and key ID' '
	show_field alice id >want &&
	show_field "$DMLCTL_KEYS/alice.pub" id >got &&
	test_cmp want got &&
	show_field "$(cat "$DMLCTL_KEYS/alice.pub")" id >got &&
	test_cmp want got &&
	show_field "$(cat want)" id >got &&
	test_cmp want got &&
	show_field bob id >bob.id &&
	! cmp -s want bob.id
'

test_expect_success 'the .pub file is the exported OpenSSH line' '
	dmlctl key export alice >exported &&
	test_cmp "$DMLCTL_KEYS/alice.pub" exported &&
	test_grep "^ssh-ed25519 AAAA[A-Za-z0-9+/=]* alice$" exported
'

test_expect_success 'ssh-keygen accepts the exported key with the same fingerprint' '
	for k in alice bob carol
	do
		dmlctl key export $k >$k.exported &&
		ssh-keygen -l -f $k.exported >$k.l &&
		cut -d" " -f2 $k.l >got &&
		show_field $k fingerprint >want &&
		test_cmp want got || return 1
	done
'

test_expect_success 'export of an encrypted key needs no passphrase' '
	without_tty dmlctl key export bob </dev/null >out &&
	test_grep "^ssh-ed25519 " out
'

test_expect_success 'list --json and show --json parse' '
	dmlctl --json key list >list.json &&
	json_valid <list.json &&
	"$PYTHON" -c "
import json
keys = json.load(open(\"list.json\"))
names = [k[\"name\"] for k in keys]
assert names == sorted(names) and \"alice\" in names and \"bob\" in names, names
prot = dict((k[\"name\"], k[\"protection\"]) for k in keys)
assert prot[\"alice\"] == \"unencrypted\" and prot[\"bob\"] == \"encrypted\", prot
" &&
	dmlctl key show --json alice >show.json &&
	json_valid <show.json &&
	show_field alice id >alice.id &&
	"$PYTHON" -c "
import json
o = json.load(open(\"show.json\"))
assert o[\"id\"] == open(\"alice.id\").read().strip(), o
assert o[\"openssh\"].startswith(\"ssh-ed25519 \"), o
"
'

test_expect_success 'show of an unknown key fails' '
	test_expect_exit 128 dmlctl key show nosuchkey 2>err &&
	test_grep "no key named .nosuchkey." err &&
	test_expect_exit 128 dmlctl key export nosuchkey 2>err &&
	test_grep "no key named" err
'

test_expect_success 'setup: a ledger founded by alice' '
	dmlctl -q init -k alice repo >/dev/null &&
	dmlctl -C repo ledger log >log.before
'

test_expect_success 'a wrong passphrase is a clear error and signs nothing' '
	show_field bob id >bob.id &&
	dmlctl -C repo key add -k alice "$(cat bob.id)" >/dev/null &&
	dmlctl -C repo ledger log >log.before &&
	printf "wrong horse\n" >wrong &&
	DMLCTL_PASSPHRASE_FILE="$PWD/wrong" test_expect_exit 128 dmlctl -C repo ledger note -k bob -m x 2>err &&
	test_grep "wrong passphrase for key .bob." err &&
	test_expect_exit 128 without_tty dmlctl -C repo ledger note -k bob -m x </dev/null 2>err &&
	test_grep "passphrase" err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after
'

test_expect_success 'the right passphrase signs' '
	DMLCTL_PASSPHRASE_FILE="$PWD/pass" dmlctl -C repo ledger note -k bob -m "by bob" >out &&
	test_grep "^note #2 sha256:" out &&
	dmlctl -C repo ledger show 2 >show &&
	echo "author $(cat bob.id)" >want &&
	grep "^author " show >got &&
	test_cmp want got &&
	dmlctl -C repo ledger verify
'

test_expect_success 'a key file readable by others is refused' '
	dmlctl -C repo ledger log >log.before &&
	chmod 644 "$DMLCTL_KEYS/alice.key" &&
	test_expect_exit 128 dmlctl -C repo ledger note -k alice -m x 2>err &&
	test_grep "readable by others" err &&
	test_grep "chmod 600" err &&
	chmod 640 "$DMLCTL_KEYS/alice.key" &&
	test_expect_exit 128 dmlctl -C repo ledger note -k alice -m x 2>err &&
	test_grep "readable by others" err &&
	chmod 604 "$DMLCTL_KEYS/alice.key" &&
	test_expect_exit 128 dmlctl -C repo ledger note -k alice -m x 2>err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after &&
	chmod 600 "$DMLCTL_KEYS/alice.key" &&
	dmlctl -C repo ledger note -k alice -m "mode fixed" >/dev/null
'

test_expect_success 'setup: OpenSSH keys made by ssh-keygen' '
	mkdir ssh &&
	ssh-keygen -q -t ed25519 -N "" -C "dave@example.com" -f ssh/dave &&
	ssh-keygen -q -t ed25519 -N "secret" -f ssh/locked &&
	ssh-keygen -q -t rsa -b 2048 -N "" -f ssh/rsa &&
	ssh-keygen -q -t rsa -b 2048 -N "" -m PEM -f ssh/pem
'

test_expect_success 'import an unencrypted OpenSSH ed25519 key: same public key' '
	dmlctl key import --no-passphrase ssh/dave >out &&
	test_grep "^Imported key .dave. (unencrypted)" out &&
	test "$(mode_of "$DMLCTL_KEYS/dave.key")" = -rw------- &&
	test_cmp ssh/dave.pub "$DMLCTL_KEYS/dave.pub" &&
	dmlctl key export dave >exported &&
	cut -d" " -f1,2 ssh/dave.pub >want &&
	cut -d" " -f1,2 exported >got &&
	test_cmp want got &&
	ssh-keygen -l -f ssh/dave.pub | cut -d" " -f2 >want &&
	show_field dave fingerprint >got &&
	test_cmp want got
'

test_expect_success 'import of a key whose comment holds control characters writes one line' '
	ssh-keygen -q -t ed25519 -N "" -C "$(printf "eve\nssh-ed25519 AAAAforged evil")" -f ssh/eve &&
	test "$(wc -l <ssh/eve.pub)" -eq 2 &&
	ssh-keygen -q -t ed25519 -N "" -C "$(printf "eve\rcr")" -f ssh/evecr &&
	for k in eve evecr
	do
		dmlctl key import --no-passphrase ssh/$k >out &&
		test_grep "^Imported key .$k. (unencrypted)" out &&
		test "$(wc -l <"$DMLCTL_KEYS/$k.pub")" -eq 1 &&
		echo "$(head -n 1 ssh/$k.pub | cut -d" " -f1,2) $k" >want &&
		test_cmp want "$DMLCTL_KEYS/$k.pub" &&
		dmlctl key export $k >exported &&
		test_cmp want exported &&
		ssh-keygen -l -f "$DMLCTL_KEYS/$k.pub" >/dev/null || return 1
	done
'

test_expect_success 'import with --name and a passphrase' '
	DMLCTL_PASSPHRASE_FILE="$PWD/pass" dmlctl key import --name dave2 ssh/dave >out &&
	test_grep "^Imported key .dave2. (encrypted)" out &&
	show_field dave id >want &&
	show_field dave2 id >got &&
	test_cmp want got &&
	dmlctl key list >list &&
	test_grep "^dave2  *SHA256:[^ ]*  encrypted$" list
'

test_expect_success 'an imported key signs entries that verify' '
	dmlctl -C repo key add -k alice "$PWD/ssh/dave.pub" >/dev/null &&
	dmlctl -C repo ledger note -k dave -m "by dave" >/dev/null &&
	DMLCTL_PASSPHRASE_FILE="$PWD/pass" dmlctl -C repo ledger note -k dave2 -m "by dave again" >/dev/null &&
	dmlctl -C repo ledger note -k "$PWD/ssh/dave" -m "by the OpenSSH file itself" >/dev/null &&
	dmlctl -C repo ledger verify
'

test_expect_success 'importing an existing name fails and leaves it unchanged' '
	cp "$DMLCTL_KEYS/dave.key" dave.before &&
	test_expect_exit 128 dmlctl key import --no-passphrase ssh/dave 2>err &&
	test_grep "exists already" err &&
	cmp dave.before "$DMLCTL_KEYS/dave.key"
'

test_expect_success 'import of an encrypted OpenSSH key fails clearly' '
	test_expect_exit 128 dmlctl key import --no-passphrase ssh/locked 2>err &&
	test_grep "encrypted" err &&
	test_grep "ssh-keygen -p" err &&
	test ! -e "$DMLCTL_KEYS/locked.key" &&
	test ! -e "$DMLCTL_KEYS/locked.pub"
'

test_expect_success 'import of an RSA key fails clearly' '
	test_expect_exit 128 dmlctl key import --no-passphrase ssh/rsa 2>err &&
	test_grep "not an ed25519 key" err &&
	test ! -e "$DMLCTL_KEYS/rsa.key" &&
	test_expect_exit 128 dmlctl key import --no-passphrase ssh/pem 2>err &&
	test_grep "not an OpenSSH private key" err &&
	test ! -e "$DMLCTL_KEYS/pem.key" &&
	test_expect_exit 128 dmlctl key import --no-passphrase ssh/dave.pub 2>err &&
	test_grep "not an OpenSSH private key" err &&
	test_must_fail dmlctl key add -k alice ssh/rsa.pub 2>err &&
	test_grep "ed25519" err
'

test_expect_success 'import of a missing file fails' '
	test_expect_exit 128 dmlctl key import --no-passphrase ssh/nothing 2>err &&
	test_grep "cannot open .ssh/nothing." err
'

test_expect_success 'key add with a .pub file, an ssh-ed25519 line and a key ID' '
	dmlctl key generate --no-passphrase erin >/dev/null &&
	dmlctl key generate --no-passphrase frank >/dev/null &&
	dmlctl key generate --no-passphrase grace >/dev/null &&
	dmlctl -C repo key add -k alice "$DMLCTL_KEYS/erin.pub" >out &&
	test_grep "^key.add #[0-9]* sha256:" out &&
	dmlctl -C repo key add -k alice --name Frank "$(cat "$DMLCTL_KEYS/frank.pub")" >/dev/null &&
	dmlctl -C repo key add -k alice --role admin,member "$(show_field grace id)" >/dev/null &&
	dmlctl -C repo key show erin >show &&
	test_grep "^member       member since entry" show &&
	dmlctl -C repo key show frank >show &&
	test_grep "^member       member since entry [0-9]*, named Frank$" show &&
	dmlctl -C repo key show grace >show &&
	test_grep "^member       admin,member since entry" show &&
	dmlctl -C repo key list --members >members &&
	test_grep "SHA256:.*  active   member  Frank$" members &&
	test "$(grep -c " active " members)" -eq 6 &&
	dmlctl -C repo ledger verify
'

test_expect_success 'a key that is not a member says so' '
	dmlctl -C repo key show carol >show &&
	test_grep "^member       no$" show
'

test_expect_success 'key add by a non-admin is refused and appends nothing' '
	dmlctl -C repo ledger log >log.before &&
	test_expect_exit 1 dmlctl -C repo key add -k erin "$DMLCTL_KEYS/carol.pub" 2>err &&
	test_grep "may not write .key.add. entries" err &&
	test_grep "admin" err &&
	test_expect_exit 1 dmlctl -C repo key add -k carol "$DMLCTL_KEYS/carol.pub" 2>err &&
	test_grep "is not a member" err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after
'

test_expect_success 'an admin added later may add members' '
	dmlctl -C repo key add -k grace "$DMLCTL_KEYS/carol.pub" >/dev/null &&
	dmlctl -C repo key show carol >show &&
	test_grep "^member       member since" show
'

test_expect_success 'adding an existing member fails and appends nothing' '
	dmlctl -C repo ledger log >log.before &&
	test_expect_exit 1 dmlctl -C repo key add -k alice "$DMLCTL_KEYS/erin.pub" 2>err &&
	test_grep "is already a member" err &&
	test_expect_exit 1 dmlctl -C repo key add -k alice "$DMLCTL_KEYS/alice.pub" 2>err &&
	test_grep "is already a member" err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after
'

test_expect_success 'key add of something that is not a key fails' '
	dmlctl -C repo ledger log >log.before &&
	test_must_fail dmlctl -C repo key add -k alice "ssh-ed25519 AAAAnotakey" 2>err &&
	test_grep "base64" err &&
	test_must_fail dmlctl -C repo key add -k alice "ed25519:1234" 2>err &&
	test_grep "key id" err &&
	test_must_fail dmlctl -C repo key add -k alice nosuchkey 2>err &&
	test_grep "no key named .nosuchkey." err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after
'

test_expect_success 'a malformed key typed on the command line is a usage error' '
	dmlctl -C repo ledger log >log.before &&
	for spec in "ed25519:xyz" "ssh-ed25519 !!!" "ed25519:$(printf "%063d" 0)" \
		"ssh-ed25519 AAAAnotakey"
	do
		test_expect_exit 2 dmlctl -C repo key add -k alice "$spec" 2>err &&
		test_expect_exit 2 dmlctl -C repo key revoke -k alice "$spec" 2>err || return 1
	done &&
	test_expect_exit 2 dmlctl -C repo key add -k alice "ed25519:xyz" 2>err &&
	test_grep "key id" err &&
	test_expect_exit 2 dmlctl -C repo key add -k alice "ssh-ed25519 !!!" 2>err &&
	test_grep "base64" err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after
'

test_expect_success 'revoke: the key can no longer append' '
	dmlctl -C repo ledger note -k erin -m "before revocation" >/dev/null &&
	dmlctl -C repo key revoke -k alice --reason "lost laptop" erin >out &&
	test_grep "^key.revoke #[0-9]* sha256:" out &&
	seq=$(sed -n "s/^key.revoke #\([0-9]*\) .*/\1/p" out) &&
	dmlctl -C repo ledger show $seq >show &&
	test_grep "^reason lost laptop$" show &&
	dmlctl -C repo ledger log >log.before &&
	test_expect_exit 1 dmlctl -C repo ledger note -k erin -m "after revocation" 2>err &&
	test_grep "was revoked at entry $seq" err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after &&
	dmlctl -C repo ledger verify
'

test_expect_success 'revoke: list --members and show say revoked' '
	dmlctl -C repo key list --members >members &&
	show_field erin fingerprint >fp &&
	test_grep "^$(cat fp)  revoked  member$" members &&
	dmlctl -C repo key show erin >show &&
	test_grep "^revoked      at entry [0-9]*$" show &&
	dmlctl -C repo --json key list --members >members.json &&
	json_valid <members.json &&
	"$PYTHON" -c "
import json
ms = json.load(open(\"members.json\"))
rev = [m for m in ms if m[\"revoked\"]]
assert len(rev) == 1 and rev[0][\"fingerprint\"] == open(\"fp\").read().strip(), ms
assert \"revoked_at\" in rev[0], rev
"
'

test_expect_success 'revoke by member name' '
	dmlctl -C repo key revoke -k alice Frank >/dev/null &&
	dmlctl -C repo key show frank >show &&
	test_grep "^revoked      at entry" show
'

test_expect_success 'a revoked key cannot be added again, nor revoked twice' '
	dmlctl -C repo ledger log >log.before &&
	test_expect_exit 1 dmlctl -C repo key add -k alice "$DMLCTL_KEYS/erin.pub" 2>err &&
	test_grep "was revoked and cannot be added again" err &&
	test_expect_exit 1 dmlctl -C repo key revoke -k alice erin 2>err &&
	test_grep "already revoked" err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after
'

test_expect_success 'revoking a key that is not a member fails' '
	dmlctl -q key generate --no-passphrase stranger >/dev/null &&
	test_expect_exit 1 dmlctl -C repo key revoke -k alice stranger 2>err &&
	test_grep "is not a member" err
'

test_expect_success 'a non-admin may not revoke' '
	dmlctl -C repo ledger log >log.before &&
	test_expect_exit 1 dmlctl -C repo key revoke -k carol dave 2>err &&
	test_grep "may not write .key.revoke. entries" err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after
'

test_expect_success 'revoking the last admin is refused' '
	dmlctl -C repo key revoke -k alice grace >/dev/null &&
	dmlctl -C repo ledger log >log.before &&
	test_expect_exit 1 dmlctl -C repo key revoke -k alice alice 2>err &&
	test_grep "would leave no key able to add members" err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after &&
	dmlctl -C repo key show alice >show &&
	! grep "^revoked" show &&
	dmlctl -C repo ledger verify
'

test_expect_success 'key add and revoke --json parse' '
	dmlctl -q key generate --no-passphrase heidi >/dev/null &&
	dmlctl -C repo --json key add -k alice heidi >add.json &&
	json_valid <add.json &&
	dmlctl -C repo key revoke --json -k alice heidi >revoke.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"revoke.json\"))
assert o[\"type\"] == \"key.revoke\", o
"
'

test_expect_success 'bad --role and --name values are usage errors' '
	dmlctl -C repo ledger log >log.before &&
	for role in "" Admin "admin," "a b"
	do
		test_expect_exit 2 dmlctl -C repo key add -k alice --role "$role" stranger 2>err &&
		test_grep -e "--role" err || return 1
	done &&
	test_expect_exit 2 dmlctl -C repo key add -k alice --name " x" stranger 2>err &&
	test_grep -e "--name" err &&
	test_expect_exit 2 dmlctl -C repo key revoke -k alice --reason "x " dave 2>err &&
	test_grep -e "--reason" err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after
'

test_expect_success '-h on key and on every verb prints the usage and exits 0' '
	dmlctl key -h >out &&
	test_grep "^usage: dmlctl key <verb>" out &&
	for verb in generate import list show export add revoke
	do
		dmlctl key $verb -h >out &&
		test_grep "^usage: dmlctl key $verb" out &&
		dmlctl key $verb --help >out &&
		test_grep "^usage: dmlctl key $verb" out || return 1
	done &&
	test ! -e "$DMLCTL_KEYS/-h.key"
'

test_expect_success 'bad arguments are usage errors' '
	test_expect_exit 2 dmlctl key 2>err &&
	test_grep "^usage: dmlctl key" err &&
	test_expect_exit 2 dmlctl key frobnicate 2>err &&
	test_grep "not a verb of .dmlctl key." err &&
	test_expect_exit 2 dmlctl key generate --no-passphrase a b 2>err &&
	test_expect_exit 2 dmlctl key generate --frobnicate 2>err &&
	test_grep "unknown option" err &&
	test_expect_exit 2 dmlctl key generate --no-passphrase=yes c 2>err &&
	test_grep "takes no value" err &&
	test_expect_exit 2 dmlctl key list extra 2>err &&
	test_expect_exit 2 dmlctl key show 2>err &&
	test_expect_exit 2 dmlctl key show alice bob 2>err &&
	test_expect_exit 2 dmlctl key export 2>err &&
	test_expect_exit 2 dmlctl key import 2>err &&
	test_expect_exit 2 dmlctl key import --no-passphrase ssh/dave ssh/dave 2>err &&
	test_expect_exit 2 dmlctl key import --no-passphrase --name "bad/name" ssh/dave 2>err &&
	test_grep "invalid key name" err &&
	test_expect_exit 2 dmlctl -C repo key add 2>err &&
	test_expect_exit 2 dmlctl -C repo key add -k alice one two 2>err &&
	test_expect_exit 2 dmlctl -C repo key revoke 2>err &&
	test_expect_exit 2 dmlctl -C repo key add -k 2>err &&
	test_grep "requires a value" err &&
	test ! -e "$DMLCTL_KEYS/a.key" && test ! -e "$DMLCTL_KEYS/c.key"
'

test_done
