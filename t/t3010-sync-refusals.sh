#!/bin/sh
test_description='dmlctl fetch, pull, push and clone refuse: rewritten history, another ledger, forged or damaged objects, a push killed midway, a diverged push, a key that may not re-link, usage errors'
. ./test-lib.sh
. "$TEST_DIRECTORY/lib-sync.sh"

# Each hostile remote is its own bare repository, a mirror of the good hub
# altered with git plumbing; after every refusal the refusing side's refs
# are compared with what they were, and its object store is checked.

# refs REPO: every ref with its value, for before/after comparisons.
refs() {
	git -C "$1" for-each-ref --format="%(objectname) %(refname)"
}

# unchanged REPO FILE: REPO's refs are still those saved in FILE, and its
# object store and ledger are sound.
unchanged() {
	refs "$1" >"$TRASH_DIRECTORY/.refs-now" &&
	test_cmp "$2" "$TRASH_DIRECTORY/.refs-now" &&
	check_repo "$1"
}

# mirror HUB NEW: a copy of a hub, ledger ref included.
mirror() {
	git clone -q --mirror "$1" "$2"
}

# as_signer NAME COMMAND...: run a git command that makes a commit as
# dmlctl would for key NAME: "dmlctl <key ID>" as author and committer.
as_signer() {
	_id=$(dmlctl key show "$1" | sed -n "s/^id  *//p") &&
	shift &&
	GIT_AUTHOR_NAME=dmlctl GIT_AUTHOR_EMAIL=$_id \
	GIT_COMMITTER_NAME=dmlctl GIT_COMMITTER_EMAIL=$_id "$@"
}

# resign REPO N KEYFILE NAME: make the last N chain commits again, the same
# trees and messages, each signed by the OpenSSH key KEYFILE, dmlctl's key NAME.
resign() {
	_prev=$(git -C "$1" rev-parse "refs/dml/ledger~$2") &&
	for _c in $(git -C "$1" rev-list --reverse "refs/dml/ledger~$2..refs/dml/ledger")
	do
		_prev=$(as_signer "$4" git -C "$1" -c gpg.format=ssh -c user.signingkey="$3" \
			commit-tree -S -p "$_prev" -m "$(git -C "$1" log -1 --format=%B "$_c")" \
			"$_c^{tree}") || return 1
	done &&
	git -C "$1" update-ref refs/dml/ledger "$_prev"
}

# push_killed REPO: push from REPO, killed by the test hook once sending
# began (abort: 134), not a clean exit.
push_killed() {
	(
		ulimit -c 0
		DMLCTL_TEST_DIE_DURING_PUSH=1 dmlctl -C "$1" push >out 2>err
		echo $? >status
	) &&
	test "$(cat status)" -gt 128
}

test_expect_success 'setup: a ledger with four members, a hub, bob'\''s clone' '
	test_key alice &&
	test_key bob &&
	test_key carol &&
	test_key outsider &&
	test_key other &&
	# dana'\''s key is an OpenSSH key, so that git itself can sign with it
	ssh-keygen -q -t ed25519 -N "" -C dana -f dana.ssh &&
	dmlctl -q key import --name dana --no-passphrase dana.ssh &&
	dmlctl -q init -k alice alice &&
	for k in bob carol dana
	do
		dmlctl -q -C alice key add -k alice --name $k $k || return 1
	done &&
	dmlctl -q -C alice ledger note -k alice -m "one" &&
	dmlctl -q -C alice ledger note -k bob -m "two" &&
	git init -q --bare hub.git &&
	dmlctl -C alice remote add origin ../hub.git &&
	dmlctl -q -C alice push &&
	dmlctl -q clone hub.git bob &&
	test "$(head_of bob)" = "$(head_of hub.git)"
'

# ---- rewritten history ----

