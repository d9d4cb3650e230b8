#!/bin/sh
test_description='dmlctl dataset publish: CSV and TSV, files and stdin, schema, terms, versions and dedup, bad input'
. ./test-lib.sh

T0=1700000000

# The stored object NAME (a sha256:<hex> field of the statement: manifest,
# schema) of the newest entry of the ledger in R.
stored_object() {
	_c=$(git -C "$1" rev-parse refs/dml/ledger) &&
	_h=$(git -C "$1" cat-file blob "$_c:statement" | sed -n "s/^$2 sha256://p") &&
	test -n "$_h" &&
	git -C "$1" cat-file blob "$_c:objects/$_h"
}

# Everything under refs/ of the repository (refs/dml/ledger included): an
# input error must leave it exactly as it was, and leave no lock behind.
save_refs() {
	git -C repo for-each-ref --format="%(refname) %(objectname)" >refs.before
}

refs_unchanged() {
	git -C repo for-each-ref --format="%(refname) %(objectname)" >refs.after &&
	test_cmp refs.before refs.after &&
	find repo/.git -name "*.lock" >locks &&
	test_cmp /dev/null locks
}

# One error line, in the house style: "error: ", lowercase, no full stop.
error_style() {
	grep "^error: " "$1" >err.lines &&
	test "$(wc -l <err.lines)" -eq 1 &&
	! grep "^error: [A-Z]" err.lines &&
	! grep "\.\$" err.lines
}

# publish_fails PATTERN ARGS...: publish by alice must fail (1..128) with an
# error matching PATTERN and leave every ref as it was.
publish_fails() {
	_pat=$1 &&
	shift &&
	save_refs &&
	test_must_fail dmlctl -C repo dataset publish -k alice "$@" 2>err &&
	error_style err &&
	test_grep -e "$_pat" err &&
	refs_unchanged
}

# publish_usage PATTERN ARGS...: the same, with exit status 2.
publish_usage() {
	_pat=$1 &&
	shift &&
	save_refs &&
	test_expect_exit 2 dmlctl -C repo dataset publish -k alice "$@" 2>err &&
	test_grep -e "$_pat" err &&
	refs_unchanged
}

test_expect_success 'setup: a ledger with two members, a key that is not one' '
	test_key alice &&
	test_key bob &&
	test_key carol &&
	DMLCTL_TIME=$T0 dmlctl -q init -k alice repo >/dev/null &&
	DMLCTL_TIME=$((T0 + 1)) dmlctl -C repo -q key add -k alice --name Bob bob >/dev/null &&
	printf "id,unit price %%,ok,colour,score,note\n" >small.csv &&
	printf "1,2.5,true,red,10,NA\n" >>small.csv &&
	printf "3,,false,blue,NA,x\n" >>small.csv &&
	printf "2,-1.5e1,TRUE,red,,\"a, b\"\n" >>small.csv &&
	printf "6,4,False,green,7,\n" >>small.csv &&
	printf "a\tb,c\n1\tx,y\n2\t\"q\tr\"\n" >small.tsv &&
	cp small.tsv small-tsv.txt
'

test_expect_success 'publish a small CSV file with its terms' '
	DMLCTL_TIME=$((T0 + 10)) dmlctl -C repo dataset publish -k alice --name small \
		--license CC-BY-4.0 --price 10 --allow train,evaluate,audit \
		--description "a small hand-checked file" "$PWD/small.csv" >out &&
	test_grep "^published small@1 as entry #2 sha256:[0-9a-f]\{64\}\$" out &&
	test_grep "^4 rows, 6 columns; 122 B in 1 chunks\?, 1 new: [0-9]* B stored" out
'

test_expect_success 'the file ID is the sha256sum of the file, in show --json and ledger show' '
	echo "sha256:$(sha256_of small.csv)" >want &&
	dmlctl -C repo --json dataset show small >show.json &&
	json_valid <show.json &&
	json_get show.json body.file >got &&
	test_cmp want got &&
	dmlctl -C repo ledger show 2 >ledger.show &&
	sed -n "s/^file //p" ledger.show >got &&
	test_cmp want got &&
	dmlctl -C repo --json ledger show 2 >ledger.json &&
	json_get ledger.json body.file >got &&
	test_cmp want got &&
	echo "$(wc -c <small.csv)" >want &&
	json_get show.json body.size >got &&
	test_cmp want got
'

