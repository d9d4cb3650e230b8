/*
 * dmlctl.c - main: global options, the command table, help and version.
 *
 * Set-up happens here, once: global options, -C, library initialisation.
 * After the command returns, stdout is flushed and checked, so a full disk
 * or a closed pipe never silently loses output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "dml/version.h"

#ifndef DML_VERSION
#define DML_VERSION "0.1.0"
#endif

struct command {
	const char *name;
	int (*fn)(struct ctx *ctx, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "balance", cmd_balance, "show the token balances the ledger gives each key" },
	{ "clone", cmd_clone, "copy a remote's ledger, verifying every entry" },
	{ "dataset", cmd_dataset, "publish, fetch and verify datasets with their terms" },
	{ "fetch", cmd_fetch, "fetch and verify a remote's ledger without changing ours" },
	{ "help", cmd_help, "show the manual page of a command" },
	{ "init", cmd_init, "create a repository and its ledger, or adopt a git repository" },
	{ "key", cmd_key, "generate, import and export keys; add and revoke members" },
	{ "ledger", cmd_ledger, "show, verify and export the signed ledger" },
	{ "model", cmd_model, "train linear models on datasets; evaluate, predict, export" },
	{ "pull", cmd_pull, "fetch, verify and take a remote's entries, re-linking ours on top" },
	{ "push", cmd_push, "send our entries to a remote (refused when it has entries we lack)" },
	{ "remote", cmd_remote, "add, list and remove remotes" },
	{ "reward", cmd_reward, "compute contribution values and pay token rewards" },
	{ "round", cmd_round, "open, aggregate and follow federated rounds" },
	{ "update", cmd_update, "train, sign, verify and submit updates to a round" },
	{ "version", cmd_version, "print the versions of dmlctl and its libraries" },
	{ NULL, NULL, NULL }
};

static const char *const main_usage =
	"usage: dmlctl [-C <dir>] [--json] [-q] <command> [<verb>] [<options>] [<args>]\n";

static void
print_main_help(FILE *f)
{
	const struct command *c;

	fputs(main_usage, f);
	fputs("\nGlobal options:\n"
	    "    -C <dir>        run as if started in <dir>\n"
	    "    --json          machine-readable output\n"
	    "    -q, --quiet     no progress or chatter on stderr\n"
	    "    -h, --help      this help\n"
	    "    --version       versions of dmlctl and its libraries\n"
	    "\nCommands:\n", f);
	for (c = commands; c->name; c++)
		fprintf(f, "    %-10s  %s\n", c->name, c->summary);
	fputs("\nSee 'dmlctl <command> -h' for a command's usage and 'dmlctl help <command>'\n"
	    "for its manual.  Exit status: 0 success, 1 a check answered no, 2 usage\n"
	    "error, 128 operational failure.\n", f);
}

int
cmd_version(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl version", NULL };
	struct opt opts[] = { OPT_JSON(&ctx->json), { OPT_END } };
	char lapack[32], blas[256];
	int n = parse_options(argc, argv, opts, usage);

	if (n < 0)
		return PARSE_EXIT(n);
	if (n > 0)
		return usage_error("'version' takes no arguments");
	dml_linalg_version(lapack, sizeof(lapack), blas, sizeof(blas));
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "dmlctl", DML_VERSION,
		    "libgit2", dml_git_version(), "libsodium", dml_sodium_version(),
		    "zstd", dml_zstd_version(), "lapack", lapack, "blas", blas,
		    "jansson", JANSSON_VERSION);
		return json_print(o);
	}
	printf("dmlctl %s\nlibgit2 %s\nlibsodium %s\nzstd %s\nlapack %s\nblas %s\njansson %s\n",
	    DML_VERSION, dml_git_version(), dml_sodium_version(), dml_zstd_version(), lapack, blas,
	    JANSSON_VERSION);
	return 0;
}

/* Damerau-free Levenshtein distance, for "did you mean". */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

