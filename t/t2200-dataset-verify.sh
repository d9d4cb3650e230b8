#!/bin/sh
test_description='dmlctl dataset verify and ledger verify on datasets; tampered chunks are found and named'
. ./test-lib.sh
. "$TEST_DIRECTORY/lib-forge.sh"

T0=1700000000

# The Nth commit of the ledger in R (entry N).
nth_commit() {
	git -C "$1" rev-list --reverse refs/dml/ledger | sed -n "$(($2 + 1))p"
}

# Make TREE the tree of the newest entry of R, its commit re-signed by
# alice (its author), and move the ledger to it.
resign_head_with_tree() {
	_old=$(git -C "$1" rev-parse refs/dml/ledger) &&
	git -C "$1" cat-file commit "$_old" >"$TRASH_DIRECTORY/.raw" &&
	sed -e "/^gpgsig /,/^ -----END SSH SIGNATURE-----\$/d" -e "s/^tree .*/tree $2/" \
		"$TRASH_DIRECTORY/.raw" >"$TRASH_DIRECTORY/.unsigned" &&
	_new=$(sign_commit "$1" "$TRASH_DIRECTORY/ssh/alice" <"$TRASH_DIRECTORY/.unsigned") &&
	git -C "$1" update-ref refs/dml/ledger "$_new" "$_old"
}

# The chunks/ tree of commit C in R with its lines passed through a sed
# script; then the commit's tree with that chunks/ tree; print the tree.
tree_with_chunks() {
	_ct=$(git -C "$1" ls-tree "$2" chunks | awk "{ print \$3 }") &&
	_nc=$(git -C "$1" ls-tree "$_ct" | sed "$3" | git -C "$1" mktree) &&
	git -C "$1" ls-tree "$2" | sed "s/ $_ct	chunks\$/ $_nc	chunks/" | git -C "$1" mktree
}

# ledger verify must exit 1 naming entry N as the first failure, with the
# "data" check failing for a reason matching PATTERN, and every other check
# of the entry passing (authority is not replayed past a failure); --json
# must say the same.
expect_data_failure() {
	test_expect_exit 1 dmlctl -C "$1" ledger verify >"$1.verify" &&
	test_grep "^FAILED entry $2 (dataset.publish sha256:[0-9a-f]*): data: $3" "$1.verify" &&
	test_grep "^ledger verification failed at entry $2\$" "$1.verify" &&
	test_expect_exit 1 dmlctl -C "$1" --json ledger verify >"$1.json" &&
	"$PYTHON" - "$1.json" "$2" "$3" <<-\EOF
	import json, re, sys
	o = json.load(open(sys.argv[1]))
	n, pattern = int(sys.argv[2]), sys.argv[3]
	assert o["ok"] is False and o["first_failure"] == n, o
	r = [r for r in o["results"] if r["seq"] == n][0]
	assert r["checks"]["data"] == "failed", r
	# Authority is replayed only up to the first failure.
	assert all(v == "ok" or (k, v) == ("authority", "skipped")
	    for k, v in r["checks"].items() if k != "data"), r
	assert re.match("data: " + pattern, r["error"]), r
	for r in o["results"]:
	    if r["seq"] < n:
	        assert r["error"] is None and all(v == "ok" for v in r["checks"].values()), r
	EOF
}

