#!/bin/sh
# p0300-model.sh - model training time beside the compute limit and sklearn.
#
# One run, one machine: ridge on generated data of R x 100 and R x 20
# (R = DML_BENCH_ROWS, default 1,000,000), published first, timed from the
# stored dataset to the signed model.  Beside it, in the same run:
#   - the compute limit (t/perf/model-limit): decompressing and checking the
#     stored chunks, parsing the bytes into a matrix in memory, and one
#     dsyrk, one after the other on one thread;
#   - where python3 has pandas and scikit-learn: pandas.read_csv of the
#     same file plus Ridge / LogisticRegression fit (skipped, and said so,
#     where they are missing).
# Logistic regression on R x 20.  Peak RSS of training at R and at R / 10
# rows shows whether memory depends on the number of rows.
set -eu

rows=${DML_BENCH_ROWS:-1000000}
bindir=${DMLCTL_BUILD_DIR:-../..}
dmlctl=$bindir/dmlctl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmlctl-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export DMLCTL_KEYS="$tmp/keys"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'; }
have_time=0
[ -x /usr/bin/time ] && have_time=1
# peak RSS in MB of a command, its output to /dev/null
rss() {
	if [ $have_time = 1 ]; then
		/usr/bin/time -f '%M' -o "$tmp/rss" "$@" >/dev/null
		awk '{ printf "%.0f", $1 / 1024 }' "$tmp/rss"
	else
		"$@" >/dev/null
		echo "?"
	fi
}
have_sklearn=0
# The Python on PATH first, then Debian's (python3-sklearn, python3-pandas).
for py in python3 /usr/bin/python3; do
	if command -v "$py" >/dev/null 2>&1 &&
	    "$py" -c 'import pandas, sklearn' >/dev/null 2>&1; then
		have_sklearn=1
		break
	fi
done
sk() {
	"$py" - "$@" <<'EOF'
import sys, time
import pandas as pd
from sklearn.linear_model import LogisticRegression, Ridge
path, kind = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
df = pd.read_csv(path)
if kind == "ridge":
    Ridge(alpha=1.0).fit(df.drop(columns=["y"]).values, df["y"].values)
else:
    LogisticRegression(C=1.0, tol=1e-8, max_iter=1000).fit(
        df.drop(columns=["y", "label"]).values, df["label"].values)
print("%.2f" % (time.perf_counter() - t0))
EOF
}

"$dmlctl" -q key generate --no-passphrase bench >/dev/null
"$dmlctl" -q init -k bench "$tmp/repo" >/dev/null
echo "rows: $rows; generated data (t/perf/gen-model, seed 7)"
[ $have_sklearn = 1 ] || echo "python3 with pandas and scikit-learn is not installed:" \
	"the sklearn comparison is skipped"

for d in 100 20; do
	"$bindir/t/perf/gen-model" "$rows" $d 7 >"$tmp/d$d.csv"
	"$dmlctl" -q -C "$tmp/repo" dataset publish --name "d$d" "$tmp/d$d.csv"
	lim=$("$bindir/t/perf/model-limit" "$tmp/repo" "d$d" y)
	limit=$(echo "$lim" | cut -d' ' -f4)
	t0=$(now)
	"$dmlctl" -q -C "$tmp/repo" model train --name "r$d" --dataset "d$d" --target y \
		--kind ridge --lambda 1
	t1=$(now)
	t=$(secs "$t0" "$t1")
	echo "ridge $rows x $((d + 1)): $t s from stored dataset to signed model;" \
		"compute limit $limit s (chunks $(echo "$lim" | cut -d' ' -f1) +" \
		"parse $(echo "$lim" | cut -d' ' -f2) + dsyrk $(echo "$lim" | cut -d' ' -f3));" \
		"train/limit = $(ratio "$t" "$limit") (goal <= 1.5)"
	if [ $have_sklearn = 1 ]; then
		s=$(sk "$tmp/d$d.csv" ridge)
		echo "  pandas.read_csv + sklearn Ridge: $s s, sklearn/dmlctl = $(ratio "$s" "$t")" \
			"(goal >= 3)"
	fi
done

t0=$(now)
"$dmlctl" -q -C "$tmp/repo" model train --name lg --dataset d20 --target label \
	--exclude y --kind logistic --lambda 1
t1=$(now)
t=$(secs "$t0" "$t1")
it=$("$dmlctl" -C "$tmp/repo" model show --json lg |
	sed -n 's/.*"iterations": "\{0,1\}\([0-9]*\).*/\1/p' | head -1)
echo "logistic $rows x 20: $t s (${it:-?} Newton iterations, one pass each plus metrics)"
if [ $have_sklearn = 1 ]; then
	s=$(sk "$tmp/d20.csv" logistic)
	echo "  pandas.read_csv + sklearn LogisticRegression: $s s, sklearn/dmlctl =" \
		"$(ratio "$s" "$t") (goal >= 3)"
fi

# Memory: the same training at a tenth of the rows.
small=$((rows / 10))
"$bindir/t/perf/gen-model" "$small" 100 8 >"$tmp/s.csv"
"$dmlctl" -q -C "$tmp/repo" dataset publish --name s100 "$tmp/s.csv"
big=$(rss "$dmlctl" -q -C "$tmp/repo" model train --name m1 --dataset d100 --target y)
little=$(rss "$dmlctl" -q -C "$tmp/repo" model train --name m2 --dataset s100 --target y)
echo "peak RSS of ridge training: $big MB at $rows rows, $little MB at $small rows" \
	"(ratio $(ratio "$big" "$little"); goal: independent of rows)"
"$dmlctl" -q -C "$tmp/repo" ledger verify >/dev/null
echo "ledger verify (recomputes every model): ok"