test_expect_success 'the entry records the terms, the format and the counts' '
	git -C repo cat-file blob refs/dml/ledger:statement >statement &&
	sed "1,5d" statement >body &&
	m=$(sed -n "s/^manifest //p" body) &&
	s=$(sed -n "s/^schema //p" body) &&
	cat >want <<-EOF &&
	name small
	version 1
	file sha256:$(sha256_of small.csv)
	size 122
	format csv
	manifest $m
	schema $s
	rows 4
	columns 6
	license CC-BY-4.0
	price 10
	allow audit,evaluate,train
	description a small hand-checked file
	EOF
	test_cmp want body &&
	test_grep "^type dataset.publish\$" statement &&
	test_grep "^time $((T0 + 10))\$" statement
'

test_expect_success 'the stored schema is the canonical text, checked by hand' '
	stored_object repo schema >schema &&
	cat >want <<-\EOF &&
	dmlctl-schema 1
	rows 4
	column id integer count 4 missing 0 min 1 max 6 mean 3 std 1.8708286933869707
	column unit%20price%20%25 float count 3 missing 1 min -15 max 4 mean -2.8333333333333335 std 8.6248993552904079
	column ok boolean count 4 missing 0 min 0 max 1 mean 0.5 std 0.5
	column colour string count 4 missing 0 distinct 3
	column score integer count 2 missing 2 min 7 max 10 mean 8.5 std 1.5
	column note string count 2 missing 2 distinct 2
	EOF
	test_cmp want schema &&
	echo "$(sed -n "s/^schema //p" body)" >want &&
	echo "sha256:$(sha256_of schema)" >got &&
	test_cmp want got
'

test_expect_success 'show prints the terms and the schema' '
	dmlctl -C repo dataset show small >show &&
	test_grep "^dataset small@1 (entry #2, 2023-11-14T22:13:30Z)\$" show &&
	fp=$(dmlctl key show alice | sed -n "s/^fingerprint  *//p") &&
	test -n "$fp" &&
	test_grep "^owner   $fp\$" show &&
	test_grep "^license CC-BY-4.0\$" show &&
	test_grep "^price   10\$" show &&
	test_grep "^allow   audit,evaluate,train\$" show &&
	test_grep "^description a small hand-checked file\$" show &&
	sed "1,/^column  *type/d" show >columns &&
	test "$(wc -l <columns)" -eq 6 &&
	test_grep "^id  *integer  *4  *0  min 1 max 6 mean 3 std 1.87083\$" columns &&
	test_grep "^unit price %  *float  *3  *1  min -15 max 4 mean -2.83333 std 8.6249\$" columns &&
	test_grep "^ok  *boolean  *4  *0  min 0 max 1 mean 0.5 std 0.5\$" columns &&
	test_grep "^colour  *string  *4  *0  3 distinct\$" columns &&
	test_grep "^score  *integer  *2  *2  min 7 max 10 mean 8.5 std 1.5\$" columns &&
	test_grep "^note  *string  *2  *2  2 distinct\$" columns
'

test_expect_success 'show --json gives types, counts, missing values and ranges' '
	"$PYTHON" - <<-\EOF
	import json
	o = json.load(open("show.json"))
	assert o["type"] == "dataset.publish" and o["seq"] == 2 and o["version"] == 1, o
	b = o["body"]
	assert b["license"] == "CC-BY-4.0" and b["price"] == "10", b
	assert b["allow"] == "audit,evaluate,train", b
	assert b["description"] == "a small hand-checked file", b
	assert "previous" not in b, b
	cols = dict((c["name"], c) for c in o["columns"])
	assert [c["name"] for c in o["columns"]] == ["id", "unit price %", "ok", "colour",
	    "score", "note"], o["columns"]
	want = {
	    "id": ("integer", 4, 0, 1, 6, 3),
	    "unit price %": ("float", 3, 1, -15, 4, None),
	    "ok": ("boolean", 4, 0, 0, 1, 0.5),
	    "score": ("integer", 2, 2, 7, 10, 8.5),
	}
	for name, (t, count, missing, lo, hi, mean) in want.items():
	    c = cols[name]
	    assert (c["type"], c["count"], c["missing"], c["min"], c["max"]) == \
	        (t, count, missing, lo, hi), c
	    assert mean is None or c["mean"] == mean, c
	assert abs(cols["unit price %"]["mean"] - (2.5 - 15 + 4) / 3) < 1e-12
	assert cols["score"]["std"] == 1.5
	for name, count, missing, distinct in (("colour", 4, 0, 3), ("note", 2, 2, 2)):
	    c = cols[name]
	    assert (c["type"], c["count"], c["missing"], c["distinct"], c["distinct_capped"]) == \
	        ("string", count, missing, distinct, False), c
	    assert "min" not in c, c
	EOF
