#!/bin/sh
test_description='dmlctl dataset get: byte-exact round trips of tricky files, manifests, -o'
. ./test-lib.sh

# The commit of the newest entry of dataset NAME.
dataset_commit() {
	dmlctl -C repo --json dataset show "$1" >"$TRASH_DIRECTORY/.show.json" &&
	_seq=$(json_get "$TRASH_DIRECTORY/.show.json" seq) &&
	git -C repo rev-list --reverse refs/dml/ledger | sed -n "$((_seq + 1))p"
}

# check_stored NAME FILE: the entry of NAME stores FILE as its manifest says:
# the manifest is canonical, names FILE by its sha256sum and size, lists
# chunks that are the SHA-256 of consecutive slices of FILE within the
# chunker's bounds, and chunks/ holds each distinct chunk once.
check_stored() {
	_c=$(dataset_commit "$1") &&
	test -n "$_c" &&
	"$PYTHON" - repo "$_c" "$2" <<-\EOF
	import hashlib, subprocess, sys
	repo, commit, path = sys.argv[1:4]
	def git(*a):
	    return subprocess.run(["git", "-C", repo] + list(a), check=True,
	        stdout=subprocess.PIPE).stdout
	stmt = git("cat-file", "blob", commit + ":statement").decode()
	f = dict(l.split(" ", 1) for l in stmt.splitlines())
	data = open(path, "rb").read()
	sha = lambda b: hashlib.sha256(b).hexdigest()
	assert f["file"] == "sha256:" + sha(data), f
	assert f["size"] == str(len(data)), f
	mhex = f["manifest"][len("sha256:"):]
	text = git("cat-file", "blob", "%s:objects/%s" % (commit, mhex))
	assert sha(text) == mhex
	lines = text.decode("ascii").split("\n")
	assert lines.pop() == "", "no final newline"
	assert lines[0] == "dmlctl-manifest 1", lines[0]
	assert lines[1] == "file sha256:" + sha(data), lines[1]
	assert lines[2] == "size %d" % len(data), lines[2]
	c = lines[3].split(" ")
	assert c[:2] == ["chunker", "fastcdc-v1"] and len(c) == 5, c
	lo, avg, hi = map(int, c[2:])
	assert 0 < lo <= avg <= hi, c
	assert lines[4].startswith("compression zstd "), lines[4]
	n = int(lines[5].split(" ")[1])
	assert lines[5] == "chunks %d" % n, lines[5]
	assert len(lines) == 6 + n, (len(lines), n)
	off, ids = 0, []
	for i, l in enumerate(lines[6:]):
	    k, cid, size = l.split(" ")
	    size = int(size)
	    assert k == "chunk" and str(size) == l.split(" ")[2], l
	    assert cid == "sha256:" + sha(data[off:off + size]), (i, l)
	    assert size <= hi and (size >= lo or i == n - 1), (i, size, lo, hi)
	    ids.append(cid[len("sha256:"):])
	    off += size
	assert off == len(data), (off, len(data))
	tree = git("ls-tree", commit + ":chunks").decode().splitlines()
	names = [l.split("\t")[1] for l in tree]
	assert sorted(names) == sorted(set(ids)), (len(names), len(set(ids)))
	assert all(l.startswith("100644 blob ") for l in tree), tree
	print("%s: %d bytes, %d chunks, %d distinct" % (path, len(data), n, len(set(ids))))
	EOF
}

# round_trip NAME FILE [publish options]: publish FILE as NAME, then get it
# back with -o, to standard output and with -o -, byte for byte.
round_trip() {
	_n=$1 _f=$2 &&
	shift 2 &&
	dmlctl -C repo --json dataset publish -k alice --name "$_n" "$@" "$PWD/$_f" >"$_n.pub" &&
	json_valid <"$_n.pub" &&
	test "$(json_get "$_n.pub" size)" = "$(wc -c <"$_f")" &&
	dmlctl -C repo --json dataset show "$_n" >"$_n.show" &&
	test "$(json_get "$_n.show" body.file)" = "sha256:$(sha256_of "$_f")" &&
	rm -f "$_n.got" &&
	dmlctl -C repo dataset get "$_n" -o "$PWD/$_n.got" &&
	cmp "$_f" "$_n.got" &&
	dmlctl -C repo dataset get "$_n" >"$_n.got" &&
	cmp "$_f" "$_n.got" &&
	dmlctl -C repo dataset get -o - "$_n@1" >"$_n.got" &&
	cmp "$_f" "$_n.got" &&
	check_stored "$_n" "$_f"
}

