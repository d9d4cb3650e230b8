#!/bin/sh
test_description='dmlctl ledger verify finds every kind of tampering and names the entry and the check'
. ./test-lib.sh
. "$TEST_DIRECTORY/lib-forge.sh"

# The attacker's tools are stock git plumbing and ssh-keygen.  The keys are
# OpenSSH keys imported into dmlctl, so that ssh-keygen -Y sign can forge
# whatever someone holding one of them could: the tests below re-sign every
# commit they rewrite, so that each case breaks exactly one thing and the
# check that must catch it is the only one that can.

T0=1700000000

test_must_be_empty() {
	if [ -s "$1" ]; then
		say "test_must_be_empty: $1 is not empty:" >&4
		sed "s/^/|	/" "$1" >&4
		return 1
	fi
}
TAB=$(printf '\t')
NS_STATEMENT=dmlctl-statement@dmlctl.org

# The commits of the ledger in R, root first: entry N is line N + 1.
ledger_commits() {
	git -C "$1" rev-list --reverse refs/dml/ledger
}

# The Nth commit of R as it was when saved by save_commits.
nth() {
	sed -n "$(($2 + 1))p" "$1.commits"
}

save_commits() {
	ledger_commits "$1" >"$1.commits" &&
	test -s "$1.commits"
}

# The ssh key file of a key ID.
key_file() {
	_name=$(sed -n "s/^$1 //p" "$TRASH_DIRECTORY/ids") &&
	test -n "$_name" &&
	echo "$TRASH_DIRECTORY/ssh/$_name"
}

# The key file of the author of commit C in R (its committer e-mail is the key ID).
author_key() {
	_id=$(git -C "$1" cat-file commit "$2" | sed -n "s/^committer [^<]*<\([^>]*\)> .*/\1/p") &&
	key_file "$_id"
}

# Commit C of R without its gpgsig header: the text its signature covers.
commit_unsigned() {
	git -C "$1" cat-file commit "$2" >"$TRASH_DIRECTORY/.raw" &&
	sed "/^gpgsig /,/^ -----END SSH SIGNATURE-----\$/d" "$TRASH_DIRECTORY/.raw"
}

# Rewrite commit C of R with a sed script applied to its unsigned text, signed
# again by its author (or by KEYFILE when given); print the new commit ID.
rewrite() {
	_k=${4:-$(author_key "$1" "$2")} &&
	_kid=$(key_id_of "$_k") &&
	test -n "$_kid" &&
	commit_unsigned "$1" "$2" >"$TRASH_DIRECTORY/.unsigned" &&
	sed -e "$3" -e "s/^\(author\|committer\) dmlctl <[^>]*>/\1 dmlctl <$_kid>/" \
		"$TRASH_DIRECTORY/.unsigned" | sign_commit "$1" "$_k"
}

# Put commits C... of R on top of PARENT, each re-signed by its author, and
# point refs/dml/ledger at the last: the chain connects again.
rechain() {
	_r=$1 _p=$2 &&
	shift 2 &&
	for _c
	do
		_p=$(rewrite "$_r" "$_c" "s/^parent .*/parent $_p/") || return 1
	done &&
	git -C "$_r" update-ref refs/dml/ledger "$_p"
}

# Replace commit N of R (saved by save_commits) by NEW and re-chain the rest.
replace_entry() {
	_n=$(wc -l <"$1.commits") &&
	rechain "$1" "$3" $(sed -n "$(($2 + 2)),${_n}p" "$1.commits")
}

# TREE of R with entry NAME set to a blob or tree OID (or removed when OID is
# empty); print the new tree.
tree_with() {
	git -C "$1" ls-tree "$2" >"$TRASH_DIRECTORY/.tree" &&
	{
		sed "/$TAB$3\$/d" "$TRASH_DIRECTORY/.tree" &&
		if [ -n "${5:-}" ]; then
			printf "%s %s %s\t%s\n" "$4" "$(git -C "$1" cat-file -t "$5")" "$5" "$3"
		fi
	} | git -C "$1" mktree
}

# Commit C of R with another tree, re-signed by its author.
with_tree() {
	rewrite "$1" "$2" "s/^tree .*/tree $3/"
}

# A statement's ID.
statement_id() {
	echo "sha256:$(git -C "$1" cat-file blob "$2:statement" | sha256sum | cut -d" " -f1)"
}

# The genesis entry's ID of the ledger in R (saved by save_commits): what
# the "ledger" field of every other statement of R says.
genesis_id() {
	statement_id "$1" "$(nth "$1" 0)"
}

# The key ID of an ssh key file (one of ssh/NAME).
key_id_of() {
	sed -n "s/ $(basename "$1")\$//p" "$TRASH_DIRECTORY/ids"
}

# The seq (the N of "<type> #N") and the chain value (hex) that commit C of R records.
commit_seq() {
	git -C "$1" log -1 --format=%s "$2" | sed -n "s/.* #\([0-9]*\)\$/\1/p"
}
commit_chain() {
	git -C "$1" log -1 --format=%B "$2" | sed -n "s/^Chain: sha256://p"
}

# The chain value after an entry: SHA-256 of the previous chain value and
# the entry ID, both as 32 bytes (arguments in hex, "sha256:" optional).
chain_next() {
	"$PYTHON" -c '
import hashlib, sys
a, b = (x.replace("sha256:", "") for x in sys.argv[1:3])
print(hashlib.sha256(bytes.fromhex(a) + bytes.fromhex(b)).hexdigest())
' "$1" "$2"
}

# The link message of an entry: TYPE SEQ ENTRY-ID-HEX CHAIN-HEX.
link_message() {
	printf "%s #%s\n\nEntry: sha256:%s\nChain: sha256:%s\n" "$@"
}

# The commit that links an entry in R on top of PARENT with tree TREE, for
# the statement in file STMT, signed with KEYFILE, dated TIME (default: the
# statement's time): its seq follows the parent's and its chain value is
# the next one; print the commit ID.
entry_commit() {
	_kid=$(key_id_of "$5") &&
	test -n "$_kid" &&
	_time=${6:-$(sed -n "s/^time //p" "$4")} &&
	_eid=$(sha256sum <"$4" | cut -d" " -f1) &&
	_seq=$(($(commit_seq "$1" "$2") + 1)) &&
	_chain=$(chain_next "$(commit_chain "$1" "$2")" "$_eid") &&
	{
		echo "tree $3" &&
		echo "parent $2" &&
		echo "author dmlctl <$_kid> $_time +0000" &&
		echo "committer dmlctl <$_kid> $_time +0000" &&
		echo &&
		link_message "$(sed -n "s/^type //p" "$4")" $_seq $_eid $_chain
	} | sign_commit "$1" "$5"
}

