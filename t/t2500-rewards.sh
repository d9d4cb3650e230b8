#!/bin/sh
test_description='dmlctl reward and balance: contribution values against brute force, exact token splits, payments that move balances and that ledger verify recomputes'
. ./test-lib.sh

# Every reference here is computed without dmlctl, in python's standard
# library (rw.py).  For stats-mode rounds it re-solves each coalition's
# ridge model exactly, in rational arithmetic, from the parties' own CSV
# files (not from their updates), measures it on the validation file, and
# takes Shapley values as the mean marginal contribution over all n!
# orders; leave-one-out, Banzhaf values and proportional shares come from
# the same table of utilities.  For weights-mode rounds it decodes the
# update files itself and averages them by sample count.  Token splits
# follow the largest-remainder rule of dml/payout.h in Python integers.
#
# Four parties: bob and carol with clean data, dave with a copy of carol's
# file (so the two must be worth the same), and erin, 30% of whose labels
# are flipped (so she must be worth the least).  A null player (a party
# without rows) cannot be made here: an update with no samples is rejected
# at aggregation, so it is never a contributor; t/unit/test_shapley.c
# checks the axiom on the game itself, as it checks the refusal of exact
# methods above 25 players.

cat >gen.py <<\EOF
import random


def gen(name, n, seed, flip=0.0):
    r = random.Random(seed)
    with open(name, "w") as f:
        f.write("x1,x2,y\n")
        for i in range(n):
            x1, x2 = round(r.uniform(-2, 2), 2), round(r.uniform(-2, 2), 2)
            y = 1 if 0.3 + x1 - 0.5 * x2 + r.gauss(0, 0.5) > 0 else 0
            if i % 10 < 10 * flip:
                y = 1 - y
            f.write("%.2f,%.2f,%d\n" % (x1, x2, y))


gen("v.csv", 200, 2500)
gen("bob.csv", 60, 2501)
gen("carol.csv", 45, 2502)
gen("erin.csv", 60, 2504, flip=0.3)
EOF

cat >rw.py <<\EOF
# rw.py - references for t2500.  Nothing here shares code with dmlctl.
import csv
import hashlib
import itertools
import json
import math
import struct
import sys
from fractions import Fraction as Fr


def fail(msg):
    sys.stderr.write("reference check failed: %s\n" % msg)
    sys.exit(1)


def close(got, want, tol, what):
    if not abs(float(got) - float(want)) <= tol:
        fail("%s: got %.17g, want %.17g (difference %.3g)" % (
            what, float(got), float(want), abs(float(got) - float(want))))


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def design(path, target, features):
    """Rows [1, features sorted by name...] and targets, as exact rationals."""
    h, rows = load(path)
    cols = sorted(features.split(","), key=lambda s: s.encode())
    X = [[Fr(1)] + [Fr(float(r[h.index(c)])) for c in cols] for r in rows]
    y = [Fr(float(r[h.index(target)])) for r in rows]
    return X, y


def stats(X, y):
    d = len(X[0])
    A = [[sum(r[i] * r[j] for r in X) for j in range(d)] for i in range(d)]
    c = [sum(r[i] * t for r, t in zip(X, y)) for i in range(d)]
    return A, c, sum(t * t for t in y), len(X)


def solve(A, c):
    n = len(A)
    M = [list(A[i]) + [c[i]] for i in range(n)]
    for j in range(n):
        p = next(i for i in range(j, n) if M[i][j] != 0)
        M[j], M[p] = M[p], M[j]
        inv = 1 / M[j][j]
        M[j] = [v * inv for v in M[j]]
        for i in range(n):
            if i != j and M[i][j] != 0:
                f = M[i][j]
                M[i] = [a - f * b for a, b in zip(M[i], M[j])]
    return [M[i][n] for i in range(n)]


def result(path):
    return json.load(open(path))


def keys_of(res):
    return [c["key"] for c in res["contributors"]]


def by_key(res, field):
    return {c["key"]: c[field] for c in res["contributors"]}


