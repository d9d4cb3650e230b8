#!/bin/sh
test_description='dmlctl round and update: every faulty update is refused or recorded with its reason, and nothing else changes'
. ./test-lib.sh

# Two kinds of fault.  Those a submission cannot pass (an unsigned or
# tampered file, a round that is over, a key the policy does not allow) are
# refused with an error and leave the ledger exactly as it was.  Those the
# ledger records (a non-member's or a revoked key's file, a second update
# from a key, a file that does not fit the round) are rejected at
# aggregation with their reason, and the model is what the valid updates
# alone give.  The coordinator's key is made by ssh-keygen so that the last
# test can forge a round.aggregate with nothing but git plumbing and
# ssh-keygen, as someone holding that key could.

TAB=$(printf '\t')
NS_STATEMENT=dmlctl-statement@dmlctl.org

save_head() {
	git -C "${1:-repo}" rev-parse refs/dml/ledger >head.before
}

head_unchanged() {
	git -C "${1:-repo}" rev-parse refs/dml/ledger >head.after &&
	test_cmp head.before head.after &&
	find "${1:-repo}/.git" -name "*.lock" >locks &&
	test_cmp /dev/null locks
}

# One error line, in the house style.
error_style() {
	grep "^error: " "$1" >err.lines &&
	test "$(wc -l <err.lines)" -eq 1 &&
	! grep "^error: [A-Z]" err.lines &&
	! grep "\.\$" err.lines
}

# refused STATUS PATTERN COMMAND...: COMMAND exits with STATUS, says PATTERN
# in one error line, and the ledger of repo is unchanged.
refused() {
	_st=$1 _pat=$2 &&
	shift 2 &&
	save_head &&
	test_expect_exit "$_st" "$@" >out 2>err &&
	error_style err &&
	test_grep -e "$_pat" err &&
	head_unchanged
}

# train KEY ROUND CSV [options]: an unsigned update KEY.ROUND.upd.
train() {
	_k=$1 _r=$2 _csv=$3 &&
	shift 3 &&
	dmlctl -q -C repo update train --round "$_r" "$@" -o "$PWD/$_k.$_r.upd" "$PWD/$_csv"
}

# signed KEY ROUND CSV: the same, signed by KEY.
signed() {
	train "$@" &&
	dmlctl -q update sign -k "$1" "$1.$2.upd" 2>/dev/null
}

# submit BY FILE: BY records the signed FILE.
submit() {
	dmlctl -q -C repo update submit -k "$1" "$PWD/$2"
}

update_id() {
	echo "sha256:$(sha256_of "$1")"
}

cat >upd.py <<\EOF
# upd.py - read and write update files without dmlctl.
import hashlib
import json
import struct
import sys


