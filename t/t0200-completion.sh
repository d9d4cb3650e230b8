#!/bin/sh
test_description='bash completion: commands, verbs, options and key names come from dmlctl'

if ! command -v bash >/dev/null 2>&1; then
	echo '1..0 # SKIP bash is not installed'
	exit 0
fi

. ./test-lib.sh

COMPLETION=${DMLCTL_SOURCE_DIR:-$TEST_DIRECTORY/..}/contrib/completion/dmlctl.bash

# test_complete WORD... : complete the last word as bash would after the
# others (an empty last word is a TAB after a space); print the candidates
# one per line, sorted.
test_complete() {
	bash -c '
		. "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_dmlctl || exit 1
		for w in "${COMPREPLY[@]}"; do
			printf "%s\n" "$w"
		done
	' test_complete "$COMPLETION" "$@" >complete.raw &&
	sort complete.raw
}

# The words of a completion helper's answer, one per line, sorted.
helper_words() {
	dmlctl "$@" --dmlctl-completion-helper >helper.raw &&
	tr ' ' '\n' <helper.raw | sed '/^$/d' | sort
}

test_expect_success 'the script loads in bash and registers _dmlctl for dmlctl' '
	bash -c ". \"\$1\" && complete -p dmlctl" test "$COMPLETION" >out &&
	test_grep "_dmlctl" out
'

test_expect_success 'the commands are the ones dmlctl reports' '
	helper_words >expect &&
	test_grep "^init$" expect &&
	test_grep "^key$" expect &&
	test_grep "^ledger$" expect &&
	test_complete dmlctl "" >actual &&
	test_cmp expect actual
'

test_expect_success 'a command prefix completes to the command' '
	echo ledger >expect &&
	test_complete dmlctl led >actual &&
	test_cmp expect actual
'

test_expect_success 'the verbs of key are the ones dmlctl reports' '
	helper_words key >expect &&
	test_grep "^generate$" expect &&
	test_grep "^revoke$" expect &&
	test_complete dmlctl key "" >actual &&
	test_cmp expect actual
'

test_expect_success 'global options before the command are skipped, -C with its directory' '
	echo verify >expect &&
	test_complete dmlctl -C . --json ledger ver >actual &&
	test_cmp expect actual
'

test_expect_success 'global options complete from dmlctl -h' '
	test_complete dmlctl - >actual &&
	test_grep "^-C$" actual &&
	test_grep "^--json$" actual &&
	test_grep "^--quiet$" actual &&
	echo --json >expect &&
	test_complete dmlctl --js >actual &&
	test_cmp expect actual
'

test_expect_success 'a verb completes its long options' '
	cat >expect <<-\EOF &&
	--help
	--json
	--no-passphrase
	EOF
	test_complete dmlctl key generate -- >actual &&
	test_cmp expect actual
'

test_expect_success 'a command without verbs completes its options' '
	echo --bare >expect &&
	test_complete dmlctl init --ba >actual &&
	test_cmp expect actual
'

test_expect_success '-k and --key complete key names from dmlctl key list' '
	test_key alice &&
	test_key bob &&
	printf "%s\n" alice bob >expect &&
	test_complete dmlctl ledger note -k "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl key add --key "" >actual &&
	test_cmp expect actual
'

test_expect_success '--key=VALUE completes, however bash splits the word' '
	echo bob >expect &&
	test_complete dmlctl ledger note --key = b >actual &&
	test_cmp expect actual &&
	test_complete dmlctl ledger note --key=b >actual &&
	test_cmp expect actual
'

test_expect_success 'after an option that takes a value, no options are offered' '
	test_complete dmlctl ledger note -m "" >actual &&
	! test -s actual
'

test_expect_success 'a key argument completes key names, past options and their values' '
	printf "%s\n" alice bob >expect &&
	test_complete dmlctl key show "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl key revoke -k alice --reason lost "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl key show alice "" >actual &&
	! test -s actual
'

test_expect_success '--attach completes file names' '
	: >data.csv &&
	echo data.csv >expect &&
	test_complete dmlctl ledger note --attach dat >actual &&
	test_cmp expect actual
'

test_expect_success 'dataset arguments complete from dmlctl dataset list in the -C repository; --format to csv, tsv' '
	test_init_repo repo alice &&
	printf "a,b\n1,2\n" >t.csv &&
	dmlctl -q -C repo dataset publish -k alice --name heart "$PWD/t.csv" &&
	dmlctl -q -C repo dataset publish -k alice --name hiv "$PWD/t.csv" &&
	printf "%s\n" heart hiv >expect &&
	test_complete dmlctl -C repo dataset get -o out.csv "" >actual &&
	test_cmp expect actual &&
	echo heart >expect &&
	test_complete dmlctl -C repo dataset show --json he >actual &&
	test_cmp expect actual &&
	test_complete dmlctl -C repo dataset verify heart "" >actual &&
	! test -s actual &&
	printf "%s\n" csv tsv >expect &&
	test_complete dmlctl dataset publish --format "" >actual &&
	test_cmp expect actual
'

test_expect_success 'help completes command names' '
	echo key >expect &&
	test_complete dmlctl help ke >actual &&
	test_cmp expect actual
'

test_expect_success 'an unknown command completes nothing and fails nothing' '
	test_complete dmlctl frobnicate "" >actual &&
	! test -s actual
'

test_done
