#!/bin/sh
#
# demo.sh - three parties share one signed ledger; run by 'make demo'.
#
# A coordinator founds a ledger in a bare repository that serves as the
# parties' meeting point, and makes two hospitals members.  Each hospital
# keeps its own key and its own clone, records signed notes with files
# attached, and pushes them with 'dmlctl push'; 'dmlctl pull' verifies
# everything it receives, and when two hospitals append at once it re-links
# the later one's note on top, keeping its signature.  One hospital's key is revoked
# and its next note is refused.  Hospital A publishes a dataset with its
# terms; an auditor fetches the exact bytes and checks them with sha256sum,
# and a corrected second version stores only the chunk that changed.  The
# coordinator trains a ridge model on that dataset, as its terms allow, with
# a holdout; the auditor looks at it and predicts with it.  Then three
# hospitals (B with a new key) train models together in federated rounds,
# each on a private file that never leaves it: two rounds of logistic
# regression, the second going on from the first with the robust rule
# multi-krum, which rejects the poisoned update of a compromised fourth
# hospital, and one exact ridge round on sufficient statistics.  The
# coordinator, who founded the ledger with a supply of tokens, values each
# hospital's contribution to the exact round by its Shapley value on Hospital
# A's published registry and pays the round's pool in proportion.  Then the
# outsider with no key at all checks everything twice: with 'dmlctl ledger
# verify', which also trains the model again from the data its entry
# carries, aggregates every round again from the updates its entry carries
# and computes the payout again, and with stock 'git verify-commit'.  Last,
# someone rewrites history in a copy, and the verification names the forged
# entry.
#
# Everything happens in a new temporary directory, which is kept for you to
# explore.  No configuration of yours is read or changed: HOME points into
# that directory too.  Run it from the top of the source tree after 'make',
# or with dmlctl on PATH.

set -eu

# ---------------------------------------------------------------------------
# Set-up

if [ -n "${DMLCTL_BUILD_DIR:-}" ] && [ -x "$DMLCTL_BUILD_DIR/dmlctl" ]; then
	DMLCTL=$DMLCTL_BUILD_DIR/dmlctl
elif [ -x ./dmlctl ]; then
	DMLCTL=$(pwd)/dmlctl
elif command -v dmlctl >/dev/null 2>&1; then
	DMLCTL=$(command -v dmlctl)
else
	echo "demo: no dmlctl here or on PATH; run 'make demo' in the source tree" >&2
	exit 1
fi
command -v git >/dev/null 2>&1 || {
	echo "demo: git is needed (sudo apt-get install -y git)" >&2
	exit 1
}

dmlctl() {
	"$DMLCTL" "$@"
}

unset DMLCTL_DIR DMLCTL_KEY DMLCTL_KEYS DMLCTL_PASSPHRASE_FILE DMLCTL_TIME \
	GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
	GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_COMMON_DIR GIT_CEILING_DIRECTORIES
umask 077
demo=$(mktemp -d "${TMPDIR:-/tmp}/dmlctl-demo.XXXXXX")
HOME=$demo/home
XDG_CONFIG_HOME=$HOME/.config
GIT_CONFIG_NOSYSTEM=1
GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@example.invalid
GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@example.invalid
export HOME XDG_CONFIG_HOME GIT_CONFIG_NOSYSTEM GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
mkdir -p "$HOME" "$demo/mail" "$demo/coordinator" "$demo/hospital-a" "$demo/hospital-b" \
	"$demo/auditor"
git config --global init.defaultBranch main
git config --global advice.detachedHead false

started=$(date +%s)
out=$demo/.last-output
on_exit() {
	st=$?
	[ $st -eq 0 ] || printf 'demo: stopped with exit status %s; the files are in %s\n' "$st" "$demo" >&2
}
trap on_exit EXIT

# Bold headings on a terminal only.
if [ -t 1 ]; then
	bold=$(printf '\033[1m') plain=$(printf '\033[0m')
else
	bold='' plain=''
fi

step() {
	printf '\n%s== %s ==%s\n' "$bold" "$*" "$plain"
}

say() {
	printf '%s\n' "$*" | fold -s -w 76 | sed 's/ *$//'
}

