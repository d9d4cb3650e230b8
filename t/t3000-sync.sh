#!/bin/sh
test_description='dmlctl remote, clone, fetch, pull and push: parties sharing one ledger through a hub, a federated round with a key directory per party, reconciliation of diverged ledgers, git://, JSON'
. ./test-lib.sh
. "$TEST_DIRECTORY/lib-sync.sh"

# Every party here keeps its own repository; the hubs are bare repositories
# that nobody appends to directly.  Nothing is taken on dmlctl's word alone:
# heads are compared with git rev-parse, entry IDs read from the commit
# messages (the Entry: trailer), and who signed a chain commit from
# git log's own SSH signature check.

# entries REPO [REF]: "type #seq<TAB>entry ID" for each commit, root first.
entries_of() {
	git -C "$1" log --reverse \
		--format="%s%x09%(trailers:key=Entry,valueonly,separator=)" "${2:-refs/dml/ledger}"
}

# id_at REPO SEQ [REF]: the entry ID at SEQ.
id_at() {
	entries_of "$1" "${3:-refs/dml/ledger}" | sed -n "s/^[a-z.]* #$2	//p"
}

# seq_of REPO ID [REF]: where the entry with this ID sits, or nothing.
seq_of() {
	entries_of "$1" "${3:-refs/dml/ledger}" | sed -n "s/^[a-z.]* #\\([0-9]*\\)	$2\$/\\1/p"
}

# last_id REPO: the ID of the newest entry.
last_id() {
	git -C "$1" log -1 --format="%(trailers:key=Entry,valueonly,separator=)" refs/dml/ledger
}

# signers REPO REF: "G <signer>" for each commit, newest first, as git
# itself checks them against the members' keys.
signers_of() {
	dmlctl -C "$1" ledger allowed-signers >"$TRASH_DIRECTORY/.signers" &&
	git -C "$1" -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$TRASH_DIRECTORY/.signers" \
		log --format="%G? %GS" "${2:-refs/dml/ledger}"
}

# key_id NAME [KEYDIR]: a key's ID (ed25519:<hex>).
key_id() {
	DMLCTL_KEYS=${2:-$DMLCTL_KEYS} dmlctl key show "$1" | sed -n "s/^id  *//p"
}

# rows SEED N SHIFT: a CSV of x1,x2,y with y = 1 + 2 x1 - x2 + SHIFT + noise.
rows() {
	awk -v x="$1" -v n="$2" -v shift="$3" '
		function u() { x = x * 16807 % 2147483647; return x / 2147483647 }
		BEGIN { print "x1,x2,y"
			for (i = 0; i < n; i++) {
				a = 10 * u(); b = 5 * u()
				printf "%.3f,%.3f,%.4f\n", a, b, 1 + 2 * a - b + shift + u() - 0.5 } }'
}

test_expect_success 'setup: alice founds a ledger with bob and carol as members; a bare hub' '
	test_key alice &&
	test_key bob &&
	test_key carol &&
	dmlctl -q init -k alice alice &&
	dmlctl -q -C alice key add -k alice --name bob bob &&
	dmlctl -q -C alice key add -k alice --name carol carol &&
	dmlctl -q -C alice ledger note -k alice -m "hello" &&
	git init -q --bare hub.git &&
	test "$(count_of alice)" = 4
'

test_expect_success 'remote add, list (text and JSON) and remove; git sees the same remotes' '
	dmlctl -C alice remote list >out &&
	test ! -s out &&
	dmlctl -C alice remote add origin "$TRASH_DIRECTORY/hub.git" &&
	dmlctl -C alice remote add backup "file://$TRASH_DIRECTORY/backup.git" &&
	dmlctl -C alice remote list >out &&
	printf "backup\tfile://%s/backup.git\norigin\t%s/hub.git\n" \
		"$TRASH_DIRECTORY" "$TRASH_DIRECTORY" >want &&
	test_cmp want out &&
	git -C alice remote -v >out &&
	test_grep "^origin	$TRASH_DIRECTORY/hub.git (fetch)\$" out &&
	test_grep "^origin	$TRASH_DIRECTORY/hub.git (push)\$" out &&
	test_grep "^backup	file://$TRASH_DIRECTORY/backup.git (fetch)\$" out &&
	# a plain git fetch of such a remote moves the ledger ref only
	test "$(git -C alice config remote.origin.fetch)" = \
		"+refs/dml/ledger:refs/dml/remotes/origin/ledger" &&
	dmlctl -C alice remote list --json >list.json &&
	dmlctl -C alice --json remote list >list2.json &&
	test_cmp list.json list2.json &&
	"$PYTHON" -c "