'

test_expect_success 'publish --json output parses and agrees with the ledger' '
	dmlctl -C repo --json dataset publish -k alice --name small-json "$PWD/small.csv" >pub.json &&
	json_valid <pub.json &&
	dmlctl -C repo --json ledger show 3 >ledger.json &&
	"$PYTHON" - <<-\EOF
	import json
	p = json.load(open("pub.json"))
	e = json.load(open("ledger.json"))
	assert p["name"] == "small-json" and p["version"] == 1 and p["seq"] == 3, p
	assert p["id"] == e["id"], (p, e)
	assert p["size"] == 122 and p["rows"] == 4 and p["columns"] == 6, p
	assert p["chunks"] == 1, p
	# The same bytes as "small": its only chunk is stored already.
	assert p["new_chunks"] == 0 and p["stored"] == 0, p
	b = e["body"]
	assert b["price"] == "0" and b["allow"] == "evaluate,train", b
	assert "license" not in b and "description" not in b, b
	EOF
'

test_expect_success 'a .tsv file is read as TSV' '
	dmlctl -C repo -q dataset publish -k alice --name tsv-by-name "$PWD/small.tsv" &&
	dmlctl -C repo --json dataset show tsv-by-name >tsv.json &&
	"$PYTHON" - <<-\EOF
	import json
	o = json.load(open("tsv.json"))
	assert o["body"]["format"] == "tsv", o["body"]
	assert o["body"]["rows"] == "2" and o["body"]["columns"] == "2", o["body"]
	assert [c["name"] for c in o["columns"]] == ["a", "b,c"], o["columns"]
	assert o["columns"][0]["type"] == "integer", o["columns"]
	EOF
'

test_expect_success '--format tsv reads TSV whatever the name, --format csv overrides .tsv' '
	dmlctl -C repo -q dataset publish -k alice --name tsv-by-option --format tsv \
		"$PWD/small-tsv.txt" &&
	dmlctl -C repo --json dataset show tsv-by-option >tsv.json &&
	test "$(json_get tsv.json body.format)" = tsv &&
	test "$(json_get tsv.json body.columns)" = 2 &&
	dmlctl -C repo --json dataset show tsv-by-name >tsv-by-name.json &&
	test "$(json_get tsv.json body.file)" = "$(json_get tsv-by-name.json body.file)" &&
	printf "a,b\n1,2\n" >comma.tsv &&
	dmlctl -C repo -q dataset publish -k alice --name csv-by-option --format csv \
		"$PWD/comma.tsv" &&
	dmlctl -C repo --json dataset show csv-by-option >csv.json &&
	test "$(json_get csv.json body.format)" = csv &&
	test "$(json_get csv.json body.columns)" = 2 &&
	publish_fails "column 1: .*control" --name tsv-as-csv --format csv "$PWD/small.tsv"
'

test_expect_success 'publish from standard input: a redirected file and a pipe' '
	dmlctl -C repo dataset publish -k alice --name stdin-file - <small.csv >out &&
	test_grep "^published stdin-file@1 " out &&
	cat small.csv | dmlctl -C repo dataset publish -k alice --name stdin-pipe - >out &&
	test_grep "^published stdin-pipe@1 " out &&
	cat small.tsv | dmlctl -C repo -q dataset publish -k alice --name stdin-tsv --format tsv - &&
	for n in stdin-file stdin-pipe
	do
		dmlctl -C repo --json dataset show $n >s.json &&
		test "$(json_get s.json body.file)" = "sha256:$(sha256_of small.csv)" &&
		test "$(json_get s.json body.format)" = csv &&
		dmlctl -C repo dataset get $n >got &&
		cmp small.csv got || return 1
	done &&
	dmlctl -C repo --json dataset show stdin-tsv >s.json &&
	test "$(json_get s.json body.format)" = tsv &&
	test "$(json_get s.json body.file)" = "sha256:$(sha256_of small.tsv)"
'

