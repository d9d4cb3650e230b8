# lib-sync.sh - helpers for tests of parties sharing a ledger through remotes.
# Sourced after test-lib.sh.

# head_of REPO [REF]: the commit a ref names.
head_of() {
	git -C "$1" rev-parse --verify -q "${2:-refs/dml/ledger}"
}

# count_of REPO [REF]: how many entries the chain holds.
count_of() {
	git -C "$1" rev-list --count "${2:-refs/dml/ledger}"
}

# check_repo REPO: git fsck finds nothing and every ledger check passes.
check_repo() {
	git -C "$1" fsck --strict --no-dangling &&
	dmlctl -C "$1" ledger verify >"$TRASH_DIRECTORY/.verify" &&
	grep "every check passed" "$TRASH_DIRECTORY/.verify" >/dev/null
}

# start_git_daemon SALT: a git daemon on 127.0.0.1 serving daemon/ (pushes
# allowed), stopped when the script ends however it ends.  SALT keeps the
# port guesses of scripts that run at once apart.  Sets GITURL, and leaves
# daemon_port empty when no port could be had.
daemon_pid=
stop_daemon() {
	if [ -n "$daemon_pid" ]; then
		kill "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
		daemon_pid=
	fi
}
start_git_daemon() {
	trap stop_daemon EXIT
	trap 'exit 130' INT TERM
	mkdir daemon && git init -q --bare daemon/probe.git
	daemon_port=
	for try in 0 1 2 3 4 5 6 7 8 9
	do
		p=$((20000 + ($$ * 7 + try * 389 + $1) % 30000))
		git daemon --reuseaddr --base-path="$TRASH_DIRECTORY/daemon" --export-all \
			--enable=receive-pack --listen=127.0.0.1 --port=$p \
			>"$TRASH_DIRECTORY/daemon.log" 2>&1 3>&- 4>&- </dev/null &
		daemon_pid=$!
		n=0
		while [ $n -lt 50 ] && kill -0 "$daemon_pid" 2>/dev/null
		do
			if git ls-remote "git://127.0.0.1:$p/probe.git" >/dev/null 2>&1; then
				daemon_port=$p
				break
			fi
			sleep 0.1
			n=$((n + 1))
		done
		[ -n "$daemon_port" ] && break
		stop_daemon
	done
	GITURL=git://127.0.0.1:$daemon_port
}
