#!/bin/sh
test_description='concurrent appends lose nothing and never fork the chain; a killed append leaves a valid ledger'
. ./test-lib.sh

WRITERS=8
NOTES=50
ROUNDS=20

test_must_be_empty() {
	if [ -s "$1" ]; then
		say "test_must_be_empty: $1 is not empty:" >&4
		sed "s/^/|	/" "$1" >&4
		return 1
	fi
}

# The number of entries, counted by git alone.
entry_count() {
	git -C "$1" rev-list --count refs/dml/ledger
}

# run_and_kill MAX_MS COMMAND...: start COMMAND in a process group of its
# own, SIGKILL the whole group after a random 0..MAX_MS milliseconds, and
# return once every process of the group is dead and reaped.  A shell cannot
# do this portably (dash has no job control without a terminal), so a few
# lines of Python do; on Linux they become the subreaper of the group, so that
# orphaned grandchildren are reaped too.
run_and_kill() {
	"$PYTHON" - "$@" <<-\EOF
	import ctypes, os, random, signal, subprocess, sys, time
	try:
	    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
	except Exception:
	    pass
	p = subprocess.Popen(sys.argv[2:], start_new_session=True)
	time.sleep(random.uniform(0, int(sys.argv[1]) / 1000.0))
	try:
	    os.killpg(p.pid, signal.SIGKILL)
	except ProcessLookupError:
	    pass
	p.wait()
	while True:
	    try:
	        os.waitpid(-1, 0)
	    except ChildProcessError:
	        break
	deadline = time.time() + 10
	while True:
	    try:
	        os.killpg(p.pid, 0)
	    except ProcessLookupError:
	        break
	    if time.time() > deadline:
	        sys.exit("processes of the killed group are still alive")
	    time.sleep(0.01)
	EOF
}

test_expect_success 'setup' '
	test_key founder &&
	dmlctl -q init -k founder repo >/dev/null
'

test_expect_success "$WRITERS writers append $NOTES notes each at the same time" '
	pids= &&
	w=1 &&
	while [ $w -le $WRITERS ]
	do
		(
			n=1 &&
			while [ $n -le $NOTES ]
			do
				dmlctl -C repo ledger note -k founder -m "writer $w note $n" \
					>/dev/null 2>>"errors.$w" || exit 1
				n=$((n + 1))
			done
		) &
		pids="$pids $!" &&
		w=$((w + 1))
	done &&
	failed=0 &&
	for p in $pids
	do
		wait $p || failed=$((failed + 1))
	done &&
	cat errors.* >errors &&
	test_must_be_empty errors &&
	test $failed -eq 0
'

test_expect_success 'the ledger has exactly genesis + every note' '
	test "$(entry_count repo)" -eq $((1 + WRITERS * NOTES)) &&
	dmlctl -C repo ledger log >log &&
	test "$(wc -l <log)" -eq $((1 + WRITERS * NOTES)) &&
	git -C repo rev-list --merges refs/dml/ledger >merges &&
	test_must_be_empty merges
'

test_expect_success 'every message appears exactly once' '
	w=1 &&
	while [ $w -le $WRITERS ]
	do
		n=1 &&
		while [ $n -le $NOTES ]
		do
			echo "writer $w note $n" &&
			n=$((n + 1))
		done &&
		w=$((w + 1))
	done | sort >want &&
	test "$(wc -l <want)" -eq $((WRITERS * NOTES)) &&
	dmlctl -C repo --json ledger log >log.json &&
	"$PYTHON" -c "
import json
for e in json.load(open(\"log.json\")):
    if e[\"type\"] == \"note\":
        print(e[\"body\"][\"message\"])
" | sort >got &&
	test_cmp want got
'

test_expect_success 'each writer'"'"'s notes are in the order it wrote them' '
	dmlctl -C repo --json ledger log --reverse >log.json &&
	"$PYTHON" -c "
import json
last = {}
for e in json.load(open(\"log.json\")):
    if e[\"type\"] != \"note\":
        continue
    _, w, _, n = e[\"body\"][\"message\"].split()
    assert int(n) == last.get(w, 0) + 1, (w, n, last.get(w))
    last[w] = int(n)
"
'

test_expect_success 'the concurrent ledger verifies, and git fsck is clean' '
	dmlctl -C repo ledger verify >out &&
	echo "ledger verified: $((1 + WRITERS * NOTES)) entries, every check passed" >want &&
	head -n 1 out >first &&
	test_cmp want first &&
	git -C repo fsck --strict --no-dangling
'

test_expect_success 'setup: a ledger to crash' '
	dmlctl -q init -k founder crash >/dev/null &&
	head -c 200000 /dev/urandom >big
'

# An append killed at any moment leaves the ledger at the entry before or the
# entry after: objects are written first, then the ref moves by one atomic
# rename.  A kill between git's creation of refs/dml/ledger.lock and that
# rename leaves the lock file behind, as it would for git itself (git then
# says "Unable to create '...lock': File exists"); removing a stale lock is
# the user's job, and dmlctl's error names the file.  Here nothing else runs,
# so a lock left after the kill is stale.
test_expect_success "appends killed at random moments ($ROUNDS times) leave a valid ledger" '
	stale=0 &&
	grew=0 &&
	round=1 &&
	while [ $round -le $ROUNDS ]
	do
		before=$(entry_count crash) &&
		run_and_kill 400 sh -c "
			i=1
			while :
			do
				dmlctl -C crash ledger note -k founder -m \"round $round note \$i\" \
					--attach \"$TRASH_DIRECTORY/big\" >/dev/null || exit 1
				i=\$((i + 1))
			done" &&
		if [ -f crash/.git/refs/dml/ledger.lock ]
		then
			stale=$((stale + 1)) &&
			rm crash/.git/refs/dml/ledger.lock
		fi &&
		dmlctl -C crash ledger verify >out &&
		test_grep "every check passed" out &&
		after=$(entry_count crash) &&
		test $after -ge $before &&
		if [ $after -gt $before ]
		then
			grew=$((grew + 1))
		fi &&
		round=$((round + 1)) || return 1
	done &&
	say "# $grew of $ROUNDS rounds appended, $stale left a stale lock" &&
	test $grew -gt 0
'

test_expect_success 'the crashed ledger still takes appends, and git fsck is clean' '
	before=$(entry_count crash) &&
	dmlctl -C crash ledger note -k founder -m "after the crashes" --attach "$PWD/big" >/dev/null &&
	test "$(entry_count crash)" -eq $((before + 1)) &&
	dmlctl -C crash ledger verify &&
	git -C crash fsck --strict --no-dangling
'

test_expect_success 'a stale lock is an error naming the lock file, not a hang' '
	: >crash/.git/refs/dml/ledger.lock &&
	git -C crash rev-parse refs/dml/ledger >before &&
	test_expect_exit 128 dmlctl -C crash ledger note -k founder -m "blocked" 2>err &&
	test_grep "refs/dml/ledger.lock" err &&
	git -C crash rev-parse refs/dml/ledger >after &&
	test_cmp before after &&
	rm crash/.git/refs/dml/ledger.lock &&
	dmlctl -C crash ledger note -k founder -m "unblocked" >/dev/null
'

test_done
