/*
 * entry.c - the canonical statement format (see dml/entry.h).
 *
 * The parser is the single authority on canonical form: the builder encodes
 * and then re-parses, so nothing non-canonical can be produced or accepted.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dml/entry.h"

static const char *const header_names[] = { "dmlctl-entry", "type", "ledger", "author", "time" };
#define NHEADER 5

void
dml_id_format(char *out, const unsigned char id[32])
{
	memcpy(out, "sha256:", 7);
	dml_hex_encode(out + 7, id, 32);
}

int
dml_id_parse(unsigned char id[32], const char *s, size_t n)
{
	if (n != DML_ID_LEN || memcmp(s, "sha256:", 7) != 0)
		return -1;
	return dml_hex_decode(id, 32, s + 7, n - 7);
}

static int
is_token_char(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return !first && (c == '.' || c == '_' || c == '-');
}

static int
token_valid(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > DML_TOKEN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_token_char(p[i], i == 0))
			return 0;
	return 1;
}

static int
bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c;
	return an < bn ? -1 : an > bn;
}

/* Length of one valid UTF-8 scalar at p, excluding controls; 0 if invalid. */
static size_t
utf8_char(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return (p[0] >= 0x20 && p[0] != 0x7f) ? 1 : 0;
	if ((p[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
		return 0;
	return len;
}

int
dml_value_valid(enum dml_vkind kind, const char *p, size_t n)
{
	size_t i, start;
	uint64_t v = 0;

	switch (kind) {
	case DML_V_UINT:
		if (n == 0 || n > 19 || (p[0] == '0' && n > 1))
			return 0;
		for (i = 0; i < n; i++) {
			if (p[i] < '0' || p[i] > '9')
				return 0;
			v = v * 10 + (uint64_t)(p[i] - '0');
		}
		return v <= INT64_MAX;
	case DML_V_KEY: {
		struct dml_pubkey pk;
		return dml_pubkey_parse_id(&pk, p, n) == 0;
	}
	case DML_V_ID: {
		unsigned char id[32];
		return dml_id_parse(id, p, n) == 0;
	}
	case DML_V_TOKEN:
		return token_valid(p, n);
	case DML_V_ROLES:
		start = 0;
		for (i = 0; i <= n; i++) {
			if (i < n && p[i] != ',')
				continue;
			if (!token_valid(p + start, i - start))
				return 0;
			if (start > 0) {
				/* Previous token: find its start. */
				size_t ps = start - 1;
				while (ps > 0 && p[ps - 1] != ',')
					ps--;
				if (bytes_cmp(p + ps, start - 1 - ps, p + start, i - start) >= 0)
					return 0;
			}
			start = i + 1;
		}
		return n > 0;
	case DML_V_TEXT:
		if (n == 0 || n > DML_TEXT_MAX || p[0] == ' ' || p[n - 1] == ' ')
			return 0;
		for (i = 0; i < n;) {
			size_t l = utf8_char((const unsigned char *)p + i, n - i);
			if (l == 0)
				return 0;
			i += l;
		}
		return 1;
	default:
		return 0;
	}
}

static const char *
kind_name(enum dml_vkind k)
{
	switch (k) {
	case DML_V_UINT: return "a whole number without leading zeros";
	case DML_V_KEY: return "ed25519:<64 lowercase hex digits>";
	case DML_V_ID: return "sha256:<64 lowercase hex digits>";
	case DML_V_TOKEN: return "a token of [a-z0-9._-]";
	case DML_V_ROLES: return "comma-separated roles in increasing order";
	case DML_V_TEXT: return "printable UTF-8 text without leading or trailing spaces";
	default: return "nothing";
	}
}

static size_t
nparts(const struct dml_field_spec *f)
{
	size_t n = 0;

	while (n < DML_MAX_PARTS && f->parts[n] != DML_V_NONE)
		n++;
	return n;
}

int
dml_field_part(const struct dml_field *f, unsigned part, const char **p, size_t *n)
{
	const char *s = f->value, *end = f->value + f->len, *sp;
	size_t np = nparts(f->spec), i;

	if (part >= np)
		return -1;
	for (i = 0; i < part; i++) {
		sp = memchr(s, ' ', (size_t)(end - s));
		if (sp == NULL)
			return -1;
		s = sp + 1;
	}
	if (part + 1 == np) {
		*p = s;
		*n = (size_t)(end - s);
	} else {
		sp = memchr(s, ' ', (size_t)(end - s));
		if (sp == NULL)
			return -1;
		*p = s;
		*n = (size_t)(sp - s);
	}
	return 0;
}

/* Check a whole value against its spec: NULL or a message. */
static const char *
value_check(const struct dml_field_spec *spec, const char *p, size_t n)
{
	static _Thread_local char msg[160];
	struct dml_field f = { spec, p, n };
	size_t np = nparts(spec), i, pn;
	const char *pp;

	for (i = 0; i < np; i++) {
		if (dml_field_part(&f, (unsigned)i, &pp, &pn) != 0) {
			snprintf(msg, sizeof(msg), "expected %zu space-separated parts", np);
			return msg;
		}
		if (!dml_value_valid(spec->parts[i], pp, pn)) {
			if (np > 1)
				snprintf(msg, sizeof(msg), "part %zu: expected %s", i + 1,
				    kind_name(spec->parts[i]));
			else
				snprintf(msg, sizeof(msg), "expected %s", kind_name(spec->parts[i]));
			return msg;
		}
	}
	return NULL;
}

void
dml_stmt_free(struct dml_stmt *s)
{
	if (s == NULL)
		return;
	free(s->text);
	free(s->fields);
	free(s);
}

static const struct dml_field_spec header_specs[NHEADER] = {
	{ "dmlctl-entry", { DML_V_UINT }, 0 },
	{ "type", { DML_V_TOKEN }, 0 },
	{ "ledger", { DML_V_ID }, 0 },
	{ "author", { DML_V_KEY }, 0 },
	{ "time", { DML_V_UINT }, 0 },
};

const struct dml_error *
dml_stmt_parse(struct dml_stmt **out, const char *text, size_t n)
{
	struct dml_stmt *s;
	const struct dml_error *err = NULL;
	size_t pos = 0, line = 0, fi = 0, cap = 0;
	const struct dml_field_spec *last_spec = NULL;
	const char *last_val = NULL;
	size_t last_len = 0;

	*out = NULL;
	if (n == 0)
		return dml_error_fmt(DML_ERR_PARSE, "statement is empty");
	if (n > DML_STMT_MAX)
		return dml_error_fmt(DML_ERR_PARSE, "statement is larger than %d bytes", DML_STMT_MAX);
	if (text[n - 1] != '\n')
		return dml_error_fmt(DML_ERR_PARSE, "statement does not end with a newline");
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->text = malloc(n + 1)) == NULL) {
		free(s);
		return dml_error_nomem();
	}
	memcpy(s->text, text, n);
	s->text[n] = '\0';
	s->len = n;
	dml_sha256(s->id, s->text, n);

	while (pos < n) {
		const char *l = s->text + pos, *nl = memchr(l, '\n', n - pos), *sp, *val;
		size_t llen = (size_t)(nl - l), namelen, vlen;
		const struct dml_field_spec *spec = NULL;
		const char *why;

		line++;
		pos += llen + 1;
		sp = memchr(l, ' ', llen);
		if (sp == NULL || sp == l) {
			err = dml_error_fmt(DML_ERR_PARSE, "line %zu: expected 'name value'", line);
			goto fail;
		}
		namelen = (size_t)(sp - l);
		val = sp + 1;
		vlen = llen - namelen - 1;
		if (line <= NHEADER) {
			if (namelen != strlen(header_names[line - 1]) ||
			    memcmp(l, header_names[line - 1], namelen) != 0) {
				err = dml_error_fmt(DML_ERR_PARSE, "line %zu: expected field '%s'", line,
				    header_names[line - 1]);
				goto fail;
			}
			if ((why = value_check(&header_specs[line - 1], val, vlen))) {
				err = dml_error_fmt(DML_ERR_PARSE, "line %zu: field '%s': %s", line,
				    header_names[line - 1], why);
				goto fail;
			}
			switch (line) {
			case 1:
				if (vlen != 1 || val[0] != DML_ENTRY_VERSION[0]) {
					err = dml_error_fmt(DML_ERR_UNSUPPORTED,
					    "line 1: statement version %.*s is not supported",
					    (int)(vlen > 20 ? 20 : vlen), val);
					goto fail;
				}
				break;
			case 2:
				if ((s->type = dml_entry_type_find(val, vlen)) == NULL) {
					err = dml_error_fmt(DML_ERR_PARSE,
					    "line 2: unknown entry type '%.*s'", (int)vlen, val);
					goto fail;
				}
				break;
			case 3:
				dml_id_parse(s->ledger, val, vlen);
				break;
			case 4:
				dml_pubkey_parse_id(&s->author, val, vlen);
				break;
			case 5: {
				struct dml_field f = { &header_specs[4], val, vlen };
				dml_field_uint(&f, &s->time);
				break;
			}
			}
			continue;
		}
		/* Body: find the field at or after the current schema position. */
		if (last_spec && (last_spec->flags & DML_F_REPEATED) &&
		    namelen == strlen(last_spec->name) && memcmp(l, last_spec->name, namelen) == 0) {
			spec = last_spec;
			if (bytes_cmp(last_val, last_len, val, vlen) >= 0) {
				err = dml_error_fmt(DML_ERR_PARSE,
				    "line %zu: field '%s': repeated values must be unique and in increasing order",
				    line, spec->name);
				goto fail;
			}
		} else {
			size_t j;
			for (j = fi; j < s->type->nfields; j++) {
				const struct dml_field_spec *c = &s->type->fields[j];
				if (namelen == strlen(c->name) && memcmp(l, c->name, namelen) == 0) {
					spec = c;
					break;
				}
				if (!(c->flags & DML_F_OPTIONAL) && c != last_spec) {
					err = dml_error_fmt(DML_ERR_PARSE,
					    "line %zu: missing field '%s' before '%.*s'", line,
					    c->name, (int)(namelen > 64 ? 64 : namelen), l);
					goto fail;
				}
			}
			if (spec == NULL) {
				size_t k;
				for (k = 0; k < s->type->nfields; k++)
					if (namelen == strlen(s->type->fields[k].name) &&
					    memcmp(l, s->type->fields[k].name, namelen) == 0)
						break;
				if (k < s->type->nfields)
					err = dml_error_fmt(DML_ERR_PARSE,
					    "line %zu: field '%.*s' is duplicated or out of order",
					    line, (int)namelen, l);
				else
					err = dml_error_fmt(DML_ERR_PARSE,
					    "line %zu: unknown field '%.*s' for type '%s'", line,
					    (int)(namelen > 64 ? 64 : namelen), l, s->type->name);
				goto fail;
			}
			fi = (size_t)(spec - s->type->fields) + 1;
		}
		if ((why = value_check(spec, val, vlen))) {
			err = dml_error_fmt(DML_ERR_PARSE, "line %zu: field '%s': %s", line, spec->name,
			    why);
			goto fail;
		}
		if (s->nfields == cap) {
			struct dml_field *nf;
			cap = cap ? cap * 2 : 8;
			if ((nf = realloc(s->fields, cap * sizeof(*nf))) == NULL) {
				err = dml_error_nomem();
				goto fail;
			}
			s->fields = nf;
		}
		s->fields[s->nfields++] = (struct dml_field){ spec, val, vlen };
		last_spec = spec;
		last_val = val;
		last_len = vlen;
	}
	if (line < NHEADER) {
		err = dml_error_fmt(DML_ERR_PARSE, "line %zu: missing field '%s'", line + 1,
		    header_names[line]);
		goto fail;
	}
	for (; fi < s->type->nfields; fi++) {
		const struct dml_field_spec *c = &s->type->fields[fi];
		if (!(c->flags & DML_F_OPTIONAL) && c != last_spec) {
			err = dml_error_fmt(DML_ERR_PARSE, "line %zu: missing field '%s'", line + 1,
			    c->name);
			goto fail;
		}
	}
	*out = s;
	return NULL;
fail:
	dml_stmt_free(s);
	return err;
}

const struct dml_field *
dml_stmt_next(const struct dml_stmt *s, const char *name, size_t *i)
{
	for (; *i < s->nfields; (*i)++)
		if (strcmp(s->fields[*i].spec->name, name) == 0)
			return &s->fields[(*i)++];
	return NULL;
}

const struct dml_field *
dml_stmt_field(const struct dml_stmt *s, const char *name)
{
	size_t i = 0;

	return dml_stmt_next(s, name, &i);
}

int
dml_field_copy(const struct dml_field *f, char *out, size_t outlen)
{
	if (f->len >= outlen)
		return -1;
	memcpy(out, f->value, f->len);
	out[f->len] = '\0';
	return 0;
}

int
dml_field_uint(const struct dml_field *f, uint64_t *v)
{
	size_t i;

	if (!dml_value_valid(DML_V_UINT, f->value, f->len))
		return -1;
	*v = 0;
	for (i = 0; i < f->len; i++)
		*v = *v * 10 + (uint64_t)(f->value[i] - '0');
	return 0;
}

void
dml_stmt_builder_init(struct dml_stmt_builder *b, const char *type)
{
	memset(b, 0, sizeof(*b));
	b->type = type;
}

void
dml_stmt_builder_release(struct dml_stmt_builder *b)
{
	size_t i;

	for (i = 0; i < b->nfields; i++) {
		free(b->fields[i].name);
		free(b->fields[i].value);
	}
	free(b->fields);
	b->fields = NULL;
	b->nfields = 0;
}

const struct dml_error *
dml_stmt_builder_add(struct dml_stmt_builder *b, const char *name, const char *value)
{
	void *nf = realloc(b->fields, (b->nfields + 1) * sizeof(*b->fields));
	char *n, *v;

	if (nf == NULL)
		return dml_error_nomem();
	b->fields = nf;
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return dml_error_nomem();
	}
	b->fields[b->nfields].name = n;
	b->fields[b->nfields].value = v;
	b->nfields++;
	return NULL;
}

