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

test_expect_success 'the verbs of model are the ones dmlctl reports' '
	helper_words model >expect &&
	test_grep "^train$" expect &&
	test_grep "^predict$" expect &&
	test_complete dmlctl model "" >actual &&
	test_cmp expect actual
'

test_expect_success 'a choice completes to the words that -h shows, per verb' '
	printf "%s\n" logistic ols ridge >expect &&
	test_complete dmlctl model train --kind "" >actual &&
	test_cmp expect actual &&
	echo logistic >expect &&
	test_complete dmlctl model train --kind=l >actual &&
	test_cmp expect actual &&
	printf "%s\n" csv json >expect &&
	test_complete dmlctl model export --format "" >actual &&
	test_cmp expect actual &&
	printf "%s\n" csv tsv >expect &&
	test_complete dmlctl model predict --format "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl model evaluate --format "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl model train --name "" >actual &&
	! test -s actual
'

test_expect_success 'model arguments complete from dmlctl model list; --dataset and --validation to datasets' '
	printf "x,y\n1,1\n2,3\n3,2\n" >m.csv &&
	dmlctl -q -C repo dataset publish -k alice --name tiny "$PWD/m.csv" &&
	dmlctl -q -C repo model train -k alice --name fit --dataset tiny --target y &&
	dmlctl -q -C repo model train -k alice --name fit2 --dataset tiny --target y &&
	printf "%s\n" fit fit2 >expect &&
	test_complete dmlctl -C repo model show "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl -C repo model export --format csv f >actual &&
	test_cmp expect actual &&
	test_complete dmlctl -C repo model predict -o out.csv "" >actual &&
	test_cmp expect actual &&
	echo m.csv >expect &&
	test_complete dmlctl -C repo model predict fit m. >actual &&
	test_cmp expect actual &&
	test_complete dmlctl -C repo model evaluate --file m. >actual &&
	test_cmp expect actual &&
	printf "%s\n" heart hiv tiny >expect &&
	test_complete dmlctl -C repo model train --dataset "" >actual &&
	test_cmp expect actual &&
	echo tiny >expect &&
	test_complete dmlctl -C repo model train --dataset heart --validation t >actual &&
	test_cmp expect actual
'

test_expect_success 'the verbs of round and update are the ones dmlctl reports' '
	helper_words round >expect &&
	test_grep "^open$" expect &&
	test_grep "^aggregate$" expect &&
	test_complete dmlctl round "" >actual &&
	test_cmp expect actual &&
	helper_words update >expect &&
	test_grep "^train$" expect &&
	test_grep "^submit$" expect &&
	test_complete dmlctl update "" >actual &&
	test_cmp expect actual
'

test_expect_success 'round open completes --kind and --mode, update train --format, as -h shows them' '
	printf "%s\n" logistic ols ridge >expect &&
	test_complete dmlctl round open --kind "" >actual &&
	test_cmp expect actual &&
	printf "%s\n" stats weights >expect &&
	test_complete dmlctl round open --mode "" >actual &&
	test_cmp expect actual &&
	printf "%s\n" csv tsv >expect &&
	test_complete dmlctl update train --format "" >actual &&
	test_cmp expect actual
'

test_expect_success 'round arguments and --round complete from dmlctl round list, open rounds where it matters' '
	printf "x,y\n1,1\n2,3\n3,2\n" >r.csv &&
	dmlctl -q -C repo round open -k alice --name done --target y --features x &&
	dmlctl -q -C repo round open -k alice --name live --target y --features x &&
	dmlctl -q -C repo round open -k alice --name shut --target y --features x &&
	dmlctl -q -C repo update train --round done -o "$PWD/u.upd" "$PWD/r.csv" &&
	dmlctl -q update sign -k alice u.upd &&
	dmlctl -q -C repo update submit -k alice "$PWD/u.upd" &&
	dmlctl -q -C repo round aggregate -k alice done &&
	dmlctl -q -C repo round close -k alice shut &&
	printf "%s\n" done live shut >expect &&
	test_complete dmlctl -C repo round status "" >actual &&
	test_cmp expect actual &&
	echo live >expect &&
	test_complete dmlctl -C repo round aggregate -k alice "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl -C repo round close "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl -C repo update train --round "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl -C repo round status live "" >actual &&
	! test -s actual