test_expect_success 'a remote that went back and appended other entries is refused' '
	mirror hub.git h1.git &&
	dmlctl -C bob remote add h1 ../h1.git &&
	dmlctl -q -C alice ledger note -k alice -m "r1" &&
	dmlctl -q -C alice ledger note -k alice -m "r2" &&
	dmlctl -q -C alice push ../h1.git &&
	dmlctl -C bob pull h1 >out &&
	test_grep "fast-forward" out &&
	n=$(count_of bob) &&
	# h1 drops r1 and r2 and appends another entry in their place
	git -C h1.git update-ref refs/dml/ledger refs/dml/ledger~2 &&
	dmlctl -q -C h1.git ledger note -k carol -m "another history" &&
	dmlctl -C h1.git ledger verify &&
	refs bob >before &&
	test_expect_exit 1 dmlctl -C bob fetch h1 2>err &&
	test_grep "^error: remote .h1. rewrote its ledger: entry #$((n - 2)) differs from the chain we already have; refused, the local ledger is unchanged\$" err &&
	unchanged bob before &&
	test_expect_exit 1 dmlctl -C bob pull -k bob h1 2>err &&
	test_grep "remote .h1. rewrote its ledger: entry #$((n - 2)) differs" err &&
	unchanged bob before &&
	test_expect_exit 1 dmlctl -C bob --json pull h1 >out 2>err &&
	test ! -s out &&
	unchanged bob before
'

test_expect_success 'removing and adding the remote again accepts the new history, as documented' '
	n=$(count_of bob) &&
	r1=$(git -C bob log -1 --format="%(trailers:key=Entry,valueonly,separator=)" refs/dml/ledger~1) &&
	r2=$(git -C bob log -1 --format="%(trailers:key=Entry,valueonly,separator=)" refs/dml/ledger) &&
	dmlctl -C bob remote remove h1 &&
	dmlctl -C bob remote add h1 ../h1.git &&
	dmlctl -C bob pull -k bob h1 >out &&
	test_grep "1 new entries verified; 2 local entries re-linked on top, 0 left out; $((n + 1)) entries" out &&
	git -C bob log --format="%(trailers:key=Entry,valueonly,separator=)" -2 refs/dml/ledger >ids &&
	printf "%s\n" "$r2" "$r1" >want &&
	test_cmp want ids &&
	check_repo bob &&
	# back to the good hub for what follows
	git -C bob update-ref refs/dml/ledger "$(head_of hub.git)" &&
	dmlctl -q -C bob pull &&
	dmlctl -C bob remote remove h1 &&
	git -C bob update-ref -d refs/dml/orig-ledger &&
	rm -rf h1.git
'

test_expect_success 'a remote that went back to an older head is refused' '
	mirror hub.git h2.git &&
	dmlctl -C bob remote add h2 ../h2.git &&
	dmlctl -C alice remote add h2 ../h2.git &&
	dmlctl -q -C alice pull &&
	dmlctl -q -C alice ledger note -k alice -m "r3" &&
	dmlctl -q -C alice ledger note -k alice -m "r4" &&
	dmlctl -q -C alice push h2 &&
	n=$(count_of bob) &&
	# bob fetches, without taking the entries
	dmlctl -C bob fetch h2 >out &&
	test_grep "^h2: [1-9][0-9]* new entries verified (pull to take them)\$" out &&
	git -C h2.git update-ref refs/dml/ledger "$(head_of bob)" &&
	refs bob >before &&
	test_expect_exit 1 dmlctl -C bob fetch h2 2>err &&
	test_grep "remote .h2. rewrote its ledger: entry #$n differs from the chain we already have" err &&
	unchanged bob before &&
	test_expect_exit 1 dmlctl -C bob pull h2 2>err &&
	test_grep "remote .h2. rewrote its ledger: entry #$n differs" err &&
	unchanged bob before &&
	dmlctl -C bob remote remove h2 &&
	dmlctl -C alice remote remove h2 &&
	rm -rf h2.git
'

