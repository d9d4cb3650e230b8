#!/bin/sh
test_description='dmlctl model: train ols, ridge and logistic models against exact references; metrics, holdout, validation; evaluate, predict, export; versions, determinism and verification'
. ./test-lib.sh

# Every reference here is computed independently of dmlctl, in python's
# standard library: least squares exactly, by solving the normal equations in
# rational arithmetic (fractions.Fraction); logistic regression by a Newton
# solver of its own; metrics from the exported coefficients; the holdout
# split from the splitmix64 formula of dml/train.h.

T0=1700000000

cat >ref.py <<\EOF
# ref.py - independent references for the model tests: exact least squares
# in rational arithmetic, a logistic Newton solver, metrics, the holdout
# split.  Nothing here shares code with dmlctl.
import csv
import json
import math
import sys
from fractions import Fraction as Fr

MISSING = ("", "NA")


def load(path, sep=None):
    """(header, rows) of a CSV or TSV file."""
    if sep is None:
        sep = "\t" if path.endswith(".tsv") else ","
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter=sep))
    return rows[0], rows[1:]


def num(s):
    """A field as dmlctl reads a number (booleans as 0 and 1)."""
    if s.lower() == "true":
        return 1.0
    if s.lower() == "false":
        return 0.0
    v = float(s)
    assert math.isfinite(v), s
    return v


def is_number(s):
    try:
        num(s)
        return True
    except (ValueError, AssertionError):
        return False


def fail(msg):
    sys.stderr.write("reference check failed: %s\n" % msg)
    sys.exit(1)


# ---- the encoding: feature descriptors (column, category or None) ----

def plan(header, rows, columns, intercept):
    """Descriptors in the model file's order: sorted by column, a numeric
    column once, a string column one-hot over its sorted categories, the
    first one dropped when there is an intercept."""
    idx = {h: i for i, h in enumerate(header)}
    desc = []
    for c in sorted(columns, key=lambda s: s.encode()):
        vals = [r[idx[c]] for r in rows if r[idx[c]] not in MISSING]
        if all(is_number(v) for v in vals):
            desc.append((c, None))
        else:
            cats = sorted(set(vals), key=lambda s: s.encode())
            for k in cats[1:] if intercept else cats:
                desc.append((c, k))
    return desc


def encode(desc, header, row, intercept, exact=False):
    idx = {h: i for i, h in enumerate(header)}
    conv = (lambda v: Fr(v)) if exact else (lambda v: v)
    x = [conv(1.0)] if intercept else []
    for c, k in desc:
        v = row[idx[c]]
        x.append(conv(num(v)) if k is None else conv(1.0 if v == k else 0.0))
    return x


def complete(header, row, cols):
    idx = {h: i for i, h in enumerate(header)}
    return all(row[idx[c]] not in MISSING for c in cols)


# ---- exact linear least squares ----

def solve_exact(A, c):
    """Solve A b = c in rationals (Gauss-Jordan, any nonzero pivot)."""
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


def variances(X, intercept):
    """Population variance of each column of X (0 for the intercept)."""
    n = len(X)
    out = []
    for j in range(len(X[0])):
        if intercept and j == 0:
            out.append(Fr(0))
            continue
        m = sum(r[j] for r in X) / n
        out.append(sum((r[j] - m) ** 2 for r in X) / n)
    return out


def ridge_exact(X, y, lam, intercept, standardize=False):
    """argmin ||y - X b||^2 + lam * sum_j w_j b_j^2, the intercept (column 0
    when present) unpenalised, w_j = 1 or (standardize) the population
    variance of column j."""
    d = len(X[0])
    lam = Fr(lam)
    w = variances(X, intercept) if standardize else \
        [Fr(0) if intercept and j == 0 else Fr(1) for j in range(d)]
    A = [[sum(r[i] * r[j] for r in X) for j in range(d)] for i in range(d)]
    for j in range(d):
        A[j][j] += lam * w[j]
    c = [sum(r[i] * yy for r, yy in zip(X, y)) for i in range(d)]
    return solve_exact(A, c)


def fit_linear(path, target, columns, lam=0, intercept=True, standardize=False,
               keep=None, drop_missing=False):
    """Descriptors and exact coefficients for the rows of a file (keep: a
    predicate on the data row number)."""
    h, rows = load(path)
    rows = [r for i, r in enumerate(rows) if keep is None or keep(i)]
    if drop_missing:
        rows = [r for r in rows if complete(h, r, columns + [target])]
    desc = plan(h, rows, columns, intercept)
    X = [encode(desc, h, r, intercept, exact=True) for r in rows]
    y = [Fr(num(r[h.index(target)])) for r in rows]
    b = ridge_exact(X, y, lam, intercept, standardize)
    return desc, b, len(rows)


# ---- the models dmlctl exports ----

class Model:
    def __init__(self, path):
        o = json.load(open(path))
        self.o = o
        self.kind = o["kind"]
        self.target = o["target"]
        self.has_intercept = o["has_intercept"]
        self.intercept = o.get("intercept", 0.0)
        self.labels = o.get("labels")
        self.desc = [(f["column"], f["category"]) for f in o["features"]]
        self.coef = [f["coef"] for f in o["features"]]

    def z(self, header, row):
        idx = {h: i for i, h in enumerate(header)}
        s = [self.intercept]
        for (c, k), b in zip(self.desc, self.coef):
            v = row[idx[c]]
            s.append(b * (num(v) if k is None else (1.0 if v == k else 0.0)))
        return math.fsum(s)

    def predict(self, header, row):
        z = self.z(header, row)
        if self.kind == "logistic":
            return 1 / (1 + math.exp(-z))
        return z

    def y(self, header, row):
        v = row[header.index(self.target)]
        if self.kind != "logistic":
            return num(v)
        if self.labels[0] in ("0", "false"):
            return num(v)
        return float(self.labels.index(v))


def close(got, want, rtol, what, floor=0.0):
    got, want = float(got), float(want)
    if not abs(got - want) <= rtol * max(abs(want), floor):
        fail("%s: got %.17g, want %.17g (relative error %.3g)" % (
            what, got, want, abs(got - want) / max(abs(want), floor, 1e-300)))


