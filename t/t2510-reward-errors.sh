#!/bin/sh
test_description='dmlctl reward and balance: every payment that must not happen is refused with one clear error, and the ledger is left as it was'
. ./test-lib.sh

# Each refusal is checked the same way (refused): the exit status (2 for
# a usage error, 1 for "the ledger or its policy says no", 128 for an
# operational failure), one error line in the house style naming the
# problem, and the ledger ref unchanged with no lock left behind.  Last,
# the payments that were allowed add up and verify.

save_head() {
	git -C repo rev-parse refs/dml/ledger >head.before
}

head_unchanged() {
	git -C repo rev-parse refs/dml/ledger >head.after &&
	test_cmp head.before head.after &&
	find repo/.git -name "*.lock" >locks &&
	test_cmp /dev/null locks
}

# One error line, in the house style.
error_style() {
	grep "^error: " "$1" >err.lines &&
	test "$(wc -l <err.lines)" -eq 1 &&
	! grep "^error: [A-Z]" err.lines &&
	! grep "\.\$" err.lines
}

# refused STATUS PATTERN COMMAND...: COMMAND exits with STATUS, says PATTERN
# in one error line, prints nothing on stdout, and the ledger is unchanged.
refused() {
	_st=$1 _pat=$2 &&
	shift 2 &&
	save_head &&
	test_expect_exit "$_st" "$@" >out 2>err &&
	error_style err &&
	test_grep -e "$_pat" err &&
	test_cmp /dev/null out &&
	head_unchanged
}

# The key ID of key NAME (as setup wrote them down).
keyid() {
	sed -n "s/^$1 //p" "$TRASH_DIRECTORY/ids"
}

# contribute ROUND KEY CSV
contribute() {
	dmlctl -q -C repo update train --round "$1" -o "$PWD/$2.$1.upd" "$PWD/$3" &&
	dmlctl -q update sign -k "$2" "$2.$1.upd" 2>/dev/null &&
	dmlctl -q -C repo update submit -k "$2" "$PWD/$2.$1.upd"
}

# open_round NAME [options]: a stats-mode ridge round on x1, x2.
open_round() {
	_n=$1 &&
	shift &&
	dmlctl -q -C repo round open -k coord --name "$_n" --kind ridge --mode stats \
		--target y --features x1,x2 "$@"
}

cat >gen.py <<\EOF
import random
inv = open("inverted.csv", "w")
inv.write("x1,x2,y\n")
for k, name in enumerate(["v", "bob", "carol", "rita"]):
    r = random.Random(2510 + k)
    with open(name + ".csv", "w") as f:
        f.write("x1,x2,y\n")
        for i in range(30 + 10 * k):
            x1, x2 = round(r.uniform(-2, 2), 2), round(r.uniform(-2, 2), 2)
            y = 1 if 0.3 + x1 - 0.5 * x2 + r.gauss(0, 0.5) > 0 else 0
            f.write("%.2f,%.2f,%d\n" % (x1, x2, y))
            if name == "bob":
                # the same rows with every label wrong
                inv.write("%.2f,%.2f,%d\n" % (x1, x2, 1 - y))
EOF

test_expect_success 'setup: a supply of 1000, members, and rounds in every state' '
	for k in coord bob carol dave rita mallory
	do
		test_key $k &&
		echo "$k $(dmlctl key show $k | sed -n "s/^id  *//p")" >>ids || return 1
	done &&
	dmlctl -q init -k coord --supply 1000 repo &&
	for k in bob carol dave rita
	do
		dmlctl -q -C repo key add -k coord --name $k $k || return 1
	done &&
	"$PYTHON" gen.py &&
	dmlctl -q -C repo dataset publish -k coord --name val "$PWD/v.csv" &&
	# p1: ready to pay 100; big: a pool beyond the supply; np: no pool;
	# nv: no validation set; rv: one payee will be revoked
	open_round p1 --validation val --pool 100 &&
	open_round big --validation val --pool 5000 &&
	open_round np --validation val &&
	open_round nv --pool 10 &&
	open_round rv --validation val --pool 50 &&
	for r in p1 big np nv rv
	do
		contribute $r bob bob.csv &&
		contribute $r carol carol.csv || return 1
	done &&
	contribute rv rita rita.csv &&
	# ni: a model worse than none
	open_round ni --validation val --pool 10 &&
	contribute ni bob inverted.csv &&
	for r in p1 big np nv rv ni
	do
		dmlctl -q -C repo round aggregate -k coord $r || return 1
	done &&
	# op: still open; cl: closed; lg: a logistic round
	open_round op --validation val --pool 10 &&
	contribute op bob bob.csv &&
	open_round cl --validation val --pool 10 &&
	contribute cl bob bob.csv &&
	dmlctl -q -C repo round close -k coord cl &&
	dmlctl -q -C repo round open -k coord --name lg --kind logistic --target y \
		--features x1,x2 --validation val --pool 10 &&
	contribute lg bob bob.csv &&
	dmlctl -q -C repo round aggregate -k coord lg &&
	dmlctl -C repo reward compute --round p1 >/dev/null &&
	test "$(dmlctl -C repo balance coord)" = 1000
