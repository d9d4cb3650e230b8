#!/bin/sh
#
# install-deps.sh: make sure what dmlctl needs to build and test is installed.
#
# A package counts as present when dpkg says it is installed, or, for a
# library, when pkg-config finds it, or, for a tool, when the command is on
# PATH (so a library built from source or another distribution's packages
# pass too).  Prints nothing when everything is present.  Otherwise installs
# the missing Debian packages with apt-get, as root or through sudo when
# sudo needs no password, and else prints the command to run and exits 1.

# package:pkg-config-modules-or-commands (alternatives separated by '|')
deps='
libgit2-dev:pc=libgit2
libsodium-dev:pc=libsodium
libssl-dev:pc=libcrypto
libzstd-dev:pc=libzstd
zlib1g-dev:pc=zlib
liblapacke-dev:pc=lapacke
libopenblas-dev:pc=openblas|blas
libcmocka-dev:pc=cmocka
libjansson-dev:pc=jansson
pkg-config:cmd=pkg-config
gcc:cmd=gcc
make:cmd=make
git:cmd=git
openssh-client:cmd=ssh-keygen
python3:cmd=python3
strace:cmd=strace
'

installed() {
	command -v dpkg-query >/dev/null 2>&1 &&
		dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q 'install ok installed'
}

present_otherwise() {
	kind=${1%%=*}
	names=${1#*=}
	old_ifs=$IFS
	IFS='|'
	# shellcheck disable=SC2086 # split on '|'
	set -- $names
	IFS=$old_ifs
	for n; do
		case $kind in
		pc) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$n" && return 0 ;;
		cmd) command -v "$n" >/dev/null 2>&1 && return 0 ;;
		esac
	done
	return 1
}

missing=
for d in $deps; do
	pkg=${d%%:*}
	installed "$pkg" || present_otherwise "${d#*:}" || missing="${missing:+$missing }$pkg"
done
[ -z "$missing" ] && exit 0

echo "install-deps: missing: $missing" >&2
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: no apt-get here; install the equivalents of these Debian packages: $missing" >&2
	exit 1
fi

if [ "$(id -u)" = 0 ]; then
	as_root=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=sudo
else
	echo "install-deps: run this, then try again:" >&2
	echo "    sudo apt-get install -y $missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # $missing is a list of package names
if ! { $as_root apt-get update -q &&
	$as_root apt-get install -y -q --no-install-recommends $missing; }; then
	echo "install-deps: apt-get failed; the packages needed are: $missing" >&2
	exit 1
fi