test_expect_success 'list shows every dataset, --json parses' '
	dmlctl -C repo dataset list >list &&
	awk "{ print \$1, \$2 }" list >got &&
	cat >want <<-\EOF &&
	csv-by-option v1
	small v1
	small-json v1
	stdin-file v1
	stdin-pipe v1
	stdin-tsv v1
	tsv-by-name v1
	tsv-by-option v1
	EOF
	test_cmp want got &&
	dmlctl -C repo --json dataset list >list.json &&
	json_valid <list.json &&
	"$PYTHON" - <<-\EOF
	import json
	ds = json.load(open("list.json"))
	assert len(ds) == 8, ds
	small = [d for d in ds if d["name"] == "small"][0]
	assert small["versions"] == 1 and small["size"] == 122 and small["rows"] == 4, small
	assert small["owner"].startswith("ed25519:"), small
	EOF
'

# ---- versions and dedup ----

test_expect_success 'setup: a 5 MB CSV file and versions of it edited, inserted into, appended to' '
	"$PYTHON" - <<-\EOF
	import random
	def rows(seed, n, start):
	    r = random.Random(seed)
	    return ["%d,%.6f,%.4f,%s,%d\n" % (i, r.gauss(0, 1), r.uniform(0, 1000),
	        r.choice(["red", "green", "blue", "cyan"]), r.randrange(1000000))
	        for i in range(start, start + n)]
	hdr = "id,x,y,colour,n\n"
	base = rows(1, 140000, 0)
	def write(name, body):
	    open(name, "w").write(hdr + "".join(body))
	write("v1.csv", base)
	# A contiguous 1% of the rows edited in the middle.
	write("v2.csv", base[:70000] + rows(2, 1400, 70000) + base[71400:])
	# 1% more rows inserted in the middle.
	write("v3.csv", base[:70000] + rows(3, 1400, 200000) + base[70000:])
	# 1% more rows appended.
	write("v4.csv", base + rows(4, 1400, 140000))
	EOF
	test "$(wc -c <v1.csv)" -gt 5000000 &&
	test "$(wc -c <v1.csv)" -lt 5500000
'

test_expect_success 'version 1 stores every chunk' '
	DMLCTL_TIME=$((T0 + 100)) dmlctl -C repo --json dataset publish -k alice --name big \
		"$PWD/v1.csv" >pub1.json &&
	"$PYTHON" - "$(wc -c <v1.csv)" <<-\EOF
	import json, sys
	p = json.load(open("pub1.json"))
	assert p["version"] == 1 and p["size"] == int(sys.argv[1]), p
	assert p["rows"] == 140000 and p["columns"] == 5, p
	assert p["chunks"] > 20 and p["new_chunks"] == p["chunks"], p
	assert 0 < p["stored"] < p["size"], p
	EOF
'

# new_bytes_ok FILE: the publish --json result in FILE stored new data under
# 3% of the file's size, in few new chunks.
new_bytes_ok() {
	"$PYTHON" - "$1" <<-\EOF
	import json, sys
	p = json.load(open(sys.argv[1]))
	print("%s: version %d, %d of %d chunks new, %d bytes stored of %d (%.2f%%)" % (
	    sys.argv[1], p["version"], p["new_chunks"], p["chunks"], p["stored"], p["size"],
	    100.0 * p["stored"] / p["size"]))
	assert p["stored"] * 100 < p["size"] * 3, p
	assert 0 < p["new_chunks"] and p["new_chunks"] * 10 < p["chunks"], p
	EOF
}

test_expect_success 'a version editing 1% of the rows in the middle stores under 3% new bytes' '
	DMLCTL_TIME=$((T0 + 101)) dmlctl -C repo --json dataset publish -k alice --name big \
		"$PWD/v2.csv" >pub2.json &&
	test "$(json_get pub2.json version)" = 2 &&
	new_bytes_ok pub2.json
'

test_expect_success 'version 2 names version 1 as its previous' '
	dmlctl -C repo --json dataset show big@1 >show1.json &&
	dmlctl -C repo --json dataset show big@2 >show2.json &&
	test "$(json_get show2.json body.previous)" = "$(json_get show1.json id)" &&
	test "$(json_get show2.json body.version)" = 2 &&
	test "$(json_get show2.json version)" = 2 &&
	dmlctl -C repo --json dataset show big >show.json &&
	test "$(json_get show.json id)" = "$(json_get show2.json id)" &&
	test "$(json_get show1.json body.file)" = "sha256:$(sha256_of v1.csv)" &&
	test "$(json_get show2.json body.file)" = "sha256:$(sha256_of v2.csv)"
'

