/*
 * state.c - the ledger state and the authority rules.
 *
 * The state is a pure function of the statements in order; both appending
 * (to refuse what would not verify) and verifying (to decide what did) use
 * dml_state_step, so the two can never disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dml/ledger.h"

void
dml_state_init(struct dml_state *st)
{
	memset(st, 0, sizeof(*st));
}

void
dml_state_release(struct dml_state *st)
{
	size_t i;

	for (i = 0; i < st->nroles; i++)
		free(st->roles[i]);
	for (i = 0; i < st->nmembers; i++)
		free(st->members[i].name);
	free(st->members);
	free(st->rules);
	free(st->ids);
	for (i = 0; i < st->ndatasets; i++) {
		uint64_t v;
		for (v = 0; v < st->datasets[i].nversions; v++)
			free(st->datasets[i].versions[v].allow);
		free(st->datasets[i].name);
		free(st->datasets[i].versions);
	}
	free(st->datasets);
	for (i = 0; i < st->nmodels; i++) {
		free(st->models[i].name);
		free(st->models[i].seqs);
	}
	free(st->models);
	for (i = 0; i < st->nrounds; i++) {
		free(st->rounds[i].name);
		free(st->rounds[i].subs);
	}
	free(st->rounds);
	free(st->balances);
	free(st->name);
	dml_state_init(st);
}

static int
member_cmp(const void *a, const void *b)
{
	return memcmp(((const struct dml_member *)a)->key.pk, ((const struct dml_member *)b)->key.pk,
	    DML_PUBKEY_LEN);
}

const struct dml_member *
dml_state_member(const struct dml_state *st, const struct dml_pubkey *k)
{
	struct dml_member key;

	if (st->nmembers == 0)
		return NULL;
	key.key = *k;
	return bsearch(&key, st->members, st->nmembers, sizeof(key), member_cmp);
}

static int
role_index(const struct dml_state *st, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < st->nroles; i++)
		if (strlen(st->roles[i]) == n && memcmp(st->roles[i], name, n) == 0)
			return (int)i;
	return -1;
}

int
dml_state_has_role(const struct dml_state *st, const struct dml_member *m, const char *role)
{
	int i = role_index(st, role, strlen(role));

	return i >= 0 && (m->roles >> i & 1);
}

void
dml_state_roles_format(const struct dml_state *st, uint64_t roles, char *out, size_t n)
{
	/* Roles in bytewise order, the order statements use. */
	size_t used = 0, i;
	const char *last = NULL;

	if (n)
		out[0] = '\0';
	for (;;) {
		const char *best = NULL;
		for (i = 0; i < st->nroles; i++)
			if ((roles >> i & 1) && (last == NULL || strcmp(st->roles[i], last) > 0) &&
			    (best == NULL || strcmp(st->roles[i], best) < 0))
				best = st->roles[i];
		if (best == NULL)
			break;
		used += (size_t)snprintf(out + used, used < n ? n - used : 0, "%s%s",
		    last ? "," : "", best);
		if (used >= n)
			break;
		last = best;
	}
}

/* Turn "a,b,c" into a bit set, adding new role names to the state. */
static const struct dml_error *
roles_parse(struct dml_state *st, const char *p, size_t n, uint64_t *bits)
{
	size_t start = 0, i;

	*bits = 0;
	for (i = 0; i <= n; i++) {
		int idx;
		if (i < n && p[i] != ',')
			continue;
		idx = role_index(st, p + start, i - start);
		if (idx < 0) {
			if (st->nroles == DML_MAX_ROLES)
				return dml_error_fmt(DML_ERR_VERIFY, "more than %d distinct roles",
				    DML_MAX_ROLES);
			if ((st->roles[st->nroles] = strndup(p + start, i - start)) == NULL)
				return dml_error_nomem();
			idx = (int)st->nroles++;
		}
		*bits |= (uint64_t)1 << idx;
		start = i + 1;
	}
	return NULL;
}

