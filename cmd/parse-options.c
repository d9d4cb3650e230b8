/*
 * parse-options.c - table-driven option parsing, usage text and completion.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

void
usage_with_options(FILE *f, const struct opt *opts, const char *const *usage)
{
	const struct opt *o;
	size_t i;

	for (i = 0; usage[i]; i++)
		fprintf(f, "%s%s\n", i == 0 ? "usage: " : "   or: ", usage[i]);
	if (opts == NULL || opts[0].type == OPT_END)
		return;
	fputc('\n', f);
	for (o = opts; o->type != OPT_END; o++) {
		char left[80];
		int n;

		if (o->short_name && o->long_name)
			n = snprintf(left, sizeof(left), "-%c, --%s", o->short_name, o->long_name);
		else if (o->short_name)
			n = snprintf(left, sizeof(left), "-%c", o->short_name);
		else
			n = snprintf(left, sizeof(left), "    --%s", o->long_name);
		if (o->argh && n > 0 && (size_t)n < sizeof(left))
			snprintf(left + n, sizeof(left) - (size_t)n, " %s", o->argh);
		if (strlen(left) <= 24)
			fprintf(f, "    %-24s  %s\n", left, o->help);
		else
			fprintf(f, "    %s\n    %-24s  %s\n", left, "", o->help);
	}
}

static int
set_value(const struct opt *o, const char *arg, const char *shown)
{
	switch (o->type) {
	case OPT_STRING:
		*(const char **)o->value = arg;
		return 0;
	case OPT_UINT: {
		char *end;
		unsigned long long v;
		errno = 0;
		if (*arg < '0' || *arg > '9')
			goto bad;
		v = strtoull(arg, &end, 10);
		if (errno || *end || v > INT64_MAX)
			goto bad;
		*(uint64_t *)o->value = v;
		return 0;
	bad:
		fprintf(stderr, "error: option '%s' expects a whole number, not '%s'\n", shown, arg);
		return -1;
	}
	case OPT_LIST: {
		struct strlist *l = o->value;
		const char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
		if (v == NULL) {
			fprintf(stderr, "error: out of memory\n");
			return -1;
		}
		v[l->n++] = arg;
		l->v = v;
		return 0;
	}
	default:
		return -1;
	}
}

int
parse_options(int argc, char **argv, const struct opt *opts, const char *const *usage)
{
	int i, npos = 0, only_args = 0;
	const struct opt *o;

	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (only_args || a[0] != '-' || a[1] == '\0') {
			argv[npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = 1;
			continue;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage_with_options(stdout, opts, usage);
			return PARSE_HELP;
		}
		if (strcmp(a, "--dmlctl-completion-helper") == 0) {
			for (o = opts; o && o->type != OPT_END; o++)
				printf("--%s%s", o->long_name, o[1].type != OPT_END ? " " : "");
			printf("\n");
			return PARSE_HELP;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);

			for (o = opts; o && o->type != OPT_END; o++)
				if (o->long_name && strlen(o->long_name) == len &&
				    strncmp(o->long_name, name, len) == 0)
					break;
			if (o == NULL || o->type == OPT_END) {
				fprintf(stderr, "error: unknown option '%.*s'\n", (int)len + 2, a);
				goto bad;
			}
			if (o->type == OPT_FLAG) {
				if (eq) {
					fprintf(stderr, "error: option '--%s' takes no value\n",
					    o->long_name);
					goto bad;
				}
				*(int *)o->value = 1;
				continue;
			}
			if (eq == NULL && i + 1 >= argc) {
				fprintf(stderr, "error: option '--%s' requires a value\n", o->long_name);
				goto bad;
			}
			if (set_value(o, eq ? eq + 1 : argv[++i], a) != 0)
				goto bad;
			continue;
		}
		/* Short options, possibly bundled: -qk name, -kname. */
		for (a++; *a; a++) {
			char shown[3] = { '-', *a, '\0' };
			for (o = opts; o && o->type != OPT_END; o++)
				if (o->short_name == *a)
					break;
			if (o == NULL || o->type == OPT_END) {
				fprintf(stderr, "error: unknown switch '%c'\n", *a);
				goto bad;
			}
			if (o->type == OPT_FLAG) {
				*(int *)o->value = 1;
				continue;
			}
			if (a[1]) {
				if (set_value(o, a + 1, shown) != 0)
					goto bad;
			} else {
				if (i + 1 >= argc) {
					fprintf(stderr, "error: switch '%c' requires a value\n", *a);
					goto bad;
				}
				if (set_value(o, argv[++i], shown) != 0)
					goto bad;
			}
			break;
		}
	}
	argv[npos] = NULL;
	return npos;
bad:
	usage_with_options(stderr, opts, usage);
	return PARSE_ERROR;
}