def files_by_key(res, pairs):
    """key=path arguments, in the order of the contributors in res."""
    m = dict(p.split("=", 1) for p in pairs)
    if sorted(m) != sorted(keys_of(res)):
        fail("contributors %r, expected %r" % (sorted(keys_of(res)), sorted(m)))
    return [m[k] for k in keys_of(res)]


def clip(v):
    return min(Fr(1), max(Fr(0), v))


# ---- games: u[mask] for every coalition of the contributors ----

def stats_game(res, lam, target, features, val, *pairs):
    """Each coalition's exact ridge fit on the union of its parties' rows
    (the intercept unpenalised), scored clip(1 - MSE_S / MSE_empty) on the
    validation rows; the empty coalition's model is all zeros."""
    files = files_by_key(res, pairs)
    A_v, c_v, yy_v, _ = stats(*design(val, target, features))
    P = [stats(*design(f, target, features)) for f in files]
    d, n = len(c_v), len(files)

    def rss(b):
        return (yy_v - 2 * sum(bi * ci for bi, ci in zip(b, c_v)) +
                sum(b[i] * A_v[i][j] * b[j] for i in range(d) for j in range(d)))

    rss0 = yy_v
    u = {0: Fr(0)}
    for mask in range(1, 1 << n):
        A = [[sum(P[p][0][i][j] for p in range(n) if mask >> p & 1) for j in range(d)]
             for i in range(d)]
        c = [sum(P[p][1][i] for p in range(n) if mask >> p & 1) for i in range(d)]
        for j in range(1, d):
            A[j][j] += Fr(lam)
        u[mask] = clip(1 - rss(solve(A, c)) / rss0)
    counts = [P[p][3] for p in range(n)]
    return u, counts