test_expect_success 'a version inserting rows in the middle stores under 3% new bytes' '
	DMLCTL_TIME=$((T0 + 102)) dmlctl -C repo --json dataset publish -k alice --name big \
		"$PWD/v3.csv" >pub3.json &&
	test "$(json_get pub3.json version)" = 3 &&
	test "$(json_get pub3.json rows)" = 141400 &&
	new_bytes_ok pub3.json
'

test_expect_success 'a version appending rows stores under 3% new bytes' '
	DMLCTL_TIME=$((T0 + 103)) dmlctl -C repo --json dataset publish -k alice --name big \
		"$PWD/v4.csv" >pub4.json &&
	test "$(json_get pub4.json version)" = 4 &&
	new_bytes_ok pub4.json
'

test_expect_success 'republishing an identical file stores nothing new' '
	DMLCTL_TIME=$((T0 + 104)) dmlctl -C repo --json dataset publish -k alice --name big \
		"$PWD/v4.csv" >pub5.json &&
	"$PYTHON" - <<-\EOF
	import json
	p = json.load(open("pub5.json"))
	assert p["version"] == 5, p
	assert p["stored"] == 0 and p["new_chunks"] == 0 and p["chunks"] > 0, p
	EOF
	dmlctl -C repo dataset publish -k alice --name big "$PWD/v4.csv" >out &&
	test_grep "^published big@6 " out &&
	test_grep ", 0 new: " out
'

test_expect_success 'another owner publishing the same bytes under a new name stores nothing new' '
	dmlctl -C repo --json dataset publish -k bob --name bobs-copy "$PWD/v1.csv" >copy.json &&
	test "$(json_get copy.json stored)" = 0 &&
	test "$(json_get copy.json new_chunks)" = 0
'

test_expect_success 'log lists every version, newest first, with its previous' '
	dmlctl -C repo dataset log big >log &&
	awk "{ print \$1 }" log >got &&
	printf "v%s\n" 6 5 4 3 2 1 >want &&
	test_cmp want got &&
	test_grep "^v1  *#[0-9]*  *sha256:[0-9a-f]\{12\}  2023-11-14T22:15:00Z .* 140000 rows  file sha256:$(sha256_of v1.csv | cut -c1-12)\$" log &&
	dmlctl -C repo --json dataset log big >log.json &&
	json_valid <log.json &&
	"$PYTHON" - <<-\EOF
	import json
	es = json.load(open("log.json"))
	assert [e["version"] for e in es] == [6, 5, 4, 3, 2, 1], es
	for a, b in zip(es, es[1:]):
	    assert a["body"]["previous"] == b["id"], (a, b)
	assert "previous" not in es[-1]["body"], es[-1]
	EOF
'

test_expect_success 'get returns the bytes of every version' '
	for v in 1 2 3 4
	do
		dmlctl -C repo dataset get big@$v -o "$PWD/got.csv" &&
		cmp v$v.csv got.csv || return 1
	done &&
	dmlctl -C repo dataset get big@1 >got.csv &&
	cmp v1.csv got.csv &&
	dmlctl -C repo dataset get big >got.csv &&
	cmp v4.csv got.csv
'

test_expect_success 'another member cannot publish a version of a name it does not own' '
	publish_fails_as() {
		_k=$1 && shift &&
		save_refs &&
		test_expect_exit 1 dmlctl -C repo dataset publish -k $_k "$@" 2>err &&
		refs_unchanged
	} &&
	publish_fails_as bob --name big "$PWD/v1.csv" &&
	error_style err &&
	alice=$(dmlctl key show alice | sed -n "s/^id  *//p") &&
	test_grep "dataset .big. belongs to .$alice.: only its owner may publish new versions" err &&
	publish_fails_as bob --name small "$PWD/small.csv" &&
	publish_fails_as alice --name bobs-copy "$PWD/v1.csv" &&
	test_grep "dataset .bobs-copy. belongs to" err &&
	dmlctl -C repo dataset log big >log2 &&
	test_cmp log log2 &&
	dmlctl -C repo dataset get big@1 >got.csv &&
	cmp v1.csv got.csv
'

# ---- bad input ----

test_expect_success 'an empty file is refused' '
	: >empty.csv &&
	publish_fails "^error: .$PWD/empty.csv. is empty" --name e "$PWD/empty.csv" &&
	publish_fails "^error: .standard input. is empty" --name e - </dev/null
'

test_expect_success 'a header without rows is refused' '
	printf "a,b\n" >header.csv &&
	publish_fails "^error: .$PWD/header.csv. has a header but no rows" --name h "$PWD/header.csv" &&
	printf "a,b" >header-nolf.csv &&
	publish_fails "header but no rows" --name h "$PWD/header-nolf.csv" &&
	printf "a,b\n" | publish_fails "^error: .standard input. has a header but no rows" --name h -