test_expect_success 'a remote whose chain commits were signed again by another member is refused, though every entry verifies' '
	mirror hub.git h3.git &&
	dmlctl -q -C alice push &&
	dmlctl -q -C bob pull &&
	dmlctl -C bob remote add h3 ../h3.git &&
	dmlctl -q -C alice push ../h3.git &&
	dmlctl -q -C bob fetch h3 &&
	n=$(count_of bob) &&
	test "$(head_of h3.git)" = "$(head_of bob)" &&
	resign h3.git 2 "$TRASH_DIRECTORY/dana.ssh" dana &&
	test "$(head_of h3.git)" != "$(head_of bob)" &&
	# the same statements, every check passes: only the history says no
	dmlctl -C h3.git ledger verify &&
	git -C h3.git log -2 --format=%B refs/dml/ledger >new-msgs &&
	git -C bob log -2 --format=%B refs/dml/ledger >old-msgs &&
	test_cmp old-msgs new-msgs &&
	refs bob >before &&
	test_expect_exit 1 dmlctl -C bob fetch h3 2>err &&
	test_grep "remote .h3. rewrote its ledger: entry #$((n - 2)) differs" err &&
	unchanged bob before &&
	test_expect_exit 1 dmlctl -C bob pull -k bob h3 2>err &&
	test_grep "remote .h3. rewrote its ledger: entry #$((n - 2)) differs" err &&
	unchanged bob before
'

test_expect_success 'removing and adding a re-signed remote accepts it, as documented' '
	n=$(count_of bob) &&
	dmlctl -C bob remote remove h3 &&
	dmlctl -C bob remote add h3 ../h3.git &&
	# the same entries, linked by another member: nothing to re-link, so
	# no key is needed; bob'\''s own links stay at orig-ledger
	dmlctl -C bob pull h3 >out &&
	test_grep "^h3: 2 new entries verified; 0 local entries re-linked on top, 2 already there, 0 left out; $n entries\$" out &&
	test "$(head_of bob)" = "$(head_of h3.git)" &&
	test "$(head_of bob refs/dml/orig-ledger)" = "$(head_of hub.git)" &&
	check_repo bob
'

test_expect_success 'cleanup: bob back on the good hub' '
	git -C bob update-ref refs/dml/ledger "$(head_of hub.git)" &&
	{ dmlctl -C bob remote remove h3 || :; } &&
	git -C bob update-ref -d refs/dml/orig-ledger 2>/dev/null;
	rm -rf h3.git &&
	check_repo bob
'

# ---- another ledger ----

test_expect_success 'a remote holding another ledger is refused by fetch, pull and push' '
	dmlctl -q init -k other otherledger &&
	git init -q --bare other.git &&
	dmlctl -C otherledger remote add origin ../other.git &&
	dmlctl -q -C otherledger push &&
	theirs=$(git -C other.git log -1 --format="%(trailers:key=Entry,valueonly,separator=)" \
		"$(git -C other.git rev-list --max-parents=0 refs/dml/ledger)") &&
	ours=$(git -C bob log -1 --format="%(trailers:key=Entry,valueonly,separator=)" \
		"$(git -C bob rev-list --max-parents=0 refs/dml/ledger)") &&
	test -n "$theirs" && test "$theirs" != "$ours" &&
	dmlctl -C bob remote add other ../other.git &&
	refs bob >before &&
	test_expect_exit 1 dmlctl -C bob fetch other 2>err &&
	test_grep "^error: remote .other. holds another ledger: its genesis is $theirs, ours is $ours\$" err &&
	unchanged bob before &&
	test_expect_exit 1 dmlctl -C bob pull -k bob other 2>err &&
	test_grep "holds another ledger" err &&
	unchanged bob before &&
	# push says so too, rather than offering a pull that cannot work
	test_expect_exit 1 dmlctl -C bob push other 2>err &&
	test_grep "^error: remote .other. holds another ledger: its genesis is $theirs, ours is $ours\$" err &&
	! grep "pull" err &&
	unchanged bob before &&
	test "$(head_of other.git)" = "$(head_of otherledger)" &&
	dmlctl -C bob remote remove other
'

# ---- forged and damaged objects ----