'

test_expect_success 'bad options are usage errors' '
	# compute and pay parse their options alike: pay, which could write, is
	# tried with each
	for verb in "pay -k coord"
	do
		refused 2 "give --round <round>" dmlctl -C repo reward $verb &&
		refused 2 "takes no arguments" dmlctl -C repo reward $verb --round p1 p1 &&
		refused 2 "--method .foo.: expected exact, permutation, loo, banzhaf or proportional" \
			dmlctl -C repo reward $verb --round p1 --method foo &&
		refused 2 "--delta .2.: expected a number in (0, 1)" \
			dmlctl -C repo reward $verb --round p1 --method permutation --permutations 10 \
			--delta 2 &&
		refused 2 "--delta .0.: expected a number in (0, 1)" \
			dmlctl -C repo reward $verb --round p1 --delta 0 &&
		refused 2 "--epsilon .0.: expected a number > 0" \
			dmlctl -C repo reward $verb --round p1 --method permutation --epsilon 0 &&
		refused 2 "--epsilon .nan.: expected a number > 0" \
			dmlctl -C repo reward $verb --round p1 --method permutation --epsilon nan &&
		refused 2 "^error: --permutations .*permutation" \
			dmlctl -C repo reward $verb --round p1 --permutations 10 &&
		refused 2 "^error: --epsilon .*permutation" \
			dmlctl -C repo reward $verb --round p1 --method loo --epsilon 0.1 &&
		refused 2 "--method permutation needs --permutations or --epsilon" \
			dmlctl -C repo reward $verb --round p1 --method permutation &&
		refused 2 "--pool .-1.: expected a whole number" \
			dmlctl -C repo reward $verb --round p1 --pool -1 &&
		refused 2 "--pool .12x.: expected a whole number" \
			dmlctl -C repo reward $verb --round p1 --pool 12x &&
		# what no entry can record
		refused 2 "--pool .9223372036854775808.: expected a whole number up to 9223372036854775807" \
			dmlctl -C repo reward $verb --round p1 --pool 9223372036854775808 &&
		refused 2 "--pool .18446744073709551615.: expected a whole number up to" \
			dmlctl -C repo reward $verb --round p1 --pool 18446744073709551615 &&
		refused 2 "--threads: at most 1024" \
			dmlctl -C repo reward $verb --round p1 --threads 1025 || return 1
	done &&
	refused 2 "give --round <round>" dmlctl -C repo reward compute &&
	refused 2 "--method .foo.: expected exact" dmlctl -C repo reward compute --round p1 \
		--method foo &&
	refused 2 "--pool .9223372036854775808.: expected a whole number up to" \
		dmlctl -C repo reward compute --round p1 --pool 9223372036854775808 &&
	refused 2 "takes no arguments" dmlctl -C repo reward list p1 &&
	refused 2 "takes at most one key" dmlctl -C repo balance bob carol
'

test_expect_success 'a utility that does not fit the kind of model' '
	for verb in compute "pay -k coord"
	do
		refused 2 "utility .accuracy. does not fit a ridge model" \
			dmlctl -C repo reward $verb --round p1 --utility accuracy &&
		refused 2 "utility .log-loss. does not fit a ridge model" \
			dmlctl -C repo reward $verb --round p1 --utility log-loss &&
		refused 2 "utility .mse. does not fit a logistic model" \
			dmlctl -C repo reward $verb --round lg --utility mse &&
		refused 2 "utility .rmse." \
			dmlctl -C repo reward $verb --round p1 --utility rmse || return 1
	done
'

test_expect_success 'a round that is missing, open, closed, or without a validation set' '
	for verb in compute "pay -k coord"
	do
		refused 128 "no round named .nosuch." dmlctl -C repo reward $verb --round nosuch &&
		refused 2 "round .op. is not aggregated" dmlctl -C repo reward $verb --round op &&
		refused 2 "round .cl. is not aggregated" dmlctl -C repo reward $verb --round cl &&
		refused 2 "the round names no validation dataset (see .round open --validation.)" \
			dmlctl -C repo reward $verb --round nv || return 1
	done
'