def check_coefs(model_path, desc, b, intercept, rtol=1e-8):
    """The exported model has exactly these features and coefficients."""
    m = Model(model_path)
    if m.desc != [(c, k) for c, k in desc]:
        fail("features %r, want %r" % (m.desc, desc))
    if m.has_intercept != intercept:
        fail("has_intercept %r" % m.has_intercept)
    want = [float(v) for v in b]
    scale = max(abs(v) for v in want)
    if intercept:
        close(m.intercept, want[0], rtol, "intercept", 1e-3 * scale)
        want = want[1:]
    for (c, k), got, w in zip(m.desc, m.coef, want):
        close(got, w, rtol, "coefficient %s%s" % (c, "=" + k if k else ""), 1e-3 * scale)
    return m


# ---- metrics ----

def reg_metrics(ys, ps):
    n = len(ys)
    e = [y - p for y, p in zip(ys, ps)]
    mean = math.fsum(ys) / n
    sst = math.fsum((y - mean) ** 2 for y in ys)
    sse = math.fsum(v * v for v in e)
    return {"rows": n, "mse": sse / n, "mae": math.fsum(abs(v) for v in e) / n,
            "r2": 1 - sse / sst}


def cls_metrics(ys, ps):
    n = len(ys)
    tp = sum(1 for y, p in zip(ys, ps) if y == 1 and p > 0.5)
    fp = sum(1 for y, p in zip(ys, ps) if y == 0 and p > 0.5)
    tn = sum(1 for y, p in zip(ys, ps) if y == 0 and not p > 0.5)
    fn = n - tp - fp - tn
    eps = 1e-15
    ll = math.fsum(-(y * math.log(min(max(p, eps), 1 - eps)) +
                     (1 - y) * math.log1p(-min(max(p, eps), 1 - eps)))
                   for y, p in zip(ys, ps)) / n
    pos = [p for y, p in zip(ys, ps) if y == 1]
    neg = [p for y, p in zip(ys, ps) if y == 0]
    wins = sum((1.0 if a > b else 0.5 if a == b else 0.0) for a in pos for b in neg)
    return {"rows": n, "accuracy": (tp + tn) / n, "log_loss": ll,
            "auc": wins / (len(pos) * len(neg)),
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0}


def metrics_of(model, path, keep=None):
    h, rows = load(path)
    rows = [r for i, r in enumerate(rows) if keep is None or keep(i)]
    ys = [model.y(h, r) for r in rows]
    ps = [model.predict(h, r) for r in rows]
    return (cls_metrics if model.kind == "logistic" else reg_metrics)(ys, ps)


def check_metrics(got, want, what, rtol=1e-9):
    """got: a dict of metrics (dmlctl's JSON), want: the reference."""
    for k, w in want.items():
        if k == "rows":
            if got[k] != w:
                fail("%s rows: got %r, want %r" % (what, got[k], w))
            continue
        close(got[k], w, rtol, "%s %s" % (what, k), 1e-12)


def stmt_metrics(stmt_json, set_):
    """The metrics a model.train statement records for one set."""
    body = json.load(open(stmt_json))["body"]
    out = {}
    for m in body["metric"]:
        k, v = m.split(" ")
        s, name = k.split(".", 1)
        if s == set_:
            out[name.replace("-", "_")] = float(v)
    return out


# ---- the holdout split: splitmix64, as dml/train.h specifies it ----

M64 = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9e3779b97f4a7c15) & M64
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)


def held_out(i, seed, h):
    u = splitmix64((seed + splitmix64(i)) & M64)
    return (u >> 11) * 2.0 ** -53 < h


# ---- logistic regression by Newton's method, in floats ----

def solve_float(A, c):
    n = len(A)
    M = [list(A[i]) + [c[i]] for i in range(n)]
    for j in range(n):
        p = max(range(j, n), key=lambda i: abs(M[i][j]))
        M[j], M[p] = M[p], M[j]
        for i in range(j + 1, n):
            f = M[i][j] / M[j][j]
            M[i] = [a - f * b for a, b in zip(M[i], M[j])]
    b = [0.0] * n
    for i in reversed(range(n)):
        b[i] = (M[i][n] - math.fsum(M[i][k] * b[k] for k in range(i + 1, n))) / M[i][i]
    return b


def logistic_newton(X, y, lam, intercept, standardize=False):
    """argmin sum log(1 + e^z) - y z + lam/2 sum_j w_j b_j^2."""
    n, d = len(X), len(X[0])
    if standardize:
        w = [float(v) for v in variances([[Fr(v) for v in r] for r in X], intercept)]
    else:
        w = [0.0 if intercept and j == 0 else 1.0 for j in range(d)]

    def loss(b):
        s = []
        for r, t in zip(X, y):
            z = math.fsum(a * c for a, c in zip(r, b))
            s.append((z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z)))
                     - t * z)
        return math.fsum(s) + lam / 2 * math.fsum(wj * bj * bj for wj, bj in zip(w, b))

    b = [0.0] * d
    for it in range(200):
        g = [lam * w[j] * b[j] for j in range(d)]
        H = [[0.0] * d for _ in range(d)]
        for r, t in zip(X, y):
            z = math.fsum(a * c for a, c in zip(r, b))
            p = 1 / (1 + math.exp(-z))
            for i in range(d):
                g[i] += (p - t) * r[i]
                for j in range(d):
                    H[i][j] += p * (1 - p) * r[i] * r[j]
        for j in range(d):
            H[j][j] += lam * w[j]
        if max(abs(v) for v in g) < 1e-13 * n:
            return b, it
        step = solve_float(H, [-v for v in g])
        t, l0 = 1.0, loss(b)
        while t > 1e-10:
            nb = [a + t * s for a, s in zip(b, step)]
            if loss(nb) <= l0:
                break
            t /= 2
        b = nb
    fail("the reference Newton solver did not converge")


def fit_logistic(path, target, columns, lam, intercept=True, standardize=False, labels=None):
    h, rows = load(path)
    desc = plan(h, rows, columns, intercept)
    X = [encode(desc, h, r, intercept) for r in rows]
    t = h.index(target)
    if labels:
        y = [float(labels.index(r[t])) for r in rows]
    else:
        y = [num(r[t]) for r in rows]
    b, it = logistic_newton(X, y, lam, intercept, standardize)
    return desc, b
EOF

cat >gen.py <<\EOF
# gen.py - the datasets of t2300, from known coefficients and fixed seeds.
import math
import random
from fractions import Fraction as Fr


