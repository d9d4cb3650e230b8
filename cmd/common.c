/*
 * common.c - context, errors, passphrases, signing keys, JSON helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "dml/keystore.h"

#define PASS_MAX 1024

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *
normalize_roles(const char *in, char *out, size_t n)
{
	char copy[DML_ROLES_TEXT_MAX], *parts[DML_MAX_ROLES], *p, *comma;
	size_t np = 0, i, used = 0;

	if (strlen(in) >= sizeof(copy) || n == 0)
		return NULL;
	memcpy(copy, in, strlen(in) + 1);
	for (p = copy; p; p = comma ? comma + 1 : NULL) {
		if ((comma = strchr(p, ',')) != NULL)
			*comma = '\0';
		if (!dml_value_valid(DML_V_TOKEN, p, strlen(p)) || np == DML_MAX_ROLES)
			return NULL;
		parts[np++] = p;
	}
	qsort(parts, np, sizeof(*parts), str_cmp);
	out[0] = '\0';
	for (i = 0; i < np; i++) {
		if (i > 0 && strcmp(parts[i], parts[i - 1]) == 0)
			continue;
		used += (size_t)snprintf(out + used, used < n ? n - used : 0, "%s%s",
		    used ? "," : "", parts[i]);
		if (used >= n)
			return NULL;
	}
	return out;
}

int
report(const struct dml_error *err)
{
	if (err == NULL)
		return 0;
	fprintf(stderr, "error: %s\n", err->msg);
	return dml_error_exit_status(err);
}

int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

void
warning(const char *fmt, ...)
{
	va_list ap;

	fputs("warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
progress(struct ctx *ctx, const char *what, uint64_t done, uint64_t total)
{
	static int tty = -1;

	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty || ctx->quiet)
		return;
	if (total)
		fprintf(stderr, "\r%s: %3u%% (%llu/%llu)", what, (unsigned)(done * 100 / total),
		    (unsigned long long)done, (unsigned long long)total);
	if (done >= total)
		fputs(", done.\n", stderr);
	fflush(stderr);
}

const struct dml_error *
ctx_repo(struct ctx *ctx, struct dml_repo **out)
{
	const char *dir = getenv("DMLCTL_DIR");
	const struct dml_error *err;

	if (ctx->repo == NULL) {
		if (dir && *dir)
			err = dml_repo_open_path(&ctx->repo, dir);
		else
			err = dml_repo_discover(&ctx->repo, NULL);
		if (err)
			return err;
	}
	*out = ctx->repo;
	return NULL;
}

const struct dml_error *
ctx_ledger(struct ctx *ctx, struct dml_ledger **out)
{
	struct dml_repo *repo;
	const struct dml_error *err;

	if (ctx->ledger == NULL) {
		if ((err = ctx_repo(ctx, &repo)) || (err = dml_ledger_open(&ctx->ledger, repo, 0)))
			return err;
	}
	*out = ctx->ledger;
	return NULL;
}

void
ctx_release(struct ctx *ctx)
{
	dml_ledger_free(ctx->ledger);
	dml_repo_free(ctx->repo);
	ctx->ledger = NULL;
	ctx->repo = NULL;
}

/* Read one line from fd into guarded memory; strips the newline. */
static const struct dml_error *
read_secret_line(int fd, const char *what, char **pass, size_t *len)
{
	char *p = dml_secret_alloc(PASS_MAX + 1), c;
	size_t n = 0;
	ssize_t r;

	if (p == NULL)
		return dml_error_nomem();
	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n == PASS_MAX) {
			dml_secret_free(p);
			return dml_error_fmt(DML_ERR_PASSPHRASE, "passphrase for %s is too long", what);
		}
		p[n++] = c;
	}
	if (r < 0) {
		dml_secret_free(p);
		return dml_error_errno(errno, "cannot read passphrase");
	}
	if (n > 0 && p[n - 1] == '\r')
		n--;
	p[n] = '\0';
	*pass = p;
	*len = n;
	return NULL;
}

static const struct dml_error *
tty_passphrase(const char *prompt, const char *what, char **pass, size_t *len)
{
	struct termios old, noecho;
	const struct dml_error *err;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return dml_error_fmt(DML_ERR_PASSPHRASE,
		    "%s needs a passphrase: run from a terminal or set DMLCTL_PASSPHRASE_FILE", what);
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return dml_error_fmt(DML_ERR_PASSPHRASE,
		    "%s needs a passphrase: run from a terminal or set DMLCTL_PASSPHRASE_FILE", what);
	}
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	noecho.c_lflag |= ECHONL;
	if (write(fd, prompt, strlen(prompt)) < 0 || tcsetattr(fd, TCSAFLUSH, &noecho) != 0) {
		close(fd);
		return dml_error_errno(errno, "cannot prompt for a passphrase");
	}
	err = read_secret_line(fd, what, pass, len);
	tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	return err;
}

