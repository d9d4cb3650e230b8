#!/bin/sh
test_description='dmlctl model: bad input is a clear error with the documented exit status, and training that fails appends nothing'
. ./test-lib.sh

# The ledger head before a command that must fail, and the check that it is
# still there afterwards, with no lock left behind.
save_head() {
	git -C repo rev-parse refs/dml/ledger >head.before
}

head_unchanged() {
	git -C repo rev-parse refs/dml/ledger >head.after &&
	test_cmp head.before head.after &&
	find repo/.git -name "*.lock" >locks &&
	test_cmp /dev/null locks
}

# One error line, in the house style: "error: ", lowercase, no full stop.
error_style() {
	grep "^error: " "$1" >err.lines &&
	test "$(wc -l <err.lines)" -eq 1 &&
	! grep "^error: [A-Z]" err.lines &&
	! grep "\.\$" err.lines
}

# train_fails STATUS PATTERN ARGS...: alice training model "m" with ARGS
# must exit with STATUS, say PATTERN in one error line, and append nothing.
train_fails() {
	_st=$1 _pat=$2 &&
	shift 2 &&
	save_head &&
	test_expect_exit "$_st" dmlctl -C repo model train -k alice --name m "$@" >out 2>err &&
	test_cmp /dev/null out &&
	error_style err &&
	test_grep -e "$_pat" err &&
	head_unchanged
}

# use_fails STATUS PATTERN VERB ARGS...: a model verb that must fail.
use_fails() {
	_st=$1 _pat=$2 &&
	shift 2 &&
	save_head &&
	test_expect_exit "$_st" dmlctl -C repo model "$@" >out 2>err &&
	error_style err &&
	test_grep -e "$_pat" err &&
	head_unchanged
}

test_expect_success 'setup: a ledger, datasets good and bad, two models' '
	test_key alice &&
	test_key carol &&
	dmlctl -q init -k alice repo &&
	cat >d.csv <<-\EOF &&
	x1,x2,name,y,cls3,big,lab
	1,2,a,3,p,0,no
	2,1,b,4,q,1,yes
	3,5,a,9,r,2,no
	4,2,c,8,p,0,yes
	5,7,b,15,q,1,yes
	6,3,c,11,p,0,no
	EOF
	cat >miss.csv <<-\EOF &&
	x1,x2,y
	1,2,3
	2,,4
	3,5,NA
	4,2,8
	5,7,15
	6,1,9
	EOF
	cat >nofeat.csv <<-\EOF &&
	x1,x2,y
	NA,1,0
	,2,1
	NA,3,0
	EOF
	cat >sep.csv <<-\EOF &&
	x,y
	1,0
	2,0
	3,1
	4,1
	EOF
	cat >onlyx1.csv <<-\EOF &&
	x1,y
	1,2
	2,3
	EOF
	dmlctl -q -C repo dataset publish -k alice --name d "$PWD/d.csv" &&
	dmlctl -q -C repo dataset publish -k alice --name miss "$PWD/miss.csv" &&
	dmlctl -q -C repo dataset publish -k alice --name nofeat "$PWD/nofeat.csv" &&
	dmlctl -q -C repo dataset publish -k alice --name sep "$PWD/sep.csv" &&
	dmlctl -q -C repo dataset publish -k alice --name onlyx1 "$PWD/onlyx1.csv" &&
	dmlctl -q -C repo dataset publish -k alice --name evalonly --allow evaluate "$PWD/d.csv" &&
	dmlctl -q -C repo dataset publish -k alice --name trainonly --allow train "$PWD/d.csv" &&
	dmlctl -q -C repo model train -k alice --name good --dataset d --target y \
		--features x1,x2,name --kind ols &&
	dmlctl -q -C repo model train -k alice --name lg --dataset d --target lab \
		--features x1,x2 --kind logistic --lambda 1 &&
	dmlctl -C repo model list >list &&
	test "$(wc -l <list)" -eq 2
'

test_expect_success 'an unknown column in --features, --exclude or --target' '
	train_fails 2 "^error: dataset .d@1. has no column .nosuch.\$" \
		--dataset d --target y --features x1,nosuch &&
	train_fails 2 "^error: --exclude: dataset .d. has no column .nosuch.\$" \
		--dataset d --target y --exclude nosuch &&
	train_fails 2 "^error: dataset .d@1. has no column .nosuch.\$" \
		--dataset d --target nosuch &&
	train_fails 2 "^error: dataset .onlyx1@1. has no column .x2.\$" \
		--dataset d --dataset onlyx1 --target y --features x1,x2