# A list item, continued lines indented.
item() {
	printf '%s\n' "$*" | fold -s -w 74 | sed 's/ *$//; 1s/^/- /; 2,$s/^/  /'
}

die() {
	printf 'demo: FAILED: %s\n' "$*" >&2
	exit 1
}

# Print arguments as a shell would need them typed.
show_args() {
	sep=
	for a; do
		case $a in
		'' | *[!A-Za-z0-9_./:=@%+,-]*)
			printf "%s'%s'" "$sep" "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
			;;
		*)
			printf '%s%s' "$sep" "$a"
			;;
		esac
		sep=' '
	done
}

# Where each party works: in its own directory, or in its clone once it
# has one.
workdir() {
	if [ -d "$demo/$1/repo" ]; then
		echo "$demo/$1/repo"
	else
		echo "$demo/$1"
	fi
}

# run PARTY COMMAND...: show the command, run it as PARTY (with PARTY's key
# directory, and passphrase file if any) in PARTY's working directory, and
# show its output indented.  Returns the command's exit status, also left
# in $status; the output stays in $out.
run() {
	party=$1
	shift
	printf '[%s] $ %s\n' "$party" "$(show_args "$@")"
	status=0
	(
		cd "$(workdir "$party")"
		DMLCTL_KEYS=$demo/$party/keys
		export DMLCTL_KEYS
		if [ -f "$demo/$party/passphrase" ]; then
			DMLCTL_PASSPHRASE_FILE=$demo/$party/passphrase
			export DMLCTL_PASSPHRASE_FILE
		fi
		"$@"
	) >"$out" 2>&1 || status=$?
	sed 's/^/    /; s/ *$//' "$out"
	return $status
}

# The git commit holding ledger entry SEQ of repository DIR.
entry_commit() {
	dmlctl -C "$1" ledger show "$2" | sed -n 's/^commit //p'
}

# forge DIR SEQ SED-SCRIPT: rewrite the statement of entry SEQ with
# SED-SCRIPT, as someone with write access to the repository but without
# the author's key could: a new blob, tree and commit (keeping the old
# signature), every later commit re-parented, the ref moved.
forge() {
	(
		cd "$1"
		old=$(entry_commit . "$2")
		head=$(git rev-parse refs/dml/ledger)
		blob=$(git cat-file blob "$old:statement" | sed "$3" | git hash-object -w --stdin)
		tree=$(git ls-tree "$old" |
			awk -v b="$blob" 'BEGIN { FS = OFS = "\t" }
				$2 == "statement" { split($1, m, " "); $1 = m[1] " " m[2] " " b }
				{ print }' |
			git mktree)
		new=$(git cat-file commit "$old" | sed "1s/^tree .*/tree $tree/" |
			git hash-object -t commit -w --stdin)
		for c in $(git rev-list --reverse "$old..$head"); do
			p=$(git rev-parse "$c^")
			new=$(git cat-file commit "$c" | sed "s/^parent $p\$/parent $new/" |
				git hash-object -t commit -w --stdin)
		done
		git update-ref refs/dml/ledger "$new" "$head"
	)
}

# ---------------------------------------------------------------------------

say "dmlctl demo: one ledger shared by a coordinator and four hospitals."
say "Working in $demo"
say "Using $DMLCTL ($(dmlctl --version | sed -n '1s/^dmlctl //p'))"

step "1. Every party makes its own key"
say "Each party has its own key directory (DMLCTL_KEYS).  The coordinator's key is encrypted with a passphrase, read here from the file that DMLCTL_PASSPHRASE_FILE names; the hospitals' demo keys have none.  Only public keys travel."
printf '%s\n' 'correct horse battery staple' >"$demo/coordinator/passphrase"
run coordinator dmlctl key generate coordinator
for h in hospital-a hospital-b; do
	run $h dmlctl key generate --no-passphrase $h
	run $h dmlctl key export $h
	cp "$out" "$demo/mail/$h.pub"
done

step "2. The coordinator founds the ledger"
say "A bare repository, hub.git, is where the parties meet; any git host would do.  The genesis entry names the coordinator's key, its roles, the default policy, and the coordinator's initial supply of 1000000 token units, from which it will pay rewards as the ledger's treasurer."
run coordinator dmlctl init --bare --name 'heart-disease study' --supply 1000000 ../hub.git
run coordinator dmlctl -C ../hub.git ledger show 0

