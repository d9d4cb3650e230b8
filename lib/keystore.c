/*
 * keystore.c - the key directory (see dml/keystore.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "dml/keystore.h"

#define KEYFILE_MAX 65536

const struct dml_error *
dml_read_file(const char *path, struct dml_buf *out, size_t max)
{
	int fd;
	ssize_t r;
	const struct dml_error *err;

	dml_buf_reset(out);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return dml_error_errno(errno, "cannot open '%s'", path);
	for (;;) {
		if ((err = dml_buf_grow(out, 4096))) {
			close(fd);
			return err;
		}
		r = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = dml_error_errno(errno, "cannot read '%s'", path);
			close(fd);
			return err;
		}
		if (r == 0)
			break;
		out->len += (size_t)r;
		if (out->len > max) {
			close(fd);
			return dml_error_fmt(DML_ERR_PARSE, "'%s' is larger than %zu bytes", path, max);
		}
	}
	out->data[out->len] = '\0';
	close(fd);
	return NULL;
}

const struct dml_error *
dml_keydir(struct dml_buf *out)
{
	const char *e;

	dml_buf_reset(out);
	if ((e = getenv("DMLCTL_KEYS")) && *e)
		return dml_buf_adds(out, e);
	if ((e = getenv("XDG_CONFIG_HOME")) && *e == '/')
		return dml_buf_addf(out, "%s/dmlctl/keys", e);
	if ((e = getenv("HOME")) && *e)
		return dml_buf_addf(out, "%s/.config/dmlctl/keys", e);
	return dml_error_fmt(DML_ERR_NOTFOUND,
	    "cannot find the key directory: set DMLCTL_KEYS or HOME");
}

/* mkdir -p with mode 0700 for the last component. */
static const struct dml_error *
mkdirs(const char *dir)
{
	char *p = strdup(dir), *s;

	if (p == NULL)
		return dml_error_nomem();
	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			const struct dml_error *err = dml_error_errno(errno, "cannot create '%s'", p);
			free(p);
			return err;
		}
		*s = '/';
	}
	free(p);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return dml_error_errno(errno, "cannot create '%s'", dir);
	return NULL;
}

static const struct dml_error *
write_new_file(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd;
	const unsigned char *c = p;
	const struct dml_error *err = NULL;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0) {
		if (errno == EEXIST)
			return dml_error_fmt(DML_ERR_EXISTS, "'%s' exists already", path);
		return dml_error_errno(errno, "cannot create '%s'", path);
	}
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = dml_error_errno(errno, "cannot write '%s'", path);
			break;
		}
		c += w;
		n -= (size_t)w;
	}
	if (err == NULL && fsync(fd) != 0)
		err = dml_error_errno(errno, "cannot write '%s'", path);
	if (close(fd) != 0 && err == NULL)
		err = dml_error_errno(errno, "cannot write '%s'", path);
	if (err)
		unlink(path);
	return err;
}

const struct dml_error *
dml_keystore_save(const char *name, const struct dml_key *k, const char *pass, size_t passlen,
    const char *comment)
{
	struct dml_buf dir = DML_BUF_INIT, path = DML_BUF_INIT, text = DML_BUF_INIT;
	struct dml_buf pub = DML_BUF_INIT, pubpath = DML_BUF_INIT;
	const struct dml_error *err;

	if (!dml_key_name_valid(name))
		return dml_error_fmt(DML_ERR_USAGE,
		    "invalid key name '%s': use 1-64 of A-Z a-z 0-9 . _ - (not first . or -)", name);
	if ((err = dml_keydir(&dir)) || (err = mkdirs((const char *)dir.data)) ||
	    (err = dml_buf_addf(&path, "%s/%s.key", dir.data, name)) ||
	    (err = dml_buf_addf(&pubpath, "%s/%s.pub", dir.data, name)))
		goto done;
	if (access((const char *)pubpath.data, F_OK) == 0) {
		err = dml_error_fmt(DML_ERR_EXISTS, "a key named '%s' exists already", name);
		goto done;
	}
	if ((err = dml_keyfile_encode(&text, k, pass, passlen)) ||
	    (err = dml_pubkey_openssh(&pub, &k->pub, comment ? comment : name)) ||
	    (err = dml_buf_adds(&pub, "\n")))
		goto done;
	if ((err = write_new_file((const char *)path.data, text.data, text.len, 0600))) {
		if (err->code == DML_ERR_EXISTS)
			err = dml_error_fmt(DML_ERR_EXISTS, "a key named '%s' exists already", name);
		goto done;
	}
	if ((err = write_new_file((const char *)pubpath.data, pub.data, pub.len, 0644)))
		unlink((const char *)path.data);
done:
	dml_buf_release(&dir);
	dml_buf_release(&path);
	dml_buf_release(&pubpath);
	dml_buf_release(&pub);
	dml_buf_wipe(&text);
	return err;
}

