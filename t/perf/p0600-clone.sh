#!/bin/sh
# p0600-clone.sh - clone a large ledger, verifying every entry, beside a
# plain `git clone --mirror` of the same repository timed in the same run.
#
# The hub is a bare repository holding DML_BENCH_ENTRIES notes (default
# 100000), packed as a git host would keep it.  Both clones go over file://
# (a plain path would let git hard-link the hub's files instead), so both
# receive and index a pack of the same objects; dmlctl then checks both
# signatures of every entry, the chain and every entry's authority before it
# writes the ledger ref.  The ratio is dmlctl's time over git's.
set -eu

n=${DML_BENCH_ENTRIES:-100000}
dmlctl=${DMLCTL_BUILD_DIR:-../..}/dmlctl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmlctl-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export DMLCTL_KEYS="$tmp/keys"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

"$dmlctl" -q key generate --no-passphrase bench >/dev/null
"$dmlctl" -q init -k bench --bare "$tmp/hub.git" >/dev/null
./ledger-bench append "$tmp/hub.git" "$DMLCTL_KEYS/bench.key" "$n" 10000 >/dev/null
git -C "$tmp/hub.git" gc -q
entries=$((n + 1))

t0=$(now)
git clone -q --mirror "file://$tmp/hub.git" "$tmp/mirror.git"
t1=$(now)
g=$(secs "$t0" "$t1")
t0=$(now)
"$dmlctl" -q clone --bare "file://$tmp/hub.git" "$tmp/clone.git"
t1=$(now)
d=$(secs "$t0" "$t1")
[ "$(git -C "$tmp/clone.git" rev-parse refs/dml/ledger)" = \
  "$(git -C "$tmp/hub.git" rev-parse refs/dml/ledger)" ] || { echo "clone differs" >&2; exit 1; }
echo "reference: git clone --mirror of $entries entries: $g s" \
	"= $(awk -v n="$entries" -v t="$g" 'BEGIN { printf "%.0f", n / t }') entries/s"
echo "dmlctl clone with full verification: $d s" \
	"= $(awk -v n="$entries" -v t="$d" 'BEGIN { printf "%.0f", n / t }') entries/s" \
	"= $(awk -v a="$d" -v b="$g" 'BEGIN { printf "%.1f", a / b }')x the time of git clone --mirror"