static int
unknown_command(const char *name)
{
	const struct command *c, *best = NULL;
	size_t bestd = 99, d;

	for (c = commands; c->name; c++) {
		d = distance(name, c->name);
		if (strncmp(name, c->name, strlen(name)) == 0 && strlen(name) >= 2)
			d = 1;
		if (d < bestd) {
			bestd = d;
			best = c;
		}
	}
	fprintf(stderr, "error: '%s' is not a dmlctl command (see 'dmlctl -h')\n", name);
	if (best && bestd <= 2)
		fprintf(stderr, "\nThe most similar command is\n\t%s\n", best->name);
	return EXIT_USAGE;
}

int
cmd_help(struct ctx *ctx, int argc, char **argv)
{
	static const char *const usage[] = { "dmlctl help [<command> | entry]", NULL };
	struct opt opts[] = { { OPT_END } };
	char page[128], path[4096], section = '1';
	const struct command *c;
	struct stat st;
	pid_t pid;
	int n = parse_options(argc, argv, opts, usage), status;

	(void)ctx;
	if (n < 0)
		return PARSE_EXIT(n);
	if (n == 0) {
		print_main_help(stdout);
		return 0;
	}
	if (n > 1)
		return usage_error("'help' takes one command name");
	if (strcmp(argv[0], "dmlctl") == 0)
		snprintf(page, sizeof(page), "dmlctl");
	else if (strcmp(argv[0], "entry") == 0) {
		snprintf(page, sizeof(page), "dmlctl-entry");	/* the statement format */
		section = '5';
	} else {
		for (c = commands; c->name; c++)
			if (strcmp(c->name, argv[0]) == 0)
				break;
		if (c->name == NULL)
			return unknown_command(argv[0]);
		snprintf(page, sizeof(page), "dmlctl-%s", c->name);
	}
	fflush(stdout);
	path[0] = '\0';
#ifdef DML_SRCDOCDIR
	snprintf(path, sizeof(path), "%s/%s.%c", DML_SRCDOCDIR, page, section);
	if (stat(path, &st) != 0)
		path[0] = '\0';
#endif
	if (path[0] == '\0') {
#ifdef DML_MANDIR
		snprintf(path, sizeof(path), "%s/man%c/%s.%c", DML_MANDIR, section, page, section);
		if (stat(path, &st) != 0)
#endif
			snprintf(path, sizeof(path), "%s", page);
	}
	if ((pid = fork()) == 0) {
		if (strchr(path, '/'))
			execlp("man", "man", "-l", path, (char *)NULL);
		else
			execlp("man", "man", path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "error: cannot show the manual page '%s'%s\n", page,
		    strchr(path, '/') ? " (is man installed?)" : "");
		return EXIT_FAIL;
	}
	return 0;
}

static int
finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "error: cannot write to standard output: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct ctx ctx;
	const struct command *c;
	int i, rc;

	memset(&ctx, 0, sizeof(ctx));
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-C") == 0) {
			if (i + 1 >= argc) {
				fputs("error: -C requires a directory\n", stderr);
				fputs(main_usage, stderr);
				return EXIT_USAGE;
			}
			if (*argv[++i] && chdir(argv[i]) != 0) {
				fprintf(stderr, "error: cannot change to '%s': %s\n", argv[i],
				    strerror(errno));
				return EXIT_FAIL;
			}
		} else if (strcmp(a, "--json") == 0)
			ctx.json = 1;
		else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0)
			ctx.quiet = 1;
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			print_main_help(stdout);
			return finish(0);
		} else if (strcmp(a, "--version") == 0) {
			char vname[] = "version", *v[] = { vname, NULL };
			return finish(cmd_version(&ctx, 1, v));
		} else if (strcmp(a, "--dmlctl-completion-helper") == 0) {
			for (c = commands; c->name; c++)
				printf("%s%s", c->name, c[1].name ? " " : "\n");
			return finish(0);
		} else {
			fprintf(stderr, "error: unknown global option '%s'\n", a);
			fputs(main_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		print_main_help(stderr);
		return EXIT_USAGE;
	}
	for (c = commands; c->name; c++)
		if (strcmp(c->name, argv[i]) == 0)
			break;
	if (c->name == NULL)
		return unknown_command(argv[i]);
	rc = c->fn(&ctx, argc - i, argv + i);
	ctx_release(&ctx);
	return finish(rc);
}