'

test_expect_success '--base-model completes models and aggregated rounds; update files complete as files' '
	printf "%s\n" done fit fit2 >expect &&
	test_complete dmlctl -C repo round open --base-model "" >actual &&
	test_cmp expect actual &&
	echo u.upd >expect &&
	test_complete dmlctl update verify u. >actual &&
	test_cmp expect actual &&
	test_complete dmlctl update submit -k alice u. >actual &&
	test_cmp expect actual &&
	echo r.csv >expect &&
	test_complete dmlctl update train --round live -o new.upd r. >actual &&
	test_cmp expect actual
'

test_expect_success 'the verbs of reward are the ones dmlctl reports; balance has none' '
	helper_words reward >expect &&
	test_grep "^compute$" expect &&
	test_grep "^pay$" expect &&
	test_complete dmlctl reward "" >actual &&
	test_cmp expect actual &&
	echo --json >expect &&
	test_complete dmlctl balance --j >actual &&
	test_cmp expect actual
'

test_expect_success 'a choice that an option description lists completes to its words' '
	printf "%s\n" banzhaf exact loo permutation proportional >expect &&
	test_complete dmlctl reward compute --method "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl reward pay -k alice --method "" >actual &&
	test_cmp expect actual &&
	echo permutation >expect &&
	test_complete dmlctl reward compute --method=pe >actual &&
	test_cmp expect actual &&
	printf "%s\n" accuracy log-loss mse >expect &&
	test_complete dmlctl reward pay --utility "" >actual &&
	test_cmp expect actual &&
	printf "%s\n" bulyan fedavg krum median multi-krum trimmed-mean >expect &&
	test_complete dmlctl round open --rule "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl reward compute --pool "" >actual &&
	! test -s actual &&
	test_complete dmlctl reward compute --delta "" >actual &&
	! test -s actual
'

test_expect_success '--round completes aggregated rounds for reward compute, unpaid ones for reward pay' '
	dmlctl -q init -k alice --supply 100 paid >/dev/null &&
	dmlctl -q -C paid dataset publish -k alice --name check --allow evaluate "$PWD/r.csv" &&
	for r in one three two; do
		dmlctl -q -C paid round open -k alice --name $r --kind ridge --mode stats \
			--target y --features x --validation check --pool 10 || return 1
	done &&
	for r in one two; do
		dmlctl -q -C paid update train --round $r -o "$PWD/$r.upd" "$PWD/r.csv" &&
		dmlctl -q update sign -k alice $r.upd &&
		dmlctl -q -C paid update submit -k alice "$PWD/$r.upd" &&
		dmlctl -q -C paid round aggregate -k alice $r || return 1
	done &&
	dmlctl -q -C paid reward pay -k alice --round one &&
	printf "%s\n" one two >expect &&
	test_complete dmlctl -C paid reward compute --round "" >actual &&
	test_cmp expect actual &&
	echo two >expect &&
	test_complete dmlctl -C paid reward pay -k alice --round "" >actual &&
	test_cmp expect actual &&
	echo three >expect &&
	test_complete dmlctl -C paid update train --round "" >actual &&
	test_cmp expect actual
'

test_expect_success 'balance completes key names, once' '
	printf "%s\n" alice bob >expect &&
	test_complete dmlctl balance "" >actual &&
	test_cmp expect actual &&
	test_complete dmlctl --json balance a >actual &&
	echo alice >expect &&
	test_cmp expect actual &&
	test_complete dmlctl balance alice "" >actual &&
	! test -s actual
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