def read_update(path):
    data = open(path, "rb").read()
    end = data.index(b"\n\n") + 2
    h = dict(ln.split(" ", 1) for ln in data[:end].decode().split("\n")[1:-2])
    digest, nbytes = h["payload"].split(" ")
    payload = data[end:end + int(nbytes)]
    if "sha256:" + hashlib.sha256(payload).hexdigest() != digest:
        fail("%s: payload digest" % path)
    return h, list(struct.unpack("<%dd" % (len(payload) // 8), payload))


def sigmoid(z):
    if z >= 0:
        return 1 / (1 + math.exp(-z))
    e = math.exp(z)
    return e / (1 + e)


def weights_game(res, utility, target, features, val, *pairs):
    """Each coalition's model is the sample-weighted mean of its updates
    (fedavg, exactly); the empty coalition's is all zeros.  accuracy: the
    share of validation rows on the right side of 0; log-loss:
    clip(1 - LL_S / LL_empty) with p clipped to [1e-15, 1 - 1e-15]."""
    ups = [read_update(f) for f in files_by_key(res, pairs)]
    X, y = design(val, target, features)
    n = len(ups)

    def score(b):
        zs = [sum(bi * xi for bi, xi in zip(b, x)) for x in X]
        if utility == "accuracy":
            return Fr(sum((z > 0) == (t > Fr(1, 2)) for z, t in zip(zs, y)), len(y))
        tot = 0.0
        for z, t in zip(zs, y):
            p = min(max(sigmoid(float(z)), 1e-15), 1 - 1e-15)
            tot += -math.log(p) if t > Fr(1, 2) else -math.log1p(-p)
        return Fr(tot / len(y))

    d = len(X[0])
    empty = score([Fr(0)] * d)
    u = {}
    for mask in range(1 << n):
        if mask == 0:
            b = [Fr(0)] * d
        else:
            tot = sum(int(ups[p][0]["samples"]) for p in range(n) if mask >> p & 1)
            b = [sum(int(ups[p][0]["samples"]) * Fr(ups[p][1][j]) for p in range(n)
                     if mask >> p & 1) / tot for j in range(d)]
        s = empty if mask == 0 else score(b)
        u[mask] = s if utility == "accuracy" else clip(1 - s / empty)
    return u, [int(h["samples"]) for h, _ in ups]


# ---- values ----

def values(method, u, counts, n):
    full = (1 << n) - 1
    if method == "exact":
        # the definition: the mean marginal contribution over all n! orders
        phi = [Fr(0)] * n
        for perm in itertools.permutations(range(n)):
            m = 0
            for i in perm:
                phi[i] += u[m | 1 << i] - u[m]
                m |= 1 << i
        return [p / math.factorial(n) for p in phi]
    if method == "loo":
        return [u[full] - u[full ^ 1 << i] for i in range(n)]
    if method == "banzhaf":
        return [sum(u[m | 1 << i] - u[m] for m in range(1 << n) if not m >> i & 1) /
                2 ** (n - 1) for i in range(n)]
    if method == "proportional":
        return [Fr(c, sum(counts)) * (u[full] - u[0]) for c in counts]
    fail("no method %s" % method)


def check(kind, path, method, tol, *args):
    res = result(path)
    if res["method"] != method:
        fail("method %s, expected %s" % (res["method"], method))
    u, counts = (stats_game if kind == "stats" else weights_game)(res, *args)
    n = len(counts)
    want = values(method, u, counts, n)
    for k, v, w in zip(keys_of(res), [c["value"] for c in res["contributors"]], want):
        close(v, w, float(tol), "%s value of %s" % (method, k[:20]))
    close(res["u_empty"], u[0], 1e-12, "u(empty)")
    close(res["u_full"], u[(1 << n) - 1], float(tol), "u(all)")
    if method in ("exact", "proportional", "loo") and n > 1:
        # efficiency (and, for these data, loo below Shapley) are properties
        # of the reference too: check the reference is what it claims
        if method != "loo" and sum(want) != u[(1 << n) - 1] - u[0]:
            fail("reference values are not efficient")
    check_split(res)


# ---- tokens ----

def split(pool, ws, keys):
    """dml/payout.h: W_i = floor(w_i 2^s) for the largest s keeping the sum
    below 2^128 (all 1 when no weight is positive), floors of P W_i / D, the
    leftover units to the largest remainders, ties to the lower key bytes."""
    fw = [Fr(w) if w > 0 else Fr(0) for w in ws]
    if all(w == 0 for w in fw):
        W = [1] * len(ws)
    else:
        D = lambda s: sum(math.floor(w * Fr(2) ** s) for w in fw)
        lo, hi = -1100, 1200          # D(lo) < 2^128 <= D(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if D(mid) < 2 ** 128:
                lo = mid
            else:
                hi = mid
        W = [math.floor(w * Fr(2) ** lo) for w in fw]
    D = sum(W)
    q = [pool * w // D for w in W]
    r = [pool * w % D for w in W]
    left = pool - sum(q)
    order = sorted(range(len(ws)), key=lambda i: (-r[i], keys[i], i))
    for i in order[:left]:
        q[i] += 1
    return q


def check_split(res):
    cs = res["contributors"]
    keys = [bytes.fromhex(c["key"].split(":", 1)[1]) for c in cs]
    want = split(res["pool"], [c["value"] for c in cs], keys)
    got = [c["tokens"] for c in cs]
    if got != want:
        fail("tokens %r, the largest-remainder split gives %r" % (got, want))
    if sum(got) != res["pool"]:
        fail("tokens sum to %d, the pool is %d" % (sum(got), res["pool"]))


def tokens(path):
    check_split(result(path))


def tie(path, a, b):
    """a and b have the same, largest value: one unit goes to the lower key."""
    res = result(path)
    v, t = by_key(res, "value"), by_key(res, "tokens")
    if not v[a] == v[b] == max(v.values()) or res["pool"] != 1:
        fail("not a tie for one unit: %r" % v)
    lo = min(a, b, key=lambda k: bytes.fromhex(k.split(":", 1)[1]))
    if t[lo] != 1 or sum(t.values()) != 1:
        fail("the unit went to %r, not to the lower key %s" % (t, lo[:20]))


# ---- properties ----

def efficient(path, tol):
    res = result(path)
    s = sum(Fr(c["value"]) for c in res["contributors"])
    close(s, Fr(res["u_full"]) - Fr(res["u_empty"]), float(tol), "sum of the values")


def symmetric(path, a, b, tol):
    v = by_key(result(path), "value")
    close(v[a], v[b], float(tol), "values of two parties with the same data")


def last(path, key):
    v = by_key(result(path), "value")
    for k in v:
        if k != key and not v[k] > v[key]:
            fail("%s (%.6g) does not beat %s (%.6g)" % (k[:20], v[k], key[:20], v[key]))


def within(exact, sampled):
    """Each sampled value lies within its reported half-width of the exact one."""
    e, s = result(exact), result(sampled)
    hw = by_key(s, "half_width")
    for k, v in by_key(e, "value").items():
        w = by_key(s, "value")[k]
        if not (0 < hw[k] < math.inf) or not abs(w - v) <= hw[k]:
            fail("%s: %.6g is not within %.4g of %.6g" % (k[:20], w, hw[k], v))


def hoeffding(path, eps, delta):
    res = result(path)
    n = len(res["contributors"])
    m = math.ceil(4 * math.log(2 * n / float(delta)) / (2 * float(eps) ** 2))
    if res["samples"] != 2 * m:
        fail("%d permutations, Hoeffding asks for %d" % (res["samples"], 2 * m))


def moved(before, after, payer, paid):
    """after = before, less the pool for the payer, plus each payee's tokens."""
    b = {x["key"]: x["balance"] for x in json.load(open(before))}
    a = {x["key"]: x["balance"] for x in json.load(open(after))}
    res = result(paid)
    want = dict(b)
    want[payer] = want.get(payer, 0) - res["pool"]
    for c in res["contributors"]:
        want[c["key"]] = want.get(c["key"], 0) + c["tokens"]
    if a != want:
        fail("balances %r, expected %r" % (a, want))


globals()[sys.argv[1]](*sys.argv[2:])
EOF

# The key ID of key NAME (as setup wrote them down).
keyid() {
	sed -n "s/^$1 //p" "$TRASH_DIRECTORY/ids"
}

# contribute ROUND KEY CSV: KEY trains on CSV, signs and submits.
contribute() {
	dmlctl -q -C repo update train --round "$1" -o "$PWD/$2.$1.upd" "$PWD/$3" &&
	dmlctl -q update sign -k "$2" "$2.$1.upd" 2>/dev/null &&
	dmlctl -q -C repo update submit -k "$2" "$PWD/$2.$1.upd"
}

# The parties of round R as key=file arguments for rw.py (SUFFIX: csv or R.upd).
parties() {
	for k in bob carol dave erin
	do
		case $2 in
		csv) f=$k.csv ;;
		*) f=$k.$1.upd ;;
		esac
		printf '%s=%s\n' "$(keyid $k)" "$f"
	done
}

compute() {
	dmlctl -C repo --json reward compute "$@"
}

test_expect_success 'setup: a ledger with a supply, four parties, a validation set' '
	for k in coord bob carol dave erin
	do
		test_key $k &&
		echo "$k $(dmlctl key show $k | sed -n "s/^id  *//p")" >>ids || return 1
	done &&
	dmlctl init -k coord --supply 1000000 repo >out &&
	test_grep "^founder  *ed25519:" out &&
	for k in bob carol dave erin
	do
		dmlctl -q -C repo key add -k coord --name $k $k || return 1
	done &&
	"$PYTHON" gen.py &&
	cp carol.csv dave.csv &&
	dmlctl -q -C repo dataset publish -k coord --name val "$PWD/v.csv" &&
	COORD=$(keyid coord) &&
	echo "[{\"key\": \"$COORD\", \"name\": null, \"balance\": 1000000}]" >want.json &&
	dmlctl -C repo --json balance >bal0.json &&
	"$PYTHON" -c "
import json, sys
assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2])), open(sys.argv[2]).read()
" want.json bal0.json &&
	test "$(dmlctl -C repo balance coord)" = 1000000 &&
	test "$(dmlctl -C repo balance bob)" = 0
