/* smsprovider.c — decodes the SMS provider's form posts and checks their signatures
 * (smsprovider.h). HMAC-SHA1 comes from OpenSSL: libsodium has no SHA-1, and the provider's
 * scheme requires it. */
#include "msg/smsprovider.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include "util/buf.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Appends the decoded form of s[0..n) ('+' is a space); -1 on a bad escape or a NUL. */
static int unescape(lp_buf *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '+') c = ' ';
    else if (c == '%') {
      if (i + 2 >= n) return -1;
      int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
      if (h < 0 || l < 0) return -1;
      c = (char)(h * 16 + l);
      i += 2;
    }
    if (c == 0 || lp_buf_add(b, &c, 1)) return -1;
  }
  return 0;
}

json_t *lp_form_decode(const char *body, size_t len) {
  json_t *o = json_object();
  lp_buf k = LP_BUF_INIT(1 << 20), v = LP_BUF_INIT(1 << 20);
  size_t i = 0;
  while (o && i < len) {
    size_t end = i;
    while (end < len && body[end] != '&') end++;
    size_t eq = i;
    while (eq < end && body[eq] != '=') eq++;
    if (end > i) {
      lp_buf_reset(&k);
      lp_buf_reset(&v);
      if (unescape(&k, body + i, eq - i) || (eq < end && unescape(&v, body + eq + 1, end - eq - 1)) ||
          json_object_set_new(o, lp_buf_str(&k), json_string(lp_buf_str(&v)))) {
        json_decref(o);
        o = NULL;
      }
    }
    i = end + 1;
  }
  lp_buf_release(&k);
  lp_buf_release(&v);
  return o;
}

static int by_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

int lp_sms_signature(const char *token, const char *url, json_t *params, char *out, size_t outsz) {
  size_t n = json_object_size(params), i = 0;
  const char **names = calloc(n ? n : 1, sizeof *names);
  if (!names) return -1;
  const char *k;
  json_t *v;
  json_object_foreach(params, k, v) names[i++] = k;
  qsort(names, n, sizeof *names, by_name);
  lp_buf data = LP_BUF_INIT(4 << 20);
  lp_buf_puts(&data, url);
  for (i = 0; i < n; i++) {
    lp_buf_puts(&data, names[i]);
    const char *s = json_string_value(json_object_get(params, names[i]));
    lp_buf_puts(&data, s ? s : "");
  }
  free(names);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  int rc = -1;
  if (!data.overflow && HMAC(EVP_sha1(), token, (int)strlen(token), (const unsigned char *)lp_buf_str(&data), data.len, mac, &maclen) &&
      outsz > (size_t)4 * ((maclen + 2) / 3)) {
    EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
    rc = 0;
  }
  lp_buf_release(&data);
  return rc;
}

int lp_sms_signature_ok(const char *token, const char *url, json_t *params, const char *given) {
  char want[64];
  if (!token || !*token || !given || lp_sms_signature(token, url, params, want, sizeof want)) return 0;
  size_t n = strlen(want);
  return strlen(given) == n && CRYPTO_memcmp(want, given, n) == 0;
}