'

test_expect_success 'a ragged row is refused naming its line' '
	printf "a,b\n1,2\n3\n4,5\n" >ragged.csv &&
	publish_fails "^error: .$PWD/ragged.csv. line 3: expected 2 fields, found 1\$" \
		--name r "$PWD/ragged.csv" &&
	printf "a,b\n1,2\n3,4,5\n" >ragged2.csv &&
	publish_fails "line 3: expected 2 fields, found 3" --name r "$PWD/ragged2.csv" &&
	printf "a,b\n\"x\ny\",1\n\"p\r\nq\",2\n1,2,3\n" >ragged3.csv &&
	publish_fails "line 6: expected 2 fields, found 3" --name r "$PWD/ragged3.csv" &&
	printf "a\tb\n1\t2\n3\n" >ragged.tsv &&
	publish_fails "^error: .$PWD/ragged.tsv. line 3: expected 2 fields" --name r "$PWD/ragged.tsv"
'

test_expect_success 'a ragged row far into a multi-chunk file names its line' '
	{
		head -n 100001 v1.csv &&
		echo "1,2,3" &&
		tail -n +100002 v1.csv
	} >ragged-big.csv &&
	publish_fails "^error: .$PWD/ragged-big.csv. line 100002: expected 5 fields, found 3\$" \
		--name rb "$PWD/ragged-big.csv"
'

test_expect_success 'an unterminated quote is refused naming the line it opened on' '
	printf "a,b\n1,2\n3,\"x\ny\n4,5\n" >unterminated.csv &&
	publish_fails "^error: .$PWD/unterminated.csv. .*unterminated quoted field (opened on line 3)" \
		--name u "$PWD/unterminated.csv" &&
	printf "a,\"b\n" >unterminated-header.csv &&
	publish_fails "unterminated quoted field (opened on line 1)" \
		--name u "$PWD/unterminated-header.csv"
'

test_expect_success 'other malformed CSV is refused naming line and column' '
	printf "a,b\n1,x\"y\n" >quote.csv &&
	publish_fails "^error: .$PWD/quote.csv. line 2, column 4: quote in unquoted field" \
		--name m "$PWD/quote.csv" &&
	printf "a,b\n1,\"x\"y\n" >after-quote.csv &&
	publish_fails "line 2, column 6: expected .,. or line end after closing quote" \
		--name m "$PWD/after-quote.csv" &&
	printf "a,b\n1,2\r3,4\n" >cr.csv &&
	publish_fails "line 2, column 4: carriage return not followed by line feed" \
		--name m "$PWD/cr.csv" &&
	printf "a,b\n1,2\n3,\0004\n" >nul.csv &&
	publish_fails "line 3, column 3: NUL byte" --name m "$PWD/nul.csv"
'

test_expect_success 'invalid UTF-8 in the header is refused naming the column' '
	printf "a,b\377c\n1,2\n" >utf8.csv &&
	publish_fails "^error: .$PWD/utf8.csv. column 2: column name is not valid UTF-8" \
		--name x "$PWD/utf8.csv" &&
	printf "a,\300\200\n1,2\n" >overlong.csv &&
	publish_fails "column 2: column name is not valid UTF-8" --name x "$PWD/overlong.csv" &&
	printf "\355\240\200,b\n1,2\n" >surrogate.csv &&
	publish_fails "column 1: column name is not valid UTF-8" --name x "$PWD/surrogate.csv"
'

test_expect_success 'an empty column name is refused naming the column' '
	printf "a,,c\n1,2,3\n" >empty-name.csv &&
	publish_fails "^error: .$PWD/empty-name.csv. column 2: empty column name\$" \
		--name x "$PWD/empty-name.csv" &&
	printf "a,b,\n1,2,3\n" >empty-last.csv &&
	publish_fails "column 3: empty column name" --name x "$PWD/empty-last.csv" &&
	printf "a,\"\"\n1,2\n" >empty-quoted.csv &&
	publish_fails "column 2: empty column name" --name x "$PWD/empty-quoted.csv"
'

test_expect_success 'duplicate column names are refused naming both columns' '
	printf "a,b,a\n1,2,3\n" >dup.csv &&
	publish_fails "^error: .$PWD/dup.csv. column 3: duplicate column name .a. (columns 1 and 3)\$" \
		--name x "$PWD/dup.csv" &&
	printf "x,b,c,b,x\n1,2,3,4,5\n" >dup2.csv &&
	publish_fails "column 4: duplicate column name .b. (columns 2 and 4)" --name x "$PWD/dup2.csv"
