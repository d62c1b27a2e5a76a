/* fuzz_mail — inbound e-mail as the HTTP endpoint and IMAP polling take it: any bytes parse to a
 * message (every string set, addresses lower-case) or a clear refusal; the parsed message turns into
 * JSON; reply addresses and HTML-to-text take any input. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "msg/mime.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  lp_mime_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 20) return 0;
  lp_mail_in m = {0};
  lp_err err = LP_ERR_INIT;
  if (lp_mail_parse((const char *)data, size, &m, &err) == LP_OK) {
    if (!m.from || !m.subject || !m.text || !m.message_id || !m.in_reply_to) abort();
    for (const char *p = m.from; *p; p++)
      if (isupper((unsigned char)*p)) abort();
    json_t *j = lp_mail_in_json(&m);
    if (!j) abort();
    json_decref(j);
    char tok[LP_REPLY_TOKEN_LEN];
    for (size_t i = 0; i < m.n_to; i++) (void)lp_reply_token_parse(m.to[i], i % 2 ? "reply.example.test" : NULL, tok);
  }
  lp_mail_in_release(&m);
  lp_err_release(&err);
  lp_buf b = LP_BUF_INIT(1 << 21);
  lp_html_to_text((const char *)data, size, &b);
  lp_buf_release(&b);
  return 0;
}