step "3. The coordinator makes the hospitals members"
for h in hospital-a hospital-b; do
	run coordinator dmlctl -C ../hub.git key add --role data-owner,member --name $h ../mail/$h.pub
done
run coordinator dmlctl -C ../hub.git key list --members

step "4. The hospitals record signed notes with files, each in its own repository"
say "Each hospital clones the ledger into its own repository (the clone verifies every entry), appends a note signed with its own key, and pushes.  Both write at the same time: the second push is refused, and the second hospital pulls, which re-links its note on top of the first one's, keeping the note's ID and signature, and pushes again."
cat >"$demo/hospital-a/heart-columns.txt" <<'END'
age        integer  years, 29..77
sex        integer  1 = male, 0 = female
cp         integer  chest pain type, 1..4
trestbps   integer  resting blood pressure, mm Hg
chol       integer  serum cholesterol, mg/dl
target     integer  1 = heart disease
END
printf 'Approved by the ethics board of Hospital A, 2026-03-02, ref. EB-2026-114.\n' \
	>"$demo/hospital-a/ethics-approval.txt"
cat >"$demo/hospital-b/heart-columns.txt" <<'END'
age        integer  years, 34..76
sex        integer  1 = male, 0 = female
chol       integer  serum cholesterol, mg/dl
thalach    integer  maximum heart rate achieved
target     integer  1 = heart disease
END
for h in hospital-a hospital-b auditor; do
	run $h dmlctl clone ../hub.git repo || die "dmlctl clone failed for $h"
done
run hospital-a dmlctl ledger note \
	-m 'heart.csv: 303 patients, 6 columns (dictionary and ethics approval attached)' \
	--attach ../heart-columns.txt --attach ../ethics-approval.txt
run hospital-b dmlctl ledger note \
	-m 'heart.csv: 270 patients, 5 columns (dictionary attached)' \
	--attach ../heart-columns.txt
note_b=$(sed -n 's/^note #[0-9]* //p' "$out")
run hospital-a dmlctl push || die "dmlctl push failed for hospital-a"
if run hospital-b dmlctl push; then
	die "a push over entries it lacks was accepted"
fi
run hospital-b dmlctl pull || die "dmlctl pull failed for hospital-b"
run hospital-b dmlctl push || die "dmlctl push failed for hospital-b"
run hospital-b dmlctl ledger log
grep -q " note .*" "$out" || die "no note in hospital-b's ledger"
[ -n "$note_b" ] && dmlctl -C "$demo/hospital-b/repo" ledger show "$note_b" >/dev/null ||
	die "hospital-b's note changed its ID when it was re-linked"
say "(the note kept its ID, $(printf %.19s "$note_b"), and its author's signature; only the commit that places it in the chain is new)"

step "5. A revoked key can write nothing more"
say "Hospital B reports its key stolen.  The coordinator revokes it, naming the member by its label."
run coordinator dmlctl -C ../hub.git key revoke --reason 'key reported stolen' hospital-b
run hospital-b dmlctl pull
head_before=$(git -C "$demo/hospital-b/repo" rev-parse refs/dml/ledger)
if run hospital-b dmlctl ledger note -m 'please disregard our earlier note'; then
	die "the ledger accepted a note signed with a revoked key"
fi
refused_status=$status
[ "$(git -C "$demo/hospital-b/repo" rev-parse refs/dml/ledger)" = "$head_before" ] ||
	die "the refused note moved refs/dml/ledger"
say "(refused with exit status $refused_status; nothing was written)"
run coordinator dmlctl -C ../hub.git key list --members