static const struct dml_rule *
rule_find(const struct dml_state *st, const char *type)
{
	size_t i;

	for (i = 0; i < st->nrules; i++)
		if (strcmp(st->rules[i].type, type) == 0)
			return &st->rules[i];
	return NULL;
}

const struct dml_error *
dml_state_authorize(const struct dml_state *st, const struct dml_pubkey *author, const char *type)
{
	const struct dml_member *m = dml_state_member(st, author);
	const struct dml_rule *r;
	char id[DML_KEY_ID_LEN + 1], roles[DML_ROLES_TEXT_MAX];

	dml_pubkey_id(id, author);
	if (m == NULL)
		return dml_error_fmt(DML_ERR_DENIED, "key '%s' is not a member of this ledger", id);
	if (m->revoked)
		return dml_error_fmt(DML_ERR_DENIED, "key '%s' was revoked at entry %llu", id,
		    (unsigned long long)m->revoked_seq);
	r = rule_find(st, type);
	if (r && (r->roles & m->roles) == 0) {
		dml_state_roles_format(st, r->roles, roles, sizeof(roles));
		return dml_error_fmt(DML_ERR_DENIED,
		    "key '%s' may not write '%s' entries: the policy requires role %s", id, type,
		    roles);
	}
	return NULL;
}

static const struct dml_error *
member_add(struct dml_state *st, const struct dml_pubkey *k, uint64_t roles, const char *name,
    size_t namelen, uint64_t seq, uint64_t time)
{
	struct dml_member *nm, m;
	size_t i;

	memset(&m, 0, sizeof(m));
	m.key = *k;
	m.roles = roles;
	m.added_seq = seq;
	m.added_time = time;
	if (name && (m.name = strndup(name, namelen)) == NULL)
		return dml_error_nomem();
	if ((nm = realloc(st->members, (st->nmembers + 1) * sizeof(*nm))) == NULL) {
		free(m.name);
		return dml_error_nomem();
	}
	st->members = nm;
	for (i = st->nmembers; i > 0 && member_cmp(&st->members[i - 1], &m) > 0; i--)
		st->members[i] = st->members[i - 1];
	st->members[i] = m;
	st->nmembers++;
	return NULL;
}

static const struct dml_error *
verr(const struct dml_stmt *s, const char *fmt, const char *arg)
{
	(void)s;
	return dml_error_fmt(DML_ERR_VERIFY, fmt, arg);
}

/* ledger.genesis */
static const struct dml_error *
genesis_check(const struct dml_state *st, const struct dml_stmt *s)
{
	size_t i = 0;
	const struct dml_field *f;
	int author_listed = 0, have_prev = 0;
	struct dml_pubkey prev;

	(void)st;
	while ((f = dml_stmt_next(s, "member", &i)) != NULL) {
		struct dml_pubkey k;
		const char *p;
		size_t n;
		dml_field_part(f, 0, &p, &n);
		dml_pubkey_parse_id(&k, p, n);
		if (memcmp(k.pk, s->author.pk, DML_PUBKEY_LEN) == 0)
			author_listed = 1;
		/*
		 * Values are sorted and keys fixed-length, so a key listed twice
		 * (with other roles) is on adjacent lines.  Two members with one
		 * key would make revoking it revoke only one of them.
		 */
		if (have_prev && memcmp(k.pk, prev.pk, DML_PUBKEY_LEN) == 0) {
			char id[DML_KEY_ID_LEN + 1];
			dml_pubkey_id(id, &k);
			return dml_error_fmt(DML_ERR_VERIFY, "genesis lists key '%s' more than once",
			    id);
		}
		prev = k;
		have_prev = 1;
	}
	if (!author_listed)
		return dml_error_fmt(DML_ERR_VERIFY, "genesis author is not among its members");
	/* an initial supply goes to members, once each */
	i = 0;
	have_prev = 0;
	while ((f = dml_stmt_next(s, "supply", &i)) != NULL) {
		struct dml_pubkey k;
		const struct dml_field *m;
		const char *p, *q;
		size_t n, qn, j = 0;
		int found = 0;
		dml_field_part(f, 0, &p, &n);
		dml_pubkey_parse_id(&k, p, n);
		while (!found && (m = dml_stmt_next(s, "member", &j)) != NULL) {
			dml_field_part(m, 0, &q, &qn);
			found = qn == n && memcmp(q, p, n) == 0;
		}
		if (!found || (have_prev && memcmp(k.pk, prev.pk, DML_PUBKEY_LEN) == 0))
			return dml_error_fmt(DML_ERR_VERIFY, "a genesis supply goes once to a member");
		prev = k;
		have_prev = 1;
	}
	return NULL;
}

