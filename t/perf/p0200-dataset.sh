#!/bin/sh
# p0200-dataset.sh - dataset publish, republish and get, beside zstd and git.
#
# One run, one machine: every figure is printed next to a reference measured
# in the same run on the same file.  publish and get run with every core
# and with DMLCTL_THREADS=1: for publish that is one compression worker
# beside a thread that reads and one that parses, the shape of zstd -T1,
# one worker beside threads that read and write.  The CPU time of that
# publish is printed beside zstd -T1's, and, where taskset works, publish
# also runs pinned to one core beside zstd's one-thread mode pinned the
# same way, so that what the extra threads cost is in view.  The peak RSS
# of each run is taken from the run that is timed.
#
# DML_BENCH_BYTES sets the CSV size (default 1 GB).  DML_BENCH_RUNS (default
# 1) times everything but git that many times and keeps the fastest, for
# machines where other work comes and goes: in rounds, each timing the
# references and dmlctl one after the other, so that a slow spell of the
# machine falls on both sides of a ratio.  Needs zstd and GNU time
# (/usr/bin/time); says so and skips what needs one when it is missing.
set -eu

bytes=${DML_BENCH_BYTES:-1000000000}
runs=${DML_BENCH_RUNS:-1}
dmlctl=${DMLCTL_BUILD_DIR:-../..}/dmlctl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmlctl-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export DMLCTL_KEYS="$tmp/keys"
unset DMLCTL_THREADS
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo "?")

now() { date +%s.%N; }
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }'; }
have_time=0
[ -x /usr/bin/time ] && have_time=1
have_zstd=0
command -v zstd >/dev/null 2>&1 && have_zstd=1

# timed VAR SETUP CMD...: run SETUP (a shell command, untimed: e.g. a fresh
# repository), then CMD with its output to $stdout (default /dev/null);
# keeps in VAR the best throughput in MB/s of the size $size over the calls
# with that VAR, in VAR_cpu the CPU seconds (user and system) of that
# fastest call, and in VAR_rss the largest peak RSS in MB.  Each run
# starts after a sync, so that no run is throttled writing back what the
# one before it left dirty.
timed() {
	var=$1
	setup=$2
	shift 2
	eval "$setup"
	sync
	t0=$(now)
	if [ $have_time = 1 ]; then
		/usr/bin/time -f '%M %U %S' -o "$tmp/rss" "$@" >"${stdout:-/dev/null}"
	else
		"$@" >"${stdout:-/dev/null}"
	fi
	t1=$(now)
	rate=$(mbs "$size" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
	eval "old=\${$var:-0} oldrss=\${${var}_rss:-?}"
	best=0
	if [ "$rate" -gt "$old" ]; then
		eval "$var=$rate"
		best=1
	fi
	if [ $have_time = 1 ]; then
		eval "$(awk -v v="$var" -v r="$oldrss" -v best=$best '{ m = $1 / 1024
			if (r != "?" && r > m) m = r
			printf "%s_rss=%.0f\n", v, m
			if (best) printf "%s_cpu=%.2f\n", v, $2 + $3 }' "$tmp/rss")"
	fi
}

./gen-csv "$bytes" 42 >"$tmp/data.csv"
size=$(wc -c <"$tmp/data.csv")
echo "input: $size bytes of generated numeric CSV (seed 42); $cores cores; best of $runs"
"$dmlctl" -q key generate --no-passphrase bench >/dev/null
cat "$tmp/data.csv" >/dev/null	# warm the page cache for everyone alike

# A fresh repository for every publish, so that nothing is deduplicated;
# the one before goes (its chunks are one pack, so removing it is quick).
# shellcheck disable=SC2016 # expanded by timed, when it runs it
fresh='rm -rf "$tmp/pub"; "$dmlctl" -q init -k bench "$tmp/pub" >/dev/null'

# shellcheck disable=SC2016
rmzst='rm -f "$tmp/data.zst"'
z1ok=0
zstd -q --single-thread --no-asyncio -c </dev/null >/dev/null 2>&1 && z1ok=1
# taskset pins a command and all its threads to one core.
pin=
command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null && pin="taskset -c 0"
round=0
while [ $round -lt "$runs" ]; do
	round=$((round + 1))
	if [ $have_zstd = 1 ]; then
		timed z "$rmzst" zstd -q -3 -T1 -f "$tmp/data.csv" -o "$tmp/data.zst"
		timed zall "$rmzst" zstd -q -3 -T0 -f "$tmp/data.csv" -o "$tmp/data.zst"
		# Context, not a goal: zstd on one core.  Its one-thread mode
		# needs both flags (zstd 1.5.2 and later know --no-asyncio).
		if [ $z1ok = 1 ] && [ -n "$pin" ]; then
			timed zpin "$rmzst" $pin zstd -q -3 --single-thread --no-asyncio \
				-f "$tmp/data.csv" -o "$tmp/data.zst"
		fi
	fi
	timed pub "$fresh" "$dmlctl" -q -C "$tmp/pub" dataset publish --name bench \
		"$tmp/data.csv"
	[ $round = 1 ] && mv "$tmp/pub" "$tmp/repo"
	timed pub1 "$fresh" env DMLCTL_THREADS=1 "$dmlctl" -q -C "$tmp/pub" dataset publish \
		--name bench "$tmp/data.csv"
	if [ -n "$pin" ]; then
		timed pubpin "$fresh" $pin env DMLCTL_THREADS=1 "$dmlctl" -q -C "$tmp/pub" \
			dataset publish --name bench "$tmp/data.csv"
	fi
	# Context: the same without flushing the pack and refs to disk before
	# the ref moves, which neither zstd nor git add (loose objects) do.
	timed pubnf "$fresh" env DMLCTL_FSYNC=0 "$dmlctl" -q -C "$tmp/pub" dataset publish \
		--name bench "$tmp/data.csv"