# A new entry on top of PARENT in R: the statement in file STMT signed
# with KEYFILE, its commit dated TIME (default, or when empty: the
# statement's time) and signed with LINKER (default: KEYFILE); print the
# commit ID.
craft_entry() {
	ssh-keygen -q -Y sign -n $NS_STATEMENT -f "$4" <"$3" >"$3.sig" &&
	_sb=$(git -C "$1" hash-object -w --stdin <"$3") &&
	_gb=$(git -C "$1" hash-object -w --stdin <"$3.sig") &&
	_t=$(printf "100644 blob %s\tstatement\n100644 blob %s\tstatement.sig\n" $_sb $_gb |
		git -C "$1" mktree) &&
	entry_commit "$1" "$2" $_t "$3" "${6:-$4}" ${5:-}
}

# Link an existing entry tree (of any commit C) again on top of PARENT in R,
# signed with KEYFILE; print the commit ID.
relink() {
	git -C "$1" cat-file blob "$3:statement" >"$TRASH_DIRECTORY/.relink" &&
	entry_commit "$1" "$2" "$(git -C "$1" rev-parse "$3^{tree}")" \
		"$TRASH_DIRECTORY/.relink" "$4"
}

# A tree object written byte for byte as given, in any order and with
# duplicates, which git mktree would refuse: each argument is "MODE NAME OID".
# git fsck rejects such a tree, so only write it into repositories under
# nofsck/, which the last test removes.  Print the tree's ID.
raw_tree() {
	_r=$1 &&
	shift &&
	"$PYTHON" -c '
import sys
out = b""
for item in sys.argv[1:]:
    mode, name, oid = item.split(" ")
    out += mode.encode() + b" " + name.encode() + b"\0" + bytes.fromhex(oid)
sys.stdout.buffer.write(out)
' "$@" >"$TRASH_DIRECTORY/.rawtree" &&
	git -C "$_r" hash-object -t tree --literally -w --stdin <"$TRASH_DIRECTORY/.rawtree"
}

# A note statement: LEDGER-ID AUTHOR-ID TIME MESSAGE.
note_statement() {
	printf "dmlctl-entry 1\ntype note\nledger %s\nauthor %s\ntime %s\nmessage %s\n" "$@"
}

# A key.add statement: LEDGER-ID AUTHOR-ID TIME KEY-ID ROLES.
key_add_statement() {
	printf "dmlctl-entry 1\ntype key.add\nledger %s\nauthor %s\ntime %s\nkey %s\nroles %s\n" "$@"
}

# A short ledger in R for the cases below:
#	0 ledger.genesis	founder
#	1 note			founder
small_ledger() {
	DMLCTL_TIME=$T0 dmlctl -q init -k founder "$1" >/dev/null &&
	DMLCTL_TIME=$((T0 + 1)) dmlctl -C "$1" ledger note -k founder -m "before" >/dev/null &&
	dmlctl -C "$1" ledger verify >/dev/null &&
	save_commits "$1"
}

# The ledger every case starts from:
#	0 ledger.genesis	founder
#	1 key.add bob		founder
#	2 note, att1		founder
#	3 note, att2 att3	bob
#	4 note			founder
#	5 note, att4		bob
build_ledger() {
	DMLCTL_TIME=$T0 dmlctl -q init -k founder "$1" >/dev/null &&
	DMLCTL_TIME=$((T0 + 1)) dmlctl -C "$1" key add -k founder --name Bob bob >/dev/null &&
	DMLCTL_TIME=$((T0 + 2)) dmlctl -C "$1" ledger note -k founder -m "first" \
		--attach "$TRASH_DIRECTORY/att1" >/dev/null &&
	DMLCTL_TIME=$((T0 + 3)) dmlctl -C "$1" ledger note -k bob -m "second" \
		--attach "$TRASH_DIRECTORY/att2" --attach "$TRASH_DIRECTORY/att3" >/dev/null &&
	DMLCTL_TIME=$((T0 + 4)) dmlctl -C "$1" ledger note -k founder -m "third" >/dev/null &&
	DMLCTL_TIME=$((T0 + 5)) dmlctl -C "$1" ledger note -k bob -m "fourth" \
		--attach "$TRASH_DIRECTORY/att4" >/dev/null &&
	dmlctl -C "$1" ledger verify >/dev/null &&
	save_commits "$1"
}

# verify must exit 1, name entry N as the first failure, with CHECK failing
# and a reason matching PATTERN; --json must say the same.
expect_failure() {
	test_expect_exit 1 dmlctl -C "$1" ledger verify >"$1.verify" &&
	grep "^FAILED " "$1.verify" >"$1.first" &&
	test "$(wc -l <"$1.first")" -eq 1 &&
	test_grep "^FAILED entry $2 ([^)]*): $3: $4" "$1.first" &&
	test_grep "^ledger verification failed at entry $2\$" "$1.verify" &&
	test_expect_exit 1 dmlctl -C "$1" --json ledger verify >"$1.json" &&
	"$PYTHON" - "$1.json" "$2" "$3" <<-\EOF
	import json, sys
	o = json.load(open(sys.argv[1]))
	n, check = int(sys.argv[2]), sys.argv[3]
	assert o["ok"] is False, o
	assert o["first_failure"] == n, o
	assert o["reason"].startswith(check + ": "), o
	r = [r for r in o["results"] if r["seq"] == n][0]
	assert r["checks"][check] == "failed", r
	assert r["error"].startswith(check + ": "), r
	for r in o["results"]:
	    if r["seq"] < n:
	        assert r["error"] is None, r
	        assert all(v == "ok" for v in r["checks"].values()), r
	EOF
}

# The entries after the first failure that fail too, as "N CHECK" lines.
later_failures() {
	sed -n "s/^failed entry \([0-9]*\) ([^)]*): \([a-z-]*\): .*/\1 \2/p" "$1.verify"
}

test_expect_success 'setup: keys made by ssh-keygen, imported into dmlctl' '
	mkdir ssh &&
	for k in founder bob mallory
	do
		ssh-keygen -q -t ed25519 -N "" -C $k -f ssh/$k &&
		dmlctl -q key import --no-passphrase ssh/$k >/dev/null &&
		echo "$(dmlctl key show $k | sed -n "s/^id  *//p") $k" >>ids || return 1
	done &&
	test "$(wc -l <ids)" -eq 3 &&
	echo "one attachment" >att1 &&
	echo "another attachment" >att2 &&
	head -c 50000 /dev/urandom >att3 &&
	printf "a,b\n1,2\n" >att4
'