const struct dml_error *
dml_stmt_builder_addf(struct dml_stmt_builder *b, const char *name, const char *fmt, ...)
{
	struct dml_buf v = DML_BUF_INIT;
	const struct dml_error *err;
	va_list ap;

	va_start(ap, fmt);
	err = dml_buf_vaddf(&v, fmt, ap);
	va_end(ap);
	if (err == NULL)
		err = dml_stmt_builder_add(b, name, v.data ? (const char *)v.data : "");
	dml_buf_release(&v);
	return err;
}

const struct dml_error *
dml_stmt_build(struct dml_stmt **out, const struct dml_stmt_builder *b)
{
	const struct dml_entry_type *t = dml_entry_type_find(b->type, strlen(b->type));
	struct dml_buf text = DML_BUF_INIT;
	const struct dml_error *err = NULL;
	char hex[DML_KEY_ID_LEN + 1];
	size_t j, i;

	*out = NULL;
	if (t == NULL)
		return dml_error_fmt(DML_ERR_USAGE, "unknown entry type '%s'", b->type);
	dml_id_format(hex, b->ledger);
	if ((err = dml_buf_addf(&text, "dmlctl-entry %s\ntype %s\nledger %s\n", DML_ENTRY_VERSION,
	    t->name, hex)))
		goto done;
	dml_pubkey_id(hex, &b->author);
	if ((err = dml_buf_addf(&text, "author %s\ntime %llu\n", hex,
	    (unsigned long long)b->time)))
		goto done;
	for (i = 0; i < b->nfields; i++) {
		for (j = 0; j < t->nfields; j++)
			if (strcmp(t->fields[j].name, b->fields[i].name) == 0)
				break;
		if (j == t->nfields) {
			err = dml_error_fmt(DML_ERR_USAGE, "entry type '%s' has no field '%s'",
			    t->name, b->fields[i].name);
			goto done;
		}
	}
	/* Emit in schema order; repeated values sorted bytewise. */
	for (j = 0; j < t->nfields; j++) {
		const char **vals = NULL;
		size_t nv = 0, k;

		for (i = 0; i < b->nfields; i++)
			if (strcmp(t->fields[j].name, b->fields[i].name) == 0)
				nv++;
		if (nv == 0)
			continue;
		if (nv > 1 && !(t->fields[j].flags & DML_F_REPEATED)) {
			err = dml_error_fmt(DML_ERR_USAGE, "field '%s' given more than once",
			    t->fields[j].name);
			goto done;
		}
		if ((vals = calloc(nv, sizeof(*vals))) == NULL) {
			err = dml_error_nomem();
			goto done;
		}
		for (i = 0, k = 0; i < b->nfields; i++)
			if (strcmp(t->fields[j].name, b->fields[i].name) == 0)
				vals[k++] = b->fields[i].value;
		for (i = 1; i < nv; i++)	/* insertion sort: bodies are small */
			for (k = i; k > 0 && strcmp(vals[k - 1], vals[k]) > 0; k--) {
				const char *tmp = vals[k];
				vals[k] = vals[k - 1];
				vals[k - 1] = tmp;
			}
		for (i = 0; i < nv && err == NULL; i++) {
			if (strchr(vals[i], '\n') != NULL)
				err = dml_error_fmt(DML_ERR_USAGE,
				    "field '%s': value must not contain a newline", t->fields[j].name);
			else
				err = dml_buf_addf(&text, "%s %s\n", t->fields[j].name, vals[i]);
		}
		free(vals);
		if (err)
			goto done;
	}
	if ((err = dml_stmt_parse(out, (const char *)text.data, text.len)))
		err = dml_error_wrap(err, "cannot build '%s' entry", t->name);
done:
	dml_buf_release(&text);
	return err;
}