'

test_expect_success 'the target as a feature, a feature twice' '
	train_fails 2 "column .y. is the target and cannot be a feature" \
		--dataset d --target y --features x1,y &&
	train_fails 2 "feature .x1. is listed twice" --dataset d --target y --features x1,x2,x1
'

test_expect_success 'a non-numeric target for ols and ridge' '
	train_fails 2 "target .name. is not numeric in dataset .d@1. (a string column): ols regression needs numbers" \
		--dataset d --target name --features x1 --kind ols &&
	train_fails 2 "target .lab. is not numeric .*: ridge regression needs numbers" \
		--dataset d --target lab --features x1
'

test_expect_success 'more than two classes, or a numeric target beyond 0 and 1, for logistic' '
	train_fails 2 "target .cls3. has a third class .r. (besides .p. and .q.): logistic regression is binary" \
		--dataset d --target cls3 --features x1 --kind logistic --lambda 1 &&
	grep "line 4" err &&
	train_fails 2 "target .big. in dataset .d@1. ranges from 0 to 2: a logistic target holds 0 and 1, or two labels" \
		--dataset d --target big --features x1 --kind logistic --lambda 1 &&
	train_fails 2 "target .y. .* ranges from 3 to 15" \
		--dataset d --target y --features x1 --kind logistic
'

test_expect_success 'a missing value is an error naming the line and column' '
	train_fails 128 "^error: dataset .miss@1. line 3 column .x2.: missing value (use --drop-missing to skip such rows)\$" \
		--dataset miss --target y --kind ols &&
	train_fails 128 "^error: dataset .miss@1. line 4 column .y.: missing target (use --drop-missing to skip such rows)\$" \
		--dataset miss --target y --features x1 --kind ols
'

test_expect_success 'nan, inf and overflowing numbers in a training column are refused' '
	printf "x,y\\n1,2\\n-Inf,3\\n2,4\\n" >nonfinite.csv &&
	printf "x,y\\n1,2\\n2,NaN\\n3,4\\n" >nonfinite-y.csv &&
	printf "x,y\\n1,2\\n1e999,3\\n2,4\\n" >overflow.csv &&
	dmlctl -q -C repo dataset publish -k alice --name nonfinite "$PWD/nonfinite.csv" &&
	dmlctl -q -C repo dataset publish -k alice --name nonfinite-y "$PWD/nonfinite-y.csv" &&
	dmlctl -q -C repo dataset publish -k alice --name overflow "$PWD/overflow.csv" &&
	train_fails 128 "^error: dataset .nonfinite@1. line 3 column .x.: .-Inf. is not a finite number (training refuses NaN and infinite values)\$" \
		--dataset nonfinite --target y --kind ols &&
	train_fails 128 "^error: dataset .overflow@1. line 3 column .x.: .1e999. is not a finite number" \
		--dataset overflow --target y --kind ols &&
	train_fails 2 "^error: target .y. is not numeric in dataset .nonfinite-y@1." \
		--dataset nonfinite-y --target y --kind ridge
'

test_expect_success '--drop-missing skips such rows and counts them as dropped' '
	dmlctl -C repo --json model train -k alice --name dm --dataset miss --target y \
		--kind ols --drop-missing >dm.json &&
	test "$(json_get dm.json rows)" = 4 &&
	test "$(json_get dm.json dropped)" = 2 &&
	test "$(json_get dm.json train.rows)" = 4 &&
	dmlctl -C repo --json model show dm >dm.show &&
	test "$(json_get dm.show body.options)" = drop-missing,intercept &&
	test "$(json_get dm.show body.dropped)" = 2 &&
	dmlctl -C repo model train -k alice --name dm2 --dataset miss --target y \
		--features x1 --kind ols --drop-missing >dm2.out &&
	test_grep "^ols on 1 feature, 5 rows (1 dropped for missing values); solved by Cholesky\$" dm2.out
'