'

test_expect_success 'bad --name, --format, --license, --allow, --price, --description exit 2' '
	publish_usage "needs --name" "$PWD/small.csv" &&
	for n in "" Big "-x" ".x" "a/b" "a@1" "a b" "$(printf "%065d" 0)"
	do
		publish_usage "^error: --name" --name "$n" "$PWD/small.csv" || return 1
	done &&
	for f in xml CSV "" json
	do
		publish_usage "^error: --format .$f.: expected csv or tsv" --name x --format "$f" \
			"$PWD/small.csv" || return 1
	done &&
	for l in "" "a;b" " MIT" "MIT " "MIT  OR X" "é"
	do
		publish_usage "^error: --license" --name x --license "$l" "$PWD/small.csv" || return 1
	done &&
	for a in "" Train "a,,b" ",a" "train," "x y"
	do
		publish_usage "^error: --allow" --name x --allow "$a" "$PWD/small.csv" || return 1
	done &&
	for p in -1 x 1.5 18446744073709551616
	do
		publish_usage "--price. expects a whole number" --name x --price "$p" \
			"$PWD/small.csv" || return 1
	done &&
	for d in "" " x" "x " "a
b"
	do
		publish_usage "^error: --description" --name x --description "$d" \
			"$PWD/small.csv" || return 1
	done &&
	publish_usage "takes one file" --name x &&
	publish_usage "takes one file" --name x "$PWD/small.csv" "$PWD/small.tsv" &&
	publish_usage "" --name x --frobnicate "$PWD/small.csv"
'

test_expect_success 'a file that does not exist is refused' '
	publish_fails "^error: cannot open .$PWD/missing.csv.: No such file or directory\$" \
		--name x "$PWD/missing.csv" &&
	publish_fails "cannot open .missing.csv." --name x missing.csv
'

test_expect_success 'a key that is not a member cannot publish' '
	save_refs &&
	test_expect_exit 1 dmlctl -C repo dataset publish -k carol --name x "$PWD/small.csv" 2>err &&
	error_style err &&
	test_grep "is not a member of this ledger" err &&
	refs_unchanged &&
	save_refs &&
	test_expect_exit 1 dmlctl -C repo dataset publish -k carol --name big "$PWD/v1.csv" 2>err &&
	refs_unchanged
'

# A read-only view of a directory for one command: a bind mount in a private
# mount namespace.  (Tests run as root, for whom chmod a-w changes nothing.)
ro_run() {
	_dir=$1 &&
	shift &&
	unshare -m sh -c 'mount --bind -o ro "$1" "$1" && shift && exec "$@"' - "$_dir" "$@"
}
RO_BIND=
mkdir ro-probe &&
if ro_run ro-probe sh -c '! touch ro-probe/x 2>/dev/null' 2>/dev/null && test ! -e ro-probe/x
then
	RO_BIND=1
fi
rm -rf ro-probe

if [ -n "$RO_BIND" ]; then
	test_expect_success 'an unwritable object store fails, and the ledger is unchanged' '
		save_refs &&
		test_must_fail ro_run "$PWD/repo/.git/objects" \
			dmlctl -C repo dataset publish -k alice --name ro "$PWD/v2.csv" 2>err &&
		error_style err &&
		test_grep "Read-only file system" err &&
		refs_unchanged
	'

	test_expect_success 'unwritable refs fail after the objects are written, ledger unchanged' '
		save_refs &&
		test_must_fail ro_run "$PWD/repo/.git/refs" \
			dmlctl -C repo dataset publish -k alice --name ro "$PWD/small.csv" 2>err &&
		error_style err &&
		test_grep "Read-only file system" err &&
		refs_unchanged &&
		git -C repo fsck --strict --no-dangling
	'

	test_expect_success 'an unwritable repository fails, and the ledger is unchanged' '
		save_refs &&
		test_must_fail ro_run "$PWD/repo/.git" \
			dmlctl -C repo dataset publish -k alice --name ro "$PWD/small.csv" 2>err &&
		error_style err &&
		test_grep "Read-only file system" err &&
		refs_unchanged
	'
else
	say "# skipping the unwritable repository tests: no read-only bind mount here (unshare -m)"
fi

