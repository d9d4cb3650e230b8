/*
 * cmd.h - what the command files share: the context, option tables, output.
 *
 * cmd/ talks to people: it parses argv, calls lib/, prints.  Every command is
 * `int cmd_<noun>(struct ctx *, int argc, char **argv)` and returns its exit
 * status (0 ok, 1 a check said no, 2 usage, 128 operational failure).
 */
#ifndef DML_CMD_H
#define DML_CMD_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "dml/error.h"
#include "dml/key.h"
#include "dml/ledger.h"
#include "dml/repo.h"

#define EXIT_NO 1
#define EXIT_USAGE 2
#define EXIT_FAIL 128

struct ctx {
	int json;		/* --json: machine-readable output */
	int quiet;		/* -q: no progress, no chatter */
	const char *keyspec;	/* -k, when a command takes it */
	struct dml_repo *repo;	/* opened on demand by ctx_repo() */
	struct dml_ledger *ledger;
	void *sync_key;		/* fetch/pull/push: the key loaded on demand (cmd/sync.c) */
};

/* Options are data: one table drives parsing, -h and shell completion. */
enum opt_type { OPT_END = 0, OPT_FLAG, OPT_STRING, OPT_UINT, OPT_LIST };

struct strlist {
	const char **v;
	size_t n;
};

struct opt {
	enum opt_type type;
	char short_name;
	const char *long_name;
	const char *argh;	/* placeholder for the value, e.g. "<key>" */
	const char *help;
	void *value;		/* int *, const char **, uint64_t *, struct strlist * */
};

#define OPT_KEY(v) { OPT_STRING, 'k', "key", "<key>", "sign with this key (a name or a path)", v }
#define OPT_JSON(v) { OPT_FLAG, 0, "json", NULL, "print JSON", v }

#define PARSE_HELP (-1)
#define PARSE_ERROR (-2)

/*
 * Parse argv[1..] against opts.  Positional arguments are moved to the front
 * of argv and their count returned.  -h prints the usage (to stdout) and
 * returns PARSE_HELP; a bad option prints an error and the usage (to stderr)
 * and returns PARSE_ERROR.  "--dmlctl-completion-helper" prints the long
 * options for the completion script and returns PARSE_HELP.
 */
int parse_options(int argc, char **argv, const struct opt *opts, const char *const *usage);
void usage_with_options(FILE *f, const struct opt *opts, const char *const *usage);
/* The return value of a command for a parse_options result < 0. */
#define PARSE_EXIT(n) ((n) == PARSE_HELP ? 0 : EXIT_USAGE)

/* A two-level command's verbs. */
struct verb {
	const char *name;
	int (*fn)(struct ctx *ctx, int argc, char **argv);
	const char *summary;
};
int run_verb(struct ctx *ctx, const char *noun, const struct verb *verbs, int argc, char **argv);

/*
 * The start of every "dmlctl <noun> list [--json]": parse the options,
 * refuse arguments, open the ledger.  -1 when *l is ready; otherwise the
 * exit status to return.
 */
int list_begin(struct ctx *ctx, int argc, char **argv, const char *noun, struct dml_ledger **l);

/* A full entry ID, with or without "sha256:": 0 on success. */
int parse_entry_id(const char *arg, unsigned char id[32]);

/* Roles as a statement wants them: sorted, without repeats.  NULL if invalid. */
const char *normalize_roles(const char *in, char *out, size_t n);
/* "a,b,c" into a list whose strings point into a copy kept in *buf: 0, or -1 out of memory. */
int split_commas(const char *s, char **buf, const char ***v, size_t *n);

/* Print "error: <msg>" and return the exit status the error stands for. */
int report(const struct dml_error *err);
/* Print "error: <fmt>" and return EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Progress on stderr, only when it is a terminal and -q is not given. */
void progress(struct ctx *ctx, const char *what, uint64_t done, uint64_t total);

/* Open the repository and ledger on first use. */
const struct dml_error *ctx_repo(struct ctx *ctx, struct dml_repo **out);
const struct dml_error *ctx_ledger(struct ctx *ctx, struct dml_ledger **out);
void ctx_release(struct ctx *ctx);

/* The signing key: -k, DMLCTL_KEY, git config dml.signingKey, or the only key. */
const struct dml_error *ctx_signing_key(struct ctx *ctx, struct dml_key **out);
/* The passphrase callback: DMLCTL_PASSPHRASE_FILE, else the terminal. */
const struct dml_error *ask_passphrase(void *arg, const char *what, char **pass, size_t *len);
/* A new passphrase (asked twice on a terminal). */
const struct dml_error *ask_new_passphrase(const char *what, char **pass, size_t *len);
/* Seconds since the epoch: DMLCTL_TIME when set (for reproducible runs), else now. */
const struct dml_error *now_seconds(uint64_t *out);

/* Sign and append an entry with the signing key; print it (or its JSON). */
int append_entry(struct ctx *ctx, struct dml_stmt_builder *b, struct dml_attachment *att,
    size_t natt);

/* "2026-11-23T05:41:07Z", or the bare number beyond the calendar. */
void iso_time(char *out, size_t n, uint64_t t);

/*
 * Run writer on standard output (out NULL or "-"), on a device or pipe
 * (written through), or on a regular file written beside it and renamed
 * into place only when the writer succeeded, keeping the file's mode.
 */
const struct dml_error *write_output(const char *out,
    const struct dml_error *(*writer)(void *arg, int fd), void *arg);

/*
 * "name" or "name@version": the name, and the version or 0 for the newest
 * (noun names the kind of thing in messages); then the version a name with
 * nversions versions gives, or DML_ERR_NOTFOUND.
 */
const struct dml_error *parse_versioned(const char *spec, const char *noun,
    char name[DML_TOKEN_MAX + 1], uint64_t *v);
const struct dml_error *pick_version(const char *noun, const char *name, uint64_t nversions,
    uint64_t *v);

/* "name" or "name@version" of a dataset to its entry seq (and version). */
const struct dml_error *resolve_dataset(struct dml_ledger *l, const char *spec, uint64_t *seq,
    uint64_t *version);

/* JSON output: print and free v, with a final newline. */
int json_print(json_t *v);
json_t *json_stmt(const struct dml_stmt *s);

/* Commands. */
int cmd_dataset(struct ctx *ctx, int argc, char **argv);
int cmd_init(struct ctx *ctx, int argc, char **argv);
int cmd_clone(struct ctx *ctx, int argc, char **argv);
int cmd_fetch(struct ctx *ctx, int argc, char **argv);
int cmd_pull(struct ctx *ctx, int argc, char **argv);
int cmd_push(struct ctx *ctx, int argc, char **argv);
int cmd_remote(struct ctx *ctx, int argc, char **argv);
int cmd_key(struct ctx *ctx, int argc, char **argv);
int cmd_ledger(struct ctx *ctx, int argc, char **argv);
int cmd_model(struct ctx *ctx, int argc, char **argv);
int cmd_round(struct ctx *ctx, int argc, char **argv);
int cmd_reward(struct ctx *ctx, int argc, char **argv);
int cmd_balance(struct ctx *ctx, int argc, char **argv);
int cmd_update(struct ctx *ctx, int argc, char **argv);
int cmd_help(struct ctx *ctx, int argc, char **argv);
int cmd_version(struct ctx *ctx, int argc, char **argv);

#endif