const struct dml_error *
dml_state_check_version(const struct dml_stmt *s, const char *noun, const char *name,
    const struct dml_pubkey *owner, uint64_t nversions, const unsigned char last[32],
    const char *verb)
{
	const struct dml_field *prev = dml_stmt_field(s, "previous");
	uint64_t version = dml_stmt_u64(s, "version");
	unsigned char id[32];

	if (owner == NULL) {
		if (version != 1 || prev != NULL)
			return dml_error_fmt(DML_ERR_VERIFY,
			    "%s '%s' has no version 1, so this cannot be version %llu", noun, name,
			    (unsigned long long)version);
		return NULL;
	}
	if (memcmp(owner->pk, s->author.pk, DML_PUBKEY_LEN) != 0) {
		char who[DML_KEY_ID_LEN + 1];
		dml_pubkey_id(who, owner);
		return dml_error_fmt(DML_ERR_DENIED,
		    "%s '%s' belongs to '%s': only its owner may %s new versions", noun, name, who,
		    verb);
	}
	if (version != nversions + 1)
		return dml_error_fmt(DML_ERR_VERIFY, "%s '%s' version %llu should be %llu", noun, name,
		    (unsigned long long)version, (unsigned long long)nversions + 1);
	if (prev == NULL)
		return dml_error_fmt(DML_ERR_VERIFY, "%s '%s' version %llu names no previous", noun,
		    name, (unsigned long long)version);
	dml_id_parse(id, prev->value, prev->len);
	if (memcmp(id, last, 32) != 0)
		return dml_error_fmt(DML_ERR_VERIFY,
		    "%s '%s' version %llu does not follow the newest version", noun, name,
		    (unsigned long long)version);
	return NULL;
}