test_expect_success 'a forged statement on top of the remote is refused' '
	mirror hub.git h5.git &&
	dmlctl -q -C h5.git ledger note -k bob -m "columns of heart.csv" &&
	c=$(head_of h5.git) &&
	blob=$(git -C h5.git cat-file blob "$c:statement" | sed "s/columns of/COLUMNS OF/" |
		git -C h5.git hash-object -w --stdin) &&
	tree=$(git -C h5.git ls-tree "$c" | sed "s/ [0-9a-f]*	statement\$/ $blob	statement/" |
		git -C h5.git mktree) &&
	new=$(git -C h5.git cat-file commit "$c" | sed "1s/.*/tree $tree/" |
		git -C h5.git hash-object -t commit -w --stdin) &&
	git -C h5.git update-ref refs/dml/ledger "$new" &&
	n=$(count_of bob) &&
	dmlctl -C bob remote add h5 ../h5.git &&
	refs bob >before &&
	test_expect_exit 1 dmlctl -C bob pull h5 2>err &&
	test_grep "^error: remote .h5. fails verification at entry #$n (note sha256:[0-9a-f]\{64\}): signature: bad signature; refused, the local ledger is unchanged\$" err &&
	unchanged bob before &&
	test_expect_exit 1 dmlctl -C bob fetch h5 2>err &&
	test_grep "fails verification at entry #$n" err &&
	unchanged bob before &&
	test_expect_exit 1 dmlctl clone h5.git c5 2>err &&
	test_grep "fails verification at entry #$n" err &&
	test ! -e c5 &&
	dmlctl -C bob remote remove h5 &&
	rm -rf h5.git
'

test_expect_success 'a dataset chunk replaced under a validly signed commit is refused' '
	mirror hub.git h6.git &&
	awk "BEGIN { print \"a,b\"; for (i = 0; i < 3000; i++) printf \"%d,%d\\n\", i, i * 7 % 13 }" >d.csv &&
	dmlctl -q -C h6.git dataset publish -k carol --name d "$PWD/d.csv" &&
	c=$(head_of h6.git) &&
	git -C h6.git ls-tree "$c:chunks" >chunks &&
	chunk=$(sed -n "1s/.*	//p" chunks) &&
	bad=$(echo "not the chunk" | git -C h6.git hash-object -w --stdin) &&
	ct=$(sed "1s/ blob [0-9a-f]*	/ blob $bad	/" chunks | git -C h6.git mktree) &&
	tree=$(git -C h6.git ls-tree "$c" | sed "s/ tree [0-9a-f]*	chunks\$/ tree $ct	chunks/" |
		git -C h6.git mktree) &&
	new=$(as_signer dana git -C h6.git -c gpg.format=ssh \
		-c user.signingkey="$TRASH_DIRECTORY/dana.ssh" \
		commit-tree -S -p "$c~1" -m "$(git -C h6.git log -1 --format=%B "$c")" "$tree") &&
	git -C h6.git update-ref refs/dml/ledger "$new" &&
	n=$(count_of bob) &&
	refs bob >before &&
	test_expect_exit 1 dmlctl -C bob pull "$TRASH_DIRECTORY/h6.git" 2>err &&
	test_grep "fails verification at entry #$n (dataset.publish sha256:[0-9a-f]\{64\}): .*chunk sha256:$chunk" err &&
	test_grep "refused, the local ledger is unchanged" err &&
	unchanged bob before &&
	rm -rf h6.git
'