void
dml_double_format(char *out, size_t n, double v)
{
	char buf[64];
	int prec;

	if (isnan(v)) {
		snprintf(out, n, "nan");
		return;
	}
	if (isinf(v)) {
		snprintf(out, n, v < 0 ? "-inf" : "inf");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	snprintf(out, n, "%s", buf);
}

int
dml_double_parse(const char *p, size_t n, double *v)
{
	char buf[64], again[64];

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (strcmp(buf, "nan") == 0) {
		*v = NAN;
	} else if (strcmp(buf, "inf") == 0 || strcmp(buf, "-inf") == 0) {
		*v = buf[0] == '-' ? -INFINITY : INFINITY;
	} else {
		char *end;
		*v = strtod(buf, &end);
		if (*end != '\0')
			return -1;
	}
	dml_double_format(again, sizeof(again), *v);
	return strcmp(again, buf) == 0 ? 0 : -1;
}

void
dml_stmt_str(const struct dml_stmt *s, const char *name, char *out, size_t n)
{
	const struct dml_field *f = dml_stmt_field(s, name);

	if (f == NULL || dml_field_copy(f, out, n) != 0)
		out[0] = '\0';
}

uint64_t
dml_stmt_u64(const struct dml_stmt *s, const char *name)
{
	const struct dml_field *f = dml_stmt_field(s, name);
	uint64_t v = 0;

	if (f)
		dml_field_uint(f, &v);
	return v;
}

void
dml_stmt_id(const struct dml_stmt *s, const char *name, unsigned part, unsigned char id[32])
{
	const struct dml_field *f = dml_stmt_field(s, name);
	const char *p;
	size_t n;

	memset(id, 0, 32);
	if (f && dml_field_part(f, part, &p, &n) == 0)
		dml_id_parse(id, p, n);
}

void
dml_field_part_str(const struct dml_field *f, unsigned part, char *out, size_t n)
{
	const char *p;
	size_t len;

	out[0] = '\0';
	if (dml_field_part(f, part, &p, &len) == 0 && len < n) {
		memcpy(out, p, len);
		out[len] = '\0';
	}
}

int
dml_stmt_has(const struct dml_stmt *s, const char *name, const char *token)
{
	const struct dml_field *f = dml_stmt_field(s, name);
	const char *p, *end;
	size_t n = strlen(token);

	if (f == NULL)
		return 0;
	for (p = f->value, end = f->value + f->len; p < end;) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t k = c ? (size_t)(c - p) : (size_t)(end - p);
		if (k == n && memcmp(p, token, n) == 0)
			return 1;
		p += k + 1;
	}
	return 0;
}
