/* smsprovider.h — the SMS provider's webhook shape, no I/O: its form posts
 * (application/x-www-form-urlencoded) decoded, and its request signature: base64 of
 * HMAC-SHA1(account token, the full URL it called + every POST parameter sorted by name, each
 * name followed by its value). docs/conversations.md tells the routes that use them. */
#ifndef LP_MSG_SMSPROVIDER_H
#define LP_MSG_SMSPROVIDER_H
#include <jansson.h>
#include <stddef.h>

/* A form body decoded into an object of strings (a repeated name keeps its last value), or NULL
 * when it is not well-formed (a bad %-escape, a NUL, a name that is not valid UTF-8). New reference. */
json_t *lp_form_decode(const char *body, size_t len);
/* The provider's signature of a post to url with params (an object of strings), into out
 * (NUL-terminated base64; 0, or -1 on failure). */
int lp_sms_signature(const char *token, const char *url, json_t *params, char *out, size_t outsz);
/* 1 when given is the right signature (compared in constant time), else 0. */
int lp_sms_signature_ok(const char *token, const char *url, json_t *params, const char *given);
#endif