test_expect_success '--drop-missing with --holdout: dropped counts training rows, held the measured ones' '
	"$PYTHON" - <<-\EOF &&
	import random
	r = random.Random(5)
	with open("hm.csv", "w") as f:
	    f.write("x,y\n")
	    for i in range(200):
	        x = r.uniform(0, 1)
	        f.write("%s,%r\n" % ("NA" if i % 7 == 0 else repr(x), 2 * x + r.gauss(0, 0.1)))
	EOF
	dmlctl -q -C repo dataset publish -k alice --name hm "$PWD/hm.csv" &&
	dmlctl -C repo --json model train -k alice --name hm --dataset hm --target y --kind ols \
		--drop-missing --holdout 0.3 --seed 1 >hm.json &&
	"$PYTHON" - <<-\EOF
	import json
	M = (1 << 64) - 1
	def sm(x):
	    x = (x + 0x9e3779b97f4a7c15) & M
	    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
	    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M
	    return x ^ (x >> 31)
	held = [(sm((1 + sm(i)) & M) >> 11) * 2.0 ** -53 < 0.3 for i in range(200)]
	missing = [i % 7 == 0 for i in range(200)]
	want = {
	    "rows": sum(1 for h, m in zip(held, missing) if not h and not m),
	    "dropped": sum(1 for h, m in zip(held, missing) if not h and m),
	    "held": sum(1 for h, m in zip(held, missing) if h and not m),
	}
	assert sum(1 for h, m in zip(held, missing) if h and m) > 0
	got = json.load(open("hm.json"))
	assert all(got[k] == v for k, v in want.items()), (got, want)
	assert got["valid"]["rows"] == want["held"] and got["train"]["rows"] == want["rows"], got
	EOF
'

test_expect_success 'no rows left after dropping the incomplete ones' '
	train_fails 2 "^error: no rows left to train on after dropping rows with missing values\$" \
		--dataset nofeat --target y --kind ols --drop-missing &&
	train_fails 2 "^error: no rows left to train on after dropping rows with missing values\$" \
		--dataset nofeat --target y --kind ridge --standardize --drop-missing &&
	train_fails 2 "^error: no rows to fit" \
		--dataset nofeat --target y --kind logistic --lambda 1 --drop-missing
'

test_expect_success 'a dataset whose terms do not allow training, or evaluation' '
	train_fails 1 "^error: dataset .evalonly@1. does not allow .train. (its terms allow: evaluate)\$" \
		--dataset evalonly --target y --kind ols &&
	train_fails 1 "^error: dataset .trainonly@1. does not allow .evaluate. (its terms allow: train)\$" \
		--dataset d --validation trainonly --target y --kind ols &&
	use_fails 1 "^error: dataset .trainonly@1. does not allow .evaluate. (its terms allow: train)\$" \
		evaluate good --dataset trainonly
'

test_expect_success 'a key that is not a member, and a name another key owns' '
	train_fails 1 "not a member" --dataset d --target y --kind ols -k carol &&
	save_head &&
	test_expect_exit 1 dmlctl -C repo model train -k carol --name good --dataset d \
		--target y --kind ols 2>err &&
	head_unchanged
'

test_expect_success 'perfectly separable classes without a penalty: refused, with a hint' '
	train_fails 2 "perfectly separable.*hint: use an L2 penalty (lambda > 0)\$" \
		--dataset sep --target y --kind logistic &&
	train_fails 2 "perfectly separable" --dataset sep --target y --kind logistic --lambda 0 &&
	dmlctl -q -C repo model train -k alice --name sep --dataset sep --target y \
		--kind logistic --lambda 0.1
'

test_expect_success 'options that contradict each other, and bad numbers' '
	train_fails 2 "^error: give --validation or --holdout, not both\$" \
		--dataset d --validation miss --holdout 0.2 --target y &&
	train_fails 2 "^error: give --features or --exclude, not both\$" \
		--dataset d --target y --features x1 --exclude x2 &&
	train_fails 2 "^error: --lambda: ols has no penalty (use --kind ridge)\$" \
		--dataset d --target y --kind ols --lambda 1 &&
	for h in 0 1 -0.1 1.5 abc nan inf ""
	do
		train_fails 2 "^error: --holdout .$h.: expected a fraction between 0 and 1\$" \
			--dataset d --target y --holdout "$h" || return 1
	done &&
	for l in -1 abc inf nan -inf ""
	do
		train_fails 2 "^error: --lambda .$l.: expected a number >= 0\$" \
			--dataset d --target y --lambda "$l" || return 1
	done &&
	train_fails 2 "^error: --kind .bogus.: expected ols, ridge or logistic\$" \
		--dataset d --target y --kind bogus &&
	train_fails 2 "--seed" --dataset d --target y --holdout 0.5 --seed -1 &&
	train_fails 2 "--seed" --dataset d --target y --holdout 0.5 --seed 9223372036854775808 &&
	train_fails 2 "^error: dataset .d@1. is named twice\$" --dataset d --dataset d --target y &&
	train_fails 2 "^error: dataset .d@1. is named twice\$" --dataset d --validation d@1 --target y