test_expect_success 'setup: a ledger and the tricky files' '
	test_key alice &&
	dmlctl -q init -k alice repo >/dev/null &&
	"$PYTHON" - <<-\EOF
	import random
	r = random.Random(2100)
	def w(name, data):
	    open(name, "wb").write(data.encode() if isinstance(data, str) else data)
	w("nofinal.csv", "a,b\n1,2\n3,4")
	w("crlf.csv", "a,b\r\n1,2\r\n3,4\r\n")
	w("crlf-nofinal.csv", "a,b\r\n1,2\r\n3,4")
	w("mixed-endings.csv", "a,b\r\n1,2\n3,4\r\n5,6\n")
	w("quoted.csv", "name,text,n\n"
	    "\"Smith, J\",\"said \"\"hi\"\"\nand left\",1\n"
	    "\"x\",\"line1\r\nline2\rline3\",2\n"
	    "\"\",\"\",3\n"
	    "\"\"\"\",\",,,\",4\n"
	    "plain,\"trailing quote \"\"\",5")
	w("onecol.csv", "only\n1\n\n3\n")
	w("onecol-quoted.csv", "\"one, column\"\n\"a,b\"\n\"\"\nNA\n")
	w("onerow.csv", "a,b,c\nx,1,2.5\n")
	w("onerow-nofinal.csv", "a\n1")
	cols = 10000
	w("wide.csv", ",".join("c%d" % i for i in range(cols)) + "\n" +
	    "".join(",".join(str(r.randrange(1000)) for i in range(cols)) + "\n"
	        for _ in range(40)))
	alphabet = "abcdefghij ,\"\n\r\n\u00e9"
	field = "".join(r.choice(alphabet) for _ in range(1 << 20))
	w("longfield.csv", "id,blob,tail\n1,\"" + field.replace("\"", "\"\"") + "\",x\n" +
	    "2," + "z" * (1 << 20) + ",y\n3,short,z\n")
	w("utf8.csv", "ville,temp\u00e9rature,note \u2603,\U0001F600\n"
	    "Z\u00fcrich,-3.5,tr\u00e8s froid,\u00e0\n"
	    "\u6771\u4eac,12,\u6674\u308c,\U0001F600\n"
	    "\u0391\u03b8\u03ae\u03bd\u03b1,20,\"\u00ab quoted \u00bb, with comma\",x\n")
	w("tricky.tsv", "a\tb,c\td\n1\tx,y\t\"q\tr\"\n2\t\"multi\nline\"\t\"\"\"\"\n")
	# A multi-chunk file with quoted fields, CRLF rows and non-ASCII here and there.
	rows = ["id,label,value,comment\r\n"]
	for i in range(60000):
	    c = r.choice(["", "plain", "\"with, comma\"", "\"with \"\"quotes\"\"\"",
	        "\"two\nlines\"", "na\u00efve"])
	    rows.append("%d,%s,%.5f,%s\r\n" % (i, r.choice("abcde"), r.random(), c))
	w("multichunk.csv", "".join(rows))
	# A file that repeats itself: the same chunks several times over.
	block = "".join("%d,%.8f\n" % (r.randrange(10 ** 9), r.random()) for _ in range(30000))
	w("repeated.csv", "k,v\n" + block * 4)
	EOF
	test "$(head -n 1 wide.csv | tr , "\n" | wc -l)" -eq 10000 &&
	test "$(wc -c <longfield.csv)" -gt 2000000
'

test_expect_success 'round trip: no final newline' '
	round_trip nofinal nofinal.csv &&
	round_trip onerow-nofinal onerow-nofinal.csv
'

test_expect_success 'round trip: CRLF, CRLF without a final newline, mixed line ends' '
	round_trip crlf crlf.csv &&
	round_trip crlf-nofinal crlf-nofinal.csv &&
	round_trip mixed-endings mixed-endings.csv &&
	test "$(json_get crlf.show body.rows)" = 2 &&
	test "$(json_get mixed-endings.show body.rows)" = 3