test_expect_success 'an untampered ledger passes' '
	build_ledger clean &&
	dmlctl -C clean ledger verify >out &&
	{
		echo "ledger verified: 6 entries, every check passed" &&
		echo "genesis $(statement_id clean "$(nth clean 0)")" &&
		echo "head    $(statement_id clean "$(nth clean 5)")"
	} >want &&
	test_cmp want out &&
	dmlctl -C clean --json ledger verify >out.json &&
	"$PYTHON" -c "import json; o = json.load(open(\"out.json\")); assert o[\"ok\"] is True, o"
'

test_expect_success 'the rewriting tools are faithful: re-signing every commit changes nothing' '
	rechain clean "$(nth clean 0)" $(sed 1d clean.commits) &&
	ledger_commits clean >after &&
	test_cmp clean.commits after &&
	c=$(rewrite clean "$(nth clean 3)" "s/^tree /tree /") &&
	test "$c" = "$(nth clean 3)" &&
	dmlctl -C clean ledger verify
'

test_expect_success '(a) one byte of a statement edited, everything re-signed but the statement' '
	build_ledger a &&
	c=$(nth a 3) &&
	git -C a cat-file blob $c:statement >stmt &&
	sed "s/^message second\$/message secone/" stmt >edited &&
	! cmp -s stmt edited &&
	test "$(wc -c <stmt)" -eq "$(wc -c <edited)" &&
	blob=$(git -C a hash-object -w --stdin <edited) &&
	tree=$(tree_with a $c^{tree} statement 100644 $blob) &&
	new=$(with_tree a $c $tree) &&
	replace_entry a 3 $new &&
	expect_failure a 3 signature "bad signature" &&
	test_expect_exit 1 dmlctl -C a --json ledger verify >a.all.json &&
	"$PYTHON" -c "
