#!/bin/sh
# p0500-rewards.sh - exact Shapley values in stats mode beside one solve.
#
# One run, one machine, random statistics (t/perf/shapley-bench, seed 1;
# ridge, lambda 1, an intercept column; each contributor 4d rows).  For
# d = 20 and 100 it measures the cost of one dml_suffstats_solve
# (DML_SOLVE_NO_RCOND) of that size, then computes exact Shapley values for
# n = 10, 15 and 20 contributors on one thread, and prints
#     overhead per coalition = (time / 2^n) / (one solve)
# taken from the CPU time of the computing thread (on a busy machine the
# wall clock counts time spent waiting for a core, the CPU time does not;
# both are printed).  At n = 20 the run is repeated on all cores, and the
# values must be the same bits.  Then permutations per second for n = 100,
# d = 20, on one thread and on all cores.
#
# Goals: n = 20 with d = 20 under 3 s; under 1.5x one solve per coalition.
#
# A run whose estimate (2^n solves, plus 30%) exceeds DML_BENCH_EXACT_MAX
# seconds (default 60) is skipped, and the estimate printed; n = 20 with
# d = 100 (a million solves of 100 x 100) is near that line.  The all-cores
# repeat is made only when its one-thread estimate is under 15 s.
set -eu

bindir=${DMLCTL_BUILD_DIR:-../..}
bench=$bindir/t/perf/shapley-bench
cores=$(nproc 2>/dev/null || echo 1)
max=${DML_BENCH_EXACT_MAX:-60}

# shapley-bench prints "<what> <wall s> <cpu s> ...".
field() { echo "$1" | cut -d' ' -f"$2"; }
calc() { awk "BEGIN { printf \"$1\", ($2) }"; }

echo "exact Shapley values, stats mode (ridge, random statistics); $cores cores"
for d in 20 100; do
	line=$("$bench" solve $d)
	solve=$(field "$line" 3)
	echo "d = $d: one solve $(calc '%.2f' "$solve * 1e6") us"
	for n in 10 15 20; do
		est=$(calc '%.1f' "2 ^ $n * $solve * 1.3")
		if [ "$(calc '%d' "$est > $max")" = 1 ]; then
			echo "  n = $n: skipped: estimated $est s on one thread" \
				"(over DML_BENCH_EXACT_MAX = $max s)"
			continue
		fi
		one=$("$bench" exact $n $d 1)
		wall=$(field "$one" 2)
		cpu=$(field "$one" 3)
		printf '  n = %2d: %8s s on 1 thread (CPU %s s); per coalition %s solves' \
			$n "$(calc '%.3f' "$wall")" "$(calc '%.3f' "$cpu")" \
			"$(calc '%.2f' "$cpu / 2 ^ $n / $solve")"
		printf ' (wall clock: %s)\n' "$(calc '%.2f' "$wall / 2 ^ $n / $solve")"
		if [ $n = 20 ] && [ "$cores" -gt 1 ] &&
		    [ "$(calc '%d' "$est < 15")" = 1 ]; then
			all=$("$bench" exact $n $d 0)
			if [ "$(echo "$all" | cut -d' ' -f4-)" != "$(echo "$one" | cut -d' ' -f4-)" ]; then
				echo "  n = $n: $cores threads gave other values than 1 thread" >&2
				exit 1
			fi
			echo "          $(calc '%.3f' "$(field "$all" 2)") s on $cores threads" \
				"(the same bits)"
		fi
	done
done
echo "goals: n = 20, d = 20 under 3 s; per coalition under 1.5 solves"

perms=400
for t in 1 0; do
	line=$("$bench" permutation 100 20 $t $perms)
	wall=$(field "$line" 2)
	echo "permutation sampling, n = 100, d = 20: $(calc '%.0f' "$perms / $wall")" \
		"permutations/s on $([ $t = 1 ] && echo 1 thread || echo "$cores threads")" \
		"($perms in $(calc '%.2f' "$wall") s; each is 101 solves)"
done