# corrupt REPO OBJECT: another object'\''s content under OBJECT'\''s loose file.
corrupt() {
	_f="$1/objects/$(echo "$2" | cut -c1-2)/$(echo "$2" | cut -c3-)" &&
	test -f "$_f" &&
	cp "$_f" "$_f.good" &&
	chmod u+w "$_f" &&
	"$PYTHON" -c "
import sys, zlib
d = b\"forged content\\n\"
open(sys.argv[1], \"wb\").write(zlib.compress(b\"blob %d\\0\" % len(d) + d))
" "$_f"
}

# repair REPO OBJECT
repair() {
	_f="$1/objects/$(echo "$2" | cut -c1-2)/$(echo "$2" | cut -c3-)" &&
	mv -f "$_f.good" "$_f"
}

test_expect_success 'a hub whose loose object is corrupted: pull fails naming it, nothing local changes' '
	mirror hub.git h7.git &&
	seq 1 2000 >att.txt &&
	dmlctl -q -C h7.git ledger note -k carol -m "with a file" --attach "$PWD/att.txt" &&
	obj=$(git -C h7.git ls-tree -r refs/dml/ledger | sed -n "s/^100644 blob \\([0-9a-f]*\\)	objects\\/.*/\\1/p") &&
	test -n "$obj" &&
	corrupt h7.git "$obj" &&
	test_must_fail git -C h7.git fsck --strict 2>/dev/null &&
	dmlctl -C bob remote add h7 ../h7.git &&
	refs bob >before &&
	# refused (exit 1), as the same hub is over git:// (below)
	test_expect_exit 1 dmlctl -C bob pull h7 2>err &&
	test_grep "^error: remote .h7.: object $obj: the remote cannot give: " err &&
	unchanged bob before &&
	test_expect_exit 1 dmlctl -C bob fetch "file://$TRASH_DIRECTORY/h7.git" 2>err &&
	test_grep "$obj" err &&
	unchanged bob before &&
	test_expect_exit 1 dmlctl clone h7.git c7 2>err &&
	test ! -e c7 &&
	# once the hub is repaired, the same pull goes through
	repair h7.git "$obj" &&
	git -C h7.git fsck --strict &&
	dmlctl -C bob fetch h7 >out &&
	test_grep "^h7: 1 new entries verified" out &&
	check_repo bob &&
	dmlctl -C bob remote remove h7 &&
	rm -rf h7.git
'

# ---- a push killed midway ----

test_expect_success 'a push killed while sending objects (local path) leaves both sides as they were' '
	dmlctl -q -C alice pull &&
	dmlctl -q -C bob pull &&
	awk "BEGIN { print \"x,y\"; for (i = 0; i < 20000; i++) printf \"%d,%d\\n\", i, i * 31 % 977 }" >big.csv &&
	dmlctl -q -C alice dataset publish -k alice --name big "$PWD/big.csv" &&
	dmlctl -q -C alice ledger note -k alice -m "after big" &&
	refs hub.git >hub-before &&
	refs alice >alice-before &&
	push_killed alice &&
	unchanged hub.git hub-before &&
	unchanged alice alice-before &&
	# what libgit2 was writing stays, for the next push to sweep in time
	{ ls hub.git/objects/pack | grep "^pack_git2_" >killed-temps || true; } &&
	dmlctl -C bob fetch >out &&
	test_grep "^origin: up to date" out &&
	# run again: it goes through
	dmlctl -C alice push >out &&
	test_grep "^origin: pushed 2 entries" out &&
	test "$(head_of hub.git)" = "$(head_of alice)" &&
	check_repo hub.git &&
	dmlctl -C bob pull >out &&
	test_grep "fast-forward" out &&
	dmlctl -C bob dataset get big -o "$PWD/big.back" &&
	cmp big.csv big.back &&
	check_repo bob
'

test_expect_success 'push to a path removes what a killed push left there two weeks ago, not newer' '
	test -s killed-temps &&
	for f in $(cat killed-temps)
	do
		test -f hub.git/objects/pack/$f &&
		touch -d "15 days ago" hub.git/objects/pack/$f || return 1
	done &&
	echo x >hub.git/objects/pack/pack_git2_recent &&
	touch -d "13 days ago" hub.git/objects/pack/pack_git2_recent &&
	dmlctl -q -C alice ledger note -k alice -m "sweeps" &&
	dmlctl -q -C alice push &&
	ls hub.git/objects/pack | grep "^pack_git2_" >left &&
	echo pack_git2_recent >expect &&
	test_cmp expect left &&
	rm hub.git/objects/pack/pack_git2_recent &&
	check_repo hub.git
'

# ---- diverged push; a key that may not re-link ----

test_expect_success 'push of a diverged ledger is refused with a hint' '
	dmlctl -q -C alice ledger note -k alice -m "alice first" &&
	dmlctl -q -C alice push &&
	dmlctl -q -C bob ledger note -k bob -m "bob second" &&
	refs hub.git >hub-before &&
	refs bob >before &&
	test_expect_exit 1 dmlctl -C bob push 2>err &&
	test_grep "^error: remote .origin. has entries this ledger lacks: run .dmlctl pull origin. first\$" err &&
	unchanged hub.git hub-before &&
	unchanged bob before &&
	test_expect_exit 1 dmlctl -C bob --json push >out 2>err &&
	test_grep "run .dmlctl pull origin. first" err &&
	unchanged hub.git hub-before &&
	unchanged bob before
'

test_expect_success 'pull with a key that is not a member is refused when re-linking is needed' '
	refs bob >before &&
	test_expect_exit 1 dmlctl -C bob pull -k outsider 2>err &&
	outsider=$(dmlctl key show outsider | sed -n "s/^id  *//p") &&
	test_grep "^error: key $outsider is not a member of the remote.s ledger, so it cannot re-link the 1 local entries (pass -k with a member.s key)\$" err &&
	unchanged bob before &&
	test_must_fail git -C bob rev-parse --verify -q refs/dml/orig-ledger &&
	# a key revoked on the remote may not re-link either
	dmlctl -q -C alice key revoke -k alice carol &&
	dmlctl -q -C alice push &&
	test_expect_exit 1 dmlctl -C bob pull -k carol 2>err &&
	test_grep "is not a member of the remote.s ledger" err &&
	unchanged bob before &&
	# a member can
	dmlctl -C bob pull -k bob >out &&
	test_grep "1 local entries re-linked on top, 0 left out" out &&
	dmlctl -q -C bob push &&
	check_repo bob
'

test_expect_success 'a pull that only fast-forwards does not need a member key' '
	dmlctl -q -C alice pull &&
	dmlctl -q -C alice ledger note -k alice -m "ff" &&
	dmlctl -q -C alice push &&
	test -z "$(git -C bob rev-list refs/dml/ledger --not "$(head_of hub.git)")" &&
	dmlctl -C bob pull -k outsider >out &&
	test_grep "fast-forward" out &&
	test "$(head_of bob)" = "$(head_of hub.git)"
'

# ---- usage errors ----

test_expect_success 'usage errors' '
	refs bob >before &&
	for c in fetch pull push
	do
		test_expect_exit 2 dmlctl -C bob $c origin extra 2>err &&
		test_grep "^error: .$c. takes at most one remote\$" err &&
		test_expect_exit 128 dmlctl -C bob $c x 2>err &&
		test_grep "^error: no remote .x." err || return 1
	done &&
	test_expect_exit 2 dmlctl -C bob push -k bob 2>err &&
	test_grep "unknown switch" err &&
	test_expect_exit 2 dmlctl -C bob fetch --threads 5000 2>err &&
	test_grep "too many" err &&
	test_expect_exit 2 dmlctl -C bob fetch --no-such-option 2>err &&
	test_expect_exit 2 dmlctl clone 2>err &&
	test_grep "^error: .clone. takes a URL and at most one directory\$" err &&
	test_expect_exit 2 dmlctl clone hub.git a b 2>err &&
	test_grep "takes a URL and at most one directory" err &&
	test ! -e a && test ! -e b &&
	test_expect_exit 2 dmlctl -C bob remote add onlyname 2>err &&
	test_grep "takes a name and a URL" err &&
	test_expect_exit 2 dmlctl -C bob remote add a b c 2>err &&
	test_expect_exit 2 dmlctl -C bob remote remove 2>err &&
	test_grep "takes one name" err &&
	test_expect_exit 2 dmlctl -C bob remote list extra 2>err &&
	test_expect_exit 2 dmlctl -C bob remote frobnicate 2>err &&
	test_grep "frobnicate" err &&
	mkdir -p norepo &&
	test_expect_exit 128 dmlctl -C norepo fetch 2>err &&
	test_expect_exit 128 dmlctl -C norepo push 2>err &&
	unchanged bob before &&
	rmdir norepo
'

test_expect_success 'a word that names no remote but a directory is a path, as in git' '
	git clone -q --mirror hub.git bob/hubword &&
	dmlctl -C bob fetch hubword >out &&
	test_grep "^hubword: up to date" out &&
	rm -rf bob/hubword &&
	test_expect_exit 128 dmlctl -C bob fetch hubword 2>err &&
	test_grep "^error: no remote .hubword." err
'

test_expect_success 'the usage lines of fetch and push do not offer -k, which they refuse' '
	dmlctl fetch -h >out 2>&1 &&
	test_grep "^usage: dmlctl fetch " out &&
	! grep -e "-k <key>" out &&
	dmlctl push -h >out 2>&1 &&
	test_grep "^usage: dmlctl push " out &&
	! grep -e "-k <key>" out
'

# ---- git:// ----

start_git_daemon 5000

test_expect_success 'git://: a corrupted object on the hub is refused, nothing local changes' '
	test -n "$daemon_port" &&
	mirror hub.git daemon/h8.git &&
	dmlctl -q -C daemon/h8.git ledger note -k bob -m "served damaged" --attach "$PWD/att.txt" &&
	obj=$(git -C daemon/h8.git ls-tree -r refs/dml/ledger | sed -n "s/^100644 blob \\([0-9a-f]*\\)	objects\\/.*/\\1/p") &&
	corrupt daemon/h8.git "$obj" &&
	dmlctl -q clone hub.git g8 &&
	dmlctl -C g8 remote add h8 "$GITURL/h8.git" &&
	n=$(count_of g8) &&
	refs g8 >before &&
	test_expect_exit 1 dmlctl -C g8 pull h8 2>err &&
	test_grep "remote .h8. fails verification at entry #$n (note sha256:[0-9a-f]\{64\}): objects: object $obj is missing; refused" err &&
	unchanged g8 before
'

test_expect_success 'git://: once the hub is repaired, the same pull goes through' '
	obj=$(git -C daemon/h8.git ls-tree -r refs/dml/ledger | sed -n "s/^100644 blob \\([0-9a-f]*\\)	objects\\/.*/\\1/p") &&
	repair daemon/h8.git "$obj" &&
	git -C daemon/h8.git fsck --strict &&
	dmlctl -C g8 pull h8 >out &&
	test_grep "fast-forward" out &&
	test "$(head_of g8)" = "$(head_of daemon/h8.git)" &&
	check_repo g8
'

test_expect_success 'cleanup: the repaired hub is sound' '
	obj=$(git -C daemon/h8.git ls-tree -r refs/dml/ledger | sed -n "s/^100644 blob \\([0-9a-f]*\\)	objects\\/.*/\\1/p") &&
	_f="daemon/h8.git/objects/$(echo "$obj" | cut -c1-2)/$(echo "$obj" | cut -c3-)" &&
	{ test ! -f "$_f.good" || mv -f "$_f.good" "$_f"; } &&
	git -C daemon/h8.git fsck --strict &&
	# a fresh clone of it verifies
	dmlctl -q clone "$GITURL/h8.git" g8b &&
	check_repo g8b
'

test_expect_success 'git://: a push killed while sending objects leaves both sides as they were' '
	mirror hub.git daemon/h9.git &&
	dmlctl -q clone "$GITURL/h9.git" g9 &&
	dmlctl -q -C g9 dataset publish -k bob --name big9 "$PWD/big.csv" &&
	refs daemon/h9.git >hub-before &&
	refs g9 >g9-before &&
	push_killed g9 &&
	unchanged daemon/h9.git hub-before &&
	unchanged g9 g9-before &&
	dmlctl -C g9 push >out &&
	test_grep "^origin: pushed 1 entries" out &&
	test "$(head_of daemon/h9.git)" = "$(head_of g9)" &&
	check_repo daemon/h9.git
'

test_expect_success 'stop the git daemon' '
	kill -0 "$daemon_pid"
'
stop_daemon

test_done