import json
r = json.load(open(\"a.all.json\"))[\"results\"][3]
assert r[\"checks\"][\"link\"] == \"failed\", r
" &&
	later_failures a >later &&
	head -n 1 later >got &&
	echo "4 link" >want &&
	test_cmp want got &&
	test_grep "^failed entry 4 .*: link: the chain value is not SHA-256 of the previous one and the entry ID\$" a.verify
'

test_expect_success '(a) one byte of a statement edited by someone without the key' '
	build_ledger a2 &&
	c=$(nth a2 3) &&
	git -C a2 cat-file blob $c:statement >stmt &&
	sed "s/^message second\$/message secone/" stmt >edited &&
	blob=$(git -C a2 hash-object -w --stdin <edited) &&
	tree=$(tree_with a2 $c^{tree} statement 100644 $blob) &&
	git -C a2 cat-file commit $c | sed "s/^tree .*/tree $tree/" >forged &&
	new=$(git -C a2 hash-object -t commit -w --stdin <forged) &&
	replace_entry a2 3 $new &&
	expect_failure a2 3 signature "bad signature" &&
	test_expect_exit 1 dmlctl -C a2 --json ledger verify >a2.all.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"a2.all.json\"))
r = o[\"results\"][3]
assert r[\"checks\"][\"commit-signature\"] == \"failed\", r
"
'

test_expect_success '(a) the genesis edited' '
	build_ledger a3 &&
	c=$(nth a3 0) &&
	git -C a3 cat-file blob $c:statement >stmt &&
	sed "s/^name a3\$/name a4/" stmt >edited &&
	! cmp -s stmt edited &&
	blob=$(git -C a3 hash-object -w --stdin <edited) &&
	tree=$(tree_with a3 $c^{tree} statement 100644 $blob) &&
	new=$(with_tree a3 $c $tree) &&
	replace_entry a3 0 $new &&
	expect_failure a3 0 signature "bad signature"
'

test_expect_success '(b) statement.sig replaced by a valid signature of another statement' '
	build_ledger b &&
	c=$(nth b 2) &&
	othersig=$(git -C b rev-parse "$(nth b 4):statement.sig") &&
	tree=$(tree_with b $c^{tree} statement.sig 100644 $othersig) &&
	new=$(with_tree b $c $tree) &&
	replace_entry b 2 $new &&
	expect_failure b 2 signature "bad signature" &&
	later_failures b >got &&
	test_must_be_empty got
'

test_expect_success '(b) statement.sig replaced by another key'"'"'s signature of the same statement' '
	build_ledger b2 &&
	c=$(nth b2 2) &&
	git -C b2 cat-file blob $c:statement >stmt &&
	ssh-keygen -q -Y sign -n $NS_STATEMENT -f ssh/bob <stmt >stmt.sig &&
	sig=$(git -C b2 hash-object -w --stdin <stmt.sig) &&
	tree=$(tree_with b2 $c^{tree} statement.sig 100644 $sig) &&
	new=$(with_tree b2 $c $tree) &&
	replace_entry b2 2 $new &&
	expect_failure b2 2 signature "statement is signed by a key other than its author"
'

test_expect_success '(b) a signature in the wrong namespace' '
	build_ledger b3 &&
	c=$(nth b3 2) &&
	git -C b3 cat-file blob $c:statement >stmt &&
	ssh-keygen -q -Y sign -n git -f ssh/founder <stmt >stmt.sig &&
	sig=$(git -C b3 hash-object -w --stdin <stmt.sig) &&
	tree=$(tree_with b3 $c^{tree} statement.sig 100644 $sig) &&
	new=$(with_tree b3 $c $tree) &&
	replace_entry b3 2 $new &&
	expect_failure b3 2 signature "signature namespace is .git."
'

test_expect_success '(c) an entry skipped: its successor re-parented onto its predecessor' '
	build_ledger c &&
	rechain c "$(nth c 2)" "$(nth c 4)" "$(nth c 5)" &&
	test "$(ledger_commits c | wc -l)" -eq 5 &&
	expect_failure c 3 link "the commit says #4 at position 3"
'

test_expect_success '(c) two entries swapped' '
	build_ledger c2 &&
	rechain c2 "$(nth c2 2)" "$(nth c2 4)" "$(nth c2 3)" "$(nth c2 5)" &&
	test "$(ledger_commits c2 | wc -l)" -eq 6 &&
	expect_failure c2 3 link "the commit says #4 at position 3" &&
	test_grep "^failed entry 4 .*: link: the commit says #3 at position 4\$" c2.verify &&
	test_grep "^failed entry 5 .*: link: the chain value is not SHA-256 of the previous one and the entry ID\$" c2.verify &&
	later_failures c2 >got &&
	printf "%s\n" "4 link" "5 link" >want &&
	test_cmp want got
'

test_expect_success '(c) the last entry dropped is not tampering: verify passes' '
	build_ledger c3 &&
	git -C c3 update-ref refs/dml/ledger "$(nth c3 4)" &&
	dmlctl -C c3 ledger verify >out &&
	test_grep "5 entries, every check passed" out
'

test_expect_success '(c) a commit with two parents breaks the chain' '
	build_ledger c4 &&
	new=$(rewrite c4 "$(nth c4 5)" "/^parent /a\\
parent $(nth c4 3)") &&
	git -C c4 cat-file commit $new >merge &&
	test "$(grep -c "^parent " merge)" -eq 2 &&
	git -C c4 update-ref refs/dml/ledger $new &&
	expect_failure c4 5 chain "the commit has more than one parent"
'

test_expect_success '(c) a commit of the chain missing' '
	build_ledger c5 &&
	c=$(nth c5 2) &&
	obj=c5/.git/objects/$(echo $c | cut -c1-2)/$(echo $c | cut -c3-) &&
	test -f $obj &&
	rm -f $obj &&
	test_must_fail git -C c5 cat-file -e $c &&
	test_expect_exit 1 dmlctl -C c5 ledger verify >out &&
	test_grep "^FAILED entry [0-9]* (unreadable): chain: .*$c is missing\$" out &&
	test_expect_exit 1 dmlctl -C c5 --json ledger verify >out.json &&
	"$PYTHON" -c "import json; o = json.load(open(\"out.json\")); assert o[\"ok\"] is False, o" &&
	rm -rf c5
'

# The link message of each commit: "<type> #<seq>", a blank line, "Entry:
# sha256:<statement ID>" and "Chain: sha256:<chain value>", nothing else.
test_expect_success '(c) a commit message with another seq, re-signed' '
	build_ledger c6 &&
	new=$(rewrite c6 "$(nth c6 5)" "s/^note #5\$/note #6/") &&
	git -C c6 cat-file commit $new >commit &&
	test_grep "^note #6\$" commit &&
	git -C c6 update-ref refs/dml/ledger $new &&
	expect_failure c6 5 link "the commit says #6 at position 5\$"
'

test_expect_success '(c) a commit whose chain value is wrong' '
	build_ledger c7 &&
	# What the chain value of entry 3 would be without entry 2.
	c=$(nth c7 3) &&
	skip=$(chain_next "$(commit_chain c7 "$(nth c7 1)")" "$(statement_id c7 $c)") &&
	new=$(rewrite c7 $c "s/^Chain: sha256:.*/Chain: sha256:$skip/") &&
	test "$(commit_chain c7 $new)" = "$skip" &&
	replace_entry c7 3 $new &&
	expect_failure c7 3 link \
		"the chain value is not SHA-256 of the previous one and the entry ID\$" &&
	# The next entries record the right values: they are not blamed.
	later_failures c7 >got &&
	test_must_be_empty got &&
	# On the untouched chain, the last entry recording the chain value of
	# the entry before it, or one counted from zeros.
	git -C c7 update-ref refs/dml/ledger "$(nth c7 5)" &&
	dmlctl -C c7 ledger verify >/dev/null &&
	c=$(nth c7 5) &&
	new=$(rewrite c7 $c "s/^Chain: sha256:.*/Chain: sha256:$(commit_chain c7 "$(nth c7 4)")/") &&
	git -C c7 update-ref refs/dml/ledger $new &&
	expect_failure c7 5 link "the chain value is not" &&
	zero=$(printf "%064d" 0) &&
	new=$(rewrite c7 $c "s/^Chain: sha256:.*/Chain: sha256:$(chain_next $zero "$(statement_id c7 $c)")/") &&
	git -C c7 update-ref refs/dml/ledger $new &&
	expect_failure c7 5 link "the chain value is not"
'

test_expect_success '(c) a commit message naming another statement' '
	build_ledger c8 &&
	c=$(nth c8 4) &&
	other=$(statement_id c8 "$(nth c8 3)") &&
	new=$(rewrite c8 $c "s/^Entry: .*/Entry: $other/") &&
	replace_entry c8 4 $new &&
	expect_failure c8 4 link "the commit does not name its statement $(statement_id c8 $c)\$"
'

test_expect_success '(c) a commit message with more than the link, or another type' '
	build_ledger c9 &&
	c=$(nth c9 5) &&
	new=$(rewrite c9 $c "\$a\\
Signed-off-by: someone") &&
	git -C c9 log -1 --format=%B $new >msg &&
	test_grep "^Signed-off-by: someone\$" msg &&
	git -C c9 update-ref refs/dml/ledger $new &&
	expect_failure c9 5 link "the commit message is not the canonical link message\$" &&
	new=$(rewrite c9 $c "s/^note #5\$/key.add #5/") &&
	git -C c9 update-ref refs/dml/ledger $new &&
	expect_failure c9 5 link "the commit message is not the canonical link message\$" &&
	new=$(rewrite c9 $c "/^Chain: /d") &&
	git -C c9 update-ref refs/dml/ledger $new &&
	expect_failure c9 5 link "the chain value is not"
'

test_expect_success '(c) a statement replayed: linked again, well, by a member' '
	build_ledger r &&
	# Entry 2 again as entry 6, with a correct link message and chain value.
	new=$(relink r "$(nth r 5)" "$(nth r 2)" "$TRASH_DIRECTORY/ssh/founder") &&
	git -C r log -1 --format=%s $new >subject &&
	echo "note #6" >want &&
	test_cmp want subject &&
	git -C r update-ref refs/dml/ledger $new &&
	expect_failure r 6 authority "the entry is already in the ledger as #2\$" &&
	# ...and by its own author; bob'"'"'s entry 3 likewise.
	new=$(relink r "$(nth r 5)" "$(nth r 3)" "$TRASH_DIRECTORY/ssh/bob") &&
	git -C r update-ref refs/dml/ledger $new &&
	expect_failure r 6 authority "the entry is already in the ledger as #3\$" &&
	# The genesis replayed is a second genesis.
	new=$(relink r "$(nth r 5)" "$(nth r 0)" "$TRASH_DIRECTORY/ssh/founder") &&
	git -C r update-ref refs/dml/ledger $new &&
	expect_failure r 6 authority "a genesis entry may only be entry 0" &&
	# The append path refuses the same replay.
	git -C r update-ref refs/dml/ledger "$(nth r 5)" &&
	test_expect_exit 1 env DMLCTL_TIME=$((T0 + 4)) dmlctl -C r ledger note -k founder \
		-m "third" 2>err &&
	test_grep "the entry is already in the ledger as #4" err &&
	test "$(git -C r rev-parse refs/dml/ledger)" = "$(nth r 5)"
'

test_expect_success '(c) entries linked again in another order by members: valid' '
	# What pull does: the statements and their signatures stay, only the
	# link commits are new.
	build_ledger o &&
	c4=$(relink o "$(nth o 2)" "$(nth o 4)" "$TRASH_DIRECTORY/ssh/bob") &&
	c3=$(relink o $c4 "$(nth o 3)" "$TRASH_DIRECTORY/ssh/founder") &&
	c5=$(relink o $c3 "$(nth o 5)" "$TRASH_DIRECTORY/ssh/founder") &&
	git -C o update-ref refs/dml/ledger $c5 &&
	test "$(git -C o rev-parse $c3:statement)" = "$(git -C o rev-parse "$(nth o 3)":statement)" &&
	test "$(commit_seq o $c3)" = 4 &&
	test "$(commit_chain o $c5)" != "$(commit_chain o "$(nth o 5)")" &&
	dmlctl -C o ledger verify >out &&
	test_grep "6 entries, every check passed" out
'

test_expect_success '(d) an attached object replaced with different content' '
	build_ledger d &&
	c=$(nth d 3) &&
	h=$(sha256sum <att2 | cut -d" " -f1) &&
	git -C d cat-file -e "$c:objects/$h" &&
	fake=$(echo "not the original" | git -C d hash-object -w --stdin) &&
	objs=$(tree_with d "$c:objects" $h 100644 $fake) &&
	tree=$(tree_with d $c^{tree} objects 040000 $objs) &&
	new=$(with_tree d $c $tree) &&
	replace_entry d 3 $new &&
	expect_failure d 3 objects "object sha256:$h does not match its digest" &&
	later_failures d >got &&
	test_must_be_empty got
'

test_expect_success '(d) an attached object removed' '
	build_ledger d2 &&
	c=$(nth d2 3) &&
	h=$(sha256sum <att3 | cut -d" " -f1) &&
	objs=$(tree_with d2 "$c:objects" $h) &&
	tree=$(tree_with d2 $c^{tree} objects 040000 $objs) &&
	new=$(with_tree d2 $c $tree) &&
	replace_entry d2 3 $new &&
	expect_failure d2 3 objects "an object the statement names is missing"
'

test_expect_success '(d) an object added that the statement does not name' '
	build_ledger d3 &&
	c=$(nth d3 5) &&
	extra=$(echo extra | git -C d3 hash-object -w --stdin) &&
	h=$(echo extra | sha256sum | cut -d" " -f1) &&
	objs=$(tree_with d3 "$c:objects" $h 100644 $extra) &&
	tree=$(tree_with d3 $c^{tree} objects 040000 $objs) &&
	new=$(with_tree d3 $c $tree) &&
	git -C d3 update-ref refs/dml/ledger $new &&
	expect_failure d3 5 objects "object sha256:$h is not named by the statement"
'

test_expect_success '(d) a file added to the entry tree' '
	build_ledger d4 &&
	c=$(nth d4 2) &&
	extra=$(echo extra | git -C d4 hash-object -w --stdin) &&
	tree=$(tree_with d4 $c^{tree} README 100644 $extra) &&
	new=$(with_tree d4 $c $tree) &&
	replace_entry d4 2 $new &&
	expect_failure d4 2 chain "unexpected item .README. in the entry tree"
'

# Trees git would never write: a name twice, or names out of order.  libgit2
# reads them all the same, so two readers could each pick a different item of
# one name.  git fsck rejects these trees, hence the repositories in nofsck/.
test_expect_success '(d) an entry tree holding two statements: verify and the readers refuse it' '
	mkdir -p nofsck &&
	small_ledger nofsck/dup &&
	founder=$(sed -n "s/ founder\$//p" ids) &&
	head=$(nth nofsck/dup 1) &&
	ledger=$(genesis_id nofsck/dup) &&
	note_statement "$ledger" "$founder" $((T0 + 2)) "what verify reads" >real &&
	note_statement "$ledger" "$founder" $((T0 + 2)) "what everyone else reads" >alt &&
	ssh-keygen -q -Y sign -n $NS_STATEMENT -f ssh/founder <real >real.sig &&
	real=$(git -C nofsck/dup hash-object -w --stdin <real) &&
	alt=$(git -C nofsck/dup hash-object -w --stdin <alt) &&
	sig=$(git -C nofsck/dup hash-object -w --stdin <real.sig) &&
	tree=$(raw_tree nofsck/dup "100644 statement $alt" "100644 statement $real" \
		"100644 statement.sig $sig") &&
	git -C nofsck/dup ls-tree $tree >items &&
	test "$(grep -c "${TAB}statement\$" items)" -eq 2 &&
	new=$(entry_commit nofsck/dup $head $tree real "$TRASH_DIRECTORY/ssh/founder") &&
	git -C nofsck/dup update-ref refs/dml/ledger $new &&
	expect_failure nofsck/dup 2 chain "tree $tree has a duplicate or misordered entry .statement.\$" &&
	test_must_fail dmlctl -C nofsck/dup ledger log >out 2>err &&
	test_grep "tree $tree has a duplicate or misordered entry .statement.\$" err &&
	! grep "what" out &&
	test_must_fail dmlctl -C nofsck/dup ledger show 2 >out 2>err &&
	! grep "what" out &&
	test_must_fail dmlctl -C nofsck/dup ledger note -k founder -m "on top of it" 2>err &&
	test_grep "tree $tree has a duplicate or misordered entry .statement.\$" err &&
	test "$(git -C nofsck/dup rev-parse refs/dml/ledger)" = $new
'

test_expect_success '(d) an entry tree out of git order' '
	small_ledger nofsck/order &&
	c=$(nth nofsck/order 1) &&
	stmt=$(git -C nofsck/order rev-parse $c:statement) &&
	sig=$(git -C nofsck/order rev-parse $c:statement.sig) &&
	tree=$(raw_tree nofsck/order "100644 statement.sig $sig" "100644 statement $stmt") &&
	new=$(with_tree nofsck/order $c $tree) &&
	git -C nofsck/order update-ref refs/dml/ledger $new &&
	expect_failure nofsck/order 1 chain "tree $tree has a duplicate or misordered entry .statement.\$" &&
	test_must_fail dmlctl -C nofsck/order ledger log 2>err &&
	test_grep "tree $tree has a duplicate or misordered entry .statement.\$" err
'

test_expect_success '(d) objects/ listing one object twice where the statement names two' '
	small_ledger nofsck/dupobj &&
	founder=$(sed -n "s/ founder\$//p" ids) &&
	head=$(nth nofsck/dupobj 1) &&
	h1=$(sha256sum <att1 | cut -d" " -f1) &&
	h2=$(sha256sum <att2 | cut -d" " -f1) &&
	{
		note_statement "$(genesis_id nofsck/dupobj)" "$founder" $((T0 + 2)) \
			"two attachments" &&
		printf "object sha256:%s\n" $h1 $h2 | sort
	} >stmt &&
	ssh-keygen -q -Y sign -n $NS_STATEMENT -f ssh/founder <stmt >stmt.sig &&
	sb=$(git -C nofsck/dupobj hash-object -w --stdin <stmt) &&
	gb=$(git -C nofsck/dupobj hash-object -w --stdin <stmt.sig) &&
	b1=$(git -C nofsck/dupobj hash-object -w --stdin <att1) &&
	objs=$(raw_tree nofsck/dupobj "100644 $h1 $b1" "100644 $h1 $b1") &&
	tree=$(printf "040000 tree %s\tobjects\n100644 blob %s\tstatement\n100644 blob %s\tstatement.sig\n" \
		$objs $sb $gb | git -C nofsck/dupobj mktree) &&
	new=$(entry_commit nofsck/dupobj $head $tree stmt "$TRASH_DIRECTORY/ssh/founder") &&
	git -C nofsck/dupobj update-ref refs/dml/ledger $new &&
	expect_failure nofsck/dupobj 2 objects "tree $objs has a duplicate or misordered entry .$h1.\$"
'

test_expect_success '(e) a commit with its gpgsig stripped' '
	build_ledger e &&
	c=$(nth e 3) &&
	commit_unsigned e $c >unsigned &&
	! grep "^gpgsig" unsigned &&
	new=$(git -C e hash-object -t commit -w --stdin <unsigned) &&
	replace_entry e 3 $new &&
	expect_failure e 3 commit-signature "the commit is not signed" &&
	later_failures e >got &&
	test_must_be_empty got
'

# "ed25519:" and the first 16 hex digits of the key ID of NAME, as verify
# names the signer of a commit.
short_id() {
	sed -n "s/ $1\$//p" "$TRASH_DIRECTORY/ids" | cut -c1-24
}

# git verify-commit of commit C in R with the allowed-signers file dmlctl writes.
git_verify_commit() {
	dmlctl -C "$1" ledger allowed-signers >"$TRASH_DIRECTORY/signers" &&
	git -C "$1" -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$TRASH_DIRECTORY/signers" \
		verify-commit "$2"
}

test_expect_success '(e) an entry linked by another member than its author is valid' '
	# Any member may link an entry (pull re-links others'"'"' entries): the
	# founder'"'"'s note 2 and bob'"'"'s note 3 linked again by the other one,
	# each commit naming its signer as committer.
	build_ledger e2 &&
	bob=$(sed -n "s/ bob\$//p" ids) &&
	founder=$(sed -n "s/ founder\$//p" ids) &&
	new=$(rewrite e2 "$(nth e2 2)" "s/^\(author\|committer\) dmlctl <[^>]*>/\1 dmlctl <$bob>/" \
		"$TRASH_DIRECTORY/ssh/bob") &&
	git -C e2 cat-file blob $new:statement >stmt &&
	test_grep "^author $founder\$" stmt &&
	new=$(rewrite e2 "$(nth e2 3)" "s/^parent .*/parent $new/; s/^\(author\|committer\) dmlctl <[^>]*>/\1 dmlctl <$founder>/" \
		"$TRASH_DIRECTORY/ssh/founder") &&
	git -C e2 cat-file blob $new:statement >stmt &&
	test_grep "^author $bob\$" stmt &&
	rechain e2 $new "$(nth e2 4)" "$(nth e2 5)" &&
	ledger_commits e2 >after &&
	! test_cmp e2.commits after &&
	dmlctl -C e2 ledger verify >out &&
	test_grep "6 entries, every check passed" out &&
	git_verify_commit e2 "$(sed -n 3p after)" 2>err &&
	test_grep "Good \"git\" signature for $bob with ED25519 key" err &&
	git_verify_commit e2 "$(sed -n 4p after)" 2>err &&
	test_grep "Good \"git\" signature for $founder with ED25519 key" err
'

test_expect_success '(e) a commit signed by a key that is not a member' '
	build_ledger e4 &&
	new=$(rewrite e4 "$(nth e4 2)" "s/^tree /tree /" "$TRASH_DIRECTORY/ssh/mallory") &&
	replace_entry e4 2 $new &&
	expect_failure e4 2 commit-signature \
		"the commit is signed by $(short_id mallory)\.\.\., not a member\$" &&
	later_failures e4 >got &&
	test_must_be_empty got
'

test_expect_success '(e) a commit whose author and committer name a key other than its signer' '
	build_ledger e8 &&
	c=$(nth e8 2) &&
	bobid=$(key_id_of "$TRASH_DIRECTORY/ssh/bob") &&
	test -n "$bobid" &&
	commit_unsigned e8 "$c" |
		sed "s/^\(author\|committer\) dmlctl <[^>]*>/\1 dmlctl <$bobid>/" |
		sign_commit e8 "$TRASH_DIRECTORY/ssh/founder" >new &&
	git -C e8 cat-file commit "$(cat new)" | grep "^committer dmlctl <$bobid> " &&
	replace_entry e8 2 "$(cat new)" &&
	expect_failure e8 2 commit-signature \
		"the commit.s author and committer are not .dmlctl <key ID>. of the key that signed it\$" &&
	later_failures e8 >got &&
	test_must_be_empty got
'

test_expect_success '(e) an entry linked by the key it adds: a member only after it' '
	build_ledger e5 &&
	new=$(rewrite e5 "$(nth e5 1)" "s/^tree /tree /" "$TRASH_DIRECTORY/ssh/bob") &&
	replace_entry e5 1 $new &&
	expect_failure e5 1 commit-signature "the commit is signed by $(short_id bob)\.\.\., not a member\$"
'

test_expect_success '(e) a commit signed by a member revoked before it' '
	build_ledger e6 &&
	DMLCTL_TIME=$((T0 + 11)) dmlctl -C e6 key revoke -k founder Bob >/dev/null &&
	DMLCTL_TIME=$((T0 + 12)) dmlctl -C e6 ledger note -k founder -m "after" >/dev/null &&
	save_commits e6 &&
	new=$(rewrite e6 "$(nth e6 7)" "s/^tree /tree /" "$TRASH_DIRECTORY/ssh/bob") &&
	git -C e6 update-ref refs/dml/ledger $new &&
	expect_failure e6 7 commit-signature "the commit is signed by $(short_id bob)\.\.\., revoked at #6\$" &&
	# The revocation entry itself may still be linked by the key it revokes.
	new=$(rewrite e6 "$(nth e6 6)" "s/^tree /tree /" "$TRASH_DIRECTORY/ssh/bob") &&
	replace_entry e6 6 $new &&
	dmlctl -C e6 ledger verify >out &&
	test_grep "8 entries, every check passed" out
'

test_expect_success '(e) the genesis commit signed by a member that is not its author' '
	build_ledger e7 &&
	new=$(rewrite e7 "$(nth e7 0)" "s/^tree /tree /" "$TRASH_DIRECTORY/ssh/bob") &&
	replace_entry e7 0 $new &&
	expect_failure e7 0 commit-signature \
		"the genesis commit is signed by $(short_id bob)\.\.\., not by its author\$"
'

test_expect_success '(e) a commit whose signed text was changed' '
	build_ledger e3 &&
	c=$(nth e3 4) &&
	git -C e3 cat-file commit $c |
		sed "s/^\(author dmlctl <[^>]*>\) [0-9]* /\1 1 /" >forged &&
	! git -C e3 cat-file commit $c | cmp -s - forged &&
	new=$(git -C e3 hash-object -t commit -w --stdin <forged) &&
	replace_entry e3 4 $new &&
	expect_failure e3 4 commit-signature "bad signature"
'

test_expect_success '(f) an entry signed by a key that is not a member' '
	build_ledger f &&
	mallory=$(sed -n "s/ mallory\$//p" ids) &&
	note_statement "$(genesis_id f)" "$mallory" $((T0 + 6)) "mallory was here" >stmt &&
	# Linked by mallory: the commit is no member'"'"'s.
	new=$(craft_entry f "$(nth f 5)" stmt "$TRASH_DIRECTORY/ssh/mallory") &&
	git -C f update-ref refs/dml/ledger $new &&
	expect_failure f 6 commit-signature "the commit is signed by $(short_id mallory)\.\.\., not a member" &&
	# Linked by a member: the entry is still no member'"'"'s.
	new=$(craft_entry f "$(nth f 5)" stmt "$TRASH_DIRECTORY/ssh/mallory" "" \
		"$TRASH_DIRECTORY/ssh/founder") &&
	git -C f update-ref refs/dml/ledger $new &&
	expect_failure f 6 authority "key .$mallory. is not a member of this ledger"
'

test_expect_success '(f) an entry tree copied from another ledger' '
	build_ledger f2 &&
	DMLCTL_TIME=$T0 dmlctl -q init -k mallory other >/dev/null &&
	DMLCTL_TIME=$((T0 + 6)) dmlctl -C other ledger note -k mallory -m "from elsewhere" \
		--attach "$TRASH_DIRECTORY/att1" >/dev/null &&
	git -C f2 fetch -q ../other refs/dml/ledger:refs/other &&
	foreign=$(git -C f2 rev-parse refs/other) &&
	git -C f2 update-ref -d refs/other &&
	new=$(rewrite f2 $foreign "s/^parent .*/parent $(nth f2 5)/") &&
	git -C f2 update-ref refs/dml/ledger $new &&
	expect_failure f2 6 link "the commit says #1 at position 6" &&
	# Linked properly by a member of this ledger, it still names the other one.
	new=$(relink f2 "$(nth f2 5)" $foreign "$TRASH_DIRECTORY/ssh/founder") &&
	git -C f2 update-ref refs/dml/ledger $new &&
	expect_failure f2 6 authority \
		"the entry belongs to another ledger (this one is $(genesis_id f2))\$"
'

test_expect_success '(f) an entry naming another ledger, by a member of this one' '
	# The other ledger has the same founder, name and genesis time but
	# another policy, so another genesis ID.
	build_ledger f3 &&
	DMLCTL_TIME=$T0 dmlctl -q init -k founder --name f3 --allow note:member f3other >/dev/null &&
	other=$(dmlctl -C f3other --json ledger show 0 | "$PYTHON" -c "import json, sys; print(json.load(sys.stdin)[\"id\"])") &&
	test "$other" != "$(genesis_id f3)" &&
	founder=$(sed -n "s/ founder\$//p" ids) &&
	note_statement "$other" "$founder" $((T0 + 6)) "meant for the other ledger" >stmt &&
	new=$(craft_entry f3 "$(nth f3 5)" stmt "$TRASH_DIRECTORY/ssh/founder") &&
	git -C f3 update-ref refs/dml/ledger $new &&
	expect_failure f3 6 authority \
		"the entry belongs to another ledger (this one is $(genesis_id f3))\$" &&
	# Naming the all-zero ledger, as only a genesis entry may.
	note_statement "sha256:$(printf "%064d" 0)" "$founder" $((T0 + 6)) "no ledger" >stmt &&
	new=$(craft_entry f3 "$(nth f3 5)" stmt "$TRASH_DIRECTORY/ssh/founder") &&
	git -C f3 update-ref refs/dml/ledger $new &&
	expect_failure f3 6 authority "the entry belongs to another ledger"
'

test_expect_success '(g) a note written before its key was revoked, re-chained after the revocation' '
	build_ledger g &&
	git clone -q --mirror g parallel.git &&
	DMLCTL_TIME=$((T0 + 10)) dmlctl -C parallel.git ledger note -k bob \
		-m "written in a parallel clone" >/dev/null &&
	dmlctl -C parallel.git ledger verify &&
	DMLCTL_TIME=$((T0 + 11)) dmlctl -C g key revoke -k founder Bob >out &&
	test_grep "^key.revoke #6 " out &&
	git -C g fetch -q ../parallel.git refs/dml/ledger:refs/parallel &&
	late=$(git -C g rev-parse refs/parallel) &&
	git -C g update-ref -d refs/parallel &&
	revoke=$(git -C g rev-parse refs/dml/ledger) &&
	rechain g $revoke $late &&
	test "$(ledger_commits g | wc -l)" -eq 8 &&
	expect_failure g 7 link "the commit says #6 at position 7" &&
	# Re-linked at its new place by a member: now bob'"'"'s authority is
	# judged there, after his revocation.
	new=$(relink g $revoke $late "$TRASH_DIRECTORY/ssh/founder") &&
	git -C g update-ref refs/dml/ledger $new &&
	bob=$(sed -n "s/ bob\$//p" ids) &&
	expect_failure g 7 authority "key .$bob. was revoked at entry 6"
'

test_expect_success '(g) a revoked key forging a well-linked entry after its revocation' '
	build_ledger g2 &&
	DMLCTL_TIME=$((T0 + 11)) dmlctl -C g2 key revoke -k founder Bob >/dev/null &&
	revoke=$(git -C g2 rev-parse refs/dml/ledger) &&
	echo $revoke >g2.revoke &&
	bob=$(sed -n "s/ bob\$//p" ids) &&
	note_statement "$(genesis_id g2)" "$bob" $((T0 + 12)) "still here" >stmt &&
	new=$(craft_entry g2 $revoke stmt "$TRASH_DIRECTORY/ssh/bob") &&
	git -C g2 update-ref refs/dml/ledger $new &&
	expect_failure g2 7 commit-signature "the commit is signed by $(short_id bob)\.\.\., revoked at #6" &&
	new=$(craft_entry g2 $revoke stmt "$TRASH_DIRECTORY/ssh/bob" "" "$TRASH_DIRECTORY/ssh/founder") &&
	git -C g2 update-ref refs/dml/ledger $new &&
	expect_failure g2 7 authority "key .$bob. was revoked at entry 6"
'

test_expect_success '(g) the same forgery is refused at append time' '
	git -C g2 update-ref refs/dml/ledger "$(cat g2.revoke)" &&
	dmlctl -C g2 ledger verify &&
	test_expect_exit 1 dmlctl -C g2 ledger note -k bob -m "still here" 2>err &&
	test_grep "was revoked at entry 6" err
'

test_expect_success 'the forged entries are well-formed: a member forging as itself passes' '
	build_ledger h &&
	bob=$(sed -n "s/ bob\$//p" ids) &&
	note_statement "$(genesis_id h)" "$bob" $((T0 + 6)) "crafted by hand" >stmt &&
	new=$(craft_entry h "$(nth h 5)" stmt "$TRASH_DIRECTORY/ssh/bob") &&
	git -C h update-ref refs/dml/ledger $new &&
	dmlctl -C h ledger verify >out &&
	test_grep "7 entries, every check passed" out &&
	dmlctl -C h ledger note -k founder -m "appended after it" >/dev/null &&
	dmlctl -C h ledger verify
'

test_expect_success 'verify --from N checks entries from N on and replays the rest' '
	test_expect_exit 1 dmlctl -C d ledger verify --from 3 >out &&
	test_grep "^FAILED entry 3 " out &&
	dmlctl -C d ledger verify --from 4 >out &&
	test_grep "every check passed" out &&
	dmlctl -C d --json ledger verify --from 4 >out.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"out.json\"))
assert o[\"ok\"] is True and [r[\"seq\"] for r in o[\"results\"]] == [4, 5], o
" &&
	test_expect_exit 1 dmlctl -C c7 ledger verify --from 5 >out &&
	test_grep "^FAILED entry 5 ([^)]*): link: the chain value is not" out &&
	test_expect_exit 1 dmlctl -C c7 --json ledger verify --from 5 >out.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"out.json\"))
assert o[\"ok\"] is False and o[\"first_failure\"] == 5, o
" &&
	# Links are checked before N too: in a, entry 3 is no longer the
	# statement its commit names.
	test_expect_exit 1 dmlctl -C a ledger verify --from 4 >out &&
	test_grep "^FAILED entry 3 ([^)]*): link: the commit does not name its statement " out &&
	test_expect_exit 1 dmlctl -C a --json ledger verify --from 4 >out.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"out.json\"))
assert o[\"ok\"] is False and o[\"first_failure\"] == 3, o
assert [r[\"seq\"] for r in o[\"results\"]] == [4, 5], o
"
'

test_expect_success 'verify --from N fails when an entry before N fails' '
	small_ledger from &&
	mallory=$(sed -n "s/ mallory\$//p" ids) &&
	key_add_statement "$(genesis_id from)" "$mallory" $((T0 + 2)) "$mallory" member >stmt &&
	c2=$(craft_entry from "$(nth from 1)" stmt "$TRASH_DIRECTORY/ssh/mallory" "" \
		"$TRASH_DIRECTORY/ssh/founder") &&
	note_statement "$(genesis_id from)" "$mallory" $((T0 + 3)) "a member now" >stmt &&
	c3=$(craft_entry from $c2 stmt "$TRASH_DIRECTORY/ssh/mallory" "" \
		"$TRASH_DIRECTORY/ssh/founder") &&
	git -C from update-ref refs/dml/ledger $c3 &&
	expect_failure from 2 authority "key .$mallory. is not a member of this ledger" &&
	test_expect_exit 1 dmlctl -C from ledger verify --from 3 >out &&
	! grep "every check passed" out &&
	test_grep "^FAILED entry 2 ([^)]*): authority: key .$mallory. is not a member" out &&
	test_grep "^ledger verification failed at entry 2\$" out &&
	test_expect_exit 1 dmlctl -C from --json ledger verify --from 3 >out.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"out.json\"))
assert o[\"ok\"] is False and o[\"first_failure\"] == 2, o
assert o[\"reason\"].startswith(\"authority: \"), o
assert [r[\"seq\"] for r in o[\"results\"]] == [3], o
assert o[\"results\"][0][\"checks\"][\"authority\"] == \"skipped\", o
"
'

test_expect_success 'a time beyond the calendar is shown as the number it is' '
	small_ledger far &&
	founder=$(sed -n "s/ founder\$//p" ids) &&
	note_statement "$(genesis_id far)" "$founder" 9223372036854775807 "the end of time" >stmt &&
	new=$(craft_entry far "$(nth far 1)" stmt "$TRASH_DIRECTORY/ssh/founder" $((T0 + 2))) &&
	git -C far update-ref refs/dml/ledger $new &&
	dmlctl -C far ledger verify >out &&
	test_grep "3 entries, every check passed" out &&
	dmlctl -C far ledger log -n 1 >log &&
	test_grep "^2  *sha256:[0-9a-f]\{12\}  note  *9223372036854775807  SHA256:" log &&
	dmlctl -C far ledger log --reverse >log &&
	test_grep "^1  *sha256:[0-9a-f]\{12\}  note  *2023-11-14T22:13:21Z  SHA256:" log &&
	dmlctl -C far ledger show 2 >show &&
	test_grep "^date 9223372036854775807\$" show &&
	test_grep "^time 9223372036854775807\$" show &&
	dmlctl -C far --json ledger show 2 >show.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"show.json\"))
assert o[\"time\"] == 9223372036854775807, o
"
'

test_expect_success 'a damaged ledger can still be read' '
	dmlctl -C a ledger log >log &&
	test "$(wc -l <log)" -eq 6 &&
	dmlctl -C a ledger show 3 >show &&
	test_grep "^message secone\$" show
'

test_expect_success 'appending to a damaged ledger is refused' '
	# a: entry 3 is not the statement its commit names; c2: two entries
	# swapped, so their commits say another seq and chain value.
	for r in a c2
	do
		git -C $r rev-parse refs/dml/ledger >before &&
		test_must_fail dmlctl -C $r ledger note -k founder -m "on top of a forgery" 2>err &&
		test_grep "ledger verify" err &&
		git -C $r rev-parse refs/dml/ledger >after &&
		test_cmp before after || return 1
	done
'

test_expect_success 'cleanup: remove the repositories git fsck rejects' '
	rm -rf nofsck &&
	test ! -e nofsck
'

test_done
