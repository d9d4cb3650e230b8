#!/bin/sh
# p0400-aggregate.sh - aggregation rules beside one read of their input.
#
# One run, one machine: for n = 10, 100 and 1,000 updates of d = 1,000 and
# 100,000 parameters (generated, seed 1, every tenth update far off), each
# rule is timed on one thread and on all cores, beside "read": one pass that
# sums all the updates, on one thread, measured in the same process on the
# same data (t/perf/agg-bench).  Every figure is the best of the runs that fit
# in a short budget.  agg-bench also checks that every thread count gives the
# same bits.
#
# Goals: fedavg and median within 3x of the read; fedavg of 1,000 x 100,000
# under 2 s.  Krum, multi-krum and Bulyan cost O(n^2 d) (Bulyan O(n^3) more)
# and are reported apart; at 1,000 x 100,000 they would take minutes (5e10
# squared differences), so that size is skipped and an estimate printed.
set -eu

bindir=${DMLCTL_BUILD_DIR:-../..}
bench=$bindir/t/perf/agg-bench
cores=$(nproc 2>/dev/null || echo 1)

# run <n> <d> <rule>...: agg-bench's "<name> <threads> <seconds>" lines
run() {
	rn=$1
	rd=$2
	shift 2
	"$bench" "$rn" "$rd" "$cores" "$@" >"$out"
}
out=$(mktemp "${TMPDIR:-/tmp}/dmlctl-bench.XXXXXX")
trap 'rm -f "$out"' EXIT INT TERM

# table <goal-rules>: one line per rule from $out, ratios to the read
table() {
	awk -v goal=" $1 " -v cores="$cores" '
	function ms(s) { return s < 0.1 ? sprintf("%.3f ms", s * 1000) : sprintf("%.3f s", s) }
	$1 == "read" { read = $3; next }
	$2 == 1 { one[$1] = $3; order[++k] = $1; next }
	{ many[$1] = $3 }
	END {
		printf "    read (one pass, 1 thread)  %s\n", ms(read)
		for (i = 1; i <= k; i++) {
			r = order[i]
			line = sprintf("    %-13s 1 thread %10s = %5.1fx", r, ms(one[r]), one[r] / read)
			if (r in many)
				line = line sprintf(";  %d threads %10s = %5.1fx", cores, ms(many[r]),
				    many[r] / read)
			if (index(goal, " " r " "))
				line = line "  (goal <= 3x)"
			print line
		}
	}' "$out"
}

echo "aggregation: every figure beside one read of the same updates ($cores cores)"
echo "coordinate-wise rules (median, trimmed-mean) and fedavg:"
for d in 1000 100000; do
	for n in 10 100 1000; do
		echo "  n = $n updates, d = $d parameters"
		run "$n" "$d" fedavg median trimmed-mean
		table "fedavg median"
		if [ "$n" = 1000 ] && [ "$d" = 100000 ]; then
			awk -v c="$cores" '$1 == "fedavg" { t[$2] = $3 }
				END { printf "    fedavg of 1000 x 100000: %.3f s on 1 thread, %.3f s on %d" \
				    " (goal < 2 s)\n", t[1], t[c], c }' "$out"
		fi
	done
done

echo "distance rules, O(n^2 d) (f = n / 10; multi-krum m = n - f):"
for d in 1000 100000; do
	for n in 10 100 1000; do
		if [ "$n" = 1000 ] && [ "$d" = 100000 ]; then
			echo "  n = 1000, d = 100000: skipped (5e10 squared differences); expect" \
				"about 100 times the n = 100 figures above for krum and multi-krum"
			continue
		fi
		echo "  n = $n updates, d = $d parameters"
		run "$n" "$d" krum multi-krum bulyan
		table ""
	done
done