def write(name, header, rows, sep=","):
    with open(name, "w", newline="") as f:
        f.write(sep.join(header) + "\n")
        for r in rows:
            f.write(sep.join(r) + "\n")


# Noise-free: every value a short binary fraction, so y is exact.
r = random.Random(2300)
rows = []
for i in range(30):
    x1 = Fr(r.randint(-20, 20), 4)
    x2 = Fr(r.randint(990, 1010))
    x3 = Fr(r.randint(-40, 40), 8)
    y = 3 + 2 * x1 - Fr(1, 2) * x2 + Fr(1, 4) * x3
    rows.append([repr(float(v)) for v in (x1, x2, x3, y)])
write("exact.csv", ["x1", "x2", "rate %", "y"], rows)


def noisy(seed, n):
    r = random.Random(seed)
    out = []
    for i in range(n):
        x1 = r.gauss(0, 1)
        x2 = r.uniform(0, 10)
        x3 = r.gauss(5, 2)
        y = 1.5 + 0.8 * x1 - 2 * x2 + 0.3 * x3 + r.gauss(0, 0.5)
        out.append([str(i + 1)] + [repr(v) for v in (x1, x2, x3, y)])
    return out


h = ["id", "x1", "x2", "x3", "y"]
rows = noisy(1, 80)
write("noisy.csv", h, rows)
write("noisy.tsv", h, rows, "\t")
write("noisy-a.csv", h, rows[:40])
write("noisy-b.csv", h, rows[40:])
rows = noisy(2, 40)
write("noisy-v.csv", h, rows)
write("noisy-v.tsv", h, rows, "\t")

# Categories in byte order: Red < Zeta < blue < green < red.
r = random.Random(3)
effect = {"red": 0.0, "blue": 1.0, "green": -1.0, "Zeta": 2.0, "Red": 0.5}
names = sorted(effect) * 12
r.shuffle(names)
rows = []
for c in names:
    x = r.uniform(-3, 3)
    rows.append([repr(x), c, repr(1 + 0.5 * x + effect[c] + r.gauss(0, 0.3))])
write("cat.csv", ["x", "colour", "y"], rows)
write("cat-new.csv", ["colour", "x"],
      [["purple", "1.5"], ["red", "2"], ["Red", "-0.25"], ["\"Zeta\"", "-1"], ["blue", "0"]])

# Logistic: the first row is of class 1, so that labels cannot follow the
# order of appearance by accident.
r = random.Random(4)
rows = []
while len(rows) < 150:
    x1, x2, x3 = r.gauss(0, 1), r.gauss(0, 1), r.uniform(-1, 1)
    z = -0.3 + 1.2 * x1 - 0.8 * x2 + 0.5 * x3
    y = 1 if r.random() < 1 / (1 + math.exp(-z)) else 0
    if not rows and y == 0:
        continue
    rows.append([repr(x1), repr(x2), repr(x3), str(y), ["false", "true"][y],
                 ["ham", "spam"][y]])
write("logit.csv", ["x1", "x2", "x3", "y01", "yb", "ys"], rows)

# Headers that already hold the columns predict adds.
write("pred-col.csv", ["x1", "x2", "x3", "prediction"],
      [["1", "2", "3", "old"], ["-1", "0.5", "4", "older"]])
write("pred-col2.csv", ["prediction", "x1", "x2", "prediction.1", "x3"],
      [["a", "1", "2", "b", "3"]])
write("prob-col.csv", ["probability", "x1", "x2", "x3"],
      [["p", "0.5", "-0.5", "0.25"], ["q", "-2", "1", "0"]])

# Quoted fields that predict must pass through.
write("quoted.csv", ["note", "x1", "x2", "x3"], [
    ["\"said \"\"hi\"\", then left\"", "1", "2", "3"],
    ["\"two\nlines, and a comma\"", "0.5", "1.5", "-2"],
    ["\"\"", "0", "0", "0"],
    ["\"plain\"", "-1", "3", "5"],
    ["caf\u00e9 \u2603", "2", "1", "1"],
])
EOF

# train NAME ARGS...: alice trains model NAME in repo; the --json output is
# NAME.train.json, the statement NAME.show.json, the coefficients NAME.json.
train() {
	_n=$1 &&
	shift &&
	dmlctl -C repo --json model train -k alice --name "$_n" "$@" >"$_n.train.json" &&
	json_valid <"$_n.train.json" &&
	model_files "$_n"
}

model_files() {
	dmlctl -C repo --json model show "$1" >"$1.show.json" &&
	json_valid <"$1.show.json" &&
	dmlctl -C repo model export --format json "$1" >"$1.json" &&
	json_valid <"$1.json"
}

# The two spellings a model.train entry may use for version 1 of dataset
# NAME published from FILE: "dataset NAME 1 <ID>", the ID naming the data
# either by its file ID (the sha256sum of FILE) or by the entry that
# published it (which binds the file ID, schema and terms).
dataset_ref() {
	dmlctl -C repo --json dataset show "$1@1" >"$TRASH_DIRECTORY/.ds.json" &&
	echo "dataset $1 1 sha256:$(sha256_of "$2")" &&
	echo "dataset $1 1 $(json_get "$TRASH_DIRECTORY/.ds.json" id)"
}

# The model ID (sha256:<hex>) a statement records.
model_id() {
	json_get "$1.show.json" body.model
}

test_expect_success 'setup: a ledger with two members and the datasets' '
	test_key alice &&
	test_key bob &&
	DMLCTL_TIME=$T0 dmlctl -q init -k alice repo &&
	DMLCTL_TIME=$((T0 + 1)) dmlctl -q -C repo key add -k alice --name Bob bob &&
	"$PYTHON" gen.py &&
	for d in exact noisy noisy-v noisy-a noisy-b cat logit
	do
		dmlctl -q -C repo dataset publish -k alice --name $d "$PWD/$d.csv" || return 1
	done &&
	dmlctl -C repo dataset list >list &&
	test "$(wc -l <list)" -eq 7
'

