#!/bin/sh
test_description='dmlctl round and update: federated rounds against independent references; aggregation rules, order independence, signatures checked by ssh-keygen, differential privacy, verification'
. ./test-lib.sh

# Every reference here is computed without dmlctl, in python's standard
# library: local and centralized least squares exactly, in rational
# arithmetic; the rules (weighted mean, median, trimmed mean, Krum) from the
# update files, which rr.py decodes itself (header text, a blank line, then
# little-endian doubles) and checks against their digests; log-loss from the
# global coefficients.

T0=1700000000

cat >rr.py <<\EOF
# rr.py - references for t2400.  Nothing here shares code with dmlctl.
import csv
import hashlib
import json
import math
import struct
import sys
from fractions import Fraction as Fr


def fail(msg):
    sys.stderr.write("reference check failed: %s\n" % msg)
    sys.exit(1)


def close(got, want, rtol, what, floor=0.0):
    got, want = float(got), float(want)
    if not abs(got - want) <= rtol * max(abs(want), floor):
        fail("%s: got %.17g, want %.17g (relative error %.3g)" % (
            what, got, want, abs(got - want) / max(abs(want), floor, 1e-300)))


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


# ---- update files ----

def read_update(path):
    """(header lines, header bytes, values, signature bytes) of an update."""
    data = open(path, "rb").read()
    end = data.index(b"\n\n") + 2
    header = data[:end]
    lines = header.decode().split("\n")[:-2]
    if lines[0] != "dmlctl-update 1":
        fail("%s: magic %r" % (path, lines[0]))
    h = {}
    for ln in lines[1:]:
        k, v = ln.split(" ", 1)
        h[k] = v
    digest, nbytes = h["payload"].split(" ")
    nbytes = int(nbytes)
    payload = data[end:end + nbytes]
    if len(payload) != nbytes:
        fail("%s: truncated payload" % path)
    if "sha256:" + hashlib.sha256(payload).hexdigest() != digest:
        fail("%s: payload digest" % path)
    values = list(struct.unpack("<%dd" % (nbytes // 8), payload))
    d = int(h["dimension"])
    want = d if h["mode"] == "weights" else d * (d + 1) // 2 + d + 1
    if len(values) != want:
        fail("%s: %d values for dimension %d" % (path, len(values), d))
    return h, header, values, data[end + nbytes:]


def update_id(path):
    return "sha256:" + hashlib.sha256(open(path, "rb").read()).hexdigest()


# ---- exact least squares ----

def solve_exact(A, c):
    n = len(A)
    M = [list(A[i]) + [c[i]] for i in range(n)]
    for j in range(n):
        p = next((i for i in range(j, n) if M[i][j] != 0), None)
        if p is None:
            fail("singular reference system")
        M[j], M[p] = M[p], M[j]
        inv = 1 / M[j][j]
        M[j] = [v * inv for v in M[j]]
        for i in range(n):
            if i != j and M[i][j] != 0:
                f = M[i][j]
                M[i] = [a - f * b for a, b in zip(M[i], M[j])]
    return [M[i][n] for i in range(n)]


def design(paths, target, features):
    """Rows [1, features sorted by name...] and targets, as exact rationals."""
    X, y = [], []
    for p in paths:
        h, rows = load(p)
        for r in rows:
            X.append([Fr(1)] + [Fr(float(r[h.index(c)])) for c in sorted(features)])
            y.append(Fr(float(r[h.index(target)])))
    return X, y


def ridge_exact(X, y, lam):
    """argmin |y - X b|^2 + lam |b[1:]|^2 (the intercept unpenalised)."""
    d = len(X[0])
    A = [[sum(r[i] * r[j] for r in X) for j in range(d)] for i in range(d)]
    for j in range(1, d):
        A[j][j] += Fr(lam)
    c = [sum(r[i] * t for r, t in zip(X, y)) for i in range(d)]
    return solve_exact(A, c)


# ---- what dmlctl reports ----

def status(path):
    return json.load(open(path))


def global_coefs(st):
    """[intercept, features in the model's order] of an aggregated round."""
    c = st["coefficients"]
    cols = sorted((k for k in c if k != "(intercept)"), key=lambda s: s.encode())
    return [c["(intercept)"]] + [c[k] for k in cols]


def listed(body, field):
    v = body.get(field, [])
    return v if isinstance(v, list) else [v]


def check_vec(got, want, rtol, what):
    if len(got) != len(want):
        fail("%s: %d values, want %d" % (what, len(got), len(want)))
    scale = max(abs(float(v)) for v in want)
    for j, (g, w) in enumerate(zip(got, want)):
        close(g, w, rtol, "%s[%d]" % (what, j), 1e-6 * scale)


def check_exact(got, want, what):
    if [float(v) for v in got] != [float(v) for v in want]:
        fail("%s: got %r, want %r (bit for bit)" % (what, got, want))


# ---- commands ----

def cmd_stats(st, lam, target, features, *csvs):
    """A stats-mode round is the centralized exact ridge fit on the union."""
    X, y = design(csvs, target, features.split(","))
    check_vec(global_coefs(status(st)), ridge_exact(X, y, lam), 1e-10, "stats round")


def cmd_same(st, export):
    """The round's model equals a trained model (exported as JSON)."""
    m = json.load(open(export))
    want = [m["intercept"]] + [f["coef"] for f in m["features"]]
    check_vec(global_coefs(status(st)), want, 1e-10, "round vs centralized model")


def cmd_fedavg(st, lam, target, features, *pairs):
    """Each update is its party's exact local fit; the global model is their
    sample-weighted mean (from the exact fits to 1e-12, and from the
    decoded weights, summed exactly, to a few units in the last place)."""
    tot, acc, acc_dec = 0, None, None
    for pair in pairs:
        upd, csvf = pair.split(":")
        h, _, w, _ = read_update(upd)
        X, y = design([csvf], target, features.split(","))
        b = ridge_exact(X, y, lam)
        n = int(h["samples"])
        if n != len(X):
            fail("%s: samples %d, the file has %d rows" % (upd, n, len(X)))
        check_vec(w, b, 1e-10, "%s local fit" % upd)
        tot += n
        acc = [n * v for v in b] if acc is None else [a + n * v for a, v in zip(acc, b)]
        acc_dec = ([n * Fr(v) for v in w] if acc_dec is None
                   else [a + n * Fr(v) for a, v in zip(acc_dec, w)])
    g = global_coefs(status(st))
    check_vec(g, [a / tot for a in acc], 1e-12, "fedavg vs exact local fits")
    check_vec(g, [a / tot for a in acc_dec], 4e-16, "fedavg vs decoded weights")


def cmd_fedavg_models(st, *pairs):
    """The global model is the sample-weighted mean of models trained
    centrally on each party's data (model export JSON : samples)."""
    tot, acc = 0, None
    for pair in pairs:
        path, n = pair.split(":")
        m = json.load(open(path))
        b = [Fr(m["intercept"])] + [Fr(f["coef"]) for f in m["features"]]
        n = int(n)
        tot += n
        acc = [n * v for v in b] if acc is None else [a + n * v for a, v in zip(acc, b)]
    check_vec(global_coefs(status(st)), [a / tot for a in acc], 1e-12,
              "fedavg vs trained local models")


def cmd_median(st, *upds):
    W = [read_update(u)[2] for u in upds]
    want = []
    for j in range(len(W[0])):
        col = sorted(w[j] for w in W)
        n = len(col)
        want.append(col[n // 2] if n % 2 else (col[n // 2 - 1] + col[n // 2]) / 2)
    check_exact(global_coefs(status(st)), want, "median")
    body = status(st)["outcome"]["body"]
    if sorted(listed(body, "accepted")) != sorted(update_id(u) for u in upds):
        fail("median: every update is used")


def cmd_trimmed(st, beta, *upds):
    W = [read_update(u)[2] for u in upds]
    n = len(W)
    lo = int(float(beta) * n)
    want = []
    for j in range(len(W[0])):
        col = sorted(Fr(w[j]) for w in W)[lo:n - lo]
        want.append(sum(col) / len(col))
    check_vec(global_coefs(status(st)), want, 4e-16, "trimmed mean")
    # and it is not plain fedavg or the mean of all
    allmean = [sum(Fr(w[j]) for w in W) / n for j in range(len(W[0]))]
    if all(abs(float(a) - float(b)) < 1e-9 * abs(float(b)) for a, b in
           zip(global_coefs(status(st)), allmean)):
        fail("trimmed mean equals the plain mean: the data do not test the trim")


def cmd_krum(st, f, poisoned, *upds):
    """Krum: the update with the lowest sum of squared distances to its
    n - f - 2 nearest others is the model, bit for bit; every other update
    (the poisoned one first of all) is rejected as not selected."""
    f = int(f)
    ups = sorted(upds, key=update_id)
    W = [[Fr(v) for v in read_update(u)[2]] for u in ups]
    n = len(W)
    k = max(1, n - f - 2)
    scores = []
    for i in range(n):
        ds = sorted(sum((a - b) ** 2 for a, b in zip(W[i], W[j])) for j in range(n) if j != i)
        scores.append(sum(ds[:k]))
    best = min(range(n), key=lambda i: (scores[i], i))
    check_exact(global_coefs(status(st)), W[best], "krum")
    body = status(st)["outcome"]["body"]
    if listed(body, "accepted") != [update_id(ups[best])]:
        fail("krum accepted %r" % listed(body, "accepted"))
    rej = {r.split(" ", 1)[0]: r.split(" ", 1)[1] for r in listed(body, "rejected")}
    want = {update_id(u): "not selected by krum" for i, u in enumerate(ups) if i != best}
    if rej != want:
        fail("krum rejected %r, want %r" % (rej, want))
    if update_id(poisoned) not in rej:
        fail("the poisoned update was selected")


def logloss(b, csvs, target, features):
    s, n = [], 0
    for p in csvs:
        h, rows = load(p)
        for r in rows:
            x = [1.0] + [float(r[h.index(c)]) for c in sorted(features)]
            z = math.fsum(a * c for a, c in zip(x, b))
            t = float(r[h.index(target)])
            s.append((z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))) - t * z)
            n += 1
    return math.fsum(s) / n


def cmd_logistic(st1, st2, target, features, *csvs):
    """Two rounds, the second from the first's model, each lower the
    log-loss on the union of the parties' data."""
    fs = features.split(",")
    l0 = logloss([0.0] * (len(fs) + 1), csvs, target, fs)
    l1 = logloss(global_coefs(status(st1)), csvs, target, fs)
    l2 = logloss(global_coefs(status(st2)), csvs, target, fs)
    print("log-loss %.6f -> %.6f -> %.6f" % (l0, l1, l2))
    if not (l0 > l1 > l2):
        fail("log-loss does not decrease: %r %r %r" % (l0, l1, l2))
    if not l1 - l2 > 1e-6:
        fail("the second round changed nothing: %r %r" % (l1, l2))


def cmd_weighted(st, *upds):
    """fedavg of updates read back from their files, to a few ulps of the
    mean of the magnitudes: each product n * x is rounded once, so where
    the terms cancel (updates with privacy noise can) the error is bounded
    by their size, not by the size of the mean."""
    tot, acc, mag = 0, None, None
    for u in upds:
        h, _, w, _ = read_update(u)
        n = int(h["samples"])
        tot += n
        acc = ([n * Fr(v) for v in w] if acc is None
               else [a + n * Fr(v) for a, v in zip(acc, w)])
        mag = ([n * abs(Fr(v)) for v in w] if mag is None
               else [m + n * abs(Fr(v)) for m, v in zip(mag, w)])
    got = global_coefs(status(st))
    if len(got) != len(acc):
        fail("fedavg: %d values, want %d" % (len(got), len(acc)))
    for j, (g, a, m) in enumerate(zip(got, acc, mag)):
        close(g, a / tot, 4e-16, "fedavg[%d]" % j, float(m / tot))


def cmd_header(upd):
    sys.stdout.buffer.write(read_update(upd)[1])


def cmd_signature(upd):
    sys.stdout.buffer.write(read_update(upd)[3])


def cmd_field(upd, key):
    print(read_update(upd)[0].get(key, "-"))


def cmd_privacy(st, upd, clip, noise, delta):
    """The outcome records clip, noise and the Gaussian mechanism's epsilon
    for one round: rho + 2 sqrt(rho log(1/delta)), rho = 1 / (2 z^2)."""
    body = status(st)["outcome"]["body"]
    lines = listed(body, "privacy")
    mine = [p for p in lines if p.startswith(update_id(upd) + " ")]
    if len(lines) != 1 or len(mine) != 1:
        fail("privacy lines %r" % lines)
    _, c, z, eps = mine[0].split(" ")
    if float(c) != float(clip) or float(z) != float(noise):
        fail("privacy %r" % mine[0])
    eps = float(eps)
    if not math.isfinite(eps):
        fail("epsilon %r is not finite" % eps)
    rho = 1 / (2 * float(noise) ** 2)
    close(eps, rho + 2 * math.sqrt(rho * math.log(1 / float(delta))), 1e-12, "epsilon")


globals()["cmd_" + sys.argv[1].replace("-", "_")](*sys.argv[2:])
EOF

cat >gen.py <<\EOF
# gen.py - each party's local data: the same relation, a party-specific
# shift and noise, so local fits differ and the rules give different models.
import random

PARTIES = [("coord", 23, 0.0), ("bob", 31, 0.4), ("carol", 40, -0.3), ("dave", 27, 0.8),
           ("erin", 35, -0.6)]


def write(name, rows):
    with open(name, "w") as f:
        f.write("x1,x2,x3,y,label\n")
        for r in rows:
            f.write(",".join(r) + "\n")


for k, (name, n, shift) in enumerate(PARTIES):
    r = random.Random(2400 + k)
    rows, poison = [], []
    for i in range(n):
        x1 = round(r.uniform(-3, 3), 3)
        x2 = round(r.gauss(10, 2), 3)
        x3 = r.randint(0, 50)
        y = round(1.5 + shift + (2 + shift) * x1 - 0.5 * x2 + 0.25 * x3 + r.gauss(0, 0.3), 4)
        z = 0.5 + 1.2 * x1 - 0.3 * (x2 - 10) + shift
        label = 1 if r.random() < 1 / (1 + 2.718281828459045 ** -z) else 0
        rows.append(["%.3f" % x1, "%.3f" % x2, "%d" % x3, "%.4f" % y, "%d" % label])
        poison.append(["%.3f" % x1, "%.3f" % x2, "%d" % x3, "%.4f" % (y * 1e6), "%d" % label])
    write(name + ".csv", rows)
    if name == "erin":
        write("erin-poison.csv", poison)
    # the union, for centralized training
    with open("union.csv", "a" if k else "w") as f:
        if k == 0:
            f.write("x1,x2,x3,y,label\n")
        for row in rows:
            f.write(",".join(row) + "\n")
EOF

# contribute REPO ROUND KEY CSV [update train options]: KEY trains an update
# for ROUND on its local CSV, signs it and submits it; the signed update is
# left in REPO.ROUND.KEY.upd.
contribute() {
	_repo=$1 _round=$2 _key=$3 _csv=$4 &&
	shift 4 &&
	_upd=$_repo.$_round.$_key.upd &&
	dmlctl -q -C "$_repo" update train --round "$_round" "$@" -o "$PWD/$_upd" "$PWD/$_csv" &&
	dmlctl -q update sign -k "$_key" "$_upd" 2>/dev/null &&
	dmlctl -q -C "$_repo" update submit -k "$_key" "$PWD/$_upd"
}

# status REPO ROUND: the round's status as JSON in REPO.ROUND.json, checked
# to parse.
status() {
	dmlctl -C "$1" --json round status "$2" >"$1.$2.json" &&
	json_valid <"$1.$2.json"
}

test_expect_success 'setup: five keys, a ledger whose members they are, local data' '
	for k in coord bob carol dave erin
	do
		test_key $k &&
		dmlctl key export $k >$k.pub || return 1
	done &&
	dmlctl -q init -k coord repo &&
	for k in bob carol dave erin
	do
		dmlctl -q -C repo key add -k coord --name $k "$PWD/$k.pub" || return 1
	done &&
	"$PYTHON" gen.py &&
	test "$(wc -l <union.csv)" -eq 157
'

test_expect_success 'stats mode: ridge over three parties is the centralized fit on the union' '
	dmlctl -C repo round open -k coord --name st --mode stats --kind ridge --lambda 2.5 \
		--target y --features x3,x1,x2 >out &&
	test_grep "^opened round st as entry #5 sha256:[0-9a-f]\{64\}\$" out &&
	for k in bob carol dave
	do
		contribute repo st $k $k.csv || return 1
	done &&
	test "$("$PYTHON" rr.py field repo.st.bob.upd mode)" = stats &&
	test "$("$PYTHON" rr.py field repo.st.bob.upd samples)" = 31 &&
	dmlctl -C repo round aggregate -k coord st >out &&
	test_grep "^aggregated round st as entry #9 .*: 3 accepted, 0 rejected\$" out &&
	status repo st &&
	"$PYTHON" rr.py stats repo.st.json 2.5 y x1,x2,x3 bob.csv carol.csv dave.csv &&
	# and dmlctl'\''s own centralized training agrees
	cat bob.csv >bcd.csv &&
	sed 1d carol.csv >>bcd.csv &&
	sed 1d dave.csv >>bcd.csv &&
	dmlctl -q -C repo dataset publish -k coord --name bcd "$PWD/bcd.csv" &&
	dmlctl -q -C repo model train -k coord --name bcd-ridge --dataset bcd --kind ridge \
		--lambda 2.5 --target y --features x1,x2,x3 &&
	dmlctl -C repo model export --format json bcd-ridge >bcd-ridge.json &&
	"$PYTHON" rr.py same repo.st.json bcd-ridge.json &&
	dmlctl -C repo ledger verify
'

test_expect_success 'fedavg, weights mode: ridge is the weighted mean of the exact local fits' '
	dmlctl -q -C repo round open -k coord --name fr --kind ridge --lambda 0.75 \
		--target y --features x1,x2,x3 &&
	for k in bob carol dave
	do
		contribute repo fr $k $k.csv || return 1
	done &&
	dmlctl -q -C repo round aggregate -k coord fr &&
	status repo fr &&
	"$PYTHON" rr.py fedavg repo.fr.json 0.75 y x1,x2,x3 \
		repo.fr.bob.upd:bob.csv repo.fr.carol.upd:carol.csv repo.fr.dave.upd:dave.csv
'

test_expect_success 'fedavg, weights mode: ols is the weighted mean of models trained on each party'\''s data' '
	dmlctl -q -C repo round open -k coord --name fo --kind ols --target y --features x1,x2 &&
	for k in bob carol dave
	do
		contribute repo fo $k $k.csv &&
		dmlctl -q -C repo dataset publish -k $k --name local-$k "$PWD/$k.csv" &&
		dmlctl -q -C repo model train -k $k --name local-$k --dataset local-$k --kind ols \
			--target y --features x1,x2 &&
		dmlctl -C repo model export --format json local-$k >local-$k.json || return 1
	done &&
	dmlctl -q -C repo round aggregate -k coord fo &&
	status repo fo &&
	"$PYTHON" rr.py fedavg-models repo.fo.json local-bob.json:31 local-carol.json:40 \
		local-dave.json:27 &&
	"$PYTHON" rr.py fedavg repo.fo.json 0 y x1,x2 \
		repo.fo.bob.upd:bob.csv repo.fo.carol.upd:carol.csv repo.fo.dave.upd:dave.csv
'

test_expect_success 'median over five parties, bit for bit' '
	dmlctl -q -C repo round open -k coord --name md --kind ols --rule median \
		--target y --features x1,x2,x3 &&
	for k in coord bob carol dave erin
	do
		contribute repo md $k $k.csv || return 1
	done &&
	dmlctl -q -C repo round aggregate -k coord md &&
	status repo md &&
	"$PYTHON" rr.py median repo.md.json repo.md.coord.upd repo.md.bob.upd repo.md.carol.upd \
		repo.md.dave.upd repo.md.erin.upd
'

test_expect_success 'trimmed mean over five parties with beta 0.2 cuts one value at each end' '
	dmlctl -q -C repo round open -k coord --name tm --kind ridge --lambda 0.5 \
		--rule trimmed-mean --beta 0.2 --target y --features x1,x2,x3 &&
	for k in coord bob carol dave erin
	do
		contribute repo tm $k $k.csv || return 1
	done &&
	dmlctl -q -C repo round aggregate -k coord tm &&
	status repo tm &&
	test "$(json_get repo.tm.json body.beta)" = 0.2 &&
	"$PYTHON" rr.py trimmed repo.tm.json 0.2 repo.tm.coord.upd repo.tm.bob.upd \
		repo.tm.carol.upd repo.tm.dave.upd repo.tm.erin.upd
'

test_expect_success 'krum leaves out a poisoned update and records why' '
	dmlctl -q -C repo round open -k coord --name kr --kind ols --rule krum --byzantine 1 \
		--target y --features x1,x2,x3 &&
	for k in bob carol dave
	do
		contribute repo kr $k $k.csv || return 1
	done &&
	contribute repo kr erin erin-poison.csv &&
	dmlctl -C repo round aggregate -k coord kr >out &&
	test_grep "^aggregated round kr .*: 1 accepted, 3 rejected\$" out &&
	test_grep "^  rejected sha256:$(sha256_of repo.kr.erin.upd) not selected by krum\$" out &&
	status repo kr &&
	"$PYTHON" rr.py krum repo.kr.json 1 repo.kr.erin.upd repo.kr.bob.upd repo.kr.carol.upd \
		repo.kr.dave.upd repo.kr.erin.upd
'

test_expect_success 'logistic: two rounds, the second from the first'\''s model, lower the log-loss' '
	dmlctl -q -C repo round open -k coord --name lg1 --kind logistic --lambda 0.1 \
		--local-steps 1 --target label --features x1,x2 &&
	for k in bob carol dave
	do
		contribute repo lg1 $k $k.csv || return 1
	done &&
	dmlctl -q -C repo round aggregate -k coord lg1 &&
	status repo lg1 &&
	"$PYTHON" rr.py weighted repo.lg1.json repo.lg1.bob.upd repo.lg1.carol.upd \
		repo.lg1.dave.upd &&
	dmlctl -q -C repo round open -k coord --name lg2 --kind logistic --lambda 0.1 \
		--local-steps 1 --base-model lg1 &&
	status repo lg2 &&
	test "$(json_get repo.lg2.json body.base)" = "$(json_get repo.lg1.json outcome.body.model)" &&
	test "$(json_get repo.lg2.json body.target)" = label &&
	for k in bob carol dave
	do
		contribute repo lg2 $k $k.csv &&
		test "$("$PYTHON" rr.py field repo.lg2.$k.upd base)" = "$(json_get repo.lg2.json body.base)" ||
		return 1
	done &&
	dmlctl -q -C repo round aggregate -k coord lg2 &&
	status repo lg2 &&
	"$PYTHON" rr.py logistic repo.lg1.json repo.lg2.json label x1,x2 bob.csv carol.csv dave.csv
'

# Two ledgers built the same way at the same times (in directories of the
# same name: it names the ledger) hold the same rounds, so
# the parties'\'' updates are the same files; only the order of submission
# differs.  The aggregate must not depend on it.
build_perm() {
	mkdir "$1" &&
	DMLCTL_TIME=$T0 dmlctl -q init -k coord "$1/perm" &&
	_t=$T0 &&
	for k in bob carol dave erin
	do
		_t=$((_t + 1)) &&
		DMLCTL_TIME=$_t dmlctl -q -C "$1/perm" key add -k coord --name $k "$PWD/$k.pub" || return 1
	done &&
	for r in pf pk
	do
		_t=$((_t + 1)) || return 1
		case $r in
		pf) _rule=fedavg ;;
		pk) _rule=multi-krum ;;
		esac &&
		DMLCTL_TIME=$_t dmlctl -q -C "$1/perm" round open -k coord --name $r --kind logistic \
			--lambda 0.2 --local-steps 3 --rule $_rule --byzantine 1 --target label \
			--features x1,x2,x3 || return 1
	done &&
	shift &&
	for r in pf pk
	do
		for k
		do
			contribute "$_perm/perm" $r $k $k.csv || return 1
		done
	done
}

test_expect_success 'the order of submission does not change the model, to the last bit' '
	_perm=pa && build_perm pa coord bob carol dave erin &&
	_perm=pb && build_perm pb erin carol coord dave bob &&
	for r in pf pk
	do
		for k in coord bob carol dave erin
		do
			cmp pa/perm.$r.$k.upd pb/perm.$r.$k.upd || return 1
		done &&
		dmlctl -q -C pa/perm round aggregate -k coord $r &&
		dmlctl -q -C pb/perm round aggregate -k coord $r &&
		status pa/perm $r &&
		status pb/perm $r &&
		test "$(json_get pa/perm.$r.json outcome.body.model)" = \
			"$(json_get pb/perm.$r.json outcome.body.model)" &&
		"$PYTHON" -c "
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert a[\"coefficients\"] == b[\"coefficients\"], (a[\"coefficients\"], b[\"coefficients\"])
ba, bb = a[\"outcome\"][\"body\"], b[\"outcome\"][\"body\"]
for k in (\"accepted\", \"rejected\"):
    assert ba.get(k) == bb.get(k), (k, ba.get(k), bb.get(k))
" pa/perm.$r.json pb/perm.$r.json || return 1
	done &&
	# the submissions differ, the rounds and their outcomes do not
	git -C pa/perm rev-list refs/dml/ledger >pa.commits &&
	git -C pb/perm rev-list refs/dml/ledger >pb.commits &&
	! test_cmp pa.commits pb.commits 2>/dev/null &&
	test "$(tail -n 7 pa.commits)" = "$(tail -n 7 pb.commits)" &&
	"$PYTHON" rr.py weighted pa/perm.pf.json pa/perm.pf.coord.upd pa/perm.pf.bob.upd \
		pa/perm.pf.carol.upd pa/perm.pf.dave.upd pa/perm.pf.erin.upd &&
	test "$(json_get pa/perm.pk.json outcome.body.updates)" = 5 &&
	dmlctl -C pa/perm ledger verify &&
	dmlctl -C pb/perm ledger verify
'

test_expect_success 'update verify names the signer, offline' '
	dmlctl update verify repo.fr.bob.upd >out &&
	fp=$(dmlctl key show bob | sed -n "s/^fingerprint  *//p") &&
	id=$(dmlctl key show bob | sed -n "s/^id  *//p") &&
	test -n "$fp" && test -n "$id" &&
	head -n 1 out >first &&
	echo "good signature by $fp ($id)" >want &&
	test_cmp want first &&
	test_grep "^update  sha256:$(sha256_of repo.fr.bob.upd)\$" out &&
	test_grep "^round   $(json_get repo.fr.json id)\$" out &&
	test_grep "^mode    weights, 4 values, 31 samples\$" out &&
	dmlctl --json update verify repo.fr.bob.upd >out.json &&
	json_valid <out.json &&
	test "$(json_get out.json signer)" = "$id" &&
	test "$(json_get out.json samples)" = 31 &&
	test "$(json_get out.json dp)" = False
'

test_expect_success 'stock ssh-keygen verifies an update'\''s signature over its header' '
	"$PYTHON" rr.py header repo.fr.carol.upd >header &&
	"$PYTHON" rr.py signature repo.fr.carol.upd >sig &&
	test_grep "^-----BEGIN SSH SIGNATURE-----\$" sig &&
	tail -n 2 header | head -n 1 >signer-line &&
	test_grep "^signer ed25519:" signer-line &&
	printf "carol@dmlctl namespaces=\"dmlctl-update@dmlctl.org\" %s\n" \
		"$(cut -d" " -f1,2 carol.pub)" >allowed &&
	ssh-keygen -Y verify -f allowed -I carol@dmlctl -n dmlctl-update@dmlctl.org \
		-s sig <header >out &&
	test_grep "^Good \"dmlctl-update@dmlctl.org\" signature for carol@dmlctl" out &&
	# not in another namespace, not for another key, not over other bytes
	! ssh-keygen -Y verify -f allowed -I carol@dmlctl -n git -s sig <header &&
	printf "bob@dmlctl namespaces=\"dmlctl-update@dmlctl.org\" %s\n" \
		"$(cut -d" " -f1,2 bob.pub)" >allowed.bob &&
	! ssh-keygen -Y verify -f allowed.bob -I bob@dmlctl \
		-n dmlctl-update@dmlctl.org -s sig <header &&
	sed "s/^samples 40\$/samples 41/" header >header.forged &&
	! cmp -s header header.forged &&
	! ssh-keygen -Y verify -f allowed -I carol@dmlctl \
		-n dmlctl-update@dmlctl.org -s sig <header.forged
'

test_expect_success 'differential privacy: the update says so and the outcome records epsilon' '
	dmlctl -q -C repo round open -k coord --name dp --kind ols --target y --features x1,x2 &&
	contribute repo dp bob bob.csv --dp-clip 1 --dp-noise 0.5 &&
	contribute repo dp carol carol.csv &&
	dp=$("$PYTHON" rr.py field repo.dp.bob.upd dp) &&
	echo "$dp" | grep "^1 0.5 [0-9a-f]\{64\}\$" &&
	test "$("$PYTHON" rr.py field repo.dp.carol.upd dp)" = - &&
	dmlctl update verify repo.dp.bob.upd >out &&
	test_grep ", with privacy noise\$" out &&
	dmlctl -C repo round aggregate -k coord dp &&
	status repo dp &&
	"$PYTHON" rr.py privacy repo.dp.json repo.dp.bob.upd 1 0.5 1e-5 &&
	"$PYTHON" rr.py weighted repo.dp.json repo.dp.bob.upd repo.dp.carol.upd &&
	# two trainings with privacy noise differ (fresh randomness each time)
	dmlctl -q -C repo round open -k coord --name dp2 --kind ols --target y --features x1,x2 &&
	dmlctl -q -C repo update train --round dp2 --dp-clip 1 --dp-noise 0.5 -o "$PWD/n1.upd" "$PWD/bob.csv" &&
	dmlctl -q -C repo update train --round dp2 --dp-clip 1 --dp-noise 0.5 -o "$PWD/n2.upd" "$PWD/bob.csv" &&
	! cmp -s n1.upd n2.upd &&
	dmlctl -q -C repo update train --round dp2 -o "$PWD/m1.upd" "$PWD/bob.csv" &&
	dmlctl -q -C repo update train --round dp2 -o "$PWD/m2.upd" "$PWD/bob.csv" &&
	cmp m1.upd m2.upd
'

test_expect_success 'round list and status, as text and as JSON' '
	dmlctl -C repo round list >list &&
	test_grep "^fr  *aggregated  *opened #[0-9]*  *3 updates\$" list &&
	test_grep "^dp2  *open  *opened #[0-9]*  *0 updates\$" list &&
	dmlctl -C repo --json round list >list.json &&
	json_valid <list.json &&
	"$PYTHON" -c "
import json
rounds = {r[\"name\"]: r for r in json.load(open(\"list.json\"))}
assert sorted(rounds) == [\"dp\", \"dp2\", \"fo\", \"fr\", \"kr\", \"lg1\", \"lg2\", \"md\", \"st\", \"tm\"], sorted(rounds)
assert rounds[\"kr\"][\"status\"] == \"aggregated\" and rounds[\"kr\"][\"updates\"] == 4, rounds[\"kr\"]
assert rounds[\"dp2\"][\"status\"] == \"open\" and rounds[\"dp2\"][\"updates\"] == 0
" &&
	status repo dp2 &&
	test "$(json_get repo.dp2.json status)" = open &&
	"$PYTHON" -c "
import json
o = json.load(open(\"repo.dp2.json\"))
assert \"outcome\" not in o and \"coefficients\" not in o and o[\"updates\"] == [], o
" &&
	dmlctl -C repo round status kr >kr.txt &&
	test_grep "^round   kr (entry #[0-9]*): aggregated\$" kr.txt &&
	test_grep "^4 updates submitted\$" kr.txt &&
	test_grep "^  rejected sha256:$(sha256_of repo.kr.erin.upd) not selected by krum\$" kr.txt &&
	test_grep "^x3  " kr.txt
'

test_expect_success 'round close ends a round without a model' '
	dmlctl -C repo round close -k coord dp2 >out &&
	test_grep "^closed round dp2 at entry #[0-9]*\$" out &&
	status repo dp2 &&
	test "$(json_get repo.dp2.json status)" = closed &&
	test_must_fail dmlctl -q -C repo round open -k coord --name lg3 --kind logistic \
		--base-model dp2 2>err &&
	test_grep "dp2" err
'

test_expect_success 'ledger verify re-runs every aggregation' '
	dmlctl -C repo ledger verify >out &&
	test_grep "every check passed" out &&
	dmlctl -C repo --json ledger verify >out.json &&
	"$PYTHON" -c "import json; assert json.load(open(\"out.json\"))[\"ok\"] is True"
'

test_done