def read(path):
    data = open(path, "rb").read()
    end = data.index(b"\n\n") + 2
    h = dict(ln.split(" ", 1) for ln in data[:end].decode().split("\n")[1:-2])
    n = int(h["payload"].split(" ")[1])
    return h, list(struct.unpack("<%dd" % (n // 8), data[end:end + n]))


def write(path, h, values):
    """An unsigned update with header fields h (in order) and payload values."""
    pl = struct.pack("<%dd" % len(values), *values)
    lines = ["dmlctl-update 1"]
    for k in ("round", "base", "mode", "dimension", "samples"):
        lines.append("%s %s" % (k, h[k]))
    lines.append("payload sha256:%s %d" % (hashlib.sha256(pl).hexdigest(), len(pl)))
    open(path, "wb").write(("\n".join(lines) + "\n\n").encode() + pl)


def craft(src, dst, what):
    """From the update src, an unsigned update that does not fit its round."""
    h, w = read(src)
    if what == "dimension":
        h["dimension"] = str(len(w) + 1)
        w = w + [0.5]
    elif what == "base":
        h["base"] = "sha256:" + hashlib.sha256(b"another model").hexdigest()
    elif what == "mode":
        # statistics of one row (1, 2, 3, ...) with target 4
        d = len(w)
        x, y = [float(i + 1) for i in range(d)], 4.0
        h["mode"] = "stats"
        h["samples"] = "1"
        w = [x[i] * x[j] for i in range(d) for j in range(i, d)] + [v * y for v in x] + [y * y]
    elif what == "samples":
        h["samples"] = "0"
    write(dst, h, w)


def flip(src, dst, offset_from_payload):
    data = bytearray(open(src, "rb").read())
    data[data.index(b"\n\n") + 2 + int(offset_from_payload)] ^= 1
    open(dst, "wb").write(data)


def fedavg(status, *upds):
    """The round's model is the weighted mean of exactly these updates."""
    from fractions import Fraction as Fr
    st = json.load(open(status))
    c = st["coefficients"]
    got = [c["(intercept)"]] + [c[k] for k in sorted(k for k in c if k != "(intercept)")]
    tot, acc = 0, None
    for u in upds:
        h, w = read(u)
        n = int(h["samples"])
        tot += n
        acc = [n * Fr(v) for v in w] if acc is None else [a + n * Fr(v) for a, v in zip(acc, w)]
    want = [float(a / tot) for a in acc]
    for g, v in zip(got, want):
        assert abs(g - v) <= 4e-16 * abs(v), (got, want)


def reasons(status):
    """'<update ID> <verdict>' lines of an aggregated round, sorted."""
    body = json.load(open(status))["outcome"]["body"]
    lst = lambda k: body.get(k, []) if isinstance(body.get(k, []), list) else [body[k]]
    out = ["%s accepted" % a for a in lst("accepted")] + lst("rejected")
    for ln in sorted(out):
        print(ln)


globals()[sys.argv[1]](*sys.argv[2:])
EOF

cat >gen.py <<\EOF
import random
for k, name in enumerate(["bob", "bob2", "carol", "dave", "eve", "frank", "gina", "rita",
                          "mallory", "coord"]):
    r = random.Random(2410 + k)
    with open(name + ".csv", "w") as f:
        f.write("x1,x2,x3,y\n")
        for i in range(20 + 3 * k):
            x1, x2, x3 = (round(r.uniform(-2, 2), 3) for _ in range(3))
            f.write("%.3f,%.3f,%.3f,%.4f\n" % (x1, x2, x3,
                    1 + 2 * x1 - x2 + 0.5 * x3 + k * 0.05 + r.gauss(0, 0.2)))
EOF

test_expect_success 'setup: a coordinator made by ssh-keygen, members, an outsider' '
	mkdir ssh &&
	ssh-keygen -q -t ed25519 -N "" -C coord -f ssh/coord &&
	dmlctl -q key import --no-passphrase ssh/coord >/dev/null &&
	for k in bob carol dave eve frank gina rita mallory
	do
		test_key $k &&
		dmlctl key export $k >$k.pub || return 1
	done &&
	dmlctl -q init -k coord repo &&
	for k in bob carol dave eve frank gina rita
	do
		dmlctl -q -C repo key add -k coord --name $k "$PWD/$k.pub" || return 1
	done &&
	"$PYTHON" gen.py &&
	dmlctl -q -C repo round open -k coord --name r1 --kind ridge --lambda 0.5 \
		--target y --features x1,x2,x3 &&
	dmlctl -C repo --json round status r1 >r1.open.json &&
	json_valid <r1.open.json
'

test_expect_success 'only a coordinator opens, aggregates or closes a round' '
	refused 1 "may not write .round.open. entries: the policy requires role coordinator" \
		dmlctl -C repo round open -k bob --name rb --kind ols --target y --features x1 &&
	refused 1 "not a member" \
		dmlctl -C repo round open -k mallory --name rm --kind ols --target y --features x1 &&
	signed carol r1 carol.csv &&
	submit carol carol.r1.upd &&
	refused 1 "may not write .round.aggregate. entries" \
		dmlctl -C repo round aggregate -k bob r1 &&
	refused 1 "may not write .round.close. entries" dmlctl -C repo round close -k bob r1 &&
	dmlctl -C repo round list >list &&
	test_grep "^r1  *open " list &&
	! grep "^r[bm] " list
'

test_expect_success 'an unsigned update is refused with a hint to sign it' '
	train bob r1 bob.csv &&
	refused 2 "not signed (see .dmlctl update sign.)" \
		dmlctl -C repo update submit -k bob "$PWD/bob.r1.upd" &&
	refused 1 "is not signed" dmlctl update verify bob.r1.upd
'

test_expect_success 'a tampered update fails verify and is refused' '
	dmlctl -q update sign -k bob bob.r1.upd 2>/dev/null &&
	dmlctl update verify bob.r1.upd >/dev/null &&
	"$PYTHON" upd.py flip bob.r1.upd payload.upd 9 &&
	refused 1 "payload does not match its digest" dmlctl update verify payload.upd &&
	refused 1 "payload does not match its digest" \
		dmlctl -C repo update submit -k bob "$PWD/payload.upd" &&
	sed "s/^samples 20\$/samples 21/" bob.r1.upd >samples.upd &&
	! cmp -s bob.r1.upd samples.upd &&
	refused 1 "bad signature" dmlctl update verify samples.upd &&
	refused 1 "bad signature" dmlctl -C repo update submit -k bob "$PWD/samples.upd" &&
	# a signature by another key than the header names
	dmlctl -q update sign -k dave -o "$PWD/dave-signed.upd" bob.r1.upd 2>/dev/null &&
	"$PYTHON" -c "
import sys
a, b = (open(f, \"rb\").read() for f in sys.argv[1:3])
cut = lambda d: d.index(b\"-----BEGIN SSH SIGNATURE\")
open(sys.argv[3], \"wb\").write(a[:cut(a)] + b[cut(b):])
" bob.r1.upd dave-signed.upd mixed.upd &&
	refused 1 "bad signature" dmlctl update verify mixed.upd &&
	refused 1 "bad signature" dmlctl -C repo update submit -k bob "$PWD/mixed.upd"
'

test_expect_success 'the same file twice is refused, a second update from a key is recorded' '
	# Submitted again, at another time or at the same (the very same
	# statement, which no ledger takes twice), the round rule
	# answers first: it says more than "already in the ledger".
	env DMLCTL_TIME=1700000000 dmlctl -q -C repo update submit -k bob "$PWD/bob.r1.upd" &&
	refused 1 "this update was submitted at entry #" \
		env DMLCTL_TIME=1700000001 dmlctl -C repo update submit -k bob "$PWD/bob.r1.upd" &&
	refused 1 "this update was submitted at entry #" \
		env DMLCTL_TIME=1700000000 dmlctl -C repo update submit -k bob "$PWD/bob.r1.upd" &&
	refused 1 "this update was submitted at entry #" \
		dmlctl -C repo update submit -k coord "$PWD/bob.r1.upd" &&
	dmlctl -q -C repo update train --round r1 -o "$PWD/bob2.r1.upd" "$PWD/bob2.csv" &&
	dmlctl -q update sign -k bob bob2.r1.upd 2>/dev/null &&
	submit bob bob2.r1.upd &&
	dmlctl -C repo round status r1 >status &&
	test_grep "^  #[0-9]* *$(update_id bob2.r1.upd | cut -c1-23)  by SHA256:.*(will be rejected: second update from this key)\$" status
'

test_expect_success 'a non-member'\''s update, submitted by a member, is recorded' '
	dmlctl -q -C repo update train --round r1 -o "$PWD/mallory.r1.upd" "$PWD/mallory.csv" &&
	dmlctl -q update sign -k mallory mallory.r1.upd 2>/dev/null &&
	dmlctl update verify mallory.r1.upd >/dev/null &&
	refused 1 "not a member" \
		dmlctl -C repo update submit -k mallory "$PWD/mallory.r1.upd" &&
	submit carol mallory.r1.upd &&
	dmlctl -C repo round status r1 >status &&
	test_grep "(will be rejected: not a member)\$" status
'

test_expect_success 'a key revoked after signing: refused itself, recorded when another submits' '
	signed rita r1 rita.csv &&
	dmlctl -q -C repo key revoke -k coord rita &&
	refused 1 "revoked" dmlctl -C repo update submit -k rita "$PWD/rita.r1.upd" &&
	submit carol rita.r1.upd &&
	dmlctl -C repo round status r1 >status &&
	test_grep "(will be rejected: revoked)\$" status
'

test_expect_success 'files that do not fit the round are recorded: dimension, base model, mode, samples' '
	train dave r1 dave.csv &&
	"$PYTHON" upd.py craft dave.r1.upd dim.upd dimension &&
	"$PYTHON" upd.py craft dave.r1.upd base.upd base &&
	"$PYTHON" upd.py craft dave.r1.upd mode.upd mode &&
	"$PYTHON" upd.py craft dave.r1.upd samples0.upd samples &&
	grep -a "^dimension 5\$" dim.upd &&
	grep -a "^mode stats\$" mode.upd &&
	set -- dave:dim eve:base frank:mode gina:samples0 &&
	for p
	do
		k=${p%%:*} f=${p#*:} &&
		dmlctl -q update sign -k $k $f.upd 2>/dev/null &&
		dmlctl update verify $f.upd >/dev/null &&
		submit carol $f.upd || return 1
	done &&
	dmlctl -C repo --json round list >list.json &&
	"$PYTHON" -c "
import json
r = [x for x in json.load(open(\"list.json\")) if x[\"name\"] == \"r1\"][0]
assert r[\"updates\"] == 9 and r[\"status\"] == \"open\", r
"
'

test_expect_success 'the aggregate records every reason and uses only the valid updates' '
	dmlctl -C repo round aggregate -k coord r1 >out &&
	test_grep "^aggregated round r1 as entry #[0-9]* sha256:[0-9a-f]*: 2 accepted, 7 rejected\$" out &&
	dmlctl -C repo --json round status r1 >r1.json &&
	json_valid <r1.json &&
	"$PYTHON" upd.py reasons r1.json >got &&
	{
		echo "$(update_id bob.r1.upd) accepted" &&
		echo "$(update_id carol.r1.upd) accepted" &&
		echo "$(update_id bob2.r1.upd) second update from this key" &&
		echo "$(update_id mallory.r1.upd) not a member" &&
		echo "$(update_id rita.r1.upd) revoked" &&
		echo "$(update_id dim.upd) wrong dimension" &&
		echo "$(update_id base.upd) another base model" &&
		echo "$(update_id mode.upd) another mode" &&
		echo "$(update_id samples0.upd) no samples"
	} | sort >want &&
	test_cmp want got &&
	"$PYTHON" upd.py fedavg r1.json bob.r1.upd carol.r1.upd &&
	test "$(grep -c "^  rejected " out)" -eq 7 &&
	! grep "^  rejected $(update_id bob.r1.upd)" out &&
	! grep "^  rejected $(update_id carol.r1.upd)" out &&
	test_grep "^  rejected $(update_id mode.upd) another mode\$" out &&
	dmlctl -C repo ledger verify
'

test_expect_success 'after aggregation nothing more is taken' '
	signed dave r1 dave.csv &&
	refused 1 "round .r1. was aggregated at entry #" \
		dmlctl -C repo update submit -k dave "$PWD/dave.r1.upd" &&
	refused 1 "round .r1. was aggregated" dmlctl -C repo round aggregate -k coord r1 &&
	refused 1 "round .r1. was aggregated" dmlctl -C repo round close -k coord r1
'

test_expect_success 'an update for a closed round, or for a round this ledger lacks, is refused' '
	dmlctl -q -C repo round open -k coord --name r2 --kind ols --target y --features x1 &&
	signed dave r2 dave.csv &&
	dmlctl -q -C repo round close -k coord r2 &&
	refused 1 "round .r2. was closed at entry #" \
		dmlctl -C repo update submit -k dave "$PWD/dave.r2.upd" &&
	refused 1 "round .r2. was closed" dmlctl -C repo round aggregate -k coord r2 &&
	dmlctl -q init -k coord other &&
	dmlctl -q -C other round open -k coord --name r2 --kind ols --target y --features x1 &&
	dmlctl -q -C other update train --round r2 -o "$PWD/other.upd" "$PWD/dave.csv" &&
	dmlctl -q update sign -k coord other.upd 2>/dev/null &&
	refused 128 "for a round this ledger does not have" \
		dmlctl -C repo update submit -k coord "$PWD/other.upd"
'

test_expect_success 'min-updates not met: the aggregate is refused and the round stays open' '
	dmlctl -q -C repo round open -k coord --name r3 --kind ridge --min-updates 3 \
		--target y --features x1,x2 &&
	for k in bob carol
	do
		signed $k r3 $k.csv &&
		submit $k $k.r3.upd || return 1
	done &&
	# a third update that will be rejected does not count
	dmlctl -q -C repo update train --round r3 -o "$PWD/mallory.r3.upd" "$PWD/mallory.csv" &&
	dmlctl -q update sign -k mallory mallory.r3.upd 2>/dev/null &&
	submit bob mallory.r3.upd &&
	refused 2 "2 valid updates, the round needs at least 3" \
		dmlctl -C repo round aggregate -k coord r3 &&
	dmlctl -C repo round list >list &&
	test_grep "^r3  *open  *opened #[0-9]*  *3 updates\$" list &&
	signed dave r3 dave.csv &&
	submit dave dave.r3.upd &&
	dmlctl -C repo round aggregate -k coord r3 >out &&
	test_grep ": 3 accepted, 1 rejected\$" out
'

test_expect_success 'strict mode refuses krum while n <= 2f + 2' '
	dmlctl -q -C repo round open -k coord --name r4 --kind ols --rule krum --byzantine 1 \
		--strict --target y --features x1,x2 &&
	test "$(dmlctl -C repo --json round status r4 | "$PYTHON" -c "import json, sys; print(json.load(sys.stdin)[\"body\"][\"options\"])")" = intercept,strict &&
	for k in bob carol dave eve
	do
		signed $k r4 $k.csv &&
		submit $k $k.r4.upd || return 1
	done &&
	refused 2 "krum" dmlctl -C repo round aggregate -k coord r4 &&
	signed frank r4 frank.csv &&
	submit frank frank.r4.upd &&
	dmlctl -C repo round aggregate -k coord r4 >out &&
	test_grep ": 1 accepted, 4 rejected\$" out &&
	# the same numbers without --strict aggregate at once
	dmlctl -q -C repo round open -k coord --name r5 --kind ols --rule krum --byzantine 1 \
		--target y --features x1,x2 &&
	for k in bob carol dave eve
	do
		signed $k r5 $k.csv &&
		submit $k $k.r5.upd || return 1
	done &&
	dmlctl -C repo round aggregate -k coord r5 >out &&
	test_grep ": 1 accepted, 3 rejected\$" out &&
	dmlctl -C repo round status r5 >status &&
	test_grep "^  caveat .*n <= 2f + 2" status &&
	dmlctl -C repo round status r4 >status &&
	! grep "^  caveat" status &&
	dmlctl -C repo ledger verify
'

# ---- a forged round.aggregate ----

# The commit for statement file STMT with tree TREE on top of PARENT in
# repository R, signed with KEYFILE as dmlctl signs (the statement's
# author links it); print its ID.  Its message links the entry after
# PARENT: the next seq, and the chain value SHA-256(parent's || entry ID).
entry_commit() {
	_id=$(sed -n "s/^author //p" "$4") &&
	_time=$(sed -n "s/^time //p" "$4") &&
	_eid=$(sha256sum <"$4" | cut -d" " -f1) &&
	_seq=$(($(git -C "$1" log -1 --format=%s "$2" | sed -n "s/.* #\([0-9]*\)\$/\1/p") + 1)) &&
	_chain=$("$PYTHON" -c "
import hashlib, sys
print(hashlib.sha256(bytes.fromhex(sys.argv[1]) + bytes.fromhex(sys.argv[2])).hexdigest())
" "$(git -C "$1" log -1 --format=%B "$2" | sed -n "s/^Chain: sha256://p")" "$_eid") &&
	{
		echo "tree $3" &&
		echo "parent $2" &&
		echo "author dmlctl <$_id> $_time +0000" &&
		echo "committer dmlctl <$_id> $_time +0000" &&
		echo &&
		echo "$(sed -n "s/^type //p" "$4") #$_seq" &&
		echo &&
		echo "Entry: sha256:$_eid" &&
		echo "Chain: sha256:$_chain"
	} >"$TRASH_DIRECTORY/.commit" &&
	ssh-keygen -q -Y sign -n git -f "$5" <"$TRASH_DIRECTORY/.commit" >"$TRASH_DIRECTORY/.commit.sig" &&
	awk 'NR == FNR { sig[n++] = $0; next }
		{ print }
		/^committer / && !done {
			printf "gpgsig %s\n", sig[0]
			for (i = 1; i < n; i++)
				printf " %s\n", sig[i]
			done = 1
		}' "$TRASH_DIRECTORY/.commit.sig" "$TRASH_DIRECTORY/.commit" |
	git -C "$1" hash-object -t commit -w --stdin
}

# Rebuild the head entry of R (a round.aggregate) with its statement passed
# through the sed script SCRIPT and its objects/ tree holding the blob of
# FILE instead (when given); print the new commit.
reforge_head() {
	_c=$(git -C "$1" rev-parse refs/dml/ledger) &&
	git -C "$1" cat-file blob "$_c:statement" | sed "$2" >stmt &&
	ssh-keygen -q -Y sign -n $NS_STATEMENT -f ssh/coord <stmt >stmt.sig &&
	_sb=$(git -C "$1" hash-object -w "$PWD/stmt") &&
	_gb=$(git -C "$1" hash-object -w "$PWD/stmt.sig") &&
	if [ -n "${3:-}" ]
	then
		_ob=$(git -C "$1" hash-object -w "$PWD/$3") &&
		_ot=$(printf "100644 blob %s\t%s\n" $_ob "$(sha256_of "$3")" | git -C "$1" mktree)
	else
		_ot=$(git -C "$1" rev-parse "$_c:objects")
	fi &&
	_t=$(printf "100644 blob %s\tstatement\n100644 blob %s\tstatement.sig\n040000 tree %s\tobjects\n040000 tree %s\tround\n040000 tree %s\tupdates\n" \
		$_sb $_gb $_ot "$(git -C "$1" rev-parse "$_c:round")" \
		"$(git -C "$1" rev-parse "$_c:updates")" | git -C "$1" mktree) &&
	entry_commit "$1" "$(git -C "$1" rev-parse "$_c^")" $_t stmt "$PWD/ssh/coord"
}

test_expect_success 'ledger verify catches a round.aggregate whose model was altered' '
	git init -q --bare forged.git &&
	git -C repo push -q "$PWD/forged.git" "refs/dml/*:refs/dml/*" &&
	test "$(git -C forged.git cat-file blob refs/dml/ledger:statement | sed -n "s/^type //p")" = round.aggregate &&
	# the tools are faithful: rebuilding the head as it is changes nothing
	c=$(git -C forged.git rev-parse refs/dml/ledger) &&
	again=$(reforge_head forged.git "") &&
	test "$again" = "$c" &&
	# the round'\''s base model is a valid model file, but not the aggregate
	base=$(git -C forged.git cat-file blob "$c:round/statement" | sed -n "s/^base sha256://p") &&
	git -C forged.git cat-file blob "$c:round/objects/$base" >base.model &&
	test "$(sha256_of base.model)" = "$base" &&
	old=$(git -C forged.git cat-file blob "$c:statement" | sed -n "s/^model sha256://p") &&
	test "$old" != "$base" &&
	new=$(reforge_head forged.git "s/^model sha256:$old\$/model sha256:$base/" base.model) &&
	git -C forged.git update-ref refs/dml/ledger $new $c &&
	seq=$(git -C forged.git log -1 --format=%s $new | sed -n "s/.* #\([0-9]*\)\$/\1/p") &&
	test -n "$seq" &&
	test_expect_exit 1 dmlctl -C forged.git ledger verify >out 2>err &&
	test_grep "^FAILED entry $seq (round.aggregate sha256:[0-9a-f]*): data: .*differs from the stored model" out err &&
	# the signature and authority were fine: only the data check caught it
	test_expect_exit 1 dmlctl -C forged.git --json ledger verify >v.json &&
	"$PYTHON" -c "
import json, sys
o = json.load(open(\"v.json\"))
assert o[\"ok\"] is False, o
" &&
	dmlctl -C repo ledger verify
'

test_done