test_expect_success 'ols on noise-free data recovers the generating coefficients' '
	train exact --dataset exact --target y --kind ols &&
	"$PYTHON" - <<-\EOF
	import json, ref
	m = ref.check_coefs("exact.json", [("rate %", None), ("x1", None), ("x2", None)],
	    [3, 0.25, 2, -0.5], True)
	t = json.load(open("exact.train.json"))
	assert (t["kind"], t["rows"], t["features"], t["method"], t["rank"], t["held"],
	    t["dropped"], t["version"]) == ("ols", 30, 3, "cholesky", 4, 0, 0, 1), t
	assert t["train"]["mse"] < 1e-20 and t["train"]["r2"] > 1 - 1e-12, t
	assert "valid" not in t and "iterations" not in t, t
	EOF
'

test_expect_success 'the statement records the recipe and the results' '
	"$PYTHON" - <<-\EOF
	import json
	o = json.load(open("exact.show.json"))
	b = o["body"]
	assert o["type"] == "model.train" and o["version"] == 1, o
	assert (b["name"], b["version"], b["kind"], b["target"], b["lambda"], b["options"],
	    b["rows"], b["dropped"], b["held"], b["features"], b["method"], b["rank"]) == \
	    ("exact", "1", "ols", "y", "0", "intercept", "30", "0", "0", "3", "cholesky", "4"), b
	assert b["column"] == ["rate%20%25", "x1", "x2"], b["column"]
	assert len(b["dataset"]) == 1 and b["dataset"][0].startswith("exact 1 sha256:"), b
	assert [m.split(" ")[0] for m in b["metric"]] == ["train.mae", "train.mse", "train.r2"]
	assert "previous" not in b and "holdout" not in b and "validation" not in b, b
	assert b["model"].startswith("sha256:") and len(b["model"]) == 71, b
	EOF
	dmlctl -C repo ledger show $(json_get exact.show.json seq) | grep "^dataset " >got &&
	dataset_ref exact exact.csv >want &&
	grep -F -x -f got want
'

test_expect_success 'ols on noisy data equals the exact solution of the normal equations' '
	train ols-noisy --dataset noisy --target y --kind ols --exclude id &&
	"$PYTHON" - <<-\EOF
	import ref
	desc, b, n = ref.fit_linear("noisy.csv", "y", ["x1", "x2", "x3"])
	ref.check_coefs("ols-noisy.json", desc, b, True)
	EOF
'

test_expect_success 'ridge with --lambda equals the exact ridge solution (intercept unpenalised)' '
	train ridge40 --dataset noisy --target y --kind ridge --lambda 40 --exclude id &&
	"$PYTHON" - <<-\EOF
	import json, ref
	assert float(json.load(open("ridge40.show.json"))["body"]["lambda"]) == 40
	desc, b, n = ref.fit_linear("noisy.csv", "y", ["x1", "x2", "x3"], lam=40)
	ref.check_coefs("ridge40.json", desc, b, True)
	# not the ols answer: the penalty did something
	d2, b2, n2 = ref.fit_linear("noisy.csv", "y", ["x1", "x2", "x3"])
	m = ref.Model("ridge40.json")
	assert abs(m.coef[0] - float(b2[1])) > 1e-3 * abs(float(b2[1])), (m.coef, b2)
	EOF
'

test_expect_success 'ridge --standardize penalises lambda * var_j * b_j^2 (population variance)' '
	train ridge40s --dataset noisy --target y --kind ridge --lambda 40 --standardize \
		--exclude id &&
	test "$(json_get ridge40s.show.json body.options)" = intercept,standardize &&
	"$PYTHON" - <<-\EOF
	import ref
	desc, b, n = ref.fit_linear("noisy.csv", "y", ["x1", "x2", "x3"], lam=40,
	    standardize=True)
	ref.check_coefs("ridge40s.json", desc, b, True)
	EOF
'

test_expect_success 'ridge is the default kind, with lambda 1' '
	train ridge-default --dataset noisy --target y --exclude id &&
	test "$(json_get ridge-default.show.json body.kind)" = ridge &&
	test "$(json_get ridge-default.show.json body.lambda)" = 1 &&
	"$PYTHON" - <<-\EOF
	import ref
	desc, b, n = ref.fit_linear("noisy.csv", "y", ["x1", "x2", "x3"], lam=1)
	ref.check_coefs("ridge-default.json", desc, b, True)
	EOF
'

test_expect_success '--no-intercept fits through the origin, with and without a penalty' '
	train ols-noint --dataset noisy --target y --kind ols --no-intercept --features x1,x2,x3 &&
	train ridge-noint --dataset noisy --target y --kind ridge --lambda 40 --standardize \
		--no-intercept --features x3,x1,x2 &&
	test "$(json_get ridge-noint.show.json body.options)" = standardize &&
	"$PYTHON" - <<-\EOF
	import json, ref
	cols = ["x1", "x2", "x3"]
	desc, b, n = ref.fit_linear("noisy.csv", "y", cols, intercept=False)
	ref.check_coefs("ols-noint.json", desc, b, False)
	assert "intercept" not in json.load(open("ols-noint.json"))
	assert "options" not in json.load(open("ols-noint.show.json"))["body"]
	desc, b, n = ref.fit_linear("noisy.csv", "y", cols, lam=40, intercept=False,
	    standardize=True)
	ref.check_coefs("ridge-noint.json", desc, b, False)
	EOF
	dmlctl -C repo model show ols-noint >show &&
	! grep "(intercept)" show &&
	test_grep "^x1  *[-0-9.e]*\$" show
'

test_expect_success 'string columns are one-hot, the first category in byte order the reference' '
	train cat-ols --dataset cat --target y --kind ols &&
	train cat-noint --dataset cat --target y --kind ols --no-intercept &&
	train cat-std --dataset cat --target y --kind ridge --lambda 5 --standardize &&
	"$PYTHON" - <<-\EOF
	import ref
	want = [("colour", "Zeta"), ("colour", "blue"), ("colour", "green"), ("colour", "red"),
	    ("x", None)]
	desc, b, n = ref.fit_linear("cat.csv", "y", ["x", "colour"])
	assert desc == want, desc
	ref.check_coefs("cat-ols.json", desc, b, True)
	desc, b, n = ref.fit_linear("cat.csv", "y", ["x", "colour"], intercept=False)
	assert desc == [("colour", "Red")] + want, desc
	ref.check_coefs("cat-noint.json", desc, b, False)
	desc, b, n = ref.fit_linear("cat.csv", "y", ["x", "colour"], lam=5, standardize=True)
	ref.check_coefs("cat-std.json", desc, b, True)
	EOF
	test "$(json_get cat-ols.train.json features)" = 5 &&
	test "$(json_get cat-noint.train.json features)" = 6 &&
	dmlctl -C repo model show cat-ols >show &&
	test_grep "^colour=Zeta  *[-0-9.e]*\$" show &&
	! grep "^colour=Red " show