static const struct dml_error *
file_passphrase(const char *path, const char *what, char **pass, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const struct dml_error *err;

	if (fd < 0)
		return dml_error_errno(errno, "cannot open DMLCTL_PASSPHRASE_FILE '%s'", path);
	err = read_secret_line(fd, what, pass, len);
	close(fd);
	return err;
}

const struct dml_error *
ask_passphrase(void *arg, const char *what, char **pass, size_t *len)
{
	const char *file = getenv("DMLCTL_PASSPHRASE_FILE");
	char prompt[256];

	(void)arg;
	if (file && *file)
		return file_passphrase(file, what, pass, len);
	snprintf(prompt, sizeof(prompt), "Enter passphrase for key '%s': ", what);
	return tty_passphrase(prompt, what, pass, len);
}

const struct dml_error *
ask_new_passphrase(const char *what, char **pass, size_t *len)
{
	const char *file = getenv("DMLCTL_PASSPHRASE_FILE");
	const struct dml_error *err;
	char *again = NULL;
	size_t againlen = 0;

	if (file && *file)
		err = file_passphrase(file, what, pass, len);
	else if ((err = tty_passphrase("Enter new passphrase (empty for none): ", what, pass,
	    len)) == NULL && *len > 0) {
		if ((err = tty_passphrase("Enter the same passphrase again: ", what, &again,
		    &againlen)) == NULL && (againlen != *len || memcmp(again, *pass, *len) != 0))
			err = dml_error_fmt(DML_ERR_PASSPHRASE, "the passphrases do not match");
		if (again)
			dml_secret_free(again);
		if (err) {
			dml_secret_free(*pass);
			*pass = NULL;
		}
	}
	if (err == NULL && *len == 0) {
		dml_secret_free(*pass);
		*pass = NULL;
		return dml_error_fmt(DML_ERR_PASSPHRASE,
		    "empty passphrase: use --no-passphrase to store %s unencrypted", what);
	}
	return err;
}

const struct dml_error *
ctx_signing_key(struct ctx *ctx, struct dml_key **out)
{
	const char *spec = ctx->keyspec;
	char *cfg = NULL;
	struct dml_keyinfo *keys = NULL;
	size_t n = 0;
	const struct dml_error *err = NULL;
	struct dml_repo *repo;

	if (spec == NULL || *spec == '\0')
		spec = getenv("DMLCTL_KEY");
	if (spec == NULL || *spec == '\0') {
		if (ctx_repo(ctx, &repo) == NULL)
			err = dml_repo_config_get(repo, "dml.signingKey", &cfg);
		else
			err = dml_config_get_default("dml.signingKey", &cfg);
		if (err)
			return err;
		spec = cfg;
	}
	if (spec == NULL || *spec == '\0') {
		if ((err = dml_keystore_list(&keys, &n)))
			return err;
		if (n == 1)
			spec = keys[0].name;
		else {
			dml_keyinfo_free(keys, n);
			return dml_error_fmt(DML_ERR_USAGE, n == 0 ?
			    "no signing key: create one with 'dmlctl key generate <name>'" :
			    "several keys and none chosen: use -k <key>, DMLCTL_KEY or git config dml.signingKey");
		}
	}
	err = dml_keystore_load(out, spec, ask_passphrase, NULL);
	dml_keyinfo_free(keys, n);
	free(cfg);
	return err;
}

const struct dml_error *
now_seconds(uint64_t *out)
{
	const char *t = getenv("DMLCTL_TIME");

	if (t && *t) {
		char *end;
		unsigned long long v;
		errno = 0;
		v = strtoull(t, &end, 10);
		/* Up to the last second of year 9999, the end of git's and ssh's dates. */
		if (errno || *end || *t < '0' || *t > '9' || v > 253402300799ULL)
			return dml_error_fmt(DML_ERR_USAGE,
			    "DMLCTL_TIME '%s' is not a number of seconds before year 10000", t);
		*out = v;
		return NULL;
	}
	*out = (uint64_t)time(NULL);
	return NULL;
}

int
json_print(json_t *v)
{
	int rc;

	if (v == NULL) {
		fprintf(stderr, "error: out of memory\n");
		return EXIT_FAIL;
	}
	rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(v);
	fputc('\n', stdout);
	return rc == 0 ? 0 : EXIT_FAIL;
}