void
dml_keyinfo_free(struct dml_keyinfo *k, size_t n)
{
	size_t i;

	for (i = 0; k && i < n; i++)
		free(k[i].name);
	free(k);
}

static int
keyinfo_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dml_keyinfo *)a)->name, ((const struct dml_keyinfo *)b)->name);
}

/* Public key of a secret key file (ours or OpenSSH's), without a passphrase. */
static int
keyfile_public(const char *text, size_t n, struct dml_pubkey *pk)
{
	struct dml_key *k = NULL;
	char *comment = NULL;

	if (dml_keyfile_public(text, n, pk) == 0)
		return 0;
	if (!dml_openssh_key_detect(text, n) ||
	    dml_openssh_key_decode(&k, &comment, text, n, "key") != NULL)
		return -1;
	*pk = k->pub;
	dml_key_free(k);
	free(comment);
	return 0;
}

const struct dml_error *
dml_keystore_list(struct dml_keyinfo **out, size_t *n)
{
	struct dml_buf dir = DML_BUF_INIT, path = DML_BUF_INIT, text = DML_BUF_INIT;
	struct dml_keyinfo *ki = NULL;
	size_t cnt = 0, cap = 0;
	const struct dml_error *err;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	if ((err = dml_keydir(&dir)))
		return err;
	if ((d = opendir((const char *)dir.data)) == NULL) {
		err = errno == ENOENT ? NULL : dml_error_errno(errno, "cannot read '%s'", dir.data);
		dml_buf_release(&dir);
		return err;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		struct dml_keyinfo *k;
		if (len < 5 || strcmp(de->d_name + len - 4, ".key") != 0)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			if ((k = realloc(ki, cap * sizeof(*k))) == NULL) {
				err = dml_error_nomem();
				break;
			}
			ki = k;
		}
		k = &ki[cnt];
		memset(k, 0, sizeof(*k));
		if ((k->name = strndup(de->d_name, len - 4)) == NULL) {
			err = dml_error_nomem();
			break;
		}
		cnt++;
		if (!dml_key_name_valid(k->name)) {
			free(k->name);
			cnt--;
			continue;
		}
		k->encrypted = -1;
		if (dml_keystore_public(&k->pub, k->name) == NULL) {
			dml_buf_reset(&path);
			if (dml_buf_addf(&path, "%s/%s.key", dir.data, k->name) == NULL &&
			    dml_read_file((const char *)path.data, &text, KEYFILE_MAX) == NULL)
				k->encrypted = dml_keyfile_is_encrypted((const char *)text.data,
				    text.len) == 1;
			dml_buf_wipe(&text);
		}
	}
	closedir(d);
	dml_buf_release(&dir);
	dml_buf_release(&path);
	if (err) {
		dml_keyinfo_free(ki, cnt);
		return err;
	}
	qsort(ki, cnt, sizeof(*ki), keyinfo_cmp);
	*out = ki;
	*n = cnt;
	return NULL;
}