'

test_expect_success 'a category the model has not seen encodes as zeros' '
	dmlctl -C repo model predict cat-ols "$PWD/cat-new.csv" >pred.csv &&
	"$PYTHON" - <<-\EOF
	import ref
	m = ref.Model("cat-ols.json")
	c = dict(((a, k), b) for (a, k), b in zip(m.desc, m.coef))
	h, rows = ref.load("pred.csv")
	assert h == ["colour", "x", "prediction"], h
	assert [r[0] for r in rows] == ["purple", "red", "Red", "Zeta", "blue"], rows
	want = {
	    "purple": m.intercept + c[("x", None)] * 1.5,
	    "red": m.intercept + c[("colour", "red")] + c[("x", None)] * 2,
	    "Red": m.intercept + c[("x", None)] * -0.25,
	    "Zeta": m.intercept + c[("colour", "Zeta")] + c[("x", None)] * -1,
	    "blue": m.intercept + c[("colour", "blue")],
	}
	for r in rows:
	    ref.close(float(r[2]), want[r[0]], 1e-12, "prediction for " + r[0])
	EOF
'

test_expect_success 'logistic: a 0/1, a boolean and a two-label target give the reference fit' '
	train lg-01 --dataset logit --target y01 --features x1,x2,x3 --kind logistic --lambda 0.5 &&
	train lg-bool --dataset logit --target yb --features x1,x2,x3 --kind logistic --lambda 0.5 &&
	dmlctl -C repo model train -k alice --name lg-str --dataset logit --target ys \
		--features x1,x2,x3 --kind logistic --lambda 0.5 >lg-str.out &&
	model_files lg-str &&
	"$PYTHON" - <<-\EOF
	import json, ref
	cols = ["x1", "x2", "x3"]
	desc, b = ref.fit_logistic("logit.csv", "y01", cols, 0.5)
	for name, labels in (("lg-01", ["0", "1"]), ("lg-bool", ["false", "true"]),
	        ("lg-str", ["ham", "spam"])):
	    m = ref.check_coefs(name + ".json", desc, b, True, rtol=1e-6)
	    assert m.kind == "logistic" and m.labels == labels, (name, m.labels)
	# the same data whatever the spelling of the target: the same bits
	a, c = json.load(open("lg-01.json")), json.load(open("lg-str.json"))
	assert a["features"] == c["features"] and a["intercept"] == c["intercept"]
	EOF
'

test_expect_success 'logistic reports its Newton iterations' '
	it=$(json_get lg-01.train.json iterations) &&
	test "$(json_get lg-01.show.json body.iterations)" = "$it" &&
	test "$(json_get lg-01.train.json method)" = newton &&
	test "$it" -ge 2 &&
	test "$it" -le 30 &&
	test_grep "^trained lg-str@1 as entry #[0-9]* sha256:[0-9a-f]\{64\}\$" lg-str.out &&
	test_grep "^logistic on 3 features, 150 rows; Newton converged in $it iterations\$" lg-str.out &&
	test "$(json_get lg-str.show.json body.iterations)" = "$it"
'

test_expect_success 'logistic --standardize penalises lambda/2 * var_j * b_j^2' '
	train lg-std --dataset logit --target ys --features x1,x2,x3 --kind logistic --lambda 20 \
		--standardize &&
	"$PYTHON" - <<-\EOF
	import ref
	desc, b = ref.fit_logistic("logit.csv", "ys", ["x1", "x2", "x3"], 20, standardize=True,
	    labels=["ham", "spam"])
	ref.check_coefs("lg-std.json", desc, b, True, rtol=1e-6)
	EOF
'

test_expect_success 'logistic predict gives 1/(1+exp(-z)) and the predicted label' '
	dmlctl -C repo model predict lg-str "$PWD/logit.csv" -o "$PWD/lg-str.pred" &&
	dmlctl -C repo model predict lg-01 "$PWD/logit.csv" -o "$PWD/lg-01.pred" &&
	dmlctl -C repo model predict lg-bool "$PWD/logit.csv" -o "$PWD/lg-bool.pred" &&
	"$PYTHON" - <<-\EOF
	import math, ref
	hin, rin = ref.load("logit.csv")
	for name, labels in (("lg-str", ["ham", "spam"]), ("lg-01", ["0", "1"]),
	        ("lg-bool", ["false", "true"])):
	    m = ref.Model(name + ".json")
	    h, rows = ref.load(name + ".pred")
	    assert h == hin + ["probability", "prediction"], h
	    assert len(rows) == len(rin)
	    npos = 0
	    for r, ri in zip(rows, rin):
	        assert r[:-2] == ri, (r, ri)
	        z = m.z(hin, ri)
	        p = 1 / (1 + math.exp(-z))
	        ref.close(float(r[-2]), p, 1e-12, "probability")
	        assert r[-1] == labels[p > 0.5], (r, p)
	        npos += p > 0.5
	    assert 0 < npos < len(rows)
	EOF
'

test_expect_success 'logistic metrics: accuracy, log-loss, AUC, precision, recall, F1' '
	"$PYTHON" - <<-\EOF
	import json, ref
	for name in ("lg-01", "lg-bool", "lg-str", "lg-std"):
	    m = ref.Model(name + ".json")
	    want = ref.metrics_of(m, "logit.csv")
	    assert 0.6 < want["accuracy"] < 1 and 0.6 < want["auc"] < 1, want
	    if name != "lg-str":  # trained without --json
	        ref.check_metrics(json.load(open(name + ".train.json"))["train"], want, name)
	    del want["rows"]
	    ref.check_metrics(ref.stmt_metrics(name + ".show.json", "train"), want, name)
	EOF
'