/* Credit or debit a key's balance (see dml_state_balance). */
const struct dml_error *
dml_state_credit(struct dml_state *st, const struct dml_pubkey *k, uint64_t add, uint64_t sub)
{
	struct dml_balance *b;
	size_t lo = 0, hi = st->nbalances;
	unsigned __int128 v;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(st->balances[mid].key.pk, k->pk, DML_PUBKEY_LEN);
		if (c == 0) {
			lo = mid;
			goto found;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* a new key starts at 0: refuse before adding it, so a refusal changes nothing */
	if (add < sub)
		goto out_of_range;
	if ((b = realloc(st->balances, (st->nbalances + 1) * sizeof(*b))) == NULL)
		return dml_error_nomem();
	st->balances = b;
	memmove(&b[lo + 1], &b[lo], (st->nbalances - lo) * sizeof(*b));
	memset(&b[lo], 0, sizeof(*b));
	b[lo].key = *k;
	st->nbalances++;
found:
	b = &st->balances[lo];
	/* the result must fit, whatever the intermediate sum */
	v = (unsigned __int128)b->amount + add;
	if (v < sub || v - sub > UINT64_MAX)
		goto out_of_range;
	b->amount = (uint64_t)(v - sub);
	return NULL;
out_of_range:
	return dml_error_fmt(DML_ERR_VERIFY, "a balance would leave 0..2^64-1");
}

uint64_t
dml_state_balance(const struct dml_state *st, const struct dml_pubkey *k)
{
	size_t lo = 0, hi = st->nbalances;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(st->balances[mid].key.pk, k->pk, DML_PUBKEY_LEN);
		if (c == 0)
			return st->balances[mid].amount;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static const struct dml_error *
genesis_apply(struct dml_state *st, const struct dml_stmt *s)
{
	const struct dml_field *f = dml_stmt_field(s, "name");
	const struct dml_error *err;
	size_t i = 0;

	if ((st->name = strndup(f->value, f->len)) == NULL)
		return dml_error_nomem();
	while ((f = dml_stmt_next(s, "supply", &i)) != NULL) {
		struct dml_pubkey k;
		const char *p;
		size_t n;
		uint64_t v;
		char num[24];
		dml_field_part(f, 0, &p, &n);
		dml_pubkey_parse_id(&k, p, n);
		dml_field_part(f, 1, &p, &n);
		memcpy(num, p, n);
		num[n] = '\0';
		v = strtoull(num, NULL, 10);
		if ((err = dml_state_credit(st, &k, v, 0)))
			return err;
	}
	i = 0;
	while ((f = dml_stmt_next(s, "member", &i)) != NULL) {
		struct dml_pubkey k;
		const char *p, *r;
		size_t n, rn;
		uint64_t bits;
		dml_field_part(f, 0, &p, &n);
		dml_field_part(f, 1, &r, &rn);
		dml_pubkey_parse_id(&k, p, n);
		if ((err = roles_parse(st, r, rn, &bits)) ||
		    (err = member_add(st, &k, bits, NULL, 0, s->seq, s->time)))
			return err;
	}
	i = 0;
	while ((f = dml_stmt_next(s, "allow", &i)) != NULL) {
		const char *t, *r;
		size_t tn, rn;
		uint64_t bits;
		struct dml_rule *rule;
		dml_field_part(f, 0, &t, &tn);
		dml_field_part(f, 1, &r, &rn);
		if ((err = roles_parse(st, r, rn, &bits)))
			return err;
		if (st->nrules && strlen(st->rules[st->nrules - 1].type) == tn &&
		    memcmp(st->rules[st->nrules - 1].type, t, tn) == 0) {
			st->rules[st->nrules - 1].roles |= bits;
			continue;
		}
		if ((rule = realloc(st->rules, (st->nrules + 1) * sizeof(*rule))) == NULL)
			return dml_error_nomem();
		st->rules = rule;
		rule = &st->rules[st->nrules++];
		memcpy(rule->type, t, tn);
		rule->type[tn] = '\0';
		rule->roles = bits;
	}
	return NULL;
}

static void
field_key(const struct dml_stmt *s, const char *name, struct dml_pubkey *k)
{
	const struct dml_field *f = dml_stmt_field(s, name);

	dml_pubkey_parse_id(k, f->value, f->len);
}

/* key.add */
static const struct dml_error *
key_add_check(const struct dml_state *st, const struct dml_stmt *s)
{
	struct dml_pubkey k;
	const struct dml_member *m;
	char id[DML_KEY_ID_LEN + 1];

	field_key(s, "key", &k);
	dml_pubkey_id(id, &k);
	if ((m = dml_state_member(st, &k)) != NULL)
		return verr(s, m->revoked ? "key '%s' was revoked and cannot be added again"
		    : "key '%s' is already a member", id);
	return NULL;
}

static const struct dml_error *
key_add_apply(struct dml_state *st, const struct dml_stmt *s)
{
	struct dml_pubkey k;
	const struct dml_field *r = dml_stmt_field(s, "roles"), *n = dml_stmt_field(s, "name");
	uint64_t bits;
	const struct dml_error *err;

	field_key(s, "key", &k);
	if ((err = roles_parse(st, r->value, r->len, &bits)))
		return err;
	return member_add(st, &k, bits, n ? n->value : NULL, n ? n->len : 0, s->seq, s->time);
}

/* key.revoke */
static const struct dml_error *
key_revoke_check(const struct dml_state *st, const struct dml_stmt *s)
{
	struct dml_pubkey k;
	const struct dml_member *m;
	const struct dml_rule *r = rule_find(st, "key.add");
	char id[DML_KEY_ID_LEN + 1];
	size_t i;

	field_key(s, "key", &k);
	dml_pubkey_id(id, &k);
	if ((m = dml_state_member(st, &k)) == NULL)
		return verr(s, "key '%s' is not a member", id);
	if (m->revoked)
		return verr(s, "key '%s' is already revoked", id);
	/* Never leave the ledger without a key that can add members. */
	for (i = 0; i < st->nmembers; i++) {
		const struct dml_member *o = &st->members[i];
		if (o != m && !o->revoked && (r == NULL || (o->roles & r->roles)))
			return NULL;
	}
	return verr(s, "revoking '%s' would leave no key able to add members", id);
}

static const struct dml_error *
key_revoke_apply(struct dml_state *st, const struct dml_stmt *s)
{
	struct dml_pubkey k;
	struct dml_member *m;

	field_key(s, "key", &k);
	m = (struct dml_member *)dml_state_member(st, &k);
	m->revoked = 1;
	m->revoked_seq = s->seq;
	m->revoked_time = s->time;
	return NULL;
}

void
dml_chain_next(unsigned char out[32], const unsigned char prev[32], const unsigned char id[32])
{
	unsigned char both[64];

	memcpy(both, prev, 32);
	memcpy(both + 32, id, 32);
	dml_sha256(out, both, sizeof(both));
}

/* Slot of id in the set: its own, or the empty one where it would go. */
static struct dml_id_slot *
id_slot(struct dml_id_slot *tab, size_t cap, const unsigned char id[32])
{
	uint64_t h;
	size_t i;

	memcpy(&h, id, sizeof(h));	/* SHA-256 bytes are uniform: no mixing needed */
	for (i = (size_t)h & (cap - 1);; i = (i + 1) & (cap - 1))
		if (tab[i].seq1 == 0 || memcmp(tab[i].id, id, 32) == 0)
			return &tab[i];
}

int64_t
dml_state_find_id(const struct dml_state *st, const unsigned char id[32])
{
	const struct dml_id_slot *e;

	if (st->idcap == 0)
		return -1;
	e = id_slot(st->ids, st->idcap, id);
	return e->seq1 ? (int64_t)(e->seq1 - 1) : -1;
}

static const struct dml_error *
id_add(struct dml_state *st, const unsigned char id[32], uint64_t seq)
{
	struct dml_id_slot *e;
	size_t i;

	if (2 * (st->nids + 1) > st->idcap) {
		size_t cap = st->idcap ? 2 * st->idcap : 1024;
		struct dml_id_slot *tab = calloc(cap, sizeof(*tab));
		if (tab == NULL)
			return dml_error_nomem();
		for (i = 0; i < st->idcap; i++)
			if (st->ids[i].seq1)
				*id_slot(tab, cap, st->ids[i].id) = st->ids[i];
		free(st->ids);
		st->ids = tab;
		st->idcap = cap;
	}
	e = id_slot(st->ids, st->idcap, id);
	memcpy(e->id, id, 32);
	e->seq1 = seq + 1;
	st->nids++;
	return NULL;
}

const struct dml_error *
dml_state_check(const struct dml_state *st, const struct dml_stmt *s)
{
	static const unsigned char zero[32];
	const struct dml_error *err;
	int genesis = strcmp(s->type->name, "ledger.genesis") == 0;
	int64_t dup;

	if (genesis) {
		if (st->have_genesis || s->seq != 0)
			return dml_error_fmt(DML_ERR_VERIFY, "a genesis entry may only be entry 0");
		if (memcmp(s->ledger, zero, 32) != 0)
			return dml_error_fmt(DML_ERR_VERIFY, "a genesis entry must name the all-zero ledger");
	} else {
		if (!st->have_genesis)
			return dml_error_fmt(DML_ERR_VERIFY, "entry 0 is not a genesis entry");
		if (s->seq != st->seq + 1)
			return dml_error_fmt(DML_ERR_VERIFY, "sequence number %llu does not follow %llu",
			    (unsigned long long)s->seq, (unsigned long long)st->seq);
		if (memcmp(s->ledger, st->genesis, 32) != 0) {
			char want[DML_ID_LEN + 1];
			dml_id_format(want, st->genesis);
			return dml_error_fmt(DML_ERR_VERIFY,
			    "the entry belongs to another ledger (this one is %s)", want);
		}
		if ((err = dml_state_authorize(st, &s->author, s->type->name)))
			return err;
	}
	/* The type's rules first: they say more than "already there" does. */
	if (s->type->check && (err = s->type->check(st, s)))
		return err;
	if ((dup = dml_state_find_id(st, s->id)) >= 0)
		return dml_error_fmt(DML_ERR_VERIFY, "the entry is already in the ledger as #%lld",
		    (long long)dup);
	return NULL;
}

const struct dml_error *
dml_state_step(struct dml_state *st, const struct dml_stmt *s)
{
	const struct dml_error *err;

	if ((err = dml_state_check(st, s)))
		return err;
	/* Room for the ID first: apply cannot be undone. */
	if ((err = id_add(st, s->id, s->seq)))
		return err;
	if (s->type->apply && (err = s->type->apply(st, s)))
		return err;
	if (!st->have_genesis)
		memcpy(st->genesis, s->id, 32);
	st->have_genesis = 1;
	st->seq = s->seq;
	st->time = s->time;
	dml_chain_next(st->chain, st->chain, s->id);
	return NULL;
}

/* The entry types this module knows.  lib/types.c lists them all. */
static const struct dml_field_spec genesis_fields[] = {
	{ "name", { DML_V_TEXT }, 0 },
	{ "member", { DML_V_KEY, DML_V_ROLES }, DML_F_REPEATED },
	{ "allow", { DML_V_TOKEN, DML_V_TOKEN }, DML_F_REPEATED | DML_F_OPTIONAL },
	{ "supply", { DML_V_KEY, DML_V_UINT }, DML_F_REPEATED | DML_F_OPTIONAL },
};
static const struct dml_field_spec key_add_fields[] = {
	{ "key", { DML_V_KEY }, 0 },
	{ "roles", { DML_V_ROLES }, 0 },
	{ "name", { DML_V_TEXT }, DML_F_OPTIONAL },
};
static const struct dml_field_spec key_revoke_fields[] = {
	{ "key", { DML_V_KEY }, 0 },
	{ "reason", { DML_V_TEXT }, DML_F_OPTIONAL },
};
static const struct dml_field_spec note_fields[] = {
	{ "message", { DML_V_TEXT }, 0 },
	{ "object", { DML_V_ID }, DML_F_OBJECT | DML_F_REPEATED | DML_F_OPTIONAL },
};

#define NF(a) (sizeof(a) / sizeof((a)[0]))
const struct dml_entry_type dml_type_genesis = {
	.name = "ledger.genesis", .fields = genesis_fields, .nfields = NF(genesis_fields),
	.check = genesis_check, .apply = genesis_apply,
};
const struct dml_entry_type dml_type_key_add = {
	.name = "key.add", .fields = key_add_fields, .nfields = NF(key_add_fields),
	.check = key_add_check, .apply = key_add_apply,
};
const struct dml_entry_type dml_type_key_revoke = {
	.name = "key.revoke", .fields = key_revoke_fields, .nfields = NF(key_revoke_fields),
	.check = key_revoke_check, .apply = key_revoke_apply,
};
const struct dml_entry_type dml_type_note = {
	.name = "note", .fields = note_fields, .nfields = NF(note_fields),
};