test_expect_success 'a round without a pool is paid only with --pool' '
	refused 2 "round .np. has no pool: give --pool <units>" \
		dmlctl -C repo reward pay -k coord --round np &&
	# computing needs no pool: every share is then 0 tokens
	dmlctl -C repo --json reward compute --round np >np.json &&
	"$PYTHON" -c "
import json
o = json.load(open(\"np.json\"))
assert o[\"pool\"] == 0 and [c[\"tokens\"] for c in o[\"contributors\"]] == [0, 0], o
"
'

test_expect_success 'a round whose model is no better than its base pays nothing' '
	dmlctl -C repo --json reward compute --round ni >ni.json &&
	test "$(json_get ni.json u_full)" = 0.0 &&
	test "$(json_get ni.json contributors.0.value)" = 0.0 &&
	refused 2 "round .ni. did not improve on its base model" \
		dmlctl -C repo reward pay -k coord --round ni
'

test_expect_success 'only a treasurer pays' '
	refused 1 "key .ed25519:[0-9a-f]*. may not write .reward.pay. entries: the policy requires role treasurer" \
		dmlctl -C repo reward pay -k dave --round p1 &&
	refused 1 "key .ed25519:[0-9a-f]*. may not write .reward.pay. entries" \
		dmlctl -C repo reward pay -k bob --round p1 &&
	refused 1 "key .ed25519:[0-9a-f]*. is not a member of this ledger" \
		dmlctl -C repo reward pay -k mallory --round p1
'

test_expect_success 'a payee revoked before the payment' '
	dmlctl -C repo --json reward compute --round rv >rv.json &&
	# rita has a share to be paid
	"$PYTHON" -c "
import json, sys
t = {c[\"key\"]: c[\"tokens\"] for c in json.load(open(\"rv.json\"))[\"contributors\"]}
assert len(t) == 3 and t[sys.argv[1]] > 0, t
" "$(keyid rita)" &&
	dmlctl -q -C repo key revoke -k coord rita &&
	refused 1 "payee .$(keyid rita). is not a member" \
		dmlctl -C repo reward pay -k coord --round rv &&
	# the values do not depend on who is a member now
	dmlctl -C repo --json reward compute --round rv >rv2.json &&
	test_cmp rv.json rv2.json
'

test_expect_success 'a pool beyond the treasurer'\''s balance is refused, to the last unit' '
	refused 1 "holds 1000 tokens, short of the pool of 5000" \
		dmlctl -C repo reward pay -k coord --round big &&
	refused 1 "holds 1000 tokens, short of the pool of 1001" \
		dmlctl -C repo reward pay -k coord --round p1 --pool 1001 &&
	# the round stays unpaid: it can still be paid within the balance
	dmlctl -q -C repo reward pay -k coord --round p1 &&
	test "$(dmlctl -C repo balance coord)" = 900 &&
	refused 1 "holds 900 tokens, short of the pool of 901" \
		dmlctl -C repo reward pay -k coord --round big --pool 901 &&
	dmlctl -q -C repo reward pay -k coord --round big --pool 900 &&
	test "$(dmlctl -C repo balance coord)" = 0 &&
	refused 1 "holds 0 tokens, short of the pool of 1" \
		dmlctl -C repo reward pay -k coord --round np --pool 1
'

test_expect_success 'a round is paid once' '
	seq=$(dmlctl -C repo --json reward list | "$PYTHON" -c "
import json, sys
print([r[\"seq\"] for r in json.load(sys.stdin) if r[\"round\"] == \"p1\"][0])") &&
	refused 1 "round .p1. was paid at entry #$seq\$" \
		dmlctl -C repo reward pay -k coord --round p1 &&
	refused 1 "round .p1. was paid at entry #$seq\$" \
		dmlctl -C repo reward pay -k coord --round p1 --pool 0 --method loo &&
	# computing a paid round is still allowed: it writes nothing
	save_head &&
	dmlctl -C repo reward compute --round p1 >/dev/null &&
	head_unchanged
'

test_expect_success 'balance of an unknown key' '
	refused 128 "no key named .nosuch." dmlctl -C repo balance nosuch &&
	test "$(dmlctl -C repo balance mallory)" = 0
'

test_expect_success 'what was allowed adds up and verifies' '
	dmlctl -C repo reward list >list &&
	test "$(wc -l <list)" = 2 &&
	test_grep "^p1  *#[0-9]*  *exact  *100 tokens to 2 contributors\$" list &&
	test_grep "^big  *#[0-9]*  *exact  *900 tokens to 2 contributors\$" list &&
	test "$(( $(dmlctl -C repo balance bob) + $(dmlctl -C repo balance carol) ))" = 1000 &&
	dmlctl -C repo ledger verify
'

test_done