step "6. Hospital A publishes a dataset with its terms"
say "A dataset is a CSV or TSV file recorded in the ledger with its owner's terms: a license, a price per use in token units, and the uses allowed.  dmlctl cuts the file into content-defined chunks, compresses them with zstd, infers a schema, and signs an entry naming all of it."
# Synthetic, but with a signal for step 7 to find: the blood pressure
# rises with age, for men, and with cholesterol, plus some noise.
awk 'BEGIN {
	print "id,age,sex,cp,trestbps,chol,target"
	for (i = 1; i <= 20000; i++) {
		age = 29 + i * 7 % 49; sex = i % 2; chol = 126 + i * 31 % 438
		bp = int(92 + 0.6 * age + 4 * sex + 0.03 * chol + i * 7919 % 23 - 11)
		printf "%d,%d,%d,%d,%d,%d,%d\n", i, age, sex, 1 + i * 3 % 4, bp, chol,
			i * 17 % 3 == 0
	}
}' >"$demo/hospital-a/registry.csv"
run hospital-a dmlctl -q pull
run hospital-a dmlctl dataset publish --name heart-registry --license CC-BY-NC-4.0 \
	--price 25 --allow evaluate,train \
	--description 'Hospital A heart registry extract, synthetic for the demo' ../registry.csv
run hospital-a dmlctl -q push
say "Another party, the auditor, fetches the ledger and gets the data back.  It needs no key to read, and every chunk is checked as it is written.  The file ID in the entry is what sha256sum prints for the file:"
run auditor dmlctl -q pull
run auditor dmlctl dataset list
run auditor dmlctl dataset show heart-registry
file_id=$(sed -n 's/^file *sha256://p' "$out")
run auditor dmlctl dataset get heart-registry -o ../registry.csv
run auditor sha256sum ../registry.csv
got=$(sed -n 's/^\([0-9a-f]\{64\}\) .*/\1/p' "$out")
if [ -z "$file_id" ] || [ "$got" != "$file_id" ]; then
	die "dataset get did not return the published bytes"
fi
cmp -s "$demo/hospital-a/registry.csv" "$demo/auditor/registry.csv" ||
	die "the fetched dataset differs from the published file"
say "(the same digest as the entry's file field: these are the bytes Hospital A signed)"
say "Hospital A corrects the cholesterol values of 50 patients in the middle of the file and publishes version 2.  Chunk boundaries depend on the content around them, so only the chunk holding the edit is new; the rest is shared with version 1 and stored once."
awk -F, -v OFS=, 'NR >= 10001 && NR <= 10050 { $6 = $6 + 1 } { print }' \
	"$demo/hospital-a/registry.csv" >"$demo/hospital-a/registry-v2.csv"
run hospital-a dmlctl dataset publish --name heart-registry --license CC-BY-NC-4.0 \
	--price 25 --allow evaluate,train \
	--description 'Hospital A heart registry extract, synthetic for the demo' ../registry-v2.csv
dedup=$(sed -n '2s/.*; \(.*\) in \([0-9]*\) chunks, \([0-9]*\) new: \(.*\) stored .*/\3 new chunk(s) of \2, \4 stored for \1/p' "$out")
run hospital-a dmlctl -q push
run auditor dmlctl -q pull
run auditor dmlctl dataset log heart-registry
say "'dataset verify' decompresses and rehashes every chunk, checks the file IDs, and parses the data again to recompute the schema:"
run auditor dmlctl dataset verify || die "dataset verify failed"
[ "$(grep -c '^ok ' "$out")" -eq 2 ] || die "dataset verify did not check both versions"

step "7. The coordinator trains a model on the published data"
say "Hospital A's terms allow 'train', so any member may fit a model to heart-registry.  The coordinator fits a ridge regression of the resting blood pressure (trestbps) on the other columns but the row ID and the outcome, holding out a fifth of the rows to measure it.  The rows are streamed from the stored chunks and never copied out.  The signed entry records the recipe, the metrics and the SHA-256 of the model file, and carries the dataset it was trained on."
run coordinator dmlctl -C ../hub.git model train --name blood-pressure --dataset heart-registry \
	--target trestbps --exclude id,target --holdout 0.2 --seed 1 || die "model train failed"
model_seq=$(sed -n '1s/^trained .* as entry #\([0-9]*\) .*/\1/p' "$out")
model_fit=$(sed -n '2s/^ridge on \([0-9]*\) features, \([0-9]*\) rows.*/\1 features, \2 rows/p' "$out")
model_r2=$(sed -n 's/^holdout *\([0-9]*\) rows: .* r2 \([-0-9.e]*\)$/R2 \2 on \1 held-out rows/p' "$out")
if [ -z "$model_seq" ] || [ -z "$model_r2" ]; then
	die "model train did not report its entry and holdout metrics"