test_expect_success 'regression metrics on the training rows: MSE, MAE, R^2' '
	"$PYTHON" - <<-\EOF
	import json, ref
	for name, path in (("ols-noisy", "noisy.csv"), ("ridge40s", "noisy.csv"),
	        ("cat-std", "cat.csv"), ("ols-noint", "noisy.csv")):
	    m = ref.Model(name + ".json")
	    want = ref.metrics_of(m, path)
	    ref.check_metrics(json.load(open(name + ".train.json"))["train"], want, name)
	    del want["rows"]
	    ref.check_metrics(ref.stmt_metrics(name + ".show.json", "train"), want, name)
	EOF
'

test_expect_success '--holdout and --seed: the split of dml/train.h, fitted and measured apart' '
	train ho7 --dataset noisy --target y --kind ols --exclude id --holdout 0.25 --seed 7 &&
	train ho7-again --dataset noisy --target y --kind ols --exclude id --holdout 0.25 --seed 7 &&
	train ho8 --dataset noisy --target y --kind ols --exclude id --holdout 0.25 --seed 8 &&
	test "$(json_get ho7.show.json body.holdout)" = "0.25 7" &&
	test "$(model_id ho7)" = "$(model_id ho7-again)" &&
	test "$(model_id ho7)" != "$(model_id ho8)" &&
	"$PYTHON" - <<-\EOF
	import json, ref
	cols = ["x1", "x2", "x3"]
	held = {}
	for name, seed in (("ho7", 7), ("ho7-again", 7), ("ho8", 8)):
	    keep = lambda i, s=seed: not ref.held_out(i, s, 0.25)
	    held[name] = [i for i in range(80) if not keep(i)]
	    t = json.load(open(name + ".train.json"))
	    assert t["held"] == len(held[name]) and t["rows"] == 80 - len(held[name]), \
	        (name, t, held[name])
	    desc, b, n = ref.fit_linear("noisy.csv", "y", cols, keep=keep)
	    m = ref.check_coefs(name + ".json", desc, b, True)
	    ref.check_metrics(t["train"], ref.metrics_of(m, "noisy.csv", keep), name + " train")
	    ref.check_metrics(t["valid"], ref.metrics_of(m, "noisy.csv", lambda i: not keep(i)),
	        name + " holdout")
	    v = ref.stmt_metrics(name + ".show.json", "valid")
	    assert abs(v["mse"] - t["valid"]["mse"]) <= 1e-15 * v["mse"], (v, t)
	assert held["ho7"] == held["ho7-again"]
	assert held["ho7"] != held["ho8"]
	assert 5 < len(held["ho7"]) < 35 and 5 < len(held["ho8"]) < 35, held
	EOF
'

test_expect_success 'several datasets are read in canonical order, rows numbered across them' '
	train two --dataset noisy-b --dataset noisy-a --target y --kind ols --exclude id &&
	train two-ho --dataset noisy-b --dataset noisy-a --target y --kind ols --exclude id \
		--holdout 0.3 --seed 3 &&
	"$PYTHON" - <<-\EOF
	import json, ref
	cols = ["x1", "x2", "x3"]
	b = json.load(open("two.show.json"))["body"]
	assert [d.split(" ")[0] for d in b["dataset"]] == ["noisy-a", "noisy-b"], b
	# the union of the two halves is noisy.csv, in that order
	desc, c, n = ref.fit_linear("noisy.csv", "y", cols)
	ref.check_coefs("two.json", desc, c, True)
	keep = lambda i: not ref.held_out(i, 3, 0.3)
	desc, c, n = ref.fit_linear("noisy.csv", "y", cols, keep=keep)
	ref.check_coefs("two-ho.json", desc, c, True)
	t = json.load(open("two-ho.train.json"))
	assert t["held"] == 80 - n, (t, n)
	EOF
'

test_expect_success '--validation measures on another dataset' '
	train val --dataset noisy --validation noisy-v --target y --kind ols --exclude id &&
	echo "validation $(json_get val.show.json body.validation)" >got &&
	dataset_ref noisy-v noisy-v.csv | sed "s/^dataset/validation/" >want &&
	grep -F -x -f got want &&
	"$PYTHON" - <<-\EOF
	import json, ref
	t = json.load(open("val.train.json"))
	assert t["held"] == 0 and t["rows"] == 80, t
	m = ref.Model("val.json")
	want = ref.metrics_of(m, "noisy-v.csv")
	ref.check_metrics(t["valid"], want, "validation")
	del want["rows"]
	ref.check_metrics(ref.stmt_metrics("val.show.json", "valid"), want, "validation")
	EOF
'

test_expect_success 'evaluate on a dataset, a CSV file, a TSV file and standard input' '
	dmlctl -C repo --json model evaluate ols-noisy --dataset noisy-v >ev.dataset &&
	dmlctl -C repo --json model evaluate ols-noisy --file "$PWD/noisy-v.csv" >ev.csv &&
	dmlctl -C repo --json model evaluate ols-noisy --file "$PWD/noisy-v.tsv" >ev.tsv &&
	dmlctl -C repo --json model evaluate ols-noisy --file - <noisy-v.csv >ev.stdin &&
	dmlctl -C repo --json model evaluate ols-noisy --file - --format tsv <noisy-v.tsv >ev.stdin-tsv &&
	test_cmp ev.dataset ev.csv &&
	test_cmp ev.dataset ev.tsv &&
	test_cmp ev.dataset ev.stdin &&
	test_cmp ev.dataset ev.stdin-tsv &&
	dmlctl -C repo model evaluate ols-noisy@1 --file "$PWD/noisy-v.csv" >ev.text &&
	test_grep "^eval   40 rows: mse [0-9.e-]*  mae [0-9.e-]*  r2 0\.[0-9]*\$" ev.text &&
	dmlctl -C repo --json model evaluate lg-str --file "$PWD/logit.csv" >ev.logit &&
	"$PYTHON" - <<-\EOF
	import json, ref
	got = json.load(open("ev.dataset"))
	assert got["dropped"] == 0, got
	ref.check_metrics(got, ref.metrics_of(ref.Model("ols-noisy.json"), "noisy-v.csv"),
	    "evaluate")
	got = json.load(open("ev.logit"))
	ref.check_metrics(got, ref.metrics_of(ref.Model("lg-str.json"), "logit.csv"),
	    "evaluate logistic")
	EOF
'

