/* jobkinds.c — the job-kind table: the name a job row carries and the handler a worker runs for
 * it. The kinds with no HTTP in them live in lib/jobs; bulk actions and imports are run by the
 * code of their routes (src/http/routes/bulk.c, import.c). A new kind is one line here. */
#include "app/background.h"
#include "http/routes/handlers.h"
#include "store/scoring.h"

const lp_job_kind lp_job_kinds[] = {
  {"webhook", lp_job_webhook},
  {"sweep", lp_job_sweep},
  {"sla_check", lp_job_sla_check},
  {"bulk", lp_job_bulk},
  {"import", lp_job_import},
  {"message", lp_job_message},
  {"imap_poll", lp_job_imap_poll},
  {"scoring", lp_job_scoring},
  {"digest", lp_job_digest},
  {"user_mail", lp_job_user_mail},
};
const size_t lp_job_kinds_count = sizeof lp_job_kinds / sizeof *lp_job_kinds;
