/* fuzz_leadlist — the lead list's query string (GET /api/v1/leads?...: filters, sort, cursor,
 * search) against a real store: any parameters give a page or a clear error in the contract's
 * codes, never a crash or a malformed SQL statement. The input is "k=v&k=v..." as the HTTP layer
 * hands it over, already percent-decoded. A small SQLite database is made once per process. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "store/db.h"
#include "store/leads.h"
#include "store/migrate.h"

static lp_store *store;
static lp_actor admin, agent;

#define MAXP 24
typedef struct { int n; const char *k[MAXP], *v[MAXP]; } params;

static const char *get(void *ctx, const char *name) {
  params *p = ctx;
  for (int i = 0; i < p->n; i++)
    if (!strcmp(p->k[i], name)) return p->v[i];
  return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  char dir[] = "/tmp/lp-fuzz-XXXXXX";
  if (!mkdtemp(dir)) abort();
  char url[128];
  snprintf(url, sizeof url, "sqlite:%s/f.db", dir);
  lp_err err = LP_ERR_INIT;
  store = lp_store_open(url, &err);
  if (!store || lp_migrate(store, 1760000000, NULL, &err) != LP_OK) { fprintf(stderr, "fuzz: %s\n", err.message); abort(); }
  lp_err_release(&err);
  admin = (lp_actor){.id = 1, .is_admin = 1, .can_manage = 1, .view = LP_VIEW_ALL};
  snprintf(admin.role, sizeof admin.role, "admin");
  agent = (lp_actor){.id = 2, .view = LP_VIEW_OWN};
  snprintf(agent.role, sizeof agent.role, "agent");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 8192) return 0;
  char *q = malloc(size + 1);
  memcpy(q, data, size);
  q[size] = 0;
  params p = {0};
  char *save = q;
  for (char *tok = q; tok && p.n < MAXP; tok = save) {
    save = strchr(tok, '&');
    if (save) *save++ = 0;
    char *eq = strchr(tok, '=');
    if (eq) *eq++ = 0;
    p.k[p.n] = tok;
    p.v[p.n] = eq ? eq : "";
    p.n++;
  }
  for (int who = 0; who < 2; who++) {
    lp_err err = LP_ERR_INIT;
    lp_db *db = lp_store_reader(store, &err);
    if (!db) abort();
    lp_buf out = LP_BUF_INIT(1 << 22);
    int rc = lp_lead_list_raw(db, who ? &agent : &admin, get, &p, 1760000000, &out, &err);
    /* an error is one of the contract's: bad input, never an internal failure */
    if (rc < 0 && err.code == LP_EINTERNAL) { fprintf(stderr, "internal: %s\n", err.message); abort(); }
    lp_buf_release(&out);
    lp_err_release(&err);
    lp_store_release(store);
  }
  free(q);
  return 0;
}