test_expect_success 'predict writes the rows with a prediction, to stdout, -o - and -o FILE' '
	dmlctl -C repo model predict ols-noisy "$PWD/noisy-v.csv" >pred.stdout &&
	dmlctl -C repo model predict -o - ols-noisy "$PWD/noisy-v.csv" >pred.dash &&
	dmlctl -C repo model predict ols-noisy - <noisy-v.csv >pred.stdin &&
	dmlctl -C repo model predict ols-noisy "$PWD/noisy-v.csv" -o "$PWD/pred.file" &&
	test_cmp pred.stdout pred.dash &&
	test_cmp pred.stdout pred.stdin &&
	test_cmp pred.stdout pred.file &&
	"$PYTHON" - <<-\EOF
	import ref
	m = ref.Model("ols-noisy.json")
	hin, rin = ref.load("noisy-v.csv")
	h, rows = ref.load("pred.file")
	assert h == hin + ["prediction"], h
	assert len(rows) == len(rin) == 40
	for r, ri in zip(rows, rin):
	    assert r[:-1] == ri, (r, ri)
	    ref.close(float(r[-1]), m.z(hin, ri), 1e-12, "prediction")
	EOF
'

test_expect_success 'predict -o replaces a file atomically and keeps its mode' '
	echo old >kept.csv &&
	chmod 640 kept.csv &&
	dmlctl -C repo model predict ols-noisy "$PWD/noisy-v.csv" -o "$PWD/kept.csv" &&
	test_cmp pred.stdout kept.csv &&
	test "$(stat -c %a kept.csv)" = 640 &&
	(umask 077 && dmlctl -C repo model predict ols-noisy "$PWD/noisy-v.csv" -o "$PWD/new.csv") &&
	test "$(stat -c %a new.csv)" = 600 &&
	test_cmp pred.stdout new.csv &&
	ls -a >files &&
	! grep dmlctl- files &&
	echo old >kept.csv &&
	test_must_fail dmlctl -C repo model predict ols-noisy "$PWD/nosuch.csv" -o "$PWD/kept.csv" &&
	echo old >want &&
	test_cmp want kept.csv &&
	ls -a >files &&
	! grep dmlctl- files
'

test_expect_success 'predict names its column prediction.1 when prediction is taken' '
	dmlctl -C repo model predict ols-noisy "$PWD/pred-col.csv" >out1 &&
	dmlctl -C repo model predict ols-noisy "$PWD/pred-col2.csv" >out2 &&
	dmlctl -C repo model predict lg-str "$PWD/prob-col.csv" >out3 &&
	head -n 1 out1 >got &&
	echo "x1,x2,x3,prediction,prediction.1" >want &&
	test_cmp want got &&
	head -n 1 out2 >got &&
	echo "prediction,x1,x2,prediction.1,x3,prediction.2" >want &&
	test_cmp want got &&
	head -n 1 out3 >got &&
	echo "probability,x1,x2,x3,probability.1,prediction" >want &&
	test_cmp want got &&
	"$PYTHON" - <<-\EOF
	import ref
	m = ref.Model("ols-noisy.json")
	h, rows = ref.load("out1")
	assert [r[3] for r in rows] == ["old", "older"], rows
	for r in rows:
	    ref.close(float(r[4]), m.z(h[:4], r[:4]), 1e-12, "prediction.1")
	h, rows = ref.load("out2")
	assert rows[0][:5] == ["a", "1", "2", "b", "3"], rows
	ref.close(float(rows[0][5]), m.z(h, rows[0]), 1e-12, "prediction.2")
	m = ref.Model("lg-str.json")
	h, rows = ref.load("out3")
	assert [r[0] for r in rows] == ["p", "q"], rows
	for r in rows:
	    ref.close(float(r[4]), m.predict(h, r), 1e-12, "probability.1")
	    assert r[5] == ("spam" if float(r[4]) > 0.5 else "ham"), r
	EOF
'

test_expect_success 'quoted fields come through predict unchanged, in CSV and in TSV' '
	dmlctl -C repo model predict ols-noisy "$PWD/quoted.csv" >q.out &&
	grep "^\"said \"\"hi\"\", then left\",1,2,3,[-0-9.e]*\$" q.out &&
	grep "^\"plain\",-1,3,5,[-0-9.e]*\$" q.out &&
	tr , "\t" <noisy-v.csv >tabs.tsv &&
	dmlctl -C repo model predict ols-noisy "$PWD/tabs.tsv" >tabs.out &&
	"$PYTHON" - <<-\EOF
	import ref
	m = ref.Model("ols-noisy.json")
	hin, rin = ref.load("quoted.csv")
	h, rows = ref.load("q.out")
	assert h == hin + ["prediction"], h
	assert [r[:-1] for r in rows] == rin, (rows, rin)
	assert rin[1][0] == "two\nlines, and a comma" and rin[4][0] == "caf\u00e9 \u2603", rin
	for r in rows:
	    ref.close(float(r[-1]), m.z(hin, r), 1e-12, "prediction")
	h, rows = ref.load("tabs.out", "\t")
	hp, rp = ref.load("pred.stdout")
	assert h == hp and rows == rp, (h, hp)
	assert "\t" in open("tabs.out").readline()
	EOF
'