'

test_expect_success 'round trip: quoted fields with separators, doubled quotes, line breaks' '
	round_trip quoted quoted.csv &&
	test "$(json_get quoted.show body.rows)" = 5 &&
	test "$(json_get quoted.show body.columns)" = 3 &&
	"$PYTHON" - <<-\EOF
	import json
	cols = json.load(open("quoted.show"))["columns"]
	assert [c["name"] for c in cols] == ["name", "text", "n"], cols
	assert (cols[0]["count"], cols[0]["missing"], cols[0]["distinct"]) == (4, 1, 4), cols[0]
	assert cols[2]["type"] == "integer" and cols[2]["max"] == 5, cols[2]
	EOF
'

test_expect_success 'round trip: one column, with an empty line as a missing value' '
	round_trip onecol onecol.csv &&
	"$PYTHON" - <<-\EOF
	import json
	o = json.load(open("onecol.show"))
	assert o["body"]["rows"] == "3" and o["body"]["columns"] == "1", o["body"]
	c = o["columns"][0]
	assert (c["name"], c["type"], c["count"], c["missing"]) == ("only", "integer", 2, 1), c
	EOF
	round_trip onecol-quoted onecol-quoted.csv &&
	"$PYTHON" - <<-\EOF
	import json
	o = json.load(open("onecol-quoted.show"))
	c = o["columns"][0]
	assert (c["name"], c["type"], c["count"], c["missing"]) == ("one, column", "string", 1, 2), c
	EOF
'

test_expect_success 'round trip: one row' '
	round_trip onerow onerow.csv &&
	test "$(json_get onerow.show body.rows)" = 1 &&
	test "$(json_get onerow.show columns.2.type)" = float
'

test_expect_success 'round trip: 10,000 columns' '
	round_trip wide wide.csv &&
	"$PYTHON" - <<-\EOF
	import json
	o = json.load(open("wide.show"))
	assert o["body"]["rows"] == "40" and o["body"]["columns"] == "10000", o["body"]
	cols = o["columns"]
	assert len(cols) == 10000 and cols[9999]["name"] == "c9999", cols[-1]
	assert all(c["type"] == "integer" and c["count"] == 40 for c in cols)
	EOF
	test "$(json_get wide.pub chunks)" -gt 1
'

test_expect_success 'round trip: a field of 1 MB quoted with everything in it, and one unquoted' '
	round_trip longfield longfield.csv &&
	test "$(json_get longfield.show body.rows)" = 3 &&
	test "$(json_get longfield.pub chunks)" -gt 4
'

test_expect_success 'round trip: non-ASCII UTF-8 in names and values' '
	round_trip utf8 utf8.csv &&
	"$PYTHON" - <<-\EOF
	import json
	o = json.load(open("utf8.show", encoding="utf-8"))
	names = [c["name"] for c in o["columns"]]
	assert names == ["ville", "temp\u00e9rature", "note \u2603", "\U0001F600"], names
	assert o["columns"][1]["type"] == "float", o["columns"][1]
	assert o["columns"][0]["distinct"] == 3, o["columns"][0]
	EOF
	dmlctl -C repo dataset show utf8 >show &&
	test_grep "^temp.\{1,2\}rature  *float " show
'

test_expect_success 'round trip: TSV with quoted tabs and line breaks' '
	round_trip tricky-tsv tricky.tsv &&
	test "$(json_get tricky-tsv.show body.format)" = tsv &&
	test "$(json_get tricky-tsv.show body.columns)" = 3 &&
	test "$(json_get tricky-tsv.show body.rows)" = 2
'

test_expect_success 'round trip: a multi-chunk file' '
	round_trip multichunk multichunk.csv &&
	test "$(json_get multichunk.pub chunks)" -gt 20 &&
	test "$(json_get multichunk.show body.rows)" = 60000
'

test_expect_success 'the same bytes through a pipe cut into the same chunks' '
	cat multichunk.csv | dmlctl -C repo --json dataset publish -k alice --name piped - >piped.pub &&
	test "$(json_get piped.pub new_chunks)" = 0 &&
	test "$(json_get piped.pub stored)" = 0 &&
	dmlctl -C repo --json dataset show piped >piped.show &&
	test "$(json_get piped.show body.manifest)" = "$(json_get multichunk.show body.manifest)" &&
	test "$(json_get piped.show body.schema)" = "$(json_get multichunk.show body.schema)" &&
	dmlctl -C repo dataset get piped >piped.got &&
	cmp multichunk.csv piped.got