import json, sys
rs = json.load(open(\"list.json\"))
assert rs == [{\"name\": \"backup\", \"url\": \"file://\" + sys.argv[1] + \"/backup.git\"},
              {\"name\": \"origin\", \"url\": sys.argv[1] + \"/hub.git\"}], rs
" "$TRASH_DIRECTORY" &&
	# a name git would refuse, twice the same name, an unknown name
	test_expect_exit 2 dmlctl -C alice remote add "bad name" /x 2>err &&
	test_grep "not a valid remote name" err &&
	test_expect_exit 2 dmlctl -C alice remote add "a..b" /x 2>err &&
	test_grep "not a valid remote name" err &&
	test_expect_exit 128 dmlctl -C alice remote add origin /elsewhere.git 2>err &&
	test_grep "remote .origin. already exists" err &&
	test "$(git -C alice config remote.origin.url)" = "$TRASH_DIRECTORY/hub.git" &&
	test_expect_exit 128 dmlctl -C alice remote remove nosuch 2>err &&
	test_grep "no remote .nosuch." err &&
	# remove forgets the remote and what was fetched from it
	git init -q --bare backup.git &&
	git -C alice push -q "$TRASH_DIRECTORY/backup.git" refs/dml/ledger:refs/dml/ledger &&
	dmlctl -C alice fetch backup >out &&
	test_grep "^backup: up to date (4 entries)\$" out &&
	test "$(head_of alice refs/dml/remotes/backup/ledger)" = "$(head_of alice)" &&
	dmlctl -C alice remote remove backup &&
	test_must_fail git -C alice rev-parse --verify -q refs/dml/remotes/backup/ledger &&
	test_must_fail git -C alice config remote.backup.url &&
	dmlctl -C alice remote list >out &&
	printf "origin\t%s/hub.git\n" "$TRASH_DIRECTORY" >want &&
	test_cmp want out &&
	rm -rf backup.git &&
	git -C alice fsck --strict --no-dangling
'

test_expect_success 'push to an empty hub sends the whole ledger' '
	dmlctl -C alice push >out &&
	test_grep "^origin: pushed 4 entries (#0..#3)\$" out &&
	test "$(head_of hub.git)" = "$(head_of alice)" &&
	test "$(head_of alice refs/dml/remotes/origin/ledger)" = "$(head_of alice)" &&
	# only the ledger moved: no branch, no tag
	git -C hub.git for-each-ref --format="%(refname)" >refs &&
	echo refs/dml/ledger >want &&
	test_cmp want refs &&
	git -C hub.git fsck --strict --no-dangling &&
	dmlctl -C hub.git ledger verify
'

test_expect_success 'clone from a local path and from file:// verifies and copies the ledger' '
	dmlctl clone hub.git c-path >out &&
	test_grep "^cloned into .c-path.: 4 entries, every check passed\$" out &&
	test "$(head_of c-path)" = "$(head_of hub.git)" &&
	test "$(head_of c-path refs/dml/remotes/origin/ledger)" = "$(head_of hub.git)" &&
	# a local path is remembered absolute
	test "$(git -C c-path config remote.origin.url)" = "$TRASH_DIRECTORY/hub.git" &&
	git -C c-path for-each-ref --format="%(refname)" >refs &&
	printf "%s\n" refs/dml/ledger refs/dml/remotes/origin/ledger >want &&
	test_cmp want refs &&
	check_repo c-path &&
	dmlctl clone "file://$TRASH_DIRECTORY/hub.git" c-file >out &&
	test_grep "^cloned into .c-file.: 4 entries, every check passed\$" out &&
	test "$(head_of c-file)" = "$(head_of hub.git)" &&
	test "$(git -C c-file config remote.origin.url)" = "file://$TRASH_DIRECTORY/hub.git" &&
	check_repo c-file &&
	# without a directory: the URL'\''s last component without .git
	mkdir sub &&
	(cd sub && dmlctl -q clone ../hub.git) &&
	test "$(head_of sub/hub)" = "$(head_of hub.git)" &&
	check_repo sub/hub &&
	# bare, for another hub
	dmlctl -q clone --bare hub.git c-bare.git &&
	test "$(git -C c-bare.git rev-parse --is-bare-repository)" = true &&
	test "$(head_of c-bare.git)" = "$(head_of hub.git)" &&
	check_repo c-bare.git &&
	# an existing empty directory is fine, as for git
	mkdir c-empty &&
	dmlctl -q clone hub.git c-empty &&
	test "$(head_of c-empty)" = "$(head_of hub.git)" &&
	rm -rf sub c-empty c-bare.git c-file
'

test_expect_success 'clone refuses a non-empty directory and leaves it as it was' '
	mkdir full &&
	echo precious >full/file &&
	test_expect_exit 128 dmlctl clone hub.git full 2>err &&
	test_grep "destination .full. already exists and is not an empty directory" err &&
	echo precious >want &&
	test_cmp want full/file &&
	test ! -e full/.git &&
	echo plain >afile &&
	test_expect_exit 128 dmlctl clone hub.git afile 2>err &&
	test_grep "already exists" err &&
	test_cmp afile - <<-\EOF
	plain
	EOF
'

test_expect_success 'clone --genesis pins the ledger; a wrong genesis leaves no directory' '
	genesis=$(id_at alice 0) &&
	test -n "$genesis" &&
	dmlctl -C alice ledger verify >out &&
	test_grep "^genesis $genesis\$" out &&
	dmlctl clone --genesis "$genesis" hub.git c-pinned >out &&
	test_grep "every check passed" out &&
	test "$(head_of c-pinned)" = "$(head_of hub.git)" &&
	check_repo c-pinned &&
	wrong=sha256:$(printf "%s" "$genesis" | sha256sum | cut -d" " -f1) &&
	test_expect_exit 1 dmlctl clone --genesis "$wrong" hub.git c-wrong 2>err &&
	test_grep "holds another ledger: its genesis is $genesis, not $wrong" err &&
	test ! -e c-wrong &&
	# and into an existing empty directory: refused, nothing cloned
	mkdir c-wrong2 &&
	test_expect_exit 1 dmlctl clone --genesis "$wrong" hub.git c-wrong2 2>err &&
	{ test ! -e c-wrong2 || test -z "$(ls -A c-wrong2)"; } &&
	rm -rf c-wrong2 &&
	test_expect_exit 2 dmlctl clone --genesis 1234 hub.git c-bad 2>err &&
	test_grep "expected a full entry ID" err &&
	test ! -e c-bad
'

test_expect_success 'clone of a repository without a ledger fails cleanly' '
	git init -q --bare empty.git &&
	test_expect_exit 128 dmlctl clone empty.git c-none 2>err &&
	test_grep "remote .origin. has no ledger" err &&
	test ! -e c-none &&
	git init -q plain &&
	git -C plain commit -q --allow-empty -m "just a commit" &&
	test_expect_exit 128 dmlctl clone plain c-plain 2>err &&
	test_grep "has no ledger" err &&
	test ! -e c-plain &&
	test_must_fail dmlctl clone nowhere.git c-nowhere 2>err &&
	test -s err &&
	test ! -e c-nowhere &&
	rm -rf empty.git plain
'

test_expect_success 'bob clones; fetch reports new entries and leaves the ledger alone' '
	dmlctl -q clone hub.git bob &&
	dmlctl -q -C alice ledger note -k alice -m "second" &&
	dmlctl -q -C alice ledger note -k alice -m "third" &&
	dmlctl -C alice push >out &&
	test_grep "^origin: pushed 2 entries (#4..#5)\$" out &&
	before=$(head_of bob) &&
	dmlctl -C bob fetch >out &&
	test_grep "^origin: 2 new entries verified (pull to take them)\$" out &&
	test "$(head_of bob)" = "$before" &&
	test "$(head_of bob refs/dml/remotes/origin/ledger)" = "$(head_of hub.git)" &&
	test_must_fail git -C bob rev-parse --verify -q refs/dml/orig-ledger &&
	# fetching again says the same, and still moves nothing
	dmlctl -C bob fetch origin >out &&
	test_grep "^origin: 2 new entries verified (pull to take them)\$" out &&
	test "$(head_of bob)" = "$before" &&
	dmlctl -C bob ledger log >log &&
	test "$(wc -l <log)" -eq 4 &&
	check_repo bob
'

test_expect_success 'fetch removes quarantines a killed process left two weeks ago, not newer ones' '
	mkdir -p bob/.git/dmlctl-incoming-old1/pack bob/.git/dmlctl-incoming-new1/pack &&
	echo x >bob/.git/dmlctl-incoming-old1/pack/tmp_pack_x &&
	touch -d "15 days ago" bob/.git/dmlctl-incoming-old1 &&
	touch -d "13 days ago" bob/.git/dmlctl-incoming-new1 &&
	dmlctl -q -C bob fetch &&
	test ! -e bob/.git/dmlctl-incoming-old1 &&
	test -d bob/.git/dmlctl-incoming-new1 &&
	rm -rf bob/.git/dmlctl-incoming-new1 &&
	check_repo bob
'

test_expect_success 'pull fast-forwards; push and pull both ways; up to date both ways' '
	dmlctl -C bob pull >out &&
	test_grep "^origin: 2 new entries verified; fast-forward to 6 entries\$" out &&
	test "$(head_of bob)" = "$(head_of hub.git)" &&
	test_must_fail git -C bob rev-parse --verify -q refs/dml/orig-ledger &&
	dmlctl -C bob pull >out &&
	test_grep "^origin: up to date (6 entries)\$" out &&
	dmlctl -C bob push >out &&
	test_grep "^origin: everything up to date (6 entries)\$" out &&
	# bob appends and pushes; alice fetches, then pulls
	dmlctl -q -C bob ledger note -k bob -m "from bob" &&
	bob_note=$(last_id bob) &&
	dmlctl -C bob fetch >out &&
	test_grep "^origin: the local ledger is 1 entries ahead (push to share them)\$" out &&
	dmlctl -C bob push >out &&
	test_grep "^origin: pushed 1 entries (#6..#6)\$" out &&
	test "$(head_of hub.git)" = "$(head_of bob)" &&
	dmlctl -C alice pull >out &&
	test_grep "^origin: 1 new entries verified; fast-forward to 7 entries\$" out &&
	test "$(head_of alice)" = "$(head_of bob)" &&
	test "$(id_at alice 6)" = "$bob_note" &&
	dmlctl -C alice push >out &&
	test_grep "^origin: everything up to date (7 entries)\$" out &&
	for r in alice bob hub.git
	do
		check_repo $r || return 1
	done
'

test_expect_success 'a pull that fast-forwards needs no key, even with several in the key directory' '
	test "$(ls "$DMLCTL_KEYS"/*.key | wc -l)" -gt 1 &&
	dmlctl -q -C alice ledger note -k alice -m "fourth" &&
	dmlctl -q -C alice push &&
	dmlctl -C bob pull >out &&
	test_grep "fast-forward to 8 entries" out &&
	test "$(head_of bob)" = "$(head_of alice)"
'

# ---- a federated round, each party with its own key directory ----

# as NAME ARGS...: dmlctl run by NAME in its own repository fl/NAME, with
# its own key directory.
as() {
	_who=$1 &&
	shift &&
	DMLCTL_KEYS="$TRASH_DIRECTORY/keys-$_who" dmlctl -C "$TRASH_DIRECTORY/fl/$_who" "$@"
}

# contribute NAME ROUND: NAME trains on its private CSV, signs, submits.
contribute() {
	as "$1" -q update train --round "$2" -o "$TRASH_DIRECTORY/fl/$1.$2.upd" \
		"$TRASH_DIRECTORY/fl/$1.csv" &&
	DMLCTL_KEYS="$TRASH_DIRECTORY/keys-$1" dmlctl -q update sign "$TRASH_DIRECTORY/fl/$1.$2.upd" &&
	as "$1" update submit "$TRASH_DIRECTORY/fl/$1.$2.upd" >/dev/null
}

test_expect_success 'setup: a coordinator and three contributors, each with its own keys and repository' '
	mkdir fl &&
	for p in coord bob carol dave
	do
		DMLCTL_KEYS="$TRASH_DIRECTORY/keys-$p" dmlctl -q key generate --no-passphrase $p &&
		DMLCTL_KEYS="$TRASH_DIRECTORY/keys-$p" dmlctl key export $p >fl/$p.pub || return 1
	done &&
	DMLCTL_KEYS="$TRASH_DIRECTORY/keys-coord" dmlctl -q init fl/coord &&
	for p in bob carol dave
	do
		as coord key add --name $p "$(cat fl/$p.pub)" >/dev/null || return 1
	done &&
	git init -q --bare fl/hub.git &&
	as coord remote add origin ../hub.git &&
	as coord push >/dev/null &&
	for p in bob carol dave
	do
		DMLCTL_KEYS="$TRASH_DIRECTORY/keys-$p" dmlctl -q clone fl/hub.git fl/$p &&
		test "$(head_of fl/$p)" = "$(head_of fl/hub.git)" || return 1
	done &&
	rows 11 30 0 >fl/bob.csv &&
	rows 12 25 0.3 >fl/carol.csv &&
	rows 13 35 -0.2 >fl/dave.csv &&
	# nobody holds another party'\''s secret key
	test ! -e keys-bob/coord.key && test ! -e keys-coord/bob.key
'

test_expect_success 'a round: each contributor pushes its own update; concurrent pushes are reconciled' '
	as coord round open --name r1 --kind ols --target y --features x1,x2 >out &&
	test_grep "^opened round r1 as entry #4 " out &&
	as coord push >/dev/null &&
	as bob pull >out &&
	test_grep "fast-forward to 5 entries" out &&
	as carol pull >/dev/null &&
	contribute bob r1 &&
	contribute carol r1 &&
	carol_id=$(last_id fl/carol) &&
	test "$(seq_of fl/carol "$carol_id")" = 5 &&
	as bob push >out &&
	test_grep "^origin: pushed 1 entries (#5..#5)\$" out &&
	# carol pushed second: refused, nothing moved on the hub
	hub_before=$(head_of fl/hub.git) &&
	test_expect_exit 1 as carol push 2>err &&
	test_grep "^error: remote .origin. has entries this ledger lacks: run .dmlctl pull origin. first\$" err &&
	test "$(head_of fl/hub.git)" = "$hub_before" &&
	carol_before=$(head_of fl/carol) &&
	as carol pull >out &&
	test_grep "^origin: 1 new entries verified; 1 local entries re-linked on top, 0 left out; 7 entries\$" out &&
	# the same entry, one place further
	test "$(seq_of fl/carol "$carol_id")" = 6 &&
	test "$(id_at fl/carol 5)" = "$(id_at fl/hub.git 5)" &&
	test "$(head_of fl/carol refs/dml/orig-ledger)" = "$carol_before" &&
	test "$(git -C fl/carol rev-parse refs/dml/ledger~1)" = "$(head_of fl/hub.git)" &&
	check_repo fl/carol &&
	as carol push >out &&
	test_grep "^origin: pushed 1 entries (#6..#6)\$" out &&
	# the coordinator takes both updates and aggregates
	as coord pull >out &&
	test_grep "^origin: 2 new entries verified; fast-forward to 7 entries\$" out &&
	as coord round aggregate r1 >out &&
	test_grep "^aggregated round r1 as entry #7 .*: 2 accepted, 0 rejected\$" out &&
	as coord push >/dev/null &&
	for p in bob carol dave
	do
		as $p pull >/dev/null &&
		test "$(head_of fl/$p)" = "$(head_of fl/coord)" &&
		check_repo fl/$p || return 1
	done &&
	check_repo fl/coord &&
	check_repo fl/hub.git &&
	as dave --json round status r1 >st.json &&
	test "$(json_get st.json status)" = aggregated &&
	"$PYTHON" -c "
import json
o = json.load(open(\"st.json\"))
assert len(o[\"updates\"]) == 2, o[\"updates\"]
" &&
	# each contributor signed its own submission; carol'\''s re-linked
	# commit is signed by carol, the puller
	signers_of fl/dave >signers &&
	test "$(sed -n 2p signers)" = "G $(key_id carol "$TRASH_DIRECTORY/keys-carol")" &&
	test "$(sed -n 3p signers)" = "G $(key_id bob "$TRASH_DIRECTORY/keys-bob")" &&
	! grep -v "^G " signers
'

test_expect_success 'an aggregate made while another update arrived is left out, then redone' '
	as coord round open --name r2 --kind ols --target y --features x1,x2 >/dev/null &&
	as coord push >/dev/null &&
	for p in bob carol dave
	do
		as $p pull >/dev/null || return 1
	done &&
	contribute bob r2 && as bob push >/dev/null &&
	contribute carol r2 && as carol pull >/dev/null && as carol push >/dev/null &&
	as coord pull >/dev/null &&
	# dave pushes while the coordinator aggregates what it has
	contribute dave r2 && as dave pull >/dev/null && as dave push >/dev/null &&
	as coord round aggregate r2 >/dev/null &&
	agg=$(last_id fl/coord) &&
	agg_seq=$(seq_of fl/coord "$agg") &&
	before=$(head_of fl/coord) &&
	test_expect_exit 1 as coord push 2>err &&
	test_grep "run .dmlctl pull origin. first" err &&
	as coord pull >out &&
	test_grep "^origin: 1 new entries verified; 0 local entries re-linked on top, 1 left out; $((agg_seq + 1)) entries\$" out &&
	test_grep "^left out: entry $agg_seq (round.aggregate $(echo "$agg" | cut -c1-19)): round .r2. has 3 updates, the entry says 2\$" out &&
	test_grep "^the ledger before the pull is kept as refs/dml/orig-ledger\$" out &&
	test "$(head_of fl/coord)" = "$(head_of fl/hub.git)" &&
	test "$(head_of fl/coord refs/dml/orig-ledger)" = "$before" &&
	test -z "$(seq_of fl/coord "$agg")" &&
	test "$(seq_of fl/coord "$agg" refs/dml/orig-ledger)" = "$agg_seq" &&
	as coord round aggregate r2 >out &&
	test_grep ": 3 accepted, 0 rejected\$" out &&
	as coord push >/dev/null &&
	for p in bob carol dave
	do
		as $p pull >/dev/null &&
		test "$(head_of fl/$p)" = "$(head_of fl/hub.git)" &&
		check_repo fl/$p || return 1
	done &&
	check_repo fl/coord
'

# ---- diverged ledgers, one key directory with several keys ----

test_expect_success 'diverged ledgers: pull re-links, keeping IDs and authors; the puller signs' '
	dmlctl -q -C alice pull && dmlctl -q -C bob pull &&
	test "$(head_of alice)" = "$(head_of bob)" &&
	base=$(count_of bob) &&
	rows 21 12 0 >a.csv &&
	rows 22 14 1 >b.csv &&
	# alice: a note and dataset "shared" version 1
	dmlctl -q -C alice ledger note -k alice -m "alice while offline" &&
	dmlctl -q -C alice dataset publish -k alice --name shared "$PWD/a.csv" &&
	# bob: a note by carol, his own "shared" version 1, a note of his
	dmlctl -q -C bob ledger note -k carol -m "carol, at bob'\''s" &&
	c1=$(last_id bob) &&
	dmlctl -q -C bob dataset publish -k bob --name shared "$PWD/b.csv" &&
	ds=$(last_id bob) &&
	dmlctl -q -C bob ledger note -k bob -m "bob while offline" &&
	b1=$(last_id bob) &&
	bob_before=$(head_of bob) &&
	dmlctl -q -C alice push &&
	test_expect_exit 1 dmlctl -C bob push 2>err &&
	test_grep "run .dmlctl pull origin. first" err &&
	dmlctl -C bob fetch >out &&
	test_grep "^origin: diverged: 2 new entries verified there, 3 local entries here (pull re-links them)\$" out &&
	test "$(head_of bob)" = "$bob_before" &&
	dmlctl -C bob pull -k bob >out &&
	test_grep "^origin: 2 new entries verified; 2 local entries re-linked on top, 1 left out; $((base + 4)) entries\$" out &&
	alice_fp=$(dmlctl key show alice | sed -n "s/^fingerprint  *//p") &&
	alice_id=$(key_id alice) &&
	test_grep "^left out: entry $((base + 1)) (dataset.publish $(echo "$ds" | cut -c1-19)): dataset .shared. belongs to .\\($alice_fp\\|$alice_id\\).: only its owner may publish new versions\$" out &&
	# IDs kept, in order, after the remote'\''s entries
	test "$(seq_of bob "$c1")" = $((base + 2)) &&
	test "$(seq_of bob "$b1")" = $((base + 3)) &&
	test -z "$(seq_of bob "$ds")" &&
	test "$(seq_of bob "$ds" refs/dml/orig-ledger)" = $((base + 1)) &&
	test "$(head_of bob refs/dml/orig-ledger)" = "$bob_before" &&
	git -C bob merge-base --is-ancestor "$(head_of hub.git)" refs/dml/ledger &&
	# the statement still has its author (carol), the new commit is bob'\''s
	dmlctl -C bob ledger show $((base + 2)) >show &&
	test_grep "^author $(key_id carol)\$" show &&
	signers_of bob >signers &&
	test "$(sed -n 1p signers)" = "G $(key_id bob)" &&
	test "$(sed -n 2p signers)" = "G $(key_id bob)" &&
	git -C bob -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$TRASH_DIRECTORY/.signers" \
		verify-commit refs/dml/ledger~1 2>vc &&
	test_grep "^Good \"git\" signature for $(key_id bob) with ED25519 key" vc &&
	test "$(sed -n 3p signers)" = "G $(key_id alice)" &&
	signers_of bob refs/dml/orig-ledger >orig-signers &&
	test "$(sed -n 3p orig-signers)" = "G $(key_id carol)" &&
	! grep -v "^G " signers &&
	# the author'\''s own signature is the very same blob
	old=$(git -C bob rev-list refs/dml/orig-ledger | sed -n 3p) &&
	test "$(git -C bob rev-parse refs/dml/ledger~1:statement.sig)" = \
		"$(git -C bob rev-parse "$old:statement.sig")" &&
	test "$(git -C bob rev-parse refs/dml/ledger~1:statement)" = \
		"$(git -C bob rev-parse "$old:statement")" &&
	dmlctl -C bob dataset show shared >show &&
	test_grep "^owner   $alice_fp\$" show &&
	check_repo bob
'

test_expect_success 're-linking again from the same place gives the same commits' '
	# put bob back where he was and pull once more
	cur=$(head_of bob) &&
	orig=$(head_of bob refs/dml/orig-ledger) &&
	git -C bob update-ref refs/dml/ledger "$orig" &&
	dmlctl -C bob --json pull -k bob >pull.json &&
	test "$(json_get pull.json result)" = rebased &&
	test "$(json_get pull.json relinked)" = 2 &&
	test "$(head_of bob)" = "$cur" &&
	test "$(json_get pull.json head)" = "$cur" &&
	test "$(head_of bob refs/dml/orig-ledger)" = "$orig"
'

test_expect_success 'the re-linked ledger is pushed and taken as any other' '
	base=$(($(count_of bob) - 4)) &&
	dmlctl -C bob push >out &&
	test_grep "^origin: pushed 2 entries" out &&
	dmlctl -C alice pull >out &&
	test_grep "fast-forward to $((base + 4)) entries" out &&
	test "$(head_of alice)" = "$(head_of bob)" &&
	check_repo alice &&
	check_repo hub.git
'

test_expect_success 'a pull that must re-link asks for a key when several could sign' '
	dmlctl -q -C alice ledger note -k alice -m "a" && dmlctl -q -C alice push &&
	dmlctl -q -C bob ledger note -k bob -m "b" &&
	before=$(head_of bob) &&
	test_expect_exit 2 dmlctl -C bob pull 2>err &&
	test_grep "use -k" err &&
	test "$(head_of bob)" = "$before" &&
	dmlctl -q -C bob pull -k carol &&
	signers_of bob >signers &&
	test "$(sed -n 1p signers)" = "G $(key_id carol)" &&
	check_repo bob &&
	dmlctl -q -C bob push && dmlctl -q -C alice pull
'

test_expect_success 'an entry another party re-linked and pushed first does not wedge its author' '
	dmlctl -q -C alice pull && dmlctl -q -C bob pull &&
	dmlctl -q clone hub.git carol &&
	# bob appends; carol takes it straight from bob'\''s repository
	dmlctl -q -C bob ledger note -k bob -m "bob, peer to peer" &&
	e=$(last_id bob) &&
	dmlctl -C carol pull "$TRASH_DIRECTORY/bob" >out &&
	test_grep "fast-forward" out &&
	dmlctl -q -C bob ledger note -k bob -m "bob, not yet shared" &&
	y=$(last_id bob) &&
	# meanwhile alice pushes to the hub; carol re-links bob'\''s entry on
	# top of it and pushes first
	dmlctl -q -C alice ledger note -k alice -m "alice meanwhile" &&
	dmlctl -q -C alice push &&
	dmlctl -q -C carol pull -k carol &&
	dmlctl -q -C carol push &&
	test -n "$(seq_of hub.git "$e")" &&
	check_repo hub.git &&
	# nothing was rewritten: the hub holds bob'\''s entry, ID and
	# signature intact, after alice'\''s.  Bob takes the hub'\''s chain, as
	# git pull --rebase drops a commit already upstream; his other entry
	# is re-linked on top.
	dmlctl -C bob pull -k bob >out &&
	test_grep "^origin: 2 new entries verified; 1 local entries re-linked on top, 1 already there, 0 left out; " out &&
	test "$(git -C bob rev-parse refs/dml/ledger~1)" = "$(head_of hub.git)" &&
	test "$(entries_of bob | grep -c "	$e\$")" = 1 &&
	test "$(last_id bob)" = "$y" &&
	# his own chain, with his link of the entry, stays at orig-ledger
	entries_of bob refs/dml/orig-ledger | tail -n 2 | head -n 1 | grep "	$e\$" &&
	check_repo bob &&
	dmlctl -q -C bob push
'

# strace, where it may trace (not in every container)
if can_trace; then
	test_expect_success 'clone, push and pull flush packs and refs before a ref names them' '
		trace_writes trace \
			dmlctl -q clone "$TRASH_DIRECTORY/hub.git" durable &&
		durable_order trace &&
		dmlctl -q -C bob ledger note -k bob -m "flushed" &&
		trace_writes trace \
			dmlctl -q -C bob push &&
		durable_order trace &&
		grep "hub.git/refs/dml/ledger\"" trace &&
		trace_writes trace \
			dmlctl -q -C durable pull &&
		durable_order trace &&
		test "$(head_of durable)" = "$(head_of bob)" &&
		dmlctl -q -C alice pull &&
		for r in durable alice bob hub.git
		do
			check_repo $r || return 1
		done
	'
else
	say "# skipping the durability test: strace cannot trace here"
fi

test_expect_success 'cleanup' '
	git -C bob update-ref -d refs/dml/orig-ledger &&
	rm -rf carol
'

# ---- git:// ----

start_git_daemon 0

test_expect_success 'a git daemon serves on 127.0.0.1' '
	test -n "$daemon_port" &&
	git ls-remote "$GITURL/probe.git"
'

test_expect_success 'git://: push to an empty hub, clone, fetch, pull, push both ways' '
	git init -q --bare daemon/shared.git &&
	dmlctl -C alice remote add daemon "$GITURL/shared.git" &&
	dmlctl -C alice push daemon >out &&
	test_grep "^daemon: pushed $(count_of alice) entries" out &&
	test "$(head_of daemon/shared.git)" = "$(head_of alice)" &&
	dmlctl clone "$GITURL/shared.git" d-bob >out &&
	test_grep "^cloned into .d-bob.: $(count_of alice) entries, every check passed\$" out &&
	test "$(head_of d-bob)" = "$(head_of alice)" &&
	test "$(git -C d-bob config remote.origin.url)" = "$GITURL/shared.git" &&
	check_repo d-bob &&
	# alice appends a dataset (chunks travel too)
	rows 31 500 0 >big.csv &&
	dmlctl -q -C alice dataset publish -k alice --name overwire "$PWD/big.csv" &&
	dmlctl -C alice push daemon >out &&
	test_grep "^daemon: pushed 1 entries" out &&
	dmlctl -C d-bob fetch >out &&
	test_grep "^origin: 1 new entries verified (pull to take them)\$" out &&
	dmlctl -C d-bob pull >out &&
	test_grep "fast-forward to $(count_of alice) entries" out &&
	dmlctl -C d-bob dataset get overwire -o "$PWD/big.back" &&
	cmp big.csv big.back &&
	# bob appends and pushes over git://, alice pulls
	dmlctl -q -C d-bob ledger note -k bob -m "over git://" &&
	dmlctl -C d-bob push >out &&
	test_grep "^origin: pushed 1 entries" out &&
	dmlctl -C alice pull daemon >out &&
	test_grep "fast-forward" out &&
	test "$(head_of alice)" = "$(head_of d-bob)" &&
	test "$(head_of alice refs/dml/remotes/daemon/ledger)" = "$(head_of d-bob)" &&
	check_repo alice &&
	check_repo d-bob &&
	check_repo daemon/shared.git
'

test_expect_success 'git://: a diverged push is refused; pull re-links; push' '
	dmlctl -q -C alice ledger note -k alice -m "alice, git://" &&
	dmlctl -q -C alice push daemon &&
	dmlctl -q -C d-bob ledger note -k bob -m "bob, git://" &&
	b=$(last_id d-bob) &&
	hub=$(head_of daemon/shared.git) &&
	test_expect_exit 1 dmlctl -C d-bob push 2>err &&
	test_grep "run .dmlctl pull origin. first" err &&
	test "$(head_of daemon/shared.git)" = "$hub" &&
	dmlctl -C d-bob pull -k bob >out &&
	test_grep "1 local entries re-linked on top, 0 left out" out &&
	test "$(last_id d-bob)" = "$b" &&
	dmlctl -q -C d-bob push &&
	test "$(head_of daemon/shared.git)" = "$(head_of d-bob)" &&
	check_repo d-bob &&
	check_repo daemon/shared.git
'

# ---- JSON ----

test_expect_success 'fetch, pull, push and clone --json' '
	git init -q --bare j.git &&
	dmlctl -C alice remote add j ../j.git &&
	n=$(count_of alice) &&
	dmlctl -C alice --json push j >push.json &&
	dmlctl -q clone j.git jb &&
	dmlctl -q -C alice ledger note -k alice -m "json 1" &&
	dmlctl -q -C alice ledger note -k alice -m "json 2" &&
	dmlctl -C alice push j --json >push2.json &&
	dmlctl -C alice push j --json >push3.json &&
	jb_before=$(head_of jb) &&
	dmlctl -C jb fetch --json >fetch.json &&
	dmlctl -C jb --json pull >pull.json &&
	dmlctl -C jb --json pull >pull2.json &&
	dmlctl -q -C jb ledger note -k bob -m "json 3" &&
	dmlctl -C jb --json fetch >fetch2.json &&
	dmlctl -q -C alice ledger note -k alice -m "json 4" &&
	dmlctl -q -C alice push j &&
	dmlctl -C jb --json fetch >fetch3.json &&
	dmlctl -C jb --json pull -k bob >pull3.json &&
	dmlctl --json clone j.git jc >clone.json &&
	for f in push push2 push3 fetch pull pull2 fetch2 fetch3 pull3 clone
	do
		json_valid <$f.json || return 1
	done &&
	"$PYTHON" - "$n" "$jb_before" "$(head_of alice)" "$(head_of jb)" "$(head_of j.git)" <<-\EOF
	import json, sys
	n, jb_before, alice_head, jb_head, hub_head = int(sys.argv[1]), *sys.argv[2:]
	def load(f):
	    return json.load(open(f + ".json"))
	KEYS = {"command", "remote", "result", "common", "local_before", "remote_entries",
	        "relinked", "upstream", "entries", "head", "left_out"}
	def check(f, **want):
	    o = load(f)
	    assert set(o) == KEYS, (f, sorted(o))
	    for k, v in want.items():
	        assert o[k] == v, (f, k, o[k], v)
	    assert len(o["head"]) == 40 and int(o["head"], 16) >= 0, o
	    return o
	check("push", command="push", remote="j", result="ahead", common=0, local_before=n,
	      remote_entries=n, relinked=0, entries=n, left_out=[])
	check("push2", command="push", result="ahead", common=n, local_before=n + 2,
	      remote_entries=n + 2, entries=n + 2)
	check("push3", command="push", result="up-to-date", common=n + 2, entries=n + 2)
	# fetch: the local ledger (and the head reported) did not move
	check("fetch", command="fetch", remote="origin", result="fast-forward", common=n,
	      local_before=n, remote_entries=n + 2, entries=n, head=jb_before, left_out=[])
	p = check("pull", command="pull", result="fast-forward", common=n, local_before=n,
	          remote_entries=n + 2, relinked=0, entries=n + 2)
	check("pull2", command="pull", result="up-to-date", common=n + 2, entries=n + 2,
	      head=p["head"])
	check("fetch2", command="fetch", result="ahead", common=n + 2, local_before=n + 3,
	      remote_entries=n + 2, entries=n + 3)
	check("fetch3", command="fetch", result="rebased", common=n + 2, local_before=n + 3,
	      remote_entries=n + 3, entries=n + 3)
	check("pull3", command="pull", result="rebased", common=n + 2, local_before=n + 3,
	      remote_entries=n + 3, relinked=1, entries=n + 4, head=jb_head, left_out=[])
	check("clone", command="clone", remote="origin", result="fast-forward", common=0,
	      local_before=0, remote_entries=n + 3, entries=n + 3, head=hub_head)
	EOF
	test "$(head_of jc)" = "$(head_of j.git)" &&
	check_repo jb &&
	check_repo jc
'

test_expect_success 'the JSON of a pull that leaves entries out lists them' '
	dmlctl -q -C jb push &&
	dmlctl -q -C alice pull j &&
	dmlctl -q -C alice dataset publish -k alice --name dup "$PWD/a.csv" &&
	dmlctl -q -C alice push j &&
	dmlctl -q -C jb dataset publish -k bob --name dup "$PWD/b.csv" &&
	id=$(last_id jb) &&
	seq=$(seq_of jb "$id") &&
	dmlctl -C jb pull -k bob --json >pull.json &&
	"$PYTHON" - "$id" "$seq" <<-\EOF
	import json, sys
	o = json.load(open("pull.json"))
	assert o["result"] == "rebased" and o["relinked"] == 0, o
	assert o["entries"] == o["remote_entries"], o
	lo = o["left_out"]
	assert len(lo) == 1, lo
	assert lo[0]["id"] == sys.argv[1] and lo[0]["seq"] == int(sys.argv[2]), lo
	assert lo[0]["type"] == "dataset.publish", lo
	assert "only its owner may publish new versions" in lo[0]["reason"], lo
	EOF
	test "$(head_of jb)" = "$(head_of j.git)" &&
	check_repo jb
'

test_expect_success 'stop the git daemon' '
	kill -0 "$daemon_pid"
'
stop_daemon

test_done