test_expect_success 'a pack that cannot be written whole fails and leaves no part of it' '
	"$PYTHON" -c "
import random
r = random.Random(3)
print(\"x,y\")
for i in range(100000):
    print(\"%d,%.9f\" % (i, r.random()))
" >limit.csv &&
	ls repo/.git/objects/pack >packs.before &&
	save_refs &&
	# writes past 256 KiB fail with EFBIG (the signal ignored, as a
	# full disk fails them with ENOSPC); with several threads, entries
	# done before their turn are waiting when it fails
	for t in 1 3; do
		test_must_fail env DMLCTL_THREADS=$t sh -c "trap \"\" XFSZ; ulimit -f 512
			exec dmlctl -C repo dataset publish -k alice --name limited \"\$1\"" - \
			"$PWD/limit.csv" 2>err &&
		error_style err &&
		test_grep "cannot write .*objects/pack/tmp_pack_.*: File too large" err &&
		refs_unchanged &&
		ls repo/.git/objects/pack >packs.after &&
		test_cmp packs.before packs.after || return 1
	done &&
	git -C repo fsck --strict --no-dangling
'

# strace, where it may trace (not in every container)
if can_trace; then
	test_expect_success 'publish flushes its pack, objects and ref before the ref names them' '
		# new data, so that each publish writes a pack
		seq 1 20000 | sed "1i n" >durable.csv &&
		seq 2 20001 | sed "1i n" >careless.csv &&
		trace_writes trace \
			env DMLCTL_THREADS=1 dmlctl -C repo -q dataset publish -k alice \
			--name durable "$PWD/durable.csv" &&
		durable_order trace &&
		grep "objects/pack/pack-[0-9a-f]*\.pack\"" trace &&
		# the checker catches the same publish without the flushes
		trace_writes trace \
			env DMLCTL_THREADS=1 DMLCTL_FSYNC=0 dmlctl -C repo -q dataset \
			publish -k alice --name careless "$PWD/careless.csv" &&
		! grep "fsync" trace &&
		test_must_fail durable_order trace 2>err &&
		test_grep "objects/pack/pack-[0-9a-f]*\.pack was named before its bytes were flushed" err &&
		test_grep "refs/dml/ledger was moved before its new value was flushed" err
	'
else
	say "# skipping the durability test: strace cannot trace here"
fi

test_expect_success 'after all the failures the ledger verifies and publishing works' '
	dmlctl -C repo ledger verify >out &&
	test_grep "^ledger verified: [0-9]* entries, every check passed\$" out &&
	dmlctl -C repo dataset verify >out &&
	! grep -v "^ok " out &&
	dmlctl -C repo -q dataset publish -k alice --name after "$PWD/small.csv" &&
	dmlctl -C repo dataset list >list &&
	test_grep "^after " list &&
	! grep -e "^ro " -e "^x " -e "^e " -e "^h " -e "^r " -e "^u " -e "^m " list
'

test_expect_success '-h on dataset and on every verb prints the usage and exits 0' '
	dmlctl dataset -h >out &&
	test_grep "^usage: dmlctl dataset <verb>" out &&
	for verb in publish list show log get verify
	do
		dmlctl dataset $verb -h >out &&
		test_grep "^usage: dmlctl dataset $verb" out &&
		dmlctl -C repo dataset $verb -h >out &&
		test_grep "^usage: dmlctl dataset $verb" out || return 1
	done
'

test_expect_success 'bad arguments to every verb exit 2' '
	test_expect_exit 2 dmlctl -C repo dataset 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset frobnicate 2>err &&
	test_grep "not a verb of .dmlctl dataset." err &&
	test_expect_exit 2 dmlctl -C repo dataset list extra 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset list --frobnicate 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset show 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset show small big 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset show Small 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset show small@0 2>err &&
	test_grep "the version must be a number from 1" err &&
	test_expect_exit 2 dmlctl -C repo dataset show small@x 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset log 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset log big@1 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset log big small 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset get 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset get big small 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset get -o 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset verify big small 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset verify --frobnicate 2>err
'

test_expect_success 'unknown datasets and versions fail naming them' '
	test_must_fail dmlctl -C repo dataset show nosuch 2>err &&
	test_grep "no dataset named .nosuch." err &&
	test_must_fail dmlctl -C repo dataset show big@7 2>err &&
	test_grep "dataset .big. has 6 versions, not 7" err &&
	test_must_fail dmlctl -C repo dataset log nosuch 2>err &&
	test_grep "no dataset named .nosuch." err
'

test_done
