#!/bin/sh
# p0200-dataset.sh - dataset publish, republish and get, beside zstd and git.
#
# One run, one machine: every figure is printed next to a reference measured
# in the same run on the same file.  DML_BENCH_BYTES sets the CSV size
# (default 1 GB).  Needs zstd and GNU time (/usr/bin/time); says so and skips
# a comparison when one is missing.
set -eu

bytes=${DML_BENCH_BYTES:-1000000000}
dmlctl=${DMLCTL_BUILD_DIR:-../..}/dmlctl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmlctl-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export DMLCTL_KEYS="$tmp/keys"

now() { date +%s.%N; }
mbs() { awk -v b="$1" -v a="$2" -v c="$3" 'BEGIN { printf "%.0f", b / (c - a) / 1e6 }'; }
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

./gen-csv "$bytes" 42 >"$tmp/data.csv"
size=$(wc -c <"$tmp/data.csv")
echo "input: $size bytes of generated numeric CSV (seed 42)"
"$dmlctl" -q key generate --no-passphrase bench >/dev/null
"$dmlctl" -q init -k bench "$tmp/repo" >/dev/null

cat "$tmp/data.csv" >/dev/null	# warm the page cache for everyone alike
t0=$(now)
"$dmlctl" -q -C "$tmp/repo" dataset publish --name bench "$tmp/data.csv"
t1=$(now)
pub=$(mbs "$size" "$t0" "$t1")
echo "publish: $pub MB/s"

if command -v zstd >/dev/null 2>&1; then
	t0=$(now)
	zstd -q -3 -T1 -f "$tmp/data.csv" -o "$tmp/data.zst"
	t1=$(now)
	z=$(mbs "$size" "$t0" "$t1")
	t0=$(now)
	zstd -q -3 -T0 -f "$tmp/data.csv" -o "$tmp/data.zst"
	t1=$(now)
	zall=$(mbs "$size" "$t0" "$t1")
	echo "  zstd -3 -T1: $z MB/s, publish/zstd = $(ratio "$pub" "$z") (goal >= 0.8);" \
		"zstd -3 -T0 (all cores): $zall MB/s"
else
	echo "  zstd is not installed: comparison skipped"
fi

git init -q "$tmp/plain"
cp "$tmp/data.csv" "$tmp/plain/data.csv"
t0=$(now)
git -C "$tmp/plain" add data.csv
git -C "$tmp/plain" -c user.name=b -c user.email=b@b commit -q -m data
t1=$(now)
g=$(mbs "$size" "$t0" "$t1")
echo "  git add && git commit: $g MB/s, publish/git = $(ratio "$pub" "$g") (goal >= 3)"
rm -rf "$tmp/plain"

# A new version: a contiguous 1% of the rows edited in the middle, 0.5% appended.
rows=$(($(wc -l <"$tmp/data.csv") - 1))
awk -v r="$rows" 'NR > 1 + int(r * 0.495) && NR <= 1 + int(r * 0.505) { sub(/,[0-9]$/, ",7") } { print }
	END { for (i = 0; i < int(r * 0.005); i++) printf "%d,1.0,2.0,3.0,4.0,5.0,6.0,7.0,8.0,1\n", r + i }' \
	"$tmp/data.csv" >"$tmp/data2.csv"
size2=$(wc -c <"$tmp/data2.csv")
before=$(du -sk "$tmp/repo/.git/objects" | cut -f1)
"$dmlctl" -q -C "$tmp/repo" --json dataset publish --name bench "$tmp/data2.csv" >"$tmp/v2.json"
stored=$(sed -n 's/.*"stored": \([0-9]*\).*/\1/p' "$tmp/v2.json")
after=$(du -sk "$tmp/repo/.git/objects" | cut -f1)
echo "republish (1% edited in the middle, 0.5% appended): $stored new bytes stored for" \
	"$size2 logical = $(awk -v s="$stored" -v l="$size2" 'BEGIN { printf "%.2f%%", 100 * s / l }')" \
	"(goal < 3%); object directory grew $((after - before)) KiB"

t0=$(now)
"$dmlctl" -q -C "$tmp/repo" dataset get bench@1 -o "$tmp/out.csv"
t1=$(now)
get=$(mbs "$size" "$t0" "$t1")
cmp "$tmp/data.csv" "$tmp/out.csv"
echo "get: $get MB/s, byte-identical"
if command -v zstd >/dev/null 2>&1; then
	zstd -q -3 -T1 -f "$tmp/data.csv" -o "$tmp/data.zst"
	t0=$(now)
	zstd -q -d -f "$tmp/data.zst" -o "$tmp/out2.csv"
	t1=$(now)
	zd=$(mbs "$size" "$t0" "$t1")
	echo "  zstd -d: $zd MB/s, get/zstd -d = $(ratio "$get" "$zd") (goal >= 0.8)"
fi
rm -f "$tmp/out.csv" "$tmp/out2.csv" "$tmp/data.zst"

"$dmlctl" -q init -k bench "$tmp/rss-repo" >/dev/null
echo "peak RSS: publish $(rss "$dmlctl" -q -C "$tmp/rss-repo" dataset publish --name r "$tmp/data.csv") MB," \
	"get $(rss "$dmlctl" -q -C "$tmp/rss-repo" dataset get r -o "$tmp/out.csv") MB" \
	"for $size bytes (goal < 200 MB at 5 GB; the chunk index and manifest grow with the file)"