fi
say "The auditor fetches the ledger and looks at the model: the recipe, the metrics, and one coefficient per feature, in the units of the data."
run auditor dmlctl -q pull
run auditor dmlctl model show blood-pressure
say "Anyone can use the model on new rows; that needs no key and no access to the data:"
cat >"$demo/auditor/new-patients.csv" <<'END'
patient,age,sex,cp,chol
P-101,45,0,2,210
P-102,67,1,4,320
P-103,52,1,1,180
END
run auditor dmlctl model predict blood-pressure ../new-patients.csv || die "model predict failed"
[ "$(grep -c '^P-10[0-9],.*,[0-9.]*$' "$out")" -eq 3 ] || die "model predict did not predict the three rows"

step "8. Three hospitals train one model without sharing a row"
say "Some data cannot be published at all.  In a federated round each data owner fits the model on its own private file, which never leaves it, and sends only a signed update: here, the coefficients it found.  The coordinator combines the updates by the rule it announced when it opened the round, and records every update, the verdict on each and the new model in the ledger."
say "Hospital B makes a new key (its stolen one stays revoked), Hospital C joins, and the coordinator admits both as data owners."
for h in hospital-b hospital-c; do
	mkdir -p "$demo/$h"
	run $h dmlctl key generate --no-passphrase $h-2026
	run $h dmlctl key export $h-2026
	cp "$out" "$demo/mail/$h-2026.pub"
	run coordinator dmlctl -C ../hub.git key add --role data-owner,member --name $h-2026 \
		../mail/$h-2026.pub
done
run hospital-c dmlctl -q clone ../hub.git repo || die "dmlctl clone failed for hospital-c"
# Each hospital's private patients: different sizes, ages and sexes, with
# the same underlying risk (logistic in age, sex and cholesterol) and the
# blood pressure of step 6.  A Lehmer generator gives the same file with
# every awk.
private_patients() {
	awk -v x="$1" -v n="$2" -v lo="$3" -v hi="$4" -v male="$5" '
	function u() { x = x * 16807 % 2147483647; return x / 2147483647 }
	BEGIN {
		print "age,sex,chol,trestbps,target"
		for (i = 0; i < n; i++) {
			age = int(lo + (hi - lo) * u()); sex = u() < male; chol = int(150 + 200 * u())
			bp = int(90 + 0.6 * age + 4 * sex + 0.03 * chol + 20 * u())
			z = -10 + 0.1 * age + 0.9 * sex + 0.012 * chol
			printf "%d,%d,%d,%d,%d\n", age, sex, chol, bp, u() < 1 / (1 + exp(-z))
		}
	}'
}
private_patients 11 3000 30 80 0.5 >"$demo/hospital-a/private.csv"
private_patients 22 1800 40 85 0.6 >"$demo/hospital-b/private.csv"
private_patients 33 2400 25 70 0.4 >"$demo/hospital-c/private.csv"
say "The coordinator opens a round for a logistic model of heart disease (target) on age, sex and cholesterol, starting from zero coefficients; each hospital takes three Newton steps on its own rows.  The rule is fedavg, the mean weighted by each update's number of rows."
run coordinator dmlctl -C ../hub.git round open --name heart-1 --kind logistic --target target \
	--features age,sex,chol --local-steps 3 || die "round open failed"
say "Each hospital fetches the ledger (for the round's definition and base model), trains on its private file, signs the update with its key, submits it and pushes:"
for h in hospital-a hospital-b hospital-c; do
	key=$h
	[ $h = hospital-a ] || key=$h-2026
	run $h dmlctl -q pull
	run $h dmlctl update train --round heart-1 -o ../heart-1.upd ../private.csv ||
		die "update train failed for $h"
	run $h dmlctl update sign -k $key ../heart-1.upd
	run $h dmlctl update submit -k $key ../heart-1.upd || die "update submit failed for $h"
	run $h dmlctl -q push
done
run coordinator dmlctl -C ../hub.git round aggregate heart-1 || die "round aggregate failed"
grep -q ': 3 accepted, 0 rejected$' "$out" || die "round heart-1 did not accept its three updates"