'

test_expect_success 'missing or malformed arguments of train' '
	save_head &&
	test_expect_exit 2 dmlctl -C repo model train -k alice --dataset d --target y 2>err &&
	test_grep "needs --name, --dataset and --target" err &&
	test_expect_exit 2 dmlctl -C repo model train -k alice --name m --target y 2>err &&
	test_expect_exit 2 dmlctl -C repo model train -k alice --name m --dataset d 2>err &&
	test_expect_exit 2 dmlctl -C repo model train -k alice --name Bad --dataset d --target y 2>err &&
	test_grep "^error: --name .Bad.:" err &&
	test_expect_exit 2 dmlctl -C repo model train -k alice --name m --dataset d --target y extra 2>err &&
	test_expect_exit 2 dmlctl -C repo model train -k alice --name m --dataset d --target y --frob 2>err &&
	test_grep "^error: unknown option .--frob." err &&
	test_expect_exit 2 dmlctl -C repo model frob 2>err &&
	test_grep "^error: .frob. is not a verb of .dmlctl model." err &&
	head_unchanged &&
	use_fails 128 "^error: no dataset named .nosuch." train -k alice --name m --dataset nosuch --target y &&
	use_fails 128 "^error: dataset .d. has 1 version, not 3\$" train -k alice --name m --dataset d@3 --target y
'

test_expect_success 'unknown models and versions' '
	use_fails 128 "^error: no model named .nosuch. (see .dmlctl model list.)\$" show nosuch &&
	use_fails 128 "^error: no model named .nosuch." export --format json nosuch &&
	use_fails 128 "^error: no model named .nosuch." evaluate nosuch --file "$PWD/d.csv" &&
	use_fails 128 "^error: no model named .nosuch." predict nosuch "$PWD/d.csv" &&
	use_fails 128 "^error: model .good. has 1 version, not 9\$" show good@9 &&
	use_fails 128 "^error: model .good. has 1 version, not 9\$" predict good@9 "$PWD/d.csv" &&
	use_fails 128 "^error: model .good. has 1 version, not 9\$" evaluate good@9 --dataset d &&
	use_fails 128 "^error: model .good. has 1 version, not 9\$" export --format csv good@9 &&
	use_fails 2 "^error: .good@0.: the version must be a number from 1\$" show good@0 &&
	use_fails 2 "^error: .good@x.: the version must be a number from 1\$" show good@x &&
	use_fails 2 "^error: .Good. is not a model name\[@version\]\$" show Good
'

test_expect_success 'predict and evaluate: a file without a column the model uses' '
	printf "x1,name,y\n1,a,2\n" >nox2.csv &&
	use_fails 2 "^error: .$PWD/nox2.csv. has no column .x2.\$" predict good "$PWD/nox2.csv" &&
	use_fails 2 "^error: .$PWD/nox2.csv. has no column .x2.\$" evaluate good --file "$PWD/nox2.csv" &&
	printf "x1,x2,name\n1,2,a\n" >noy.csv &&
	use_fails 2 "^error: .$PWD/noy.csv. has no column .y.\$" evaluate good --file "$PWD/noy.csv" &&
	dmlctl -C repo model predict good "$PWD/noy.csv" >out &&
	test "$(wc -l <out)" -eq 2 &&
	use_fails 2 "^error: .standard input. has no column .x2.\$" predict good - <nox2.csv
'

test_expect_success 'predict and evaluate: inf, nan and other non-numbers in a numeric column' '
	for v in inf -inf nan NaN Infinity 1e999 abc
	do
		printf "x1,x2,name,y\n1,2,a,3\n2,%s,b,4\n" "$v" >bad.csv &&
		use_fails 128 "^error: $PWD/bad.csv line 3 column .x2.: .$v. is not a finite number\$" \
			predict good "$PWD/bad.csv" &&
		use_fails 128 "^error: $PWD/bad.csv line 3 column .x2.: .$v. is not a finite number\$" \
			evaluate good --file "$PWD/bad.csv" &&
		printf "x1,x2,name,y\n1,2,a,%s\n" "$v" >bad.csv &&
		use_fails 128 "^error: $PWD/bad.csv line 2 column .y.: .$v. is not a finite number\$" \
			evaluate good --file "$PWD/bad.csv" || return 1
	done