done
rm -f "$tmp/data.zst"
if [ $have_zstd = 1 ]; then
	echo "zstd -3 -T1: $z MB/s, ${z_cpu:-?} s CPU; zstd -3 -T0 (all cores): $zall MB/s"
	[ -n "${zpin:-}" ] &&
		echo "  zstd -3 --single-thread --no-asyncio on one core ($pin): $zpin MB/s"
else
	echo "zstd is not installed: comparisons with it skipped"
fi
if [ $have_zstd = 1 ]; then
	echo "publish, all cores: $pub MB/s, publish/zstd -3 -T1 = $(ratio "$pub" "$z")" \
		"(goal > 1); peak RSS ${pub_rss:-?} MB"
	echo "publish, one compression worker (DMLCTL_THREADS=1: reader, parser and one" \
		"worker): $pub1 MB/s, publish/zstd -3 -T1 = $(ratio "$pub1" "$z") (goal >= 0.8);" \
		"peak RSS ${pub1_rss:-?} MB"
	if [ $have_time = 1 ]; then
		echo "  CPU time of that publish: ${pub1_cpu} s, zstd -3 -T1: ${z_cpu} s," \
			"publish/zstd = $(ratio "$pub1_cpu" "$z_cpu") (context: CPU spent per byte)"
	fi
	echo "  publish, all cores, not flushed to disk (DMLCTL_FSYNC=0): $pubnf MB/s," \
		"publish/zstd -3 -T1 = $(ratio "$pubnf" "$z") (context: zstd does not flush)"
else
	echo "publish, all cores: $pub MB/s; peak RSS ${pub_rss:-?} MB"
	echo "publish, one compression worker (DMLCTL_THREADS=1): $pub1 MB/s; peak RSS ${pub1_rss:-?} MB"
	echo "  publish, all cores, not flushed to disk (DMLCTL_FSYNC=0): $pubnf MB/s"
fi
if [ -n "${pubpin:-}" ]; then
	if [ -n "${zpin:-}" ]; then
		echo "  publish DMLCTL_THREADS=1 on one core: $pubpin MB/s, publish/zstd -3" \
			"--single-thread on one core = $(ratio "$pubpin" "$zpin") (context, not the goal)"
	else
		echo "  publish DMLCTL_THREADS=1 on one core: $pubpin MB/s"
	fi
fi

git init -q "$tmp/plain"
cp "$tmp/data.csv" "$tmp/plain/data.csv"
t0=$(now)
git -C "$tmp/plain" add data.csv
git -C "$tmp/plain" -c user.name=b -c user.email=b@b commit -q -m data
t1=$(now)
g=$(mbs "$size" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')")
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

# get writes to standard output, redirected to a file, as zstd -d -c does
# here: -o would add an fsync before it renames the file into place, which
# measures the disk more than dmlctl.
stdout="$tmp/out.csv"
# shellcheck disable=SC2016
rmout='rm -f "$tmp/out.csv"'
[ $have_zstd = 1 ] && zstd -q -3 -T1 -f "$tmp/data.csv" -o "$tmp/data.zst"
round=0
while [ $round -lt "$runs" ]; do
	round=$((round + 1))
	if [ $have_zstd = 1 ]; then
		timed zd "$rmout" zstd -q -d -c "$tmp/data.zst"
	fi
	timed get "$rmout" "$dmlctl" -q -C "$tmp/repo" dataset get bench@1
	cmp "$tmp/data.csv" "$tmp/out.csv"
	timed get1 "$rmout" env DMLCTL_THREADS=1 "$dmlctl" -q -C "$tmp/repo" dataset get bench@1
	cmp "$tmp/data.csv" "$tmp/out.csv"
done
rm -f "$tmp/out.csv" "$tmp/data.zst"
stdout=
if [ $have_zstd = 1 ]; then
	echo "get, all cores: $get MB/s (byte-identical), get/zstd -d = $(ratio "$get" "$zd")" \
		"(goal >= 0.8; zstd -d: $zd MB/s); peak RSS ${get_rss:-?} MB"
	echo "get, one thread: $get1 MB/s, get/zstd -d = $(ratio "$get1" "$zd"); peak RSS ${get1_rss:-?} MB"
else
	echo "get, all cores: $get MB/s (byte-identical); peak RSS ${get_rss:-?} MB"
	echo "get, one thread: $get1 MB/s; peak RSS ${get1_rss:-?} MB"
fi
echo "peak RSS goal: < 200 MB at 5 GB (the chunk index and manifest grow with the file;" \
	"DML_BENCH_BYTES=5000000000 measures it)"
