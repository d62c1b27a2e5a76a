/* secret.h — passwords (Argon2id), random tokens and their stored hashes (libsodium). */
#ifndef LP_SECRET_H
#define LP_SECRET_H
#include <stddef.h>
#define LP_TOKEN_LEN 65   /* 64 hex characters + NUL */
#define LP_PWHASH_LEN 128
int lp_secret_init(void);                                             /* 0 or -1 */
int lp_password_hash(const char *pw, char out[LP_PWHASH_LEN]);         /* 0 or -1 */
int lp_password_verify(const char *hash, const char *pw);              /* 1 if it matches */
void lp_token_new(char out[LP_TOKEN_LEN]);                             /* 32 random bytes as hex */
void lp_token_hash(const char *token, char out[LP_TOKEN_LEN]);        /* BLAKE2b-256 as hex */
int lp_secret_equal(const char *a, const char *b);                    /* constant time for equal lengths */
void lp_hmac_sha256_hex(const char *key, const void *msg, size_t len, char out[LP_TOKEN_LEN]);
#endif
