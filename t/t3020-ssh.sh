#!/bin/sh
test_description='ssh:// remotes against a real OpenSSH server on 127.0.0.1: the host key is checked against known_hosts, keys come from the ssh agent, clone, push and pull'
. ./test-lib.sh
. "$TEST_DIRECTORY/lib-sync.sh"

# Never the caller's own agent: the tests below delete keys from theirs.
unset SSH_AUTH_SOCK SSH_AGENT_PID

SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if ! [ -x "$SSHD" ] || ! command -v ssh-agent >/dev/null 2>&1 ||
	! command -v ssh-add >/dev/null 2>&1; then
	say "# skipping: no OpenSSH server (sshd) or agent here (Debian: openssh-server)"
	test_done
fi
if ! dmlctl version | grep "^libgit2 .*ssh" >/dev/null; then
	say "# skipping: this libgit2 has no ssh transport"
	test_done
fi

# Under LeakSanitizer, libgit2's ssh transport leaks a few blocks on every
# connection (see t/lsan-ssh.supp, which says why the whole library).
case ${LSAN_OPTIONS:-} in
*suppressions=*)
	LSAN_OPTIONS="$LSAN_OPTIONS:suppressions=$TEST_DIRECTORY/lsan-ssh.supp"
	export LSAN_OPTIONS
	;;
esac

