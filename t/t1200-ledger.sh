#!/bin/sh
test_description='dmlctl ledger: log, show, note with attachments, verify, and git verify-commit'
. ./test-lib.sh

T0=1700000000

# SHA-256 in hex of standard input.
sha256_hex() {
	"$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())'
}

# The commits of the ledger, root first: entry N is line N + 1.
ledger_commits() {
	git -C "$1" rev-list --reverse refs/dml/ledger
}

# verify-commit with the allowed-signers file that dmlctl writes.
git_verify_commit() {
	git -C repo -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$TRASH_DIRECTORY/$1" \
		verify-commit "$2"
}

test_expect_success 'setup: a ledger with two members and notes, one with attachments' '
	test_key alice &&
	test_key bob &&
	DMLCTL_TIME=$T0 dmlctl -q init -k alice repo >/dev/null &&
	DMLCTL_TIME=$((T0 + 1)) dmlctl -C repo key add -k alice --name Bob bob >/dev/null &&
	DMLCTL_TIME=$((T0 + 2)) dmlctl -C repo ledger note -k alice -m "first note" >/dev/null &&
	printf "a,b\n1,2\n" >data.csv &&
	head -c 100000 /dev/urandom >model.bin &&
	: >empty &&
	DMLCTL_TIME=$((T0 + 3)) dmlctl -C repo ledger note -k bob -m "second note" \
		--attach "$PWD/data.csv" --attach "$PWD/model.bin" --attach "$PWD/empty" >note.out &&
	test_grep "^note #3 sha256:[0-9a-f]\{64\}$" note.out &&
	DMLCTL_TIME=$((T0 + 4)) dmlctl -C repo ledger note -k alice -m "third note" >/dev/null &&
	ledger_commits repo >commits &&
	test "$(wc -l <commits)" -eq 5
'

test_expect_success 'log lists the entries newest first' '
	dmlctl -C repo ledger log >log &&
	awk "{ print \$1, \$3 }" log >got &&
	cat >want <<-\EOF &&
	4 note
	3 note
	2 note
	1 key.add
	0 ledger.genesis
	EOF
	test_cmp want got &&
	test_grep "^3  *sha256:[0-9a-f]\{12\}  note  *2023-11-14T22:13:23Z  SHA256:" log
'

test_expect_success 'log --reverse lists them oldest first' '
	dmlctl -C repo ledger log --reverse >log &&
	awk "{ print \$1 }" log >got &&
	printf "%s\n" 0 1 2 3 4 >want &&
	test_cmp want got
'

test_expect_success 'log -n limits the count' '
	dmlctl -C repo ledger log -n 2 >log &&
	awk "{ print \$1 }" log >got &&
	printf "%s\n" 4 3 >want &&
	test_cmp want got &&
	dmlctl -C repo ledger log --reverse -n2 >log &&
	awk "{ print \$1 }" log >got &&
	printf "%s\n" 0 1 >want &&
	test_cmp want got &&
	dmlctl -C repo ledger log --max-count=1 >log &&
	test "$(wc -l <log)" -eq 1 &&
	dmlctl -C repo ledger log -n 0 >log &&
	test ! -s log &&
	dmlctl -C repo ledger log -n 100 >log &&
	test "$(wc -l <log)" -eq 5
'

test_expect_success 'log --json parses and matches the plain log' '
	dmlctl -C repo --json ledger log >log.json &&
	json_valid <log.json &&
	"$PYTHON" -c "
