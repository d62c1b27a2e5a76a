/* fuzz_records — JSON request bodies through the record tables that validate every route family's
 * input (leads, tasks, the lists, users): decoded as the server decodes a body, then checked for a
 * create and a patch, as an admin and not, with and without a country for phones. Whatever the
 * bytes, validation answers LP_OK with columns or an error naming fields; it never crashes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "core/record.h"

static const lp_rectype *const types[] = {&lp_rt_lead, &lp_rt_task, &lp_rt_stage, &lp_rt_outcome, &lp_rt_lost_reason,
                                          &lp_rt_source, &lp_rt_location, &lp_rt_partner, &lp_rt_group, &lp_rt_user};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  /* the first byte picks the record type and the mode; the rest is the body */
  unsigned sel = data[0];
  const lp_rectype *t = types[sel % (sizeof types / sizeof *types)];
  json_error_t je;
  json_t *in = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &je);
  if (!in) return 0;
  if (json_is_object(in)) {
    json_t *out = NULL;
    lp_err err = LP_ERR_INIT;
    lp_code rc = lp_rec_input(t, in, (sel >> 4) & 1, (sel >> 5) & 1, (sel >> 6) & 1 ? "GB" : NULL, &out, &err);
    if (rc == LP_OK) {
      /* the accepted columns present again as the API shows them */
      json_t *shown = lp_rec_present(t, out);
      json_decref(shown);
    }
    json_decref(out);
    lp_err_release(&err);
  }
  json_decref(in);
  return 0;
}