const struct dml_error *
dml_keystore_resolve(const char *spec, struct dml_buf *path)
{
	struct dml_buf dir = DML_BUF_INIT;
	const struct dml_error *err;
	struct stat st;

	dml_buf_reset(path);
	if (*spec == '\0')
		return dml_error_fmt(DML_ERR_USAGE, "empty key name");
	if (strchr(spec, '/'))
		return dml_buf_adds(path, spec);
	/* A key name wins over a file of the same name in the working directory. */
	if (dml_key_name_valid(spec)) {
		if ((err = dml_keydir(&dir)))
			return err;
		err = dml_buf_addf(path, "%s/%s.key", dir.data, spec);
		dml_buf_release(&dir);
		if (err || access((const char *)path->data, F_OK) == 0)
			return err;
		dml_buf_reset(path);
	}
	if (stat(spec, &st) == 0 && S_ISREG(st.st_mode))
		return dml_buf_adds(path, spec);
	if (!dml_key_name_valid(spec))
		return dml_error_fmt(DML_ERR_USAGE, "invalid key name '%s' and no such file", spec);
	return dml_error_fmt(DML_ERR_NOTFOUND, "no key named '%s' (see 'dmlctl key list')", spec);
}

const struct dml_error *
dml_keystore_load(struct dml_key **out, const char *spec, dml_passphrase_fn getpass, void *arg)
{
	struct dml_buf path = DML_BUF_INIT, text = DML_BUF_INIT;
	const struct dml_error *err;
	char *pass = NULL, *comment = NULL;
	size_t passlen = 0;
	struct stat st;
	int enc;

	*out = NULL;
	if ((err = dml_keystore_resolve(spec, &path)))
		goto done;
	if (stat((const char *)path.data, &st) != 0) {
		err = dml_error_errno(errno, "cannot open key '%s'", path.data);
		goto done;
	}
	if (st.st_mode & 077) {
		err = dml_error_fmt(DML_ERR_IO,
		    "key file '%s' is readable by others (mode %03o); run chmod 600 on it",
		    path.data, (unsigned)(st.st_mode & 0777));
		goto done;
	}
	if ((err = dml_read_file((const char *)path.data, &text, KEYFILE_MAX)))
		goto done;
	if (dml_openssh_key_detect((const char *)text.data, text.len)) {
		err = dml_openssh_key_decode(out, &comment, (const char *)text.data, text.len, spec);
		goto done;
	}
	enc = dml_keyfile_is_encrypted((const char *)text.data, text.len);
	if (enc < 0) {
		err = dml_error_fmt(DML_ERR_PARSE, "'%s' is not a dmlctl or OpenSSH secret key",
		    path.data);
		goto done;
	}
	if (enc == 1) {
		if (getpass == NULL) {
			err = dml_error_fmt(DML_ERR_PASSPHRASE, "key '%s' is encrypted", spec);
			goto done;
		}
		if ((err = getpass(arg, spec, &pass, &passlen)))
			goto done;
	}
	err = dml_keyfile_decode(out, (const char *)text.data, text.len, pass, passlen, spec);
done:
	if (pass) {
		dml_memzero(pass, passlen);
		dml_secret_free(pass);
	}
	free(comment);
	dml_buf_release(&path);
	dml_buf_wipe(&text);
	return err;
}

const struct dml_error *
dml_keystore_public(struct dml_pubkey *out, const char *spec)
{
	struct dml_buf path = DML_BUF_INIT, text = DML_BUF_INIT;
	const struct dml_error *err;
	size_t len = strlen(spec);

	/* A key typed on the command line: a malformed one is a usage error. */
	if (strncmp(spec, "ssh-ed25519 ", 12) == 0 || strncmp(spec, "ed25519:", 8) == 0) {
		if ((err = dml_pubkey_parse(out, spec, len)))
			return dml_error_fmt(DML_ERR_USAGE, "%s", err->msg);
		return NULL;
	}
	if ((err = dml_keystore_resolve(spec, &path)) ||
	    (err = dml_read_file((const char *)path.data, &text, KEYFILE_MAX)))
		goto done;
	if (text.len > 12 && memcmp(text.data, "ssh-ed25519 ", 12) == 0) {
		err = dml_pubkey_parse(out, (const char *)text.data, text.len);
		goto done;
	}
	if (keyfile_public((const char *)text.data, text.len, out) != 0)
		err = dml_error_fmt(DML_ERR_PARSE, "'%s' holds no ed25519 key", path.data);
done:
	dml_buf_release(&path);
	dml_buf_wipe(&text);
	return err;
}