step "9. A second round, robust to a poisoned update, and an exact one"
say "Hospital D joins.  Its site has been compromised: the attacker flips every label of its file before training, to drag the shared model the wrong way.  The coordinator suspects nothing, but opens the second logistic round, which starts from the first round's model, with the rule multi-krum and --byzantine 1: the update farthest from the others is left out, and the rest averaged."
mkdir -p "$demo/hospital-d"
run hospital-d dmlctl key generate --no-passphrase hospital-d
run hospital-d dmlctl key export hospital-d
cp "$out" "$demo/mail/hospital-d.pub"
run coordinator dmlctl -C ../hub.git key add --role data-owner,member --name hospital-d \
	../mail/hospital-d.pub
run hospital-d dmlctl -q clone ../hub.git repo || die "dmlctl clone failed for hospital-d"
private_patients 44 2000 30 80 0.5 |
	awk -F, -v OFS=, 'NR > 1 { $5 = 1 - $5 } { print }' >"$demo/hospital-d/private.csv"
run coordinator dmlctl -C ../hub.git round open --name heart-2 --kind logistic \
	--base-model heart-1 --local-steps 3 --rule multi-krum --byzantine 1 ||
	die "round open failed"
say "At the same time it opens a round for a ridge regression of the blood pressure in mode stats: each hospital sends the sufficient statistics of its rows (X'X, X'y, y'y) instead of coefficients, and their sum gives exactly the model that training on all the rows together would give, in one round.  This round also names a validation dataset, Hospital A's published registry (its terms allow 'evaluate'), and a pool of 9000 token units to share among the contributors by what their data are worth on it."
run coordinator dmlctl -C ../hub.git round open --name blood-pressure-fl --kind ridge \
	--mode stats --target trestbps --features age,sex,chol --min-updates 3 \
	--validation heart-registry --pool 9000 ||
	die "round open failed"
say "This time the hospitals sign their updates and mail the files to the coordinator, who submits them all: any member may submit a signed update, and it counts as its signer's."
for h in hospital-a hospital-b hospital-c hospital-d; do
	key=$h
	case $h in hospital-b | hospital-c) key=$h-2026 ;; esac
	run $h dmlctl -q pull
	run $h dmlctl -q update train --round heart-2 -o ../heart-2.upd ../private.csv ||
		die "update train failed for $h"
	run $h dmlctl -q update sign -k $key ../heart-2.upd
	cp "$demo/$h/heart-2.upd" "$demo/mail/$h-heart-2.upd"
	if [ $h != hospital-d ]; then
		run $h dmlctl -q update train --round blood-pressure-fl -o ../bp.upd ../private.csv ||
			die "update train failed for $h"
		run $h dmlctl -q update sign -k $key ../bp.upd
		cp "$demo/$h/bp.upd" "$demo/mail/$h-bp.upd"
	fi
done
for f in hospital-a-heart-2 hospital-b-heart-2 hospital-c-heart-2 hospital-d-heart-2 \
	hospital-a-bp hospital-b-bp hospital-c-bp; do
	run coordinator dmlctl -C ../hub.git update submit ../mail/$f.upd ||
		die "update submit failed for $f"
done
run coordinator dmlctl -C ../hub.git round aggregate heart-2 || die "round aggregate failed"
run coordinator dmlctl -C ../hub.git round aggregate blood-pressure-fl || die "round aggregate failed"
grep -q ': 3 accepted, 0 rejected$' "$out" || die "round blood-pressure-fl did not accept its three updates"
say "Anyone with the ledger can see what happened to each update, and why:"
run auditor dmlctl -q pull
run auditor dmlctl round status heart-2
poisoned=$(sha256sum "$demo/mail/hospital-d-heart-2.upd" | sed 's/ .*//')
grep -q "^  rejected sha256:$poisoned not selected by multi-krum\$" "$out" ||
	die "multi-krum did not reject Hospital D's poisoned update"
heart_age=$(sed -n 's/^age  *\([-0-9.e]*\)$/\1/p' "$out")
grep -q "^  accepted " "$out" || die "round heart-2 accepted nothing"
say "Hospital D's update (sha256:$(printf %.16s "$poisoned")...) is the one rejected, 'not selected by multi-krum'; the model averages the three honest updates."
run auditor dmlctl round list