json_t *
json_stmt(const struct dml_stmt *s)
{
	json_t *o = json_object(), *body = json_object();
	char id[DML_ID_LEN + 1], key[DML_KEY_ID_LEN + 1];
	size_t i;

	if (o == NULL || body == NULL) {
		json_decref(o);
		json_decref(body);
		return NULL;
	}
	dml_id_format(id, s->id);
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "seq", json_integer((json_int_t)s->seq));
	json_object_set_new(o, "type", json_string(s->type->name));
	dml_pubkey_id(key, &s->author);
	json_object_set_new(o, "author", json_string(key));
	json_object_set_new(o, "time", json_integer((json_int_t)s->time));
	dml_id_format(id, s->ledger);
	json_object_set_new(o, "ledger", json_string(id));
	for (i = 0; i < s->nfields; i++) {
		const struct dml_field *f = &s->fields[i];
		json_t *v = json_stringn(f->value, f->len);
		if (f->spec->flags & DML_F_REPEATED) {
			json_t *arr = json_object_get(body, f->spec->name);
			if (arr == NULL) {
				arr = json_array();
				json_object_set_new(body, f->spec->name, arr);
			}
			json_array_append_new(arr, v);
		} else
			json_object_set_new(body, f->spec->name, v);
	}
	json_object_set_new(o, "body", body);
	json_object_set_new(o, "statement", json_stringn(s->text, s->len));
	return o;
}

/* Append an entry built by the caller and print it. */
int
append_entry(struct ctx *ctx, struct dml_stmt_builder *b, struct dml_attachment *att,
    size_t natt)
{
	struct dml_ledger *l;
	struct dml_key *k = NULL;
	struct dml_stmt *s = NULL;
	const struct dml_error *err;
	char id[DML_ID_LEN + 1];
	uint64_t now;
	int rc = 0;

	if ((err = now_seconds(&now)) || (err = ctx_ledger(ctx, &l)) ||
	    (err = ctx_signing_key(ctx, &k)) ||
	    (err = dml_ledger_append(l, k, b, now, att, natt, &s)))
		goto done;
	dml_id_format(id, s->id);
	if (ctx->json)
		rc = json_print(json_stmt(s));
	else if (!ctx->quiet)
		printf("%s #%llu %s\n", s->type->name, (unsigned long long)s->seq, id);
done:
	dml_key_free(k);
	dml_stmt_free(s);
	return err ? report(err) : rc;
}

void
iso_time(char *out, size_t n, uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((uint64_t)tt != t || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, n, "%llu", (unsigned long long)t);	/* beyond the calendar */
		return;
	}
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
run_verb(struct ctx *ctx, const char *noun, const struct verb *verbs, int argc, char **argv)
{
	const struct verb *v;
	int i;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		FILE *f = argc < 2 ? stderr : stdout;
		fprintf(f, "usage: dmlctl %s <verb> [<options>]\n\nverbs:\n", noun);
		for (v = verbs; v->name; v++)
			fprintf(f, "    %-16s %s\n", v->name, v->summary);
		fprintf(f, "\nSee 'dmlctl %s <verb> -h' or 'dmlctl help %s'.\n", noun, noun);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "--dmlctl-completion-helper") == 0) {
		for (v = verbs; v->name; v++)
			printf("%s%s", v->name, v[1].name ? " " : "\n");
		return 0;
	}
	for (v = verbs; v->name; v++)
		if (strcmp(v->name, argv[1]) == 0)
			return v->fn(ctx, argc - 1, argv + 1);
	fprintf(stderr, "error: '%s' is not a verb of 'dmlctl %s'; the verbs are:", argv[1], noun);
	for (i = 0, v = verbs; v->name; v++, i++)
		fprintf(stderr, "%s %s", i ? "," : "", v->name);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static mode_t
current_umask(void)
{
	mode_t m = umask(0);

	umask(m);
	return m;
}

