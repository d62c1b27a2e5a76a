/* secret.c — password hashing, tokens and HMAC over libsodium. */
#include <sodium.h>
#include "util/secret.h"

int lp_secret_init(void) { return sodium_init() < 0 ? -1 : 0; }

int lp_password_hash(const char *pw, char out[LP_PWHASH_LEN]) {
  return crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE / 2) == 0 ? 0 : -1;
}

int lp_password_verify(const char *hash, const char *pw) {
  return hash && pw && crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

void lp_token_new(char out[LP_TOKEN_LEN]) {
  unsigned char b[32];
  randombytes_buf(b, sizeof b);
  sodium_bin2hex(out, LP_TOKEN_LEN, b, sizeof b);
}

void lp_token_hash(const char *token, char out[LP_TOKEN_LEN]) {
  unsigned char h[32];
  crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), NULL, 0);
  sodium_bin2hex(out, LP_TOKEN_LEN, h, sizeof h);
}

int lp_secret_equal(const char *a, const char *b) {
  size_t n = strlen(a);
  if (n != strlen(b)) return 0;
  return sodium_memcmp(a, b, n) == 0;
}

void lp_hmac_sha256_hex(const char *key, const void *msg, size_t len, char out[LP_TOKEN_LEN]) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
  crypto_auth_hmacsha256_update(&st, msg, len);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2hex(out, LP_TOKEN_LEN, mac, sizeof mac);
}
