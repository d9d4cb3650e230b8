/*
 * dml/keystore.h - the key directory and loading keys by name or path.
 *
 * The key directory is $DMLCTL_KEYS, else $XDG_CONFIG_HOME/dmlctl/keys, else
 * ~/.config/dmlctl/keys.  It is created with mode 0700.  A key called NAME
 * is the pair NAME.key (secret, mode 0600, created exclusively) and NAME.pub
 * (an OpenSSH public key line).  Secret key files readable by group or others
 * are refused, as ssh refuses them.
 */
#ifndef DML_KEYSTORE_H
#define DML_KEYSTORE_H

#include <stddef.h>

#include "dml/buf.h"
#include "dml/error.h"
#include "dml/key.h"

/* Guarded memory for secrets such as passphrases; freeing wipes it. */
void *dml_secret_alloc(size_t n);
void dml_secret_free(void *p);
void dml_memzero(void *p, size_t n);

/* The key directory's path (not created). */
const struct dml_error *dml_keydir(struct dml_buf *out);

/*
 * Asked for a passphrase when a key is encrypted.  *pass must come from
 * dml_secret_alloc (the caller frees it); `what` names the key.
 */
typedef const struct dml_error *(*dml_passphrase_fn)(void *arg, const char *what, char **pass,
    size_t *len);

/* Save a key as NAME in the key directory; pass NULL: unencrypted. */
const struct dml_error *dml_keystore_save(const char *name, const struct dml_key *k,
    const char *pass, size_t passlen, const char *comment);

struct dml_keyinfo {
	char *name;
	struct dml_pubkey pub;
	int encrypted;		/* 1 yes, 0 no, -1 unreadable */
};

/* The keys in the key directory, sorted by name. */
const struct dml_error *dml_keystore_list(struct dml_keyinfo **out, size_t *n);
void dml_keyinfo_free(struct dml_keyinfo *k, size_t n);

/*
 * Resolve a key spec: a path (it contains '/' or names an existing file) or a
 * name in the key directory.  Fills the path of the secret key file.
 */
const struct dml_error *dml_keystore_resolve(const char *spec, struct dml_buf *path);

/*
 * Load a secret key: a dmlctl key file or an unencrypted OpenSSH ed25519
 * private key.  getpass is called only if the file is encrypted.
 */
const struct dml_error *dml_keystore_load(struct dml_key **out, const char *spec,
    dml_passphrase_fn getpass, void *arg);

/*
 * The public key of a spec without decrypting anything: a key name or path
 * (its .pub file or the key file's header), an OpenSSH public key line, a
 * file holding one, or a key ID.
 */
const struct dml_error *dml_keystore_public(struct dml_pubkey *out, const char *spec);

/* Read a whole small file (at most `max` bytes). */
const struct dml_error *dml_read_file(const char *path, struct dml_buf *out, size_t max);

#endif