# sshd and the agent stop when the script ends, however it ends.
sshd_pid=
agent_pid=
link_dir=
stop_servers() {
	[ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null
	[ -n "$link_dir" ] && rm -rf "$link_dir"
	sshd_pid= agent_pid= link_dir=
}
trap stop_servers EXIT
trap 'exit 130' INT TERM

# As root sshd wants its privilege separation directory, as its package
# makes it at boot.
if [ "$(id -u)" = 0 ] && ! [ -d /run/sshd ]; then
	mkdir -p /run/sshd && chmod 0755 /run/sshd
fi

S=$TRASH_DIRECTORY/sshd
user=$(id -un)

# start_sshd: sshd on a free port of 127.0.0.1, accepting only the key in
# $S/user.pub, for the user running the tests.  Sets port.
start_sshd() {
	port=
	for try in 0 1 2 3 4 5 6 7 8 9
	do
		p=$((20000 + ($$ * 11 + try * 397 + 7000) % 30000))
		cat >"$S/config" <<-EOF
		Port $p
		ListenAddress 127.0.0.1
		HostKey "$S/host"
		AuthorizedKeysFile "$S/user.pub"
		PidFile none
		StrictModes no
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		PermitRootLogin prohibit-password
		AllowUsers $user
		EOF
		"$SSHD" -D -f "$S/config" -E "$S/log" >"$S/sshd.out" 2>&1 3>&- 4>&- </dev/null &
		sshd_pid=$!
		n=0
		while [ $n -lt 50 ] && kill -0 "$sshd_pid" 2>/dev/null
		do
			# our sshd, by its host key, not another one on the port
			if ssh-keyscan -p "$p" 127.0.0.1 2>/dev/null |
				grep -F "$(cut -d" " -f2 "$S/host.pub")" >/dev/null; then
				port=$p
				echo "$sshd_pid" >"$S/pid"
				return 0
			fi
			sleep 0.1
			n=$((n + 1))
		done
		kill "$sshd_pid" 2>/dev/null
		wait "$sshd_pid" 2>/dev/null
		sshd_pid=
	done
	return 1
}

known_host() {
	mkdir -p "$HOME/.ssh" &&
	printf "[127.0.0.1]:%s %s\n" "$port" "$(cut -d" " -f1,2 "$1")" >"$HOME/.ssh/known_hosts"
}

test_expect_success 'setup: a hub with a ledger, an sshd and an agent holding the user key' '
	test_init_repo alice alice &&
	dmlctl -q -C alice ledger note -k alice -m "before ssh" &&
	git init -q --bare hub.git &&
	dmlctl -q -C alice remote add origin "$TRASH_DIRECTORY/hub.git" &&
	dmlctl -q -C alice push &&
	mkdir "$S" &&
	ssh-keygen -q -t ed25519 -N "" -C host -f "$S/host" &&
	ssh-keygen -q -t ed25519 -N "" -C other -f "$S/other" &&
	ssh-keygen -q -t ed25519 -N "" -C user -f "$S/user" &&
	start_sshd &&
	eval "$(ssh-agent -s)" >/dev/null &&
	echo "SSH_AUTH_SOCK=$SSH_AUTH_SOCK SSH_AGENT_PID=$SSH_AGENT_PID" >"$S/agent" &&
	ssh-add -q "$S/user"
'

# What setup started, for the tests that follow (each runs in a subshell);
# without all of it they cannot run.
[ -f "$S/pid" ] && sshd_pid=$(cat "$S/pid")
if [ -f "$S/agent" ]; then
	eval "$(cat "$S/agent")"
	export SSH_AUTH_SOCK
	agent_pid=$SSH_AGENT_PID
fi
port=
[ -n "$sshd_pid" ] && port=$(sed -n "s/^Port //p" "$S/config")
if [ -z "$port" ] || [ -z "${SSH_AUTH_SOCK:-}" ]; then
	say "# the sshd or the agent did not start: nothing more to test"
	test_done
fi
# The trash directory's name has a space, which neither a URL nor the
# command ssh runs would keep: the hub is reached through a link.
link_dir=$(mktemp -d "${TMPDIR:-/tmp}/dmlctl-t3020.XXXXXX")
ln -s "$TRASH_DIRECTORY/hub.git" "$link_dir/hub.git"
URL=ssh://$user@127.0.0.1:$port$link_dir/hub.git
# the same without a user name: ssh's default, the local user
NOUSER_URL=ssh://127.0.0.1:$port$link_dir/hub.git

test_expect_success 'a host not in known_hosts is refused: no clone, no directory' '
	rm -f "$HOME/.ssh/known_hosts" &&
	test_expect_exit 128 dmlctl clone "$URL" unknown 2>err &&
	test_grep "^error: origin: cannot reach remote: invalid or unknown remote ssh hostkey\$" err &&
	! test -e unknown
'

test_expect_success 'a host whose key differs from known_hosts is refused' '
	known_host "$S/other.pub" &&
	test_expect_exit 128 dmlctl clone "$URL" spoofed 2>err &&
	test_grep "invalid or unknown remote ssh hostkey" err &&
	! test -e spoofed
'

test_expect_success 'the right host key: clone over ssh verifies the ledger' '
	known_host "$S/host.pub" &&
	dmlctl clone "$URL" copy >out &&
	test_grep "^cloned into .copy.: 2 entries, every check passed\$" out &&
	test "$(head_of copy)" = "$(head_of hub.git)" &&
	check_repo copy &&
	dmlctl clone "$NOUSER_URL" nouser >out &&
	test_grep "^cloned into .nouser.: 2 entries, every check passed\$" out &&
	check_repo nouser
'

test_expect_success 'push and pull over ssh' '
	dmlctl -q -C copy ledger note -k alice -m "over ssh" &&
	dmlctl -C copy push >out &&
	test_grep "^origin: pushed 1 entries (#2..#2)\$" out &&
	test "$(head_of hub.git)" = "$(head_of copy)" &&
	dmlctl -q -C alice pull &&
	dmlctl -q -C alice ledger note -k alice -m "back" &&
	dmlctl -q -C alice push &&
	dmlctl -C copy pull >out &&
	test_grep "^origin: 1 new entries verified; fast-forward to 4 entries\$" out &&
	for r in alice copy hub.git
	do
		check_repo $r || return 1
	done
'

test_expect_success 'without the key in the agent the server refuses, and nothing changes' '
	ssh-add -q -D &&
	before=$(head_of copy) &&
	test_expect_exit 128 dmlctl -C copy fetch 2>err &&
	test_grep "^error: origin: cannot reach remote: the server accepts none of the keys the ssh agent holds (see ssh-add -l)\$" err &&
	test_expect_exit 128 env -u SSH_AUTH_SOCK dmlctl -C copy fetch 2>err &&
	test_grep "^error: origin: cannot reach remote: ssh keys come from the ssh agent, and there is none (SSH_AUTH_SOCK is not set)\$" err &&
	test "$(head_of copy)" = "$before" &&
	! test -e nokey &&
	test_expect_exit 128 dmlctl clone "$URL" nokey 2>err &&
	! test -e nokey &&
	ssh-add -q "$S/user"
'

test_done
