#!/bin/sh
test_description='the dmlctl binary: help, version, usage errors, exit codes'
. ./test-lib.sh

test_expect_success 'dmlctl -h lists the commands' '
	dmlctl -h >out &&
	test_grep "^    init " out &&
	test_grep "^    key " out &&
	test_grep "^    ledger " out
'

test_expect_success 'no command is a usage error' '
	test_expect_exit 2 dmlctl 2>err &&
	test_grep "usage: dmlctl" err
'

test_expect_success 'an unknown command suggests the closest one' '
	test_expect_exit 2 dmlctl legder 2>err &&
	test_grep "not a dmlctl command" err &&
	test_grep "ledger" err
'

test_expect_success '--version names the linked libraries' '
	dmlctl --version >out &&
	test_grep "^dmlctl " out &&
	test_grep "^libgit2 [0-9]" out &&
	test_grep "^libsodium [0-9]" out &&
	test_grep "^zstd [0-9]" out &&
	dmlctl --json version >out.json &&
	test_grep "\"libgit2\"" out.json
'

test_expect_success 'an unknown global option is a usage error' '
	test_expect_exit 2 dmlctl --frobnicate key list 2>err &&
	test_grep "unknown global option" err
'

test_expect_success 'a full stdout is an error, not silent loss' '
	if [ -w /dev/full ]; then
		test_expect_exit 128 dmlctl -h >/dev/full 2>err &&
		test_grep "cannot write to standard output" err
	fi
'

test_done
