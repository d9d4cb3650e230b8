# test-lib.sh - a small test library in the style of git's t/test-lib.sh.
#
# A test script sets test_description, sources this file, runs
# test_expect_success blocks, and ends with test_done.  Each script runs in
# its own "trash directory.<script>" (removed on success, kept on failure),
# with its own HOME, key directory and git configuration, so scripts can run
# in parallel.  Every git repository left in the trash directory must pass
# `git fsck --strict`: test_done checks them all.
#
#	test_expect_success 'title' 'commands chained with &&'
#	test_expect_code N 'title' 'commands' (last command's exit status)
#	test_must_fail <command>	succeeds if the command fails (1..128)
#	test_expect_exit N <command>	succeeds if the command exits with N
#	test_cmp expected actual	compare files, showing a diff
#	test_key NAME			an unencrypted key in the key directory
#	json_valid, json_get FILE KEY	JSON checks ($PYTHON is the interpreter)
#	sha256_of FILE			the file's SHA-256 in hex
#	test_init_repo DIR [KEY]	a repository with a ledger founded by KEY

set -u

this_test=${0##*/}
this_test=${this_test%.sh}
TEST_DIRECTORY=$(cd "$(dirname "$0")" && pwd)
: "${DMLCTL_BUILD_DIR:=$(cd "$TEST_DIRECTORY/.." && pwd)}"
PATH=$DMLCTL_BUILD_DIR:$PATH
export PATH DMLCTL_BUILD_DIR

TRASH_DIRECTORY="$TEST_DIRECTORY/trash directory.$this_test"
rm -rf "$TRASH_DIRECTORY"
mkdir -p "$TRASH_DIRECTORY" || exit 1
cd "$TRASH_DIRECTORY" || exit 1

# A private, predictable environment.
HOME=$TRASH_DIRECTORY
XDG_CONFIG_HOME=$TRASH_DIRECTORY/.config
DMLCTL_KEYS=$TRASH_DIRECTORY/keys
GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME='A U Thor'
GIT_AUTHOR_EMAIL='author@example.com'
GIT_COMMITTER_NAME='C O Mitter'
GIT_COMMITTER_EMAIL='committer@example.com'
export HOME XDG_CONFIG_HOME DMLCTL_KEYS GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
unset DMLCTL_DIR DMLCTL_KEY DMLCTL_PASSPHRASE_FILE DMLCTL_TIME GIT_DIR GIT_WORK_TREE \
	GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_CEILING_DIRECTORIES
# The trash directory lies inside dmlctl's own work tree: repository discovery
# (git's and dmlctl's) stops at t/, so no test can reach that repository.
GIT_CEILING_DIRECTORIES=$TEST_DIRECTORY
export GIT_CEILING_DIRECTORIES
git config --global init.defaultBranch main
git config --global user.name 'A U Thor'
git config --global user.email 'author@example.com'

test_count=0
test_failures=0
test_mark_=0
test_verbose=${TEST_VERBOSE:-}

say() { printf '%s\n' "$*"; }

test_ok_() {
	test_count=$((test_count + 1))
	say "ok $test_count - $1"
}

# A failure shows the test's script, and without TEST_VERBOSE the last
# lines the test wrote to .log too, so that a failure seen once (in CI,
# say) shows which command failed and what it said.
test_failure_() {
	test_count=$((test_count + 1))
	test_failures=$((test_failures + 1))
	say "not ok $test_count - $1"
	printf '%s\n' "$2" | sed 's/^/#	/'
	if [ -z "$test_verbose" ] && [ -f "$TRASH_DIRECTORY/.log" ]; then
		say "#	its output (the last 40 lines):"
		tail -n +$((test_mark_ + 1)) "$TRASH_DIRECTORY/.log" | tail -n 40 | sed 's/^/#	| /'
	fi
}

# test_mark_: how many lines .log had before the test that runs next.
test_mark_log_() {
	test_mark_=0
	[ -f "$TRASH_DIRECTORY/.log" ] && test_mark_=$(wc -l <"$TRASH_DIRECTORY/.log")
}

# Run a test's script in the trash directory, in a subshell.
test_run_() {
	test_mark_log_
	(
		cd "$TRASH_DIRECTORY" || exit 1
		eval "$1"
	)
}

test_expect_success() {
	if [ $# -ne 2 ]; then
		say "bug in the test script: test_expect_success needs 2 arguments" >&2
		exit 1
	fi
	say "# running: $1" >&2
	if test_run_ "$2" >&3 2>&4; then
		test_ok_ "$1"
	else
		test_failure_ "$1" "$2"
	fi
}

# A test of a known bug: its failure is reported, not counted.
test_expect_failure() {
	say "# running (known breakage): $1" >&2
	test_count=$((test_count + 1))
	if test_run_ "$2" >&3 2>&4; then
		say "ok $test_count - $1 # TODO known breakage vanished"
	else
		say "not ok $test_count - $1 # TODO known breakage"
	fi
}

test_expect_code() {
	want=$1
	shift
	say "# running: $1" >&2
	test_run_ "$2" >&3 2>&4
	got=$?
	if [ "$got" = "$want" ]; then
		test_ok_ "$1"
	else
		test_failure_ "$1" "exit status $got, expected $want
$2"
	fi
}

test_must_fail() {
	"$@"
	status=$?
	if [ $status -eq 0 ]; then
		say "test_must_fail: command succeeded: $*" >&4
		return 1
	elif [ $status -gt 128 ] || [ $status -eq 127 ] || [ $status -eq 126 ]; then
		say "test_must_fail: command died or was not found ($status): $*" >&4
		return 1
	fi
	return 0
}

test_expect_exit() {
	want=$1
	shift
	"$@"
	status=$?
	if [ $status -ne "$want" ]; then
		say "test_expect_exit: exit status $status, expected $want: $*" >&4
		return 1
	fi
	return 0
}

test_cmp() {
	diff -u "$1" "$2" >&4
}

test_grep() {
	if ! grep "$@"; then
		say "test_grep: no match for: $*" >&4
		for f; do :; done
		[ -f "$f" ] && sed 's/^/|	/' "$f" >&4
		return 1
	fi
}

# python3 may be a slow wrapper script (pyenv): find the interpreter once.
PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && test -n "$PYTHON" ||
	PYTHON=python3

# Does standard input parse as JSON?
json_valid() {
	"$PYTHON" -c 'import json, sys; json.load(sys.stdin)'
}

# The value of KEY (a dotted path, e.g. body.file) in the JSON file FILE.
json_get() {
	"$PYTHON" -c '
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$1" "$2"
}

sha256_of() {
	sha256sum <"$1" | cut -d" " -f1
}

# An unencrypted key in the key directory (created once).
test_key() {
	[ -f "$DMLCTL_KEYS/$1.key" ] || dmlctl -q key generate --no-passphrase "$1" >/dev/null
}

# trace_writes FILE COMMAND...: COMMAND under strace -f, recording in FILE
# the system calls that create, flush and name files; rename and link are
# not system calls on every architecture (arm64 has only the *at forms),
# hence the '?'.  LeakSanitizer stops the world with ptrace, which strace
# holds, so it is off for the traced command.  durable_order FILE: did
# everything reach the disk before a ref named it (t/durable-order.awk)?
# can_trace: may strace work here?
trace_writes() {
	_tw=$1
	shift
	env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -e trace=openat,fsync,fdatasync,?rename,?renameat,renameat2,?link,linkat,?mkdir,mkdirat \
		-o "$_tw" "$@"
}

durable_order() {
	awk -f "$TEST_DIRECTORY/durable-order.awk" "$1"
}

can_trace() {
	strace -f -o /dev/null true 2>/dev/null
}

# A repository with a ledger founded by $2 (default: the key "founder").
test_init_repo() {
	key=${2:-founder}
	test_key "$key" &&
	dmlctl -q init -k "$key" "$1" >/dev/null
}

# git fsck every repository under the trash directory.
test_fsck_all_() {
	status=0
	for head in $(find "$TRASH_DIRECTORY" -name HEAD -type f 2>/dev/null); do
		dir=${head%/HEAD}
		[ -d "$dir/objects" ] && [ -d "$dir/refs" ] || continue
		if ! git --git-dir="$dir" fsck --strict --no-dangling >"$TRASH_DIRECTORY/.fsck" 2>&1; then
			say "git fsck failed in $dir:" >&4
			cat "$TRASH_DIRECTORY/.fsck" >&4
			status=1
		fi
	done
	return $status
}

test_done() {
	if [ -z "${TEST_NO_FSCK:-}" ]; then
		test_mark_log_
		if test_fsck_all_; then
			test_ok_ "every repository passes git fsck"
		else
			test_failure_ "every repository passes git fsck" "git fsck --strict"
		fi
	fi
	say "1..$test_count"
	if [ $test_failures -eq 0 ]; then
		say "# passed all $test_count test(s)"
		cd "$TEST_DIRECTORY" && rm -rf "$TRASH_DIRECTORY"
		exit 0
	fi
	say "# failed $test_failures among $test_count test(s)"
	exit 1
}

if [ -n "$test_verbose" ]; then
	exec 3>&1 4>&2
else
	exec 3>"$TRASH_DIRECTORY/.log" 4>&3
fi