step "10. The contributors are paid what their data were worth"
say "The exact round named a validation dataset and a pool, so its contributors can be rewarded.  Each hospital's value is its Shapley value: the gain in the model's quality when it joins, averaged over every order in which the hospitals could have joined.  The quality of a coalition's model is the share of the base model's error (all zeros here) that it removes on the validation rows; in a stats round every coalition's model is solved again exactly from the sum of its members' statistics, all 2^3 of them.  'reward compute' needs no key and writes nothing:"
run coordinator dmlctl -C ../hub.git reward compute --round blood-pressure-fl ||
	die "reward compute failed"
say "The three hospitals' rows come from one population, and any one of them alone already removes nearly all the error there is to remove, so their values are nearly equal whatever the number of rows each has.  Shares by row count, for comparison, would pay Hospital A the most:"
run coordinator dmlctl -C ../hub.git reward compute --round blood-pressure-fl --method proportional ||
	die "reward compute failed"
say "The coordinator holds the role treasurer, which the default policy requires for paying, and the supply.  'reward pay' computes the same values and records a signed reward.pay entry that moves the pool from the coordinator to the contributors: whole token units, split by largest remainder so that they add up to the pool exactly."
run coordinator dmlctl -C ../hub.git reward pay --round blood-pressure-fl || die "reward pay failed"
paid=$(awk '$1 ~ /^SHA256:/ { t += $NF } END { print t + 0 }' "$out")
[ "$paid" -eq 9000 ] || die "the payouts add up to $paid, not to the pool of 9000"
payout=$(awk '$1 ~ /^SHA256:/ { printf "%s%s", sep, $NF; sep = ", " }' "$out")
say "Balances are not stored anywhere: every party recomputes them from the entries, as what a key received minus what it paid."
run auditor dmlctl -q pull
run auditor dmlctl balance
total=$(awk '{ t += $NF } END { print t + 0 }' "$out")
[ "$total" -eq 1000000 ] || die "the balances add up to $total, not to the supply of 1000000"
run coordinator dmlctl -C ../hub.git balance coordinator
treasury=$(cat "$out")
[ "$treasury" -eq 991000 ] || die "the coordinator holds $treasury units, not 1000000 - 9000"
run auditor dmlctl reward list

step "11. An auditor with no key checks everything"
run auditor dmlctl -q pull
run auditor dmlctl ledger log
run auditor dmlctl ledger verify || die "ledger verify failed on the shared ledger"
entries=$(sed -n 's/^ledger verified: \([0-9]*\) entries.*/\1/p' "$out")
say "Besides every signature, link and rule, that trained the model of entry $model_seq again, from the chunks of the dataset that its entry carries, and found the coefficients and metrics it records (within a relative 1e-6, as other BLAS builds round differently).  It also judged every update of the three rounds again and applied each round's rule to the update files that the round's entry carries, and got the recorded verdicts and, byte for byte, the recorded models.  Last, it computed the exact round's Shapley values again from the aggregate and the validation dataset that the reward.pay entry carries, found each within 1e-9 of the recorded value, and split the pool again, unit for unit."
run auditor dmlctl ledger show 3
say "The attachments are stored in the entry's commit under objects/, named by their SHA-256, which is what sha256sum prints:"
note_commit=$(entry_commit "$demo/auditor/repo" 3)
run auditor git ls-tree -r --name-only "$note_commit"
run auditor sha256sum ../../hospital-a/heart-columns.txt ../../hospital-a/ethics-approval.txt

step "12. The same commits, checked by git alone"
say "dmlctl writes an allowed-signers file from the ledger's members; git then checks each ledger commit's signature with ssh-keygen.  A revoked key stays valid for what it signed before its revocation."
run auditor dmlctl ledger allowed-signers
cp "$out" "$demo/auditor/allowed-signers"
git_checked=0
if command -v ssh-keygen >/dev/null 2>&1; then
	run auditor git config gpg.format ssh
	run auditor git config gpg.ssh.allowedSignersFile ../allowed-signers
	# shellcheck disable=SC2016 # the command is shown, not run
	printf '[auditor] $ for c in $(git rev-list refs/dml/ledger); do git verify-commit $c; done\n'
	for c in $(git -C "$demo/auditor/repo" rev-list refs/dml/ledger); do
		subject=$(git -C "$demo/auditor/repo" log -1 --format=%s "$c")
		if git -C "$demo/auditor/repo" verify-commit "$c" >"$out" 2>&1; then
			who=$(sed -n 's/^Good "git" signature for \(ed25519:.\{12\}\).*/\1.../p' "$out")
			printf '    %.12s  %-18s Good "git" signature for %s\n' "$c" "$subject" "$who"
			git_checked=$((git_checked + 1))
		else
			sed 's/^/    /; s/ *$//' "$out"
			die "git verify-commit rejected $c ($subject)"
		fi
	done