'

test_expect_success 'stats round: exact Shapley values equal brute force over all orders of exactly re-solved coalitions' '
	dmlctl -q -C repo round open -k coord --name s1 --kind ridge --mode stats --lambda 1 \
		--target y --features x1,x2 --validation val --pool 1000 &&
	contribute s1 bob bob.csv &&
	contribute s1 carol carol.csv &&
	contribute s1 dave dave.csv &&
	contribute s1 erin erin.csv &&
	dmlctl -q -C repo round aggregate -k coord s1 &&
	compute --round s1 >s1.exact.json &&
	json_valid <s1.exact.json &&
	test "$(json_get s1.exact.json evaluations)" = 16 &&
	test "$(json_get s1.exact.json samples)" = 0 &&
	test "$(json_get s1.exact.json utility)" = mse &&
	"$PYTHON" rw.py check stats s1.exact.json exact 1e-11 1 y x1,x2 v.csv $(parties s1 csv)
'

test_expect_success 'efficiency, symmetry, and the flipped labels rank last' '
	"$PYTHON" rw.py efficient s1.exact.json 1e-13 &&
	test "$(json_get s1.exact.json u_empty)" = 0.0 &&
	"$PYTHON" rw.py symmetric s1.exact.json "$(keyid carol)" "$(keyid dave)" 1e-13 &&
	"$PYTHON" rw.py last s1.exact.json "$(keyid erin)"