'

test_expect_success 'predict -o writes nothing when the input is bad' '
	printf "x1,x2,name,y\n1,2,a,3\n2,inf,b,4\n" >bad.csv &&
	use_fails 128 "not a finite number" predict good "$PWD/bad.csv" -o "$PWD/never.csv" &&
	test ! -e never.csv &&
	echo old >kept.csv &&
	use_fails 128 "not a finite number" predict good "$PWD/bad.csv" -o "$PWD/kept.csv" &&
	echo old >want &&
	test_cmp want kept.csv &&
	ls -a >files &&
	! grep dmlctl- files
'

test_expect_success 'predict and evaluate: missing values, and --drop-missing' '
	printf "x1,x2,name,y\n1,2,a,3\n2,,b,4\n3,1,c,NA\n" >holes.csv &&
	use_fails 128 "^error: $PWD/holes.csv line 3 column .x2.: missing value (use --drop-missing to skip such rows)\$" \
		predict good "$PWD/holes.csv" &&
	use_fails 128 "line 3 column .x2.: missing value" evaluate good --file "$PWD/holes.csv" &&
	dmlctl -C repo model predict --drop-missing good "$PWD/holes.csv" >out &&
	test "$(wc -l <out)" -eq 3 &&
	test_grep "^1,2,a,3," out &&
	test_grep "^3,1,c,NA," out &&
	dmlctl -C repo --json model evaluate --drop-missing good --file "$PWD/holes.csv" >ev.json &&
	test "$(json_get ev.json rows)" = 1 &&
	test "$(json_get ev.json dropped)" = 2 &&
	dmlctl -C repo model evaluate --drop-missing good --file "$PWD/holes.csv" >ev.txt &&
	test_grep "^(2 rows with missing values skipped)\$" ev.txt
'

test_expect_success 'a logistic target value that is not one of the labels' '
	printf "x1,x2,lab\n1,2,maybe\n" >third.csv &&
	use_fails 128 "^error: $PWD/third.csv line 2 column .lab.: .maybe. is not one of the model.s two labels\$" \
		evaluate lg --file "$PWD/third.csv" &&
	dmlctl -C repo model predict lg "$PWD/third.csv" >out &&
	test_grep "^1,2,maybe,0\.[0-9]*,\(no\|yes\)\$" out
'

test_expect_success 'empty input, ragged rows, bad formats, bad usage of the verbs' '
	: >empty.csv &&
	use_fails 128 "^error: .$PWD/empty.csv. is empty: expected a header and rows\$" \
		predict good "$PWD/empty.csv" &&
	printf "x1,x2,name,y\n1,2,a\n" >short.csv &&
	use_fails 128 "line 2: expected 4 fields, found 3" predict good "$PWD/short.csv" &&
	use_fails 128 "^error: cannot open .$PWD/nosuch.csv.: No such file or directory\$" \
		predict good "$PWD/nosuch.csv" &&
	use_fails 128 "^error: cannot open .$PWD/nosuch.csv." evaluate good --file "$PWD/nosuch.csv" &&
	use_fails 2 "^error: --format .xml.: expected csv or tsv\$" predict --format xml good "$PWD/d.csv" &&
	use_fails 2 "^error: --format .xml.: expected csv or tsv\$" evaluate --format xml good --file "$PWD/d.csv" &&
	use_fails 2 "needs --dataset or --file" evaluate good &&
	use_fails 2 "needs --dataset or --file" evaluate good --dataset d --file "$PWD/d.csv" &&
	use_fails 2 "takes a model and a CSV file" predict good &&
	use_fails 2 "needs --format json or --format csv" export good &&
	use_fails 2 "needs --format json or --format csv" export --format xml good &&
	use_fails 2 "takes one model" show &&
	use_fails 2 "takes one model" show good lg &&
	use_fails 2 "takes no arguments" list extra
'

test_expect_success 'after all that, the ledger verifies and holds only the good models' '
	dmlctl -C repo model list >list &&
	cut -d" " -f1 list >names &&
	printf "dm\ndm2\ngood\nhm\nlg\nsep\n" >want &&
	test_cmp want names &&
	dmlctl -C repo ledger verify >out &&
	test_grep "every check passed" out
'

test_done