'

test_expect_success 'a file that repeats itself stores each chunk once' '
	round_trip repeated repeated.csv &&
	"$PYTHON" - <<-\EOF
	import json
	p = json.load(open("repeated.pub"))
	assert p["new_chunks"] < p["chunks"], p
	assert p["stored"] * 2 < p["size"], p
	EOF
'

test_expect_success '-o replaces an existing file; a new file has permissions from the umask' '
	echo old >out.csv &&
	dmlctl -C repo dataset get quoted -o "$PWD/out.csv" &&
	cmp quoted.csv out.csv &&
	rm out.csv &&
	(umask 022 && dmlctl -C repo dataset get quoted -o "$PWD/out.csv") &&
	cmp quoted.csv out.csv &&
	test "$(stat -c %a out.csv)" = 644 &&
	rm out.csv &&
	(umask 077 && dmlctl -C repo dataset get quoted -o "$PWD/out.csv") &&
	cmp quoted.csv out.csv &&
	test "$(stat -c %a out.csv)" = 600 &&
	mkdir sub &&
	(cd sub && dmlctl -C ../repo dataset get quoted -o rel.csv) &&
	cmp quoted.csv repo/rel.csv &&
	rm repo/rel.csv &&
	ls -a >files &&
	! grep dmlctl- files
'

test_expect_success '-o into a directory that does not exist fails and creates nothing' '
	test_must_fail dmlctl -C repo dataset get quoted -o "$PWD/missing/out.csv" 2>err &&
	test_grep "^error: cannot create a file beside .$PWD/missing/out.csv." err &&
	test ! -e missing
'

test_expect_success 'get of an unknown dataset or version fails and writes nothing' '
	test_must_fail dmlctl -C repo dataset get nosuch -o "$PWD/none.csv" 2>err &&
	test_grep "no dataset named .nosuch." err &&
	test ! -e none.csv &&
	test_must_fail dmlctl -C repo dataset get quoted@2 -o "$PWD/none.csv" 2>err &&
	test_grep "dataset .quoted. has 1 version, not 2" err &&
	test ! -e none.csv &&
	test_expect_exit 2 dmlctl -C repo dataset get quoted@0 -o "$PWD/none.csv" 2>err &&
	test ! -e none.csv &&
	test_must_fail dmlctl -C repo dataset get nosuch >none.csv 2>err &&
	test ! -s none.csv &&
	ls -a >files &&
	! grep dmlctl- files
'

test_expect_success 'get -h and bad arguments' '
	dmlctl dataset get -h >out &&
	test_grep "^usage: dmlctl dataset get \[-o <file>\] <name>\[@<version>\]" out &&
	test_expect_exit 2 dmlctl -C repo dataset get 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset get quoted utf8 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset get -o 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset get --frobnicate quoted 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset get "quoted@" 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset get "Quoted" 2>err
'

