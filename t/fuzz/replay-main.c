/*
 * replay-main.c: a plain main() for the fuzz targets in t/fuzz/.
 *
 * A target defines LLVMFuzzerTestOneInput() as libFuzzer wants it.  Linked
 * with this file instead of libFuzzer it becomes t/fuzz/NAME-replay, which
 * feeds every file named on its command line to the target once; a
 * directory stands for the files under it, taken in sorted order and without
 * dot files.  `make check` replays t/fuzz/corpus/NAME/ this way, so every
 * input that once crashed stays a regression test, and the sanitizer build
 * replays them under ASan and UBSan.
 *
 * Each input sits in a buffer of exactly its size, so that a read one byte
 * past the end is caught by ASan as libFuzzer would catch it.  When the
 * target crashes, the input's name is printed (by the sanitizer's death
 * callback in a sanitizer build, else by a signal handler); with
 * DML_FUZZ_VERBOSE=1 every name is printed before its input runs.
 */

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Optional in a target, and present only in sanitizer builds. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static const char *target = "?";
static const char *current; /* the input being replayed, for crash reports */
static int verbose;
static size_t replayed;

static void put(const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, s, len);
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Async-signal-safe: only write(2). */
static void report_crash(void)
{
	if (current == NULL)
		return;
	put("fuzz ");
	put(target);
	put(": crashed on input '");
	put(current);
	put("'\n");
}

static void on_signal(int sig)
{
	report_crash();
	raise(sig); /* SA_RESETHAND restored the default action */
}

static void catch_crashes(void)
{
	static const int all[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
	/* A sanitizer reports SEGV and friends itself, better than we can. */
	size_t n = __sanitizer_set_death_callback ? 1 : sizeof(all) / sizeof(all[0]);
	struct sigaction sa;

	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(report_crash);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < n; i++)
		sigaction(all[i], &sa, NULL);
}

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "fuzz %s: %s '%s': %s\n", target, what, path, strerror(errno));
	return -1;
}

static int replay_file(const char *path)
{
	static const uint8_t empty[1];
	uint8_t *buf = NULL, *exact;
	size_t len = 0, cap = 0;
	int ret = 0;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return fail("cannot open", path);
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? 2 * cap : 4096;
			uint8_t *nbuf = realloc(buf, ncap);
			if (nbuf == NULL) {
				ret = fail("out of memory reading", path);
				goto done;
			}
			buf = nbuf;
			cap = ncap;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		ret = fail("cannot read", path);
		goto done;
	}

	exact = len ? malloc(len) : NULL;
	if (len && exact == NULL) {
		ret = fail("out of memory reading", path);
		goto done;
	}
	if (len)
		memcpy(exact, buf, len);
	if (verbose)
		fprintf(stderr, "fuzz %s: %s\n", target, path);
	current = path;
	LLVMFuzzerTestOneInput(len ? exact : empty, len);
	current = NULL;
	free(exact);
	replayed++;
done:
	free(buf);
	fclose(f);
	return ret;
}

static int skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static int replay_path(const char *path)
{
	struct stat st;
	struct dirent **names;
	int n, ret = 0;

	if (stat(path, &st) != 0)
		return fail("cannot stat", path);
	if (S_ISREG(st.st_mode))
		return replay_file(path);
	if (!S_ISDIR(st.st_mode))
		return 0;

	n = scandir(path, &names, skip_dot, alphasort);
	if (n < 0)
		return fail("cannot read directory", path);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
		char *sub = malloc(len);

		if (sub == NULL) {
			errno = ENOMEM;
			ret = fail("out of memory in", path);
		} else if (ret == 0) {
			snprintf(sub, len, "%s/%s", path, names[i]->d_name);
			ret = replay_path(sub);
		}
		free(sub);
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	static char name[256];
	const char *base = strrchr(argv[0], '/');
	size_t len;

	base = base ? base + 1 : argv[0];
	snprintf(name, sizeof(name), "%s", base);
	len = strlen(name);
	if (len > 7 && strcmp(name + len - 7, "-replay") == 0)
		name[len - 7] = '\0';
	target = name;
	verbose = getenv("DML_FUZZ_VERBOSE") != NULL && strcmp(getenv("DML_FUZZ_VERBOSE"), "0") != 0;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: %s <file-or-directory>...\n", argv[0]);
		return 0;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	catch_crashes();

	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i]) != 0)
			return 1;
	printf("fuzz %s: %zu inputs replayed\n", target, replayed);
	return fflush(stdout) == 0 ? 0 : 1;
}