test_expect_success 'list, show and export' '
	dmlctl -C repo model list >list &&
	test "$(wc -l <list)" = "$(grep -c . list)" &&
	fp=$(dmlctl key show alice | sed -n "s/^fingerprint  *//p" | cut -c1-19) &&
	test_grep "^ols-noisy  *v1  *ols  *y  *80 rows  $fp\$" list &&
	test_grep "^lg-str  *v1  *logistic  *ys  *150 rows  $fp\$" list &&
	cut -d" " -f1 list >names &&
	LC_ALL=C sort names >sorted &&
	test_cmp sorted names &&
	dmlctl -C repo --json model list >list.json &&
	json_valid <list.json &&
	dmlctl -C repo model show ols-noisy >show &&
	test_grep "^model   ols-noisy@1 (entry #[0-9]*, 20[0-9-]*T[0-9:]*Z)\$" show &&
	test_grep "^kind    ols\$" show &&
	test_grep "^lambda  0\$" show &&
	test_grep "^rows    80\$" show &&
	test_grep "^method  cholesky\$" show &&
	test_grep "^metric  train.mse [0-9.e-]*\$" show &&
	dmlctl -C repo model show lg-str >show.lg &&
	test_grep "^labels  0 = .ham., 1 = .spam." show.lg &&
	dmlctl -C repo model export --format csv ols-noisy >export.csv &&
	dmlctl -C repo model export --format json -o "$PWD/export.json" ols-noisy &&
	test_cmp ols-noisy.json export.json &&
	dmlctl -C repo model export --format csv cat-ols >cat-export.csv &&
	"$PYTHON" - <<-\EOF
	import csv, json
	rows = list(csv.reader(open("list")))
	lst = json.load(open("list.json"))
	names = [o["name"] for o in lst]
	assert names == sorted(names) and "ols-noisy" in names and "lg-str" in names, names
	o = [o for o in lst if o["name"] == "ols-noisy"][0]
	assert (o["versions"], o["kind"], o["target"], o["rows"]) == (1, "ols", "y", 80), o
	assert o["owner"].startswith("ed25519:"), o
	e = json.load(open("ols-noisy.json"))
	s = json.load(open("ols-noisy.show.json"))
	assert s["coefficients"] == e, (s["coefficients"], e)
	show = open("show").read().split("\n")
	coef = dict(l.split() for l in show[show.index("") + 2:] if l)
	assert float(coef["(intercept)"]) == e["intercept"], coef
	for f in e["features"]:
	    assert float(coef[f["column"]]) == f["coef"], (coef, f)
	r = list(csv.reader(open("export.csv")))
	assert r[0] == ["column", "category", "coefficient"], r
	assert r[1][:2] == ["", ""] and float(r[1][2]) == e["intercept"], r
	assert [(a, b, float(c)) for a, b, c in r[2:]] == \
	    [(f["column"], "", f["coef"]) for f in e["features"]], r
	r = list(csv.reader(open("cat-export.csv")))
	c = json.load(open("cat-ols.json"))
	assert [(a, b, float(v)) for a, b, v in r[2:]] == \
	    [(f["column"], f["category"] or "", f["coef"]) for f in c["features"]], r
	EOF
'

test_expect_success 'training a name again makes version 2; only its owner may' '
	id1=$(json_get ols-noisy.show.json id) &&
	mid1=$(model_id ols-noisy) &&
	cp ols-noisy.json ols-noisy.v1.json &&
	train ols-noisy --dataset noisy --target y --kind ridge --lambda 3 --exclude id &&
	test "$(json_get ols-noisy.train.json version)" = 2 &&
	test "$(json_get ols-noisy.show.json version)" = 2 &&
	test "$(json_get ols-noisy.show.json body.previous)" = "$id1" &&
	test "$(model_id ols-noisy)" != "$mid1" &&
	dmlctl -C repo --json model show ols-noisy@1 >v1.json &&
	test "$(json_get v1.json id)" = "$id1" &&
	test "$(json_get v1.json version)" = 1 &&
	dmlctl -C repo model export --format json ols-noisy@1 >v1.export &&
	test_cmp ols-noisy.v1.json v1.export &&
	dmlctl -C repo model list >list &&
	test_grep "^ols-noisy  *v2  *ridge " list &&
	head=$(git -C repo rev-parse refs/dml/ledger) &&
	test_expect_exit 1 dmlctl -C repo model train -k bob --name ols-noisy --dataset noisy \
		--target y --kind ols --exclude id 2>err &&
	test_grep "^error: model .ols-noisy. belongs to .ed25519:[0-9a-f]*.: only its owner may train new versions\$" err &&
	test "$(git -C repo rev-parse refs/dml/ledger)" = "$head" &&
	dmlctl -q -C repo model train -k bob --name bobs --dataset noisy --target y --exclude id &&
	dmlctl -C repo model show bobs >show &&
	fp=$(dmlctl key show bob | sed -n "s/^fingerprint  *//p") &&
	test_grep "^trainer $fp\$" show
'

test_expect_success 'the same inputs in another repository give the same model file and ID' '
	DMLCTL_TIME=$((T0 + 5000)) dmlctl -q init -k bob repo2 &&
	dmlctl -q -C repo2 dataset publish -k bob --name noisy --license MIT "$PWD/noisy.csv" &&
	dmlctl -C repo2 --json model train -k bob --name again --dataset noisy --target y \
		--kind ols --exclude id >again.json &&
	test "$(json_get again.json model)" = "$(json_get v1.json body.model)" &&
	test "$(json_get again.json id)" != "$(json_get v1.json id)" &&
	dmlctl -C repo2 model export --format json again >again.export &&
	test_cmp ols-noisy.v1.json again.export &&
	dmlctl -C repo2 --json ledger show "$(json_get again.json seq)" >again.entry &&
	c=$(json_get again.entry commit) &&
	m=$(json_get again.json model) &&
	git -C repo2 cat-file blob "$c:objects/${m#sha256:}" >again.model &&
	test "sha256:$(sha256_of again.model)" = "$m" &&
	head -c 8 again.model >magic &&
	printf DMLMODEL >want &&
	test_cmp want magic
'

test_expect_success 'training reads the stored dataset, not the file' '
	cp noisy.csv gone.csv &&
	dmlctl -q -C repo dataset publish -k alice --name gone "$PWD/gone.csv" &&
	rm gone.csv &&
	train gone --dataset gone --target y --kind ols --exclude id &&
	test_cmp ols-noisy.v1.json gone.json &&
	test "$(model_id gone)" = "$(json_get v1.json body.model)"
'

test_expect_success 'ledger verify recomputes every model; git fsck is clean' '
	dmlctl -C repo ledger verify >out &&
	test_grep "^ledger verified: [0-9]* entries, every check passed\$" out &&
	dmlctl -C repo --json ledger verify >verify.json &&
	dmlctl -C repo2 ledger verify &&
	git -C repo fsck --strict &&
	"$PYTHON" - <<-\EOF
	import json, subprocess
	v = json.load(open("verify.json"))
	assert v["ok"] is True, v
	models = [e for e in v["results"] if e["type"] == "model.train"]
	for e in v["results"]:
	    assert all(c == "ok" for c in e["checks"].values()) or e["type"] != "model.train", e
	for e in models:
	    assert e["checks"]["data"] == "ok" and e["error"] is None, e
	lst = json.loads(subprocess.run(["dmlctl", "-C", "repo", "--json", "model", "list"],
	    check=True, stdout=subprocess.PIPE).stdout)
	assert len(models) == sum(o["versions"] for o in lst) >= 20, (len(models), lst)
	EOF
'

test_done