test_expect_success 'DMLCTL_THREADS: one worker or several store the same pack and give back the same bytes' '
	# the rows twice: the second copy repeats chunks of the first, and
	# the first of equal chunks is the one stored, whichever worker runs
	"$PYTHON" - <<-\EOF &&
	import random
	r = random.Random(7)
	rows = "".join("%d,%.6f,%s\n" % (i, r.random(), r.choice("xyz"))
	    for i in range(60000))
	open("many.csv", "w").write("a,b,c\n" + rows + rows)
	EOF
	for t in 1 3; do
		dmlctl -q init -k alice threads$t >/dev/null &&
		DMLCTL_THREADS=$t dmlctl -C threads$t --json dataset publish --name many \
			"$PWD/many.csv" >pub$t.json || return 1
	done &&
	test "$(json_get pub1.json chunks)" -gt 20 &&
	test "$(json_get pub1.json new_chunks)" -lt "$(json_get pub1.json chunks)" &&
	test "$(json_get pub1.json new_chunks)" = "$(json_get pub3.json new_chunks)" &&
	test "$(json_get pub1.json stored)" = "$(json_get pub3.json stored)" &&
	for t in 1 3; do
		git -C threads$t ls-tree refs/dml/ledger >tree$t &&
		grep -v "statement" tree$t >data$t || return 1
	done &&
	test_cmp data1 data3 &&
	# one pack each, byte for byte the same, and no loose chunk
	(cd threads1/.git/objects/pack && ls) >packs1 &&
	(cd threads3/.git/objects/pack && ls) >packs3 &&
	test_cmp packs1 packs3 &&
	test "$(wc -l <packs1)" -eq 2 &&
	cmp threads1/.git/objects/pack/*.pack threads3/.git/objects/pack/*.pack &&
	git -C threads1 count-objects -v >count &&
	test_grep "^in-pack: $(json_get pub1.json new_chunks)\$" count &&
	for t in 1 2 5; do
		DMLCTL_THREADS=$t dmlctl -C threads1 dataset get many >got$t &&
		cmp many.csv got$t &&
		DMLCTL_THREADS=$t dmlctl -C threads3 dataset verify >out &&
		echo "ok many@1 (entry #1)" >want &&
		test_cmp want out || return 1
	done &&
	git -C threads1 fsck --strict --no-dangling &&
	git -C threads3 fsck --strict --no-dangling
'

test_expect_success 'chunks packed by git gc read back the same' '
	cp -R threads3 packed &&
	git -C packed gc -q &&
	find packed/.git/objects -type f >objects &&
	! grep "/objects/[0-9a-f][0-9a-f]/" objects &&
	for t in 1 3; do
		DMLCTL_THREADS=$t dmlctl -C packed dataset get many >got &&
		cmp many.csv got || return 1
	done &&
	dmlctl -C packed dataset verify >out &&
	echo "ok many@1 (entry #1)" >want &&
	test_cmp want out
'

test_expect_success 'a chunk damaged inside its pack is named as damaged' '
	cp -R threads3 stored &&
	git -C stored ls-tree refs/dml/ledger:chunks >tree &&
	oid=$(sed -n "4s/^100644 blob \([0-9a-f]*\)	.*/\1/p" tree) &&
	hex=$(sed -n "4s/.*	//p" tree) &&
	"$PYTHON" "$TEST_DIRECTORY/damage-pack.py" stored/.git "$oid" >/dev/null &&
	for t in 1 3; do
		test_expect_exit 1 env DMLCTL_THREADS=$t dmlctl -C stored dataset get many \
			-o "$PWD/damaged.csv" 2>err &&
		test_grep "^error: chunk sha256:$hex is damaged" err &&
		test ! -e damaged.csv || return 1
	done &&
	test_expect_exit 1 dmlctl -C stored dataset verify >out &&
	test_grep "^FAILED many@1 (entry #1): chunk sha256:$hex is damaged" out &&
	test_must_fail git -C stored fsck --strict >/dev/null 2>&1 &&
	rm -rf stored
'

test_expect_success 'DMLCTL_THREADS: anything but a number from 0 to 256 is a usage error' '
	for v in two -1 257 1x " 2"; do
		test_expect_exit 2 env DMLCTL_THREADS="$v" dmlctl -C threads1 dataset get many \
			>out 2>err &&
		test_grep "DMLCTL_THREADS=.$v. is not a number from 0 to 256" err &&
		test ! -s out || return 1
	done &&
	DMLCTL_THREADS=0 dmlctl -C threads1 dataset get many >got0 &&
	cmp many.csv got0 &&
	DMLCTL_THREADS= dmlctl -C threads1 dataset get many >got0 &&
	cmp many.csv got0 &&
	test_expect_exit 2 env DMLCTL_THREADS=two dmlctl -C threads1 dataset publish \
		--name other "$PWD/many.csv" 2>err &&
	test_grep "DMLCTL_THREADS=.two. is not a number from 0 to 256" err &&
	dmlctl -C threads1 dataset list >out &&
	! grep other out
'

test_expect_success 'the ledger and every dataset verify' '
	dmlctl -C repo dataset verify >out &&
	! grep -v "^ok " out &&
	test "$(wc -l <out)" -eq "$(dmlctl -C repo dataset list | wc -l)" &&
	dmlctl -C repo ledger verify >out &&
	test_grep "^ledger verified: [0-9]* entries, every check passed\$" out
'

test_done