const struct dml_error *
write_output(const char *out, const struct dml_error *(*writer)(void *arg, int fd), void *arg)
{
	const struct dml_error *err;
	char tmp[PATH_MAX], target[PATH_MAX];
	struct stat st;
	mode_t mode;
	int fd;

	if (out == NULL || strcmp(out, "-") == 0) {
		fflush(stdout);
		return writer(arg, STDOUT_FILENO);
	}
	/*
	 * A device, pipe or link to one is written through.  A regular file
	 * (or a new one) is written beside the target and renamed into place
	 * only when complete, keeping an existing file's mode.
	 */
	if (stat(out, &st) == 0 && !S_ISREG(st.st_mode)) {
		if ((fd = open(out, O_WRONLY | O_TRUNC | O_CLOEXEC)) < 0)
			return dml_error_errno(errno, "cannot open '%s'", out);
		err = writer(arg, fd);
		if (close(fd) != 0 && err == NULL)
			err = dml_error_errno(errno, "cannot write '%s'", out);
		return err;
	}
	mode = stat(out, &st) == 0 ? st.st_mode & 07777 : 0666 & ~current_umask();
	if (lstat(out, &st) == 0 && S_ISLNK(st.st_mode)) {
		/* A link to a regular file: replace what it points to. */
		if (realpath(out, target) == NULL)
			return dml_error_errno(errno, "cannot resolve '%s'", out);
		out = target;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.dmlctl-XXXXXX", out) >= (int)sizeof(tmp))
		return dml_error_fmt(DML_ERR_USAGE, "-o '%s': the path is too long", out);
	if ((fd = mkstemp(tmp)) < 0)
		return dml_error_errno(errno, "cannot create a file beside '%s'", out);
	if ((err = writer(arg, fd)) == NULL) {
		if (fchmod(fd, mode) != 0 || fsync(fd) != 0)
			err = dml_error_errno(errno, "cannot write '%s'", out);
	}
	if (close(fd) != 0 && err == NULL)
		err = dml_error_errno(errno, "cannot write '%s'", out);
	if (err == NULL && rename(tmp, out) != 0)
		err = dml_error_errno(errno, "cannot write '%s'", out);
	if (err)
		unlink(tmp);
	return err;
}

/* Split "a,b,c" into a list (the strings point into a copy kept in *buf). */
int
split_commas(const char *s, char **buf, const char ***v, size_t *n)
{
	char *p;
	size_t cap = 1;

	*n = 0;
	if ((*buf = strdup(s)) == NULL)
		return -1;
	for (p = *buf; *p; p++)
		cap += *p == ',';
	if ((*v = calloc(cap, sizeof(**v))) == NULL)
		return -1;
	for (p = strtok(*buf, ","); p; p = strtok(NULL, ","))
		(*v)[(*n)++] = p;
	return 0;
}


const struct dml_error *
parse_versioned(const char *spec, const char *noun, char name[DML_TOKEN_MAX + 1], uint64_t *v)
{
	const char *at = strchr(spec, '@');
	size_t nl = at ? (size_t)(at - spec) : strlen(spec);

	*v = 0;
	if (nl == 0 || nl > DML_TOKEN_MAX || !dml_value_valid(DML_V_TOKEN, spec, nl))
		return dml_error_fmt(DML_ERR_USAGE, "'%s' is not a %s name[@version]", spec, noun);
	memcpy(name, spec, nl);
	name[nl] = '\0';
	if (at) {
		char *end;
		errno = 0;
		*v = strtoull(at + 1, &end, 10);
		if (errno || *end || at[1] < '1' || at[1] > '9')
			return dml_error_fmt(DML_ERR_USAGE, "'%s': the version must be a number from 1",
			    spec);
	}
	return NULL;
}

const struct dml_error *
pick_version(const char *noun, const char *name, uint64_t nversions, uint64_t *v)
{
	if (*v == 0)
		*v = nversions;
	if (*v > nversions)
		return dml_error_fmt(DML_ERR_NOTFOUND, "%s '%s' has %llu version%s, not %llu", noun,
		    name, (unsigned long long)nversions, nversions == 1 ? "" : "s",
		    (unsigned long long)*v);
	return NULL;
}

int
parse_entry_id(const char *arg, unsigned char id[32])
{
	char full[DML_ID_LEN + 1];
	const char *hex = strncmp(arg, "sha256:", 7) == 0 ? arg + 7 : arg;

	if (strlen(hex) != 64 || snprintf(full, sizeof(full), "sha256:%s", hex) != DML_ID_LEN)
		return -1;
	return dml_id_parse(id, full, DML_ID_LEN);
}

int
list_begin(struct ctx *ctx, int argc, char **argv, const char *noun, struct dml_ledger **l)
{
	char line[64];
	const char *const usage[] = { line, NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	const struct dml_error *err;
	int n;

	snprintf(line, sizeof(line), "dmlctl %s list [--json]", noun);
	if ((n = parse_options(argc, argv, opts, usage)) < 0)
		return PARSE_EXIT(n);
	if (n > 0)
		return usage_error("'%s list' takes no arguments", noun);
	if ((err = ctx_ledger(ctx, l)))
		return report(err);
	return -1;
}
