/* fuzz_valid — e-mail and phone normalisation (every lead's addresses, inbound matching, search):
 * any text gives a bounded, NUL-terminated answer, and normalising an answer again changes
 * nothing (so the stored form and the searched form always meet). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "util/valid.h"

static const char *const countries[] = {NULL, "GB", "US", "DE", "FR", "IN", "AU", "ZZ"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 4096) return 0;
  const char *cc = countries[data[0] % (sizeof countries / sizeof *countries)];
  char *in = malloc(size);
  memcpy(in, data + 1, size - 1);
  in[size - 1] = 0;
  char out[512], again[512];
  /* both answer 0 on success */
  if (lp_email_normalize(in, out, sizeof out) == 0) {
    if (strlen(out) >= sizeof out) abort();
    if (lp_email_normalize(out, again, sizeof again) != 0 || strcmp(out, again) != 0) abort();
  } else if (out[0]) {
    abort();  /* a refusal leaves the empty string */
  }
  if (lp_phone_normalize(in, cc, out, sizeof out) == 0) {
    if (strlen(out) >= sizeof out || out[0] != '+') abort();
    if (lp_phone_normalize(out, cc, again, sizeof again) != 0 || strcmp(out, again) != 0) abort();
    /* written for reading, and read back, it is the same number */
    char shown[LP_PHONE_SHOWSZ];
    if (lp_phone_format(out, shown, sizeof shown) != 0) abort();
    if (lp_phone_normalize(shown, NULL, again, sizeof again) != 0 || strcmp(out, again) != 0) abort();
  } else if (out[0]) {
    abort();
  }
  (void)lp_country_valid(in);
  (void)lp_country_calling_code(in);
  free(in);
  return 0;
}