'

test_expect_success 'the tokens are the largest-remainder split of the values, summing to the pool' '
	"$PYTHON" rw.py tokens s1.exact.json &&
	test "$(json_get s1.exact.json pool)" = 1000 &&
	for pool in 0 1 7 999983 9223372036854775806 9223372036854775807
	do
		compute --round s1 --pool $pool >pool.json &&
		test "$(json_get pool.json pool)" = $pool &&
		"$PYTHON" rw.py tokens pool.json || return 1
	done &&
	# carol and dave are worth the most, equally: one unit goes to the lower key
	compute --round s1 --pool 1 >pool.json &&
	"$PYTHON" rw.py tie pool.json "$(keyid carol)" "$(keyid dave)" &&
	# the text output shows the same numbers
	dmlctl -C repo reward compute --round s1 >s1.txt &&
	test_grep "^exact values, utility mse: u(empty) 0, u(all) 0\.[0-9]*\$" s1.txt &&
	test_grep "^pool  *1000\$" s1.txt &&
	for k in bob carol dave erin
	do
		fp=$(dmlctl key show $k | sed -n "s/^fingerprint  *//p" | cut -c1-22) &&
		t=$("$PYTHON" -c "
import json, sys
print({c[\"key\"]: c[\"tokens\"] for c in json.load(open(sys.argv[1]))[\"contributors\"]}[sys.argv[2]])
" s1.exact.json "$(keyid $k)") &&
		grep -F "$fp " s1.txt >line &&
		test_grep " $t\$" line || return 1
	done
'

test_expect_success 'leave-one-out, Banzhaf and proportional values against the same utilities' '
	compute --round s1 --method loo >s1.loo.json &&
	"$PYTHON" rw.py check stats s1.loo.json loo 1e-11 1 y x1,x2 v.csv $(parties s1 csv) &&
	compute --round s1 --method banzhaf >s1.banzhaf.json &&
	"$PYTHON" rw.py check stats s1.banzhaf.json banzhaf 1e-11 1 y x1,x2 v.csv \
		$(parties s1 csv) &&
	compute --round s1 --method proportional >s1.prop.json &&
	"$PYTHON" rw.py check stats s1.prop.json proportional 1e-13 1 y x1,x2 v.csv \
		$(parties s1 csv) &&
	"$PYTHON" rw.py efficient s1.prop.json 1e-13 &&
	# carol and dave have the same rows, bob and erin more
	"$PYTHON" rw.py symmetric s1.prop.json "$(keyid carol)" "$(keyid dave)" 0 &&
	"$PYTHON" rw.py symmetric s1.prop.json "$(keyid bob)" "$(keyid erin)" 0
'

test_expect_success 'permutation sampling: inside its intervals, drawn from the ledger, the same on any threads' '
	compute --round s1 --method permutation --permutations 40 >p1.json &&
	test "$(json_get p1.json samples)" = 40 &&
	"$PYTHON" rw.py within s1.exact.json p1.json &&
	"$PYTHON" rw.py efficient p1.json 1e-13 &&
	"$PYTHON" rw.py tokens p1.json &&
	compute --round s1 --method permutation --permutations 40 >p2.json &&
	test_cmp p1.json p2.json &&
	compute --round s1 --method permutation --permutations 40 --threads 1 >t1.json &&
	compute --round s1 --method permutation --permutations 40 --threads 2 >t2.json &&
	test_cmp p1.json t1.json &&
	test_cmp t1.json t2.json &&
	# an odd count is rounded up to whole antithetic pairs
	compute --round s1 --method permutation --permutations 7 >p7.json &&
	test "$(json_get p7.json samples)" = 8 &&
	"$PYTHON" rw.py within s1.exact.json p7.json &&
	# from (epsilon, delta) by Hoeffding
	compute --round s1 --method permutation --epsilon 0.5 --delta 0.1 >pe.json &&
	"$PYTHON" rw.py hoeffding pe.json 0.5 0.1 &&
	"$PYTHON" rw.py within s1.exact.json pe.json &&
	# sampled Banzhaf values lie within their intervals of the exact ones
	compute --round s1 --method banzhaf --permutations 64 >b64.json &&
	test "$(json_get b64.json samples)" = 64 &&
	"$PYTHON" rw.py within s1.banzhaf.json b64.json
'

test_expect_success 'reward pay moves the pool from the treasurer to the contributors' '
	dmlctl -C repo --json balance >before.json &&
	git -C repo rev-parse refs/dml/ledger >head.before &&
	dmlctl -C repo --json reward pay -k coord --round s1 >paid.json &&
	test "$(git -C repo rev-parse refs/dml/ledger^)" = "$(cat head.before)" &&
	seq=$(json_get paid.json seq) &&
	test "$(git -C repo cat-file blob refs/dml/ledger:statement | sed -n "s/^type //p")" = reward.pay &&
	# what is paid is what compute said
	"$PYTHON" -c "
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for k in (\"seq\", \"id\"):
    del b[k]
assert a == b, (a, b)
" s1.exact.json paid.json &&
	dmlctl -C repo --json balance >after.json &&
	"$PYTHON" rw.py moved before.json after.json "$(keyid coord)" paid.json &&
	test "$(dmlctl -C repo balance coord)" = 999000 &&
	dmlctl -C repo --json balance erin >erin.json &&
	test "$(json_get erin.json key)" = "$(keyid erin)" &&
	test "$(json_get erin.json balance)" = "$(dmlctl -C repo balance "$(keyid erin)")" &&
	# the statement records every payee with tokens and value
	git -C repo cat-file blob refs/dml/ledger:statement >stmt &&
	test_grep "^round s1 sha256:" stmt &&
	test_grep "^method exact\$" stmt &&
	test_grep "^pool 1000\$" stmt &&
	test "$(grep -c "^pay ed25519:" stmt)" = 4 &&
	dmlctl -C repo reward list >list &&
	test_grep "^s1  *#$seq  *exact  *1000 tokens to 4 contributors\$" list &&
	dmlctl -C repo ledger verify
'

test_expect_success 'a sampled payment with its own pool: ledger verify draws the same samples' '
	dmlctl -q -C repo round open -k coord --name s2 --kind ols --mode stats \
		--target y --features x1,x2 --validation val &&
	for k in bob carol dave erin
	do
		contribute s2 $k $k.csv || return 1
	done &&
	dmlctl -q -C repo round aggregate -k coord s2 &&
	compute --round s2 >s2.exact.json &&
	"$PYTHON" rw.py check stats s2.exact.json exact 1e-11 0 y x1,x2 v.csv $(parties s2 csv) &&
	dmlctl -C repo --json balance >before.json &&
	dmlctl -C repo --json reward pay -k coord --round s2 --method permutation \
		--permutations 30 --pool 12345 >paid2.json &&
	test "$(json_get paid2.json samples)" = 30 &&
	test "$(json_get paid2.json pool)" = 12345 &&
	"$PYTHON" rw.py within s2.exact.json paid2.json &&
	"$PYTHON" rw.py tokens paid2.json &&
	dmlctl -C repo --json balance >after.json &&
	"$PYTHON" rw.py moved before.json after.json "$(keyid coord)" paid2.json &&
	test "$(dmlctl -C repo balance coord)" = $((1000000 - 1000 - 12345)) &&
	git -C repo cat-file blob refs/dml/ledger:statement >stmt &&
	test_grep "^method permutation\$" stmt &&
	test_grep "^samples 30\$" stmt &&
	dmlctl -C repo ledger verify
'

test_expect_success 'weights-mode logistic round: accuracy and log-loss utilities against brute force' '
	dmlctl -q -C repo round open -k coord --name lg --kind logistic --lambda 0.1 \
		--local-steps 2 --target y --features x1,x2 --validation val --pool 300 &&
	for k in bob carol dave erin
	do
		contribute lg $k $k.csv || return 1
	done &&
	dmlctl -q -C repo round aggregate -k coord lg &&
	compute --round lg >lg.acc.json &&
	test "$(json_get lg.acc.json utility)" = accuracy &&
	"$PYTHON" rw.py check weights lg.acc.json exact 1e-9 accuracy y x1,x2 v.csv \
		$(parties lg upd) &&
	"$PYTHON" rw.py efficient lg.acc.json 1e-13 &&
	compute --round lg --utility log-loss >lg.ll.json &&
	test "$(json_get lg.ll.json utility)" = log-loss &&
	"$PYTHON" rw.py check weights lg.ll.json exact 1e-9 log-loss y x1,x2 v.csv \
		$(parties lg upd) &&
	"$PYTHON" rw.py efficient lg.ll.json 1e-13 &&
	"$PYTHON" rw.py symmetric lg.ll.json "$(keyid carol)" "$(keyid dave)" 1e-12 &&
	"$PYTHON" rw.py last lg.ll.json "$(keyid erin)" &&
	compute --round lg --utility log-loss --method loo >lg.loo.json &&
	"$PYTHON" rw.py check weights lg.loo.json loo 1e-9 log-loss y x1,x2 v.csv \
		$(parties lg upd) &&
	dmlctl -C repo --json reward pay -k coord --round lg --utility log-loss >paid3.json &&
	git -C repo cat-file blob refs/dml/ledger:statement >stmt &&
	test_grep "^utility log-loss\$" stmt &&
	"$PYTHON" rw.py tokens paid3.json
'

test_expect_success 'reward list, balances and ledger verify after three payments' '
	dmlctl -C repo reward list >list &&
	test "$(wc -l <list)" = 3 &&
	test_grep "^lg  *#[0-9]*  *exact  *300 tokens to 4 contributors\$" list &&
	test_grep "^s2  *#[0-9]*  *permutation  *12345 tokens to 4 contributors\$" list &&
	dmlctl -C repo --json reward list >list.json &&
	json_valid <list.json &&
	"$PYTHON" -c "
import json
r = {x[\"round\"]: x for x in json.load(open(\"list.json\"))}
assert sorted(r) == [\"lg\", \"s1\", \"s2\"], r
assert r[\"s2\"][\"pool\"] == 12345 and r[\"s2\"][\"payees\"] == 4, r
assert r[\"lg\"][\"method\"] == \"exact\", r
" &&
	# nothing is created or lost: the balances still add up to the supply
	dmlctl -C repo --json balance >bal.json &&
	"$PYTHON" -c "
import json
b = json.load(open(\"bal.json\"))
assert sum(x[\"balance\"] for x in b) == 1000000, b
assert len(b) == 5, b
" &&
	dmlctl -C repo balance >bal.txt &&
	test_grep "  bob  *[0-9][0-9]*\$" bal.txt &&
	dmlctl -C repo ledger verify >out &&
	test_grep "every check passed" out &&
	dmlctl -C repo --json ledger verify >v.json &&
	"$PYTHON" -c "import json; assert json.load(open(\"v.json\"))[\"ok\"] is True"
'

test_done