test_expect_success 'setup: an ssh key imported into dmlctl, data, a generator of tampered chunks' '
	mkdir ssh &&
	ssh-keygen -q -t ed25519 -N "" -C alice -f ssh/alice &&
	dmlctl -q key import --no-passphrase ssh/alice >/dev/null &&
	dmlctl key show alice >/dev/null &&
	printf "a,b,c\n1,x,2.5\n2,y,NA\n" >small.csv &&
	"$PYTHON" - <<-\EOF &&
	import random
	def rows(seed, n, start):
	    r = random.Random(seed)
	    return ["%d,%.6f,%s\n" % (i, r.random(), r.choice(["u", "v", "w"]))
	        for i in range(start, start + n)]
	base = rows(1, 60000, 0)
	open("v1.csv", "w").write("id,x,k\n" + "".join(base))
	open("v2.csv", "w").write("id,x,k\n" + "".join(base[:30000] + rows(2, 600, 30000) +
	    base[30600:]))
	EOF
	# tamper.py MODE GITDIR COMMIT FILE INDEX: the INDEX-th chunk (in file
	# order) of the entry COMMIT, which stores FILE, with one digit of its
	# second half changed and stored as a valid zstd frame (one raw block per
	# 128 KiB), written as a new blob ("blob"); or ("in-place") the chunk
	# object damaged where it lies in its pack, so that it no longer matches
	# its name (damage-pack.py).  Prints the chunk hex ID, its offset in FILE,
	# and the old and new blob IDs.
	cat >tamper.py <<-\EOF &&
	import hashlib, os, struct, subprocess, sys
	mode, gitdir, commit, path, idx = sys.argv[1:5] + [int(sys.argv[5])]
	damage = os.environ.get("DAMAGE_PACK")
	def git(*a, **kw):
	    return subprocess.run(["git", "--git-dir", gitdir] + list(a), check=True,
	        stdout=subprocess.PIPE, **kw).stdout
	stmt = git("cat-file", "blob", commit + ":statement").decode()
	man = [l for l in stmt.splitlines() if l.startswith("manifest ")][0][len("manifest sha256:"):]
	text = git("cat-file", "blob", "%s:objects/%s" % (commit, man)).decode()
	chunks = [l.split(" ") for l in text.splitlines() if l.startswith("chunk ")]
	off = sum(int(c[2]) for c in chunks[:idx])
	hexid, size = chunks[idx][1][len("sha256:"):], int(chunks[idx][2])
	data = open(path, "rb").read()[off:off + size]
	assert hashlib.sha256(data).hexdigest() == hexid
	pos = next(i for i in range(size // 2, size) if data[i:i + 1].isdigit())
	bad = data[:pos] + (b"1" if data[pos:pos + 1] != b"1" else b"2") + data[pos + 1:]
	frame = b"\x28\xb5\x2f\xfd\xe0" + struct.pack("<Q", size)
	for i in range(0, size, 1 << 17):
	    block = bad[i:i + (1 << 17)]
	    last = 1 if i + len(block) >= size else 0
	    frame += struct.pack("<I", (len(block) << 3) | last)[:3] + block
	old = git("rev-parse", "%s:chunks/%s" % (commit, hexid)).decode().strip()
	if mode == "in-place":
	    subprocess.run([sys.executable, damage, gitdir, old], check=True,
	        stdout=subprocess.DEVNULL)
	    new = old
	else:
	    new = git("hash-object", "-w", "--stdin", input=frame).decode().strip()
	print(hexid, off, old, new)
	EOF
	test -s tamper.py
'

test_expect_success 'setup: two datasets, one in two versions, and a note between them' '
	DMLCTL_TIME=$T0 dmlctl -q init -k alice repo >/dev/null &&
	DMLCTL_TIME=$((T0 + 1)) dmlctl -C repo -q dataset publish -k alice --name small \
		"$PWD/small.csv" &&
	DMLCTL_TIME=$((T0 + 2)) dmlctl -C repo -q ledger note -k alice -m "a note" &&
	DMLCTL_TIME=$((T0 + 3)) dmlctl -C repo --json dataset publish -k alice --name big \
		"$PWD/v1.csv" >v1.pub &&
	DMLCTL_TIME=$((T0 + 4)) dmlctl -C repo --json dataset publish -k alice --name big \
		"$PWD/v2.csv" >v2.pub &&
	"$PYTHON" -c "
import json
p1, p2 = json.load(open(\"v1.pub\")), json.load(open(\"v2.pub\"))
assert p1[\"seq\"] == 3 and p2[\"seq\"] == 4, (p1, p2)
assert p1[\"chunks\"] > 10 and p2[\"new_chunks\"] < p2[\"chunks\"] // 2, (p1, p2)
"
'

test_expect_success 'dataset verify checks every version of every dataset' '
	dmlctl -C repo dataset verify >out &&
	cat >want <<-\EOF &&
	ok big@1 (entry #3)
	ok big@2 (entry #4)
	ok small@1 (entry #1)
	EOF
	test_cmp want out &&
	dmlctl -C repo -q dataset verify >out &&
	test_cmp /dev/null out
'

test_expect_success 'dataset verify NAME checks its versions, NAME@V one version' '
	dmlctl -C repo dataset verify big >out &&
	printf "ok big@1 (entry #3)\nok big@2 (entry #4)\n" >want &&
	test_cmp want out &&
	dmlctl -C repo dataset verify big@1 >out &&
	echo "ok big@1 (entry #3)" >want &&
	test_cmp want out &&
	dmlctl -C repo dataset verify big@2 >out &&
	echo "ok big@2 (entry #4)" >want &&
	test_cmp want out &&
	dmlctl -C repo dataset verify small >out &&
	echo "ok small@1 (entry #1)" >want &&
	test_cmp want out
'

test_expect_success 'dataset verify --json parses' '
	dmlctl -C repo --json dataset verify >all.json &&
	json_valid <all.json &&
	dmlctl -C repo dataset verify --json big@1 >one.json &&
	"$PYTHON" - <<-\EOF
	import json
	a = json.load(open("all.json"))
	assert [(r["name"], r["version"], r["seq"]) for r in a] == \
	    [("big", 1, 3), ("big", 2, 4), ("small", 1, 1)], a
	assert all(r["ok"] is True and r["error"] is None for r in a), a
	o = json.load(open("one.json"))
	assert o == [{"name": "big", "version": 1, "seq": 3, "ok": True, "error": None}], o
	EOF
'

test_expect_success 'ledger verify passes and checks the data of every dataset entry' '
	dmlctl -C repo ledger verify >out &&
	test_grep "^ledger verified: 5 entries, every check passed\$" out &&
	dmlctl -C repo --json ledger verify >verify.json &&
	"$PYTHON" - <<-\EOF
	import json
	o = json.load(open("verify.json"))
	assert o["ok"] is True and o["entries"] == 5, o
	for r in o["results"]:
	    assert r["error"] is None, r
	    assert r["checks"]["data"] == "ok", r
	    assert all(v == "ok" for v in r["checks"].values()), r
	EOF
'

test_expect_success 'dataset verify: -h, bad arguments, unknown datasets' '
	dmlctl dataset verify -h >out &&
	test_grep "^usage: dmlctl dataset verify" out &&
	test_expect_exit 2 dmlctl -C repo dataset verify big small 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset verify big@0 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset verify "big@" 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset verify Big 2>err &&
	test_expect_exit 2 dmlctl -C repo dataset verify --frobnicate 2>err &&
	test_must_fail dmlctl -C repo dataset verify nosuch 2>err &&
	test_grep "no dataset named .nosuch." err &&
	test_must_fail dmlctl -C repo dataset verify big@3 2>err &&
	test_grep "dataset .big. has 2 versions, not 3" err
'

# ---- a chunk object damaged in place (in a copy: git fsck must fail there) ----

test_expect_success 'damage a chunk object that both versions use, in a copy' '
	cp -R repo damaged &&
	c=$(nth_commit damaged 3) &&
	DAMAGE_PACK="$TEST_DIRECTORY/damage-pack.py" \
		"$PYTHON" tamper.py in-place damaged/.git "$c" v1.csv 1 >damaged.chunk &&
	read hex off old new <damaged.chunk &&
	git -C damaged ls-tree -r "$(nth_commit damaged 4)" >tree4 &&
	test_grep "blob $old	chunks/$hex\$" tree4 &&
	test_must_fail git -C damaged fsck --strict --no-dangling >/dev/null 2>&1
'

test_expect_success 'get -o stops at the damaged chunk, names it and leaves no file' '
	read hex off old new <damaged.chunk &&
	test_must_fail dmlctl -C damaged dataset get big -o "$PWD/out.csv" 2>err &&
	test_grep "^error: chunk sha256:$hex is damaged" err &&
	test ! -e out.csv &&
	ls -a >files &&
	! grep "dmlctl-" files &&
	echo keep >existing.csv &&
	test_must_fail dmlctl -C damaged dataset get big@1 -o "$PWD/existing.csv" 2>err &&
	test_grep "chunk sha256:$hex" err &&
	echo keep >want &&
	test_cmp want existing.csv &&
	ls -a >files &&
	! grep "dmlctl-" files
'

test_expect_success 'get to standard output writes only the chunks before the damaged one' '
	read hex off old new <damaged.chunk &&
	test_must_fail dmlctl -C damaged dataset get big >partial.csv 2>err &&
	test_grep "chunk sha256:$hex" err &&
	test "$(wc -c <partial.csv)" -eq "$off" &&
	head -c "$off" v2.csv >want &&
	cmp want partial.csv &&
	dmlctl -C damaged dataset get small >got &&
	cmp small.csv got
'

test_expect_success 'dataset verify exits 1 naming the chunk in every version that uses it' '
	read hex off old new <damaged.chunk &&
	test_expect_exit 1 dmlctl -C damaged dataset verify >out &&
	test_grep "^FAILED big@1 (entry #3): chunk sha256:$hex is damaged" out &&
	test_grep "^FAILED big@2 (entry #4): chunk sha256:$hex is damaged" out &&
	test_grep "^ok small@1 (entry #1)\$" out &&
	test "$(wc -l <out)" -eq 3 &&
	test_expect_exit 1 dmlctl -C damaged dataset verify big@2 >out &&
	test_grep "^FAILED big@2 " out &&
	dmlctl -C damaged dataset verify small >out &&
	test_expect_exit 1 dmlctl -C damaged --json dataset verify >out.json &&
	"$PYTHON" - "$hex" <<-\EOF
	import json, sys
	a = json.load(open("out.json"))
	assert [r["ok"] for r in a] == [False, False, True], a
	for r in a[:2]:
	    assert r["error"].startswith("chunk sha256:%s " % sys.argv[1]), r
	EOF
'

test_expect_success 'ledger verify exits 1 naming the entry, check "data"' '
	read hex off old new <damaged.chunk &&
	expect_data_failure damaged 3 "chunk sha256:$hex is damaged" &&
	test_grep "^failed entry 4 (dataset.publish sha256:[0-9a-f]*): data: chunk sha256:$hex" \
		damaged.verify
'

test_expect_success 'remove the damaged copy (git fsck fails there, as it should)' '
	rm -rf damaged
'

# ---- a chunk object missing (in a copy) ----

# unpack_all REPO: every pack of REPO turned into loose objects, so that one
# of them can be removed.
unpack_all() {
	mkdir "$1.packs" &&
	mv "$1"/.git/objects/pack/pack-* "$1.packs"/ &&
	for _p in "$1.packs"/*.pack; do
		git -C "$1" unpack-objects -q <"$_p" || return 1
	done &&
	rm -rf "$1.packs"
}

test_expect_success 'a missing chunk object is named by get, dataset verify and ledger verify' '
	cp -R repo missing &&
	c=$(nth_commit missing 4) &&
	"$PYTHON" tamper.py blob missing/.git "$c" v2.csv 2 >missing.chunk &&
	read hex off old new <missing.chunk &&
	unpack_all missing &&
	rm "missing/.git/objects/$(echo $old | cut -c1-2)/$(echo $old | cut -c3-)" &&
	test_must_fail dmlctl -C missing dataset get big -o "$PWD/out.csv" 2>err &&
	test_grep "^error: chunk sha256:$hex " err &&
	test ! -e out.csv &&
	test_expect_exit 1 dmlctl -C missing dataset verify big@2 >out &&
	test_grep "^FAILED big@2 (entry #4): chunk sha256:$hex " out &&
	test_expect_exit 1 dmlctl -C missing ledger verify >out &&
	test_grep "^FAILED entry [34] (dataset.publish sha256:[0-9a-f]*): data: chunk sha256:$hex " out
'

test_expect_success 'remove the copy with the missing object' '
	rm -rf missing
'

# ---- a chunk swapped in the entry's tree, commit re-signed (git fsck clean) ----

test_expect_success 'swap a chunk of the newest version for other bytes, commit re-signed' '
	cp -R repo swapped &&
	c=$(nth_commit swapped 4) &&
	"$PYTHON" tamper.py blob swapped/.git "$c" v2.csv 1 >swapped.chunk &&
	read hex off old new <swapped.chunk &&
	test "$old" != "$new" &&
	t=$(tree_with_chunks swapped "$c" "s/ $old	$hex\$/ $new	$hex/") &&
	git -C swapped ls-tree -r "$t" >tree &&
	test_grep "blob $new	chunks/$hex\$" tree &&
	resign_head_with_tree swapped "$t" &&
	git -C swapped fsck --strict --no-dangling &&
	dmlctl -C swapped ledger allowed-signers >signers &&
	git -C swapped -c gpg.format=ssh -c gpg.ssh.allowedSignersFile="$TRASH_DIRECTORY/signers" \
		verify-commit refs/dml/ledger 2>err &&
	test_grep "Good \"git\" signature" err
'

test_expect_success 'ledger verify finds the swapped chunk by its SHA-256, check "data" only' '
	read hex off old new <swapped.chunk &&
	expect_data_failure swapped 4 "chunk sha256:$hex does not match its digest"
'

test_expect_success 'get of the newest version fails naming the chunk; version 1 is intact' '
	read hex off old new <swapped.chunk &&
	test_must_fail dmlctl -C swapped dataset get big -o "$PWD/out.csv" 2>err &&
	test_grep "^error: chunk sha256:$hex does not match its digest\$" err &&
	test ! -e out.csv &&
	ls -a >files &&
	! grep "dmlctl-" files &&
	test_must_fail dmlctl -C swapped dataset get big@2 >partial.csv 2>err &&
	test "$(wc -c <partial.csv)" -eq "$off" &&
	dmlctl -C swapped dataset get big@1 -o "$PWD/got.csv" &&
	cmp v1.csv got.csv
'

test_expect_success 'dataset verify fails only the swapped version' '
	read hex off old new <swapped.chunk &&
	test_expect_exit 1 dmlctl -C swapped dataset verify >out &&
	cat >want <<-EOF &&
	ok big@1 (entry #3)
	FAILED big@2 (entry #4): chunk sha256:$hex does not match its digest
	ok small@1 (entry #1)
	EOF
	test_cmp want out &&
	dmlctl -C swapped dataset verify big@1 &&
	test_expect_exit 1 dmlctl -C swapped dataset verify big
'

# ---- chunks/ trees that disagree with the manifest (git fsck clean) ----

test_expect_success 'a chunk dropped from the entry tree is named missing' '
	cp -R repo dropped &&
	c=$(nth_commit dropped 4) &&
	"$PYTHON" tamper.py blob dropped/.git "$c" v2.csv 3 >dropped.chunk &&
	read hex off old new <dropped.chunk &&
	t=$(tree_with_chunks dropped "$c" "/	$hex\$/d") &&
	resign_head_with_tree dropped "$t" &&
	git -C dropped fsck --strict --no-dangling &&
	expect_data_failure dropped 4 "chunk sha256:$hex is missing" &&
	test_must_fail dmlctl -C dropped dataset get big -o "$PWD/out.csv" 2>err &&
	test_grep "^error: chunk sha256:$hex is missing\$" err &&
	test ! -e out.csv
'

test_expect_success 'a chunk the manifest does not list, added to the entry tree, is named' '
	cp -R repo extra &&
	c=$(nth_commit extra 4) &&
	small=$(git -C extra ls-tree "$(nth_commit extra 1):chunks") &&
	shex=$(echo "$small" | sed "s/.*	//") &&
	t=$(tree_with_chunks extra "$c" "\$a $small") &&
	git -C extra ls-tree "$t:chunks" >chunks &&
	test_grep "	$shex\$" chunks &&
	resign_head_with_tree extra "$t" &&
	git -C extra fsck --strict --no-dangling &&
	expect_data_failure extra 4 "chunks/$shex is not in the manifest" &&
	test_expect_exit 1 dmlctl -C extra dataset verify big@2 >out &&
	test_grep "^FAILED big@2 (entry #4): chunks/$shex is not in the manifest\$" out
'

test_expect_success 'the untouched repository still verifies' '
	dmlctl -C repo ledger verify >out &&
	test_grep "^ledger verified: 5 entries, every check passed\$" out &&
	dmlctl -C repo dataset verify >out &&
	! grep -v "^ok " out
'

test_done
