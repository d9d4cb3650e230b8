#!/bin/sh
# p0100-ledger.sh - append and verify rates of a large ledger.
#
# Figures are printed beside a reference measured in the same run: the
# machine's own Ed25519 verify rate (libsodium, one core) times the number of
# cores, the most a signature-bound verifier could reach.  Every entry carries
# two Ed25519 signatures (the statement's and the commit's), so a verifier
# that checks both can reach at most 0.5 of that reference.
#
# DML_BENCH_ENTRIES sets the ledger size (default 100000).
set -eu

n=${DML_BENCH_ENTRIES:-100000}
cores=$(nproc 2>/dev/null || echo 1)
dmlctl=${DMLCTL_BUILD_DIR:-../..}/dmlctl
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dmlctl-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export DMLCTL_KEYS="$tmp/keys"

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

"$dmlctl" -q key generate --no-passphrase bench >/dev/null
"$dmlctl" -q init -k bench "$tmp/repo" >/dev/null
"$dmlctl" -q init -k bench "$tmp/batched" >/dev/null

sig=$(./ledger-bench sigrate 2)
ref=$((sig * cores))
echo "reference: Ed25519 verify (libsodium) $sig/s on one core x $cores cores = $ref/s"

t0=$(now)
./ledger-bench append "$tmp/repo/.git" "$DMLCTL_KEYS/bench.key" "$n" >/dev/null
t1=$(now)
echo "append, one ref update per entry: $n entries in $(secs "$t0" "$t1") s" \
	"= $(rate "$n" "$t0" "$t1") entries/s (goal: $n in under 60 s, one process)"

t0=$(now)
./ledger-bench append "$tmp/batched/.git" "$DMLCTL_KEYS/bench.key" "$n" 10000 >/dev/null
t1=$(now)
echo "append, batches of 10000 (one pack and one ref update each): $n entries in" \
	"$(secs "$t0" "$t1") s = $(rate "$n" "$t0" "$t1") entries/s"
"$dmlctl" -q -C "$tmp/batched" ledger verify >/dev/null

t0=$(now)
"$dmlctl" -q -C "$tmp/repo" ledger verify >/dev/null
t1=$(now)
v=$(rate $((n + 1)) "$t0" "$t1")
echo "verify: $((n + 1)) entries in $(secs "$t0" "$t1") s = $v entries/s" \
	"= $(awk -v v="$v" -v r="$ref" 'BEGIN { printf "%.2f", v / r }') of the reference" \
	"($(awk -v v="$v" -v r="$ref" 'BEGIN { printf "%.2f", 2 * v / r }') counting both signatures per entry)"

t0=$(now)
"$dmlctl" -q -C "$tmp/repo" ledger verify --threads 1 >/dev/null
t1=$(now)
v1=$(rate $((n + 1)) "$t0" "$t1")
echo "verify, one thread: $v1 entries/s = $(awk -v v="$v1" -v s="$sig" 'BEGIN { printf "%.2f", v / s }') of one core's Ed25519 rate"

git -C "$tmp/repo" gc -q
t0=$(now)
"$dmlctl" -q -C "$tmp/repo" ledger verify >/dev/null
t1=$(now)
v=$(rate $((n + 1)) "$t0" "$t1")
echo "verify after git gc (packed): $v entries/s = $(awk -v v="$v" -v r="$ref" 'BEGIN { printf "%.2f", v / r }') of the reference"