else
	say "(skipped: git needs ssh-keygen to check SSH signatures; sudo apt-get install -y openssh-client)"
fi

step "13. Rewriting history is caught"
say "Someone with write access to a copy of the repository, but without Hospital A's key, changes entry 3 from 303 patients to 3030 and rebuilds the commits above it with git plumbing (cat-file, hash-object, mktree, update-ref)."
cp -R "$demo/hub.git" "$demo/tampered.git"
mkdir -p "$demo/intruder"
forge "$demo/tampered.git" 3 's/^message heart.csv: 303 patients/message heart.csv: 3030 patients/'
run intruder dmlctl -C ../tampered.git ledger show 3
say "'ledger log' and 'ledger show' print what is stored without judging it.  'ledger verify' recomputes:"
if run auditor dmlctl -C ../../tampered.git ledger verify; then
	die "ledger verify accepted a forged entry"
fi
tamper_status=$status
grep -q '^FAILED entry 3 ' "$out" || die "ledger verify did not name entry 3 as the first failure"
say "(exit status $tamper_status: a check answered no)"
if [ "$git_checked" -gt 0 ]; then
	forged_commit=$(entry_commit "$demo/tampered.git" 3)
	printf '[auditor] $ git verify-commit %.12s   # the forged entry 3, in tampered.git\n' \
		"$forged_commit"
	if git --git-dir="$demo/tampered.git" -c gpg.format=ssh \
		-c gpg.ssh.allowedSignersFile="$demo/auditor/allowed-signers" \
		verify-commit "$forged_commit" >"$out" 2>&1; then
		die "git verify-commit accepted the forged commit"
	fi
	sed 's/^/    /; s/ *$//' "$out"
fi

# ---------------------------------------------------------------------------

elapsed=$(($(date +%s) - started))
step "Summary"
item "Five parties with keys, one of them with two; the coordinator's is encrypted (Argon2id, XChaCha20-Poly1305).  The auditor has none."
item "The shared ledger holds $entries entries: the genesis, five members added, two signed notes with three attached files, one revocation, two versions of a dataset, one trained model, three federated rounds with ten updates, one payout.  'dmlctl ledger verify' passed every check of every entry."
item "Hospital A's dataset came back byte for byte (sha256sum equals its file ID); version 2 cost $dedup.  'dmlctl dataset verify' recomputed both versions from their chunks."
item "The coordinator's ridge model ($model_fit, $model_r2) was trained from the stored chunks under the dataset's terms; the auditor predicted with it, and its 'ledger verify' trained it again and matched."
item "Three rounds trained models on three hospitals' private files, which never left them; only signed updates did.  In the second, multi-krum rejected the poisoned update of Hospital D ('not selected by multi-krum'), and the model averages the three honest ones (its age coefficient, $heart_age, is near the 0.1 the data were made with).  The stats round fitted ridge exactly, as on the union of the rows."
item "The stats round's pool of 9000 units went to its three contributors by their exact Shapley values on Hospital A's registry ($payout); the coordinator's balance fell from 1000000 to $treasury, and every party computes the same balances from the entries."
item "After its revocation, Hospital B's old key was refused (exit status $refused_status) and wrote nothing; its new key took part in the rounds."
if [ "$git_checked" -gt 0 ]; then
	item "git verify-commit accepted all $git_checked ledger commits with the exported allowed-signers file, and rejected the forged one."
fi
item "In the tampered copy, 'dmlctl ledger verify' exited $tamper_status and named entry 3 as the first failure."
item "Took ${elapsed}s.  Everything is kept in $demo; look around, for instance:"
printf '      cd %s/auditor/repo && %s ledger log\n' "$demo" "$DMLCTL"
printf '  and remove it when done:\n      rm -rf %s\n' "$demo"