import json
es = json.load(open(\"log.json\"))
assert [e[\"seq\"] for e in es] == [4, 3, 2, 1, 0], es
assert es[0][\"body\"][\"message\"] == \"third note\", es[0]
assert len(es[1][\"body\"][\"object\"]) == 3, es[1]
assert es[4][\"ledger\"] == \"sha256:\" + \"0\" * 64, es[4]
for e in es[:4]:
    assert e[\"ledger\"] == es[4][\"id\"], e
    assert \"prev\" not in e, e
" &&
	dmlctl -C repo ledger log --json -n 1 >one.json &&
	"$PYTHON" -c "import json; assert len(json.load(open(\"one.json\"))) == 1"
'

test_expect_success 'show by sequence number prints the commit and the statement' '
	dmlctl -C repo ledger show 2 >show &&
	sed -n 1,3p show >got &&
	{
		echo "entry 2" &&
		echo "commit $(sed -n 3p commits)" &&
		echo "date 2023-11-14T22:13:22Z"
	} >want &&
	test_cmp want got &&
	sed "1,/^\$/d" show >statement &&
	git -C repo cat-file blob "$(sed -n 3p commits):statement" >want &&
	test_cmp want statement &&
	test_grep "^message first note$" statement
'

test_expect_success 'a statement is canonical text in the documented field order' '
	git -C repo cat-file blob "$(sed -n 4p commits):statement" >statement &&
	alice=$(dmlctl key show alice | sed -n "s/^id  *//p") &&
	bob=$(dmlctl key show bob | sed -n "s/^id  *//p") &&
	genesis=$(git -C repo cat-file blob "$(sed -n 1p commits):statement" | sha256_hex) &&
	o1=$(sha256_hex <data.csv) && o2=$(sha256_hex <model.bin) && o3=$(sha256_hex <empty) &&
	{
		echo "dmlctl-entry 1" &&
		echo "type note" &&
		echo "ledger sha256:$genesis" &&
		echo "author $bob" &&
		echo "time $((T0 + 3))" &&
		echo "message second note" &&
		printf "object sha256:%s\n" $o1 $o2 $o3 | sort
	} >want &&
	test_cmp want statement
'

test_expect_success 'the entry ID is the SHA-256 of the statement' '
	for seq in 0 1 2 3 4
	do
		c=$(sed -n "$((seq + 1))p" commits) &&
		echo "sha256:$(git -C repo cat-file blob $c:statement | sha256_hex)" >want &&
		dmlctl -C repo --json ledger show $seq >show.json &&
		"$PYTHON" -c "import json, sys; print(json.load(open(\"show.json\"))[\"id\"])" >got &&
		test_cmp want got || return 1
	done
'

test_expect_success 'each commit message links its entry: type, seq, entry ID, chain value' '
	# c(-1) is 32 zero bytes, c(n) = SHA-256(c(n-1) || ID(n)); the message is
	# "<type> #<seq>", a blank line, "Entry: <ID>" and "Chain: sha256:<c(n)>".
	"$PYTHON" - <<-\EOF
	import hashlib, subprocess
	def git(*a):
	    return subprocess.check_output(("git", "-C", "repo") + a)
	chain = bytes(32)
	genesis = None
	for seq, c in enumerate(open("commits").read().split()):
	    st = git("cat-file", "blob", c + ":statement")
	    i = hashlib.sha256(st).digest()
	    chain = hashlib.sha256(chain + i).digest()
	    typ = st.split(b"\n")[1].split(b" ")[1].decode()
	    want = "%s #%d\n\nEntry: sha256:%s\nChain: sha256:%s\n" % (
	        typ, seq, i.hex(), chain.hex())
	    got = git("log", "-1", "--format=%B", c).decode()
	    assert got.rstrip("\n") == want.rstrip("\n"), (seq, got, want)
	    raw = git("cat-file", "commit", c).decode()
	    assert raw.split("\n\n", 1)[1] == want, (seq, raw)
	    ledger = st.split(b"\n")[2].decode()
	    if seq == 0:
	        assert ledger == "ledger sha256:" + "0" * 64, st
	        genesis = i.hex()
	    else:
	        assert ledger == "ledger sha256:" + genesis, st
	EOF
'

test_expect_success 'show by ID and ID prefix' '
	dmlctl -C repo ledger show 3 >want &&
	dmlctl -C repo --json ledger show 3 >show.json &&
	id=$("$PYTHON" -c "import json; print(json.load(open(\"show.json\"))[\"id\"])") &&
	hex=${id#sha256:} &&
	dmlctl -C repo ledger show "$id" >got &&
	test_cmp want got &&
	dmlctl -C repo ledger show "$hex" >got &&
	test_cmp want got &&
	short=$(echo "$hex" | cut -c1-12) &&
	dmlctl -C repo ledger show "sha256:$short" >got &&
	test_cmp want got &&
	dmlctl -C repo ledger log >log &&
	prefix=$(sed -n "s/^3  *sha256:\([0-9a-f]*\) .*/\1/p" log) &&
	test -n "$prefix" &&
	dmlctl -C repo ledger show "sha256:$prefix" >got &&
	test_cmp want got
'

test_expect_success 'show --json includes the commit' '
	dmlctl -C repo ledger show --json 1 >show.json &&
	json_valid <show.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"show.json\"))
assert o[\"seq\"] == 1 and o[\"type\"] == \"key.add\", o
assert o[\"commit\"] == open(\"commits\").read().split()[1], o
assert o[\"body\"][\"name\"] == \"Bob\", o
"
'

test_expect_success 'an unknown ID, a bad prefix and a missing entry fail' '
	test_expect_exit 128 dmlctl -C repo ledger show "sha256:$(printf %064d 0)" 2>err &&
	test_grep "no entry with ID" err &&
	test_expect_exit 2 dmlctl -C repo ledger show sha256:abc 2>err &&
	test_grep "4 to 64 hex digits" err &&
	test_expect_exit 2 dmlctl -C repo ledger show xyz 2>err &&
	test_grep "not an entry number or an ID prefix" err &&
	test_expect_exit 2 dmlctl -C repo ledger show "sha256:ABCD" 2>err &&
	test_expect_exit 128 dmlctl -C repo ledger show 5 2>err &&
	test_grep "no entry 5 (the ledger has 5)" err &&
	test_expect_exit 2 dmlctl -C repo ledger show 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger show 1 2 2>err
'

# The statement of a note appended next, as entry.h defines it.
test_expect_success 'an ambiguous ID prefix fails' '
	dmlctl -C repo --json ledger log >log.json &&
	alice=$(dmlctl key show alice | sed -n "s/^id  *//p") &&
	# Find a message whose note, appended next, has an ID sharing its first
	# four hex digits with an entry already in the ledger.
	"$PYTHON" - "$alice" "$((T0 + 5))" >collide <<-\EOF &&
	import hashlib, json, sys
	author, t = sys.argv[1], sys.argv[2]
	es = json.load(open("log.json"))
	genesis = es[-1]["id"]
	prefixes = dict((e["id"][7:11], e["seq"]) for e in es)
	for i in range(10 ** 6):
	    msg = "collision %d" % i
	    st = "dmlctl-entry 1\ntype note\nledger %s\nauthor %s\ntime %s\nmessage %s\n" % (
	        genesis, author, t, msg)
	    h = hashlib.sha256(st.encode()).hexdigest()
	    if h[:4] in prefixes:
	        print(msg)
	        print("sha256:" + h)
	        print(h[:4])
	        print(prefixes[h[:4]])
	        break
	EOF
	test "$(wc -l <collide)" -eq 4 &&
	msg=$(sed -n 1p collide) &&
	DMLCTL_TIME=$((T0 + 5)) dmlctl -C repo ledger note -k alice -m "$msg" >out &&
	echo "note #5 $(sed -n 2p collide)" >want &&
	test_cmp want out &&
	test_expect_exit 2 dmlctl -C repo ledger show "sha256:$(sed -n 3p collide)" 2>err &&
	test_grep "entry ID prefix .$(sed -n 3p collide). is ambiguous" err &&
	dmlctl -C repo ledger show "$(sed -n 2p collide)" >show &&
	test_grep "^entry 5$" show &&
	ledger_commits repo >commits
'

test_expect_success 'note stores each attachment under objects/<sha256>' '
	c=$(sed -n 4p commits) &&
	git -C repo ls-tree --name-only -r $c >tree &&
	{
		echo statement &&
		echo statement.sig &&
		for f in data.csv model.bin empty
		do
			echo "objects/$(sha256_hex <$f)"
		done
	} | sort >want &&
	test_cmp want tree &&
	for f in data.csv model.bin empty
	do
		git -C repo cat-file blob "$c:objects/$(sha256_hex <$f)" >got &&
		cmp $f got || return 1
	done &&
	git -C repo ls-tree -r $c >modes &&
	! grep -v "^100644 blob " modes
'

test_expect_success 'entries without attachments store only the statement and its signature' '
	for line in 1 2 3 5 6
	do
		git -C repo ls-tree --name-only $(sed -n ${line}p commits) >tree &&
		printf "%s\n" statement statement.sig >want &&
		test_cmp want tree || return 1
	done
'

test_expect_success 'note failures append nothing' '
	dmlctl -C repo ledger log >log.before &&
	test_expect_exit 128 dmlctl -C repo ledger note -k alice -m x --attach "$PWD/missing" 2>err &&
	test_grep "cannot open .*missing" err &&
	test_expect_exit 2 dmlctl -C repo ledger note -k alice -m x --attach "$PWD/data.csv" \
		--attach "$PWD/data.csv" 2>err &&
	test_grep "attached already" err &&
	cp data.csv copy.csv &&
	test_expect_exit 2 dmlctl -C repo ledger note -k alice -m x --attach "$PWD/data.csv" \
		--attach "$PWD/copy.csv" 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger note -k alice 2>err &&
	test_grep "needs -m" err &&
	test_expect_exit 2 dmlctl -C repo ledger note -k alice -m " padded" 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger note -k alice -m "two
lines" 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger note -k alice -m "" 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger note -k alice -m x extra 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger note -k alice -m "x$(printf "%04096d" 0)" 2>err &&
	test_grep "at most 4096 bytes" err &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after
'

test_expect_success 'the same statement again is a replay: refused, nothing appended' '
	# Entry 2 is "first note" by alice at T0 + 2; written again at the same
	# time it is the same statement, with the same ID.
	dmlctl -C repo ledger log >log.before &&
	git -C repo rev-parse refs/dml/ledger >ref.before &&
	test_expect_exit 1 env DMLCTL_TIME=$((T0 + 2)) dmlctl -C repo ledger note -k alice \
		-m "first note" 2>err &&
	test_grep "the entry is already in the ledger as #2" err &&
	git -C repo rev-parse refs/dml/ledger >ref.after &&
	test_cmp ref.before ref.after &&
	dmlctl -C repo ledger log >log.after &&
	test_cmp log.before log.after
'

test_expect_success 'a note of 4096 bytes and UTF-8 text is accepted' '
	msg="x$(printf "%04095d" 0)" &&
	dmlctl -C repo ledger note -k alice -m "$msg" >/dev/null &&
	dmlctl -C repo ledger note -k alice -m "héllo wörld ✓" >/dev/null &&
	dmlctl -C repo ledger show 7 >show &&
	test_grep "^message héllo wörld ✓$" show &&
	ledger_commits repo >commits
'

# The entry ID of entry SEQ of the ledger in repo.
entry_id() {
	dmlctl -C repo --json ledger show "$1" >entry-id.json &&
	"$PYTHON" -c "import json; print(json.load(open(\"entry-id.json\"))[\"id\"])"
}

test_expect_success 'ledger verify passes on a good ledger and names its genesis and head' '
	dmlctl -C repo ledger verify >out &&
	{
		echo "ledger verified: 8 entries, every check passed" &&
		echo "genesis $(entry_id 0)" &&
		echo "head    $(entry_id 7)"
	} >want &&
	test_cmp want out &&
	dmlctl -C repo ledger verify --threads 1 >out &&
	test_cmp want out &&
	dmlctl -C repo ledger verify --threads 3 >out &&
	test_cmp want out &&
	dmlctl -C repo ledger verify --from 7 >out &&
	test_cmp want out
'

test_expect_success 'ledger verify --json reports every check' '
	dmlctl -C repo --json ledger verify >verify.json &&
	json_valid <verify.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"verify.json\"))
assert o[\"ok\"] is True and o[\"entries\"] == 8, o
assert \"first_failure\" not in o, o
rs = o[\"results\"]
assert [r[\"seq\"] for r in rs] == list(range(8)), rs
commits = open(\"commits\").read().split()
for r, c in zip(rs, commits):
    assert r[\"commit\"] == c, (r, c)
    assert set(r[\"checks\"]) == set([\"chain\", \"statement\", \"link\", \"signature\",
        \"commit-signature\", \"objects\", \"data\", \"authority\"]), r
    assert all(v == \"ok\" for v in r[\"checks\"].values()), r
    assert r[\"error\"] is None, r
" &&
	dmlctl -C repo ledger verify --json --from 6 >from.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"from.json\"))
assert o[\"ok\"] is True and [r[\"seq\"] for r in o[\"results\"]] == [6, 7], o
"
'

test_expect_success 'ledger verify --json: the data check comes between objects and authority' '
	entry_id 0 >genesis &&
	entry_id 7 >head &&
	"$PYTHON" -c "
import json
o = json.load(open(\"verify.json\"))
assert o[\"genesis\"] == open(\"genesis\").read().strip(), o
assert o[\"head\"] == open(\"head\").read().strip(), o
for r in o[\"results\"]:
    assert list(r[\"checks\"]) == [\"chain\", \"statement\", \"link\", \"signature\",
        \"commit-signature\", \"objects\", \"data\", \"authority\"], r
    assert r[\"checks\"][\"data\"] == \"ok\", r
"
'

test_expect_success 'ledger verify --genesis passes with the ledger'"'"'s own genesis' '
	g=$(entry_id 0) &&
	dmlctl -C repo ledger verify >want &&
	dmlctl -C repo ledger verify --genesis "$g" >out &&
	test_cmp want out &&
	dmlctl -C repo ledger verify --genesis "${g#sha256:}" >out &&
	test_cmp want out &&
	dmlctl -C repo ledger verify --genesis="$g" --from 6 >out &&
	test_cmp want out &&
	dmlctl -C repo --json ledger verify --genesis "$g" >out.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"out.json\"))
assert o[\"ok\"] is True and o[\"genesis\"] == \"$g\", o
assert \"expected_genesis\" not in o and \"first_failure\" not in o, o
"
'

test_expect_success 'ledger verify --genesis fails with another genesis and names both' '
	g=$(entry_id 0) &&
	DMLCTL_TIME=$T0 dmlctl -q init -k alice other >/dev/null &&
	dmlctl -C other --json ledger show 0 >other.json &&
	o=$("$PYTHON" -c "import json; print(json.load(open(\"other.json\"))[\"id\"])") &&
	test "$o" != "$g" &&
	test_expect_exit 1 dmlctl -C repo ledger verify --genesis "$o" >out &&
	cat >want <<-EOF &&
	FAILED genesis is $g, but --genesis requires $o
	ledger verification failed at entry 0
	EOF
	test_cmp want out &&
	test_expect_exit 1 dmlctl -C other ledger verify --genesis "$g" >out &&
	test_grep "^FAILED genesis is $o, but --genesis requires $g\$" out &&
	test_expect_exit 1 dmlctl -C repo --json ledger verify --genesis "$o" >out.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"out.json\"))
assert o[\"ok\"] is False and o[\"first_failure\"] == 0, o
assert o[\"genesis\"] == \"$g\" and o[\"expected_genesis\"] == \"$o\", o
assert \"--genesis\" in o[\"reason\"], o
"
'

test_expect_success 'ledger verify --genesis with a malformed ID is a usage error' '
	g=$(entry_id 0) &&
	hex=${g#sha256:} &&
	for bad in "" xyz sha256:abc "$(echo $hex | cut -c1-12)" "${g}0" "$g " \
		"sha256:$(echo $hex | tr a-f A-F)" "SHA256:$hex" "sha256:$(printf "%063d" 0)g"
	do
		test_expect_exit 2 dmlctl -C repo ledger verify --genesis "$bad" >out 2>err &&
		test_grep -e "--genesis" err &&
		test ! -s out || return 1
	done &&
	test_expect_exit 2 dmlctl -C repo ledger verify --genesis 2>err &&
	test_grep "requires a value" err
'

test_expect_success 'ledger verify usage errors' '
	test_expect_exit 2 dmlctl -C repo ledger verify --from 8 2>err &&
	test_grep "the ledger has only 8 entries" err &&
	test_expect_exit 2 dmlctl -C repo ledger verify --threads 5000 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger verify --threads x 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger verify extra 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger log -n x 2>err &&
	test_grep "option .-n. expects a whole number, not .x." err &&
	test_expect_exit 2 dmlctl -C repo ledger log -n -1 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger log extra 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger allowed-signers extra 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger 2>err &&
	test_expect_exit 2 dmlctl -C repo ledger frobnicate 2>err &&
	test_grep "not a verb of .dmlctl ledger." err
'

test_expect_success '-h on ledger and on every verb prints the usage and exits 0' '
	dmlctl ledger -h >out &&
	test_grep "^usage: dmlctl ledger <verb>" out &&
	for verb in log show verify allowed-signers note
	do
		dmlctl ledger $verb -h >out &&
		test_grep "^usage: dmlctl ledger $verb" out || return 1
	done
'

test_expect_success 'allowed-signers names every member with the git namespace' '
	dmlctl -C repo ledger allowed-signers >signers &&
	test "$(wc -l <signers)" -eq 2 &&
	for k in alice bob
	do
		id=$(dmlctl key show $k | sed -n "s/^id  *//p") &&
		pub=$(cut -d" " -f1,2 "$DMLCTL_KEYS/$k.pub") &&
		test_grep "^$id namespaces=\"git\" $pub$" signers || return 1
	done
'

test_expect_success 'git verify-commit accepts every ledger commit' '
	test "$(wc -l <commits)" -eq 8 &&
	while read c
	do
		git_verify_commit signers $c 2>out &&
		test_grep "Good \"git\" signature for ed25519:" out || return 1
	done <commits
'

test_expect_success 'git verify-commit needs the signer in the allowed-signers file' '
	grep "^$(dmlctl key show bob | sed -n "s/^id  *//p") " signers >bob-only &&
	test_must_fail git_verify_commit bob-only "$(sed -n 1p commits)" 2>err &&
	git_verify_commit bob-only "$(sed -n 4p commits)" 2>err
'

test_expect_success 'git verify-commit rejects a tampered copy of a commit' '
	for line in 1 4 8
	do
		c=$(sed -n ${line}p commits) &&
		git -C repo cat-file commit $c >orig &&
		awk "!done && blank { \$0 = \$0 \" (edited)\"; done = 1 } { blank = \$0 == \"\"; print }" \
			orig >edited &&
		! cmp -s orig edited &&
		bad=$(git -C repo hash-object -t commit -w --stdin <edited) &&
		test "$bad" != "$c" &&
		test_must_fail git_verify_commit signers $bad 2>err || return 1
	done
'

test_expect_success 'git verify-commit rejects a copy with a changed tree' '
	c=$(sed -n 4p commits) &&
	other=$(git -C repo rev-parse "$(sed -n 3p commits)^{tree}") &&
	git -C repo cat-file commit $c >orig &&
	sed "s/^tree .*/tree $other/" orig >edited &&
	bad=$(git -C repo hash-object -t commit -w --stdin <edited) &&
	test_must_fail git_verify_commit signers $bad 2>err
'

test_expect_success 'ssh-keygen verifies every statement signature in its namespace' '
	sed "s/ namespaces=\"git\"//" signers >statement-signers &&
	while read c
	do
		git -C repo cat-file blob $c:statement >stmt &&
		git -C repo cat-file blob $c:statement.sig >stmt.sig &&
		author=$(sed -n "s/^author //p" stmt) &&
		ssh-keygen -Y verify -f statement-signers -I "$author" \
			-n dmlctl-statement@dmlctl.org -s stmt.sig <stmt >out &&
		! ssh-keygen -Y verify -f statement-signers -I "$author" \
			-n git -s stmt.sig <stmt >out 2>err &&
		test_grep "namespace" err || return 1
	done <commits
'

test_expect_success 'statement signatures are byte for byte what ssh-keygen -Y sign writes' '
	mkdir ssh &&
	ssh-keygen -q -t ed25519 -N "" -f ssh/carol &&
	dmlctl -q key import --no-passphrase ssh/carol >/dev/null &&
	dmlctl -C repo key add -k alice carol >/dev/null &&
	dmlctl -C repo ledger note -k carol -m "by carol" --attach "$PWD/data.csv" >/dev/null &&
	git -C repo cat-file blob refs/dml/ledger:statement >carol-stmt &&
	git -C repo cat-file blob refs/dml/ledger:statement.sig >want &&
	ssh-keygen -q -Y sign -n dmlctl-statement@dmlctl.org -f ssh/carol carol-stmt &&
	test_cmp want carol-stmt.sig
'

test_expect_success 'revoking a member keeps its old commits verifiable with git' '
	DMLCTL_TIME=$((T0 + 100)) dmlctl -C repo key revoke -k alice Bob >/dev/null &&
	dmlctl -C repo ledger allowed-signers >signers &&
	test_grep "valid-before=\"20231114221501Z\"" signers &&
	git_verify_commit signers "$(sed -n 4p commits)" 2>err &&
	test_grep "Good \"git\" signature" err &&
	dmlctl -C repo ledger verify
'

test_done
