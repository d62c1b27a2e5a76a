/* plan.h — the transition engine: one pure planner for every way a lead changes.
 *
 * Each function takes the lead as it is (a row object), what is asked, the caller's policy and
 * the time, and fills a plan (lp_plan): every change and side effect, typed — or answers a
 * refusal in err. No I/O: the caller loads what the planner needs into lp_plan_in and hands the
 * plan to the one applier (store/apply.h), which writes it in one transaction after checking the
 * lead's version. A new kind of side effect is a new field here and a few lines in the applier.
 *
 * lp_plan_json gives the plan's wire form, answered by `dry_run` (keys: lead, tasks_completed,
 * tasks_cancelled, follow_up, groups, threads_closed, messages, notifications,
 * approval_required, missing, timeline, events).
 */
#ifndef LP_CORE_PLAN_H
#define LP_CORE_PLAN_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "core/policy.h"
#include "leadpath/error.h"

typedef struct lp_plan_in {
  json_t *lead;          /* the lead row, with "groups": [ids]; NULL for a create */
  const lp_actor *actor;
  int64_t now;
  json_t *req;           /* the request body (close: outcome, reason_id, ...; reopen: notes) */
  json_t *outcome;       /* row of the requested outcome {key, name, kind, active}, or NULL if unknown */
  json_t *reason;        /* row of the requested lost reason, or NULL (unknown or not given) */
  json_t *tasks;         /* open task rows of the lead */
  json_t *threads;       /* open thread rows of the lead */
  json_t *known_groups;  /* ids of existing groups (to check a request's groups) */
  int64_t default_group; /* settings: the default close-lost group, 0 for none */
  json_t *stage;         /* stage moves: the target stage row; creates: the new lead's stage */
  json_t *cur_stage;     /* stage moves and closes: the lead's current stage row (may be NULL) */
  json_t *thread;        /* conversations: the thread named by the request (any status), or NULL */
  int64_t review_gap_days; /* review requests: the least days between two (settings) */
  int64_t pending_approval; /* closes and reopens: a request of the lead still waiting for approval (id), 0 none */
} lp_plan_in;

/* What a plan is for; the applier writes the lead row accordingly. */
typedef enum {
  LP_PLAN_CREATE,   /* insert the new row (lead = every column) */
  LP_PLAN_UPDATE,   /* field changes, and a stage move when stage_id changes */
  LP_PLAN_STAGE,    /* a stage move alone */
  LP_PLAN_CLOSE,
  LP_PLAN_REOPEN,
  LP_PLAN_DELETE,   /* the lead leaves every list; its history stays */
  LP_PLAN_GROUP,    /* joins contact groups (groups) */
  LP_PLAN_COMMENT,  /* a comment on the timeline; the row only gets a new updated_at */
  LP_PLAN_SEND,     /* a message to the lead (queued in the outbox), maybe on a new thread */
  LP_PLAN_THREAD_CLOSE, /* one engagement ends (threads_closed), maybe with the closing notification */
  LP_PLAN_INBOUND,  /* a message from the lead, stored on its thread (maybe a new one) */
  LP_PLAN_CONVERT,  /* closes as converted and makes the customer, its services and an invoice (convert) */
  LP_PLAN_MERGE,    /* other leads go into this one (core/merge.h): merge.subs close them, their records move here */
} lp_plan_kind;

typedef struct { int64_t *v; size_t n, cap; } lp_ids;
typedef struct { const char *kind; json_t *data; } lp_plan_event;           /* data owned */
/* A message to queue (direction out) or to store (in). thread_id 0: the thread this plan opens.
 * kind: the template kind it is made from when it has no body yet (close_notification,
 * review_request), rendered by the outbox; NULL for a message with its text. cols: the message
 * row's other columns (direction, subject, body, to_addr, from_addr, message_id, ...), owned. */
typedef struct { const char *channel; int64_t thread_id; const char *kind; json_t *cols; } lp_plan_message;
typedef struct { int64_t user_id; const char *kind; } lp_plan_notice;

typedef struct lp_plan {
  lp_plan_kind kind;
  int made;                /* the planner filled it (also with a refusal that lists what is missing) */
  json_t *lead;            /* lead columns to set (row form: Unix seconds, 0/1); owned */
  lp_ids tasks_completed, tasks_cancelled;
  json_t *follow_up;       /* task row to create, or NULL; owned */
  lp_ids groups;           /* contact groups to join */
  lp_ids threads_closed;
  struct { lp_plan_message *v; size_t n, cap; } messages;      /* to the lead, queued in the outbox */
  struct { lp_plan_notice *v; size_t n, cap; } notifications;  /* to users (data: the lead's id and name) */
  struct { lp_plan_event *v; size_t n, cap; } timeline;        /* in order */
  int approval_required;   /* the policy says request: the applier records an approval instead */
  const char *missing[4];  /* fields the policy makes mandatory and the request lacks */
  size_t n_missing;
  int reindex;             /* searchable text changes: the search entry is written again */
  struct { int wanted; const char *channel; json_t *subject;
           const char *chat_token_hash; } thread_open;  /* a new thread (subject owned; a chat's token hash borrowed) */
  /* A conversion (LP_PLAN_CONVERT), all owned: the customer's columns (from the lead), its
   * services (lines in stored form with start_date, quote_id), and the invoice or proforma
   * {kind, series, status, currency, lines, subtotal_cents, tax_cents, total_cents, issued_at,
   * due_at, year}, numbered by the applier from the series' counter. */
  struct { json_t *customer, *services, *invoice; } convert;
  /* LP_PLAN_MERGE: one plan per lead merged into this one (closing it as merged, or only linking
   * it when it was closed already) with its row as it was; the applier moves their records here
   * (tasks, threads, messages, the timeline: store/related.c) and applies each. moved: the counts
   * the preview shows. All owned. */
  struct { size_t n; struct lp_plan *subs; json_t **rows; json_t *moved; } merge;
} lp_plan;

void lp_plan_init(lp_plan *p, lp_plan_kind kind);
void lp_plan_release(lp_plan *p);
/* The wire form (new reference). */
json_t *lp_plan_json(const lp_plan *p);
/* Appends; data is taken over (NULL: {}). */
void lp_plan_event_add(lp_plan *p, const char *kind, json_t *data);
void lp_ids_add(lp_ids *l, int64_t id);
int lp_ids_has(const lp_ids *l, int64_t id);

/* Create (also import, also closed history migrated in): cols is the new row, completed by the
 * store (owner, stage, times); in->stage is the row of its stage (flags). Refusals: 422 when a
 * closed lead lacks its outcome. The plan's lead is cols with what the rules add. Takes a
 * reference to cols. */
lp_code lp_plan_create(const lp_plan_in *in, json_t *cols, lp_plan *plan, lp_err *err);
/* Field changes (PATCH): cols are validated input columns; a changed stage_id is planned as a
 * stage move (in->stage: the target stage row). One `updated` event lists the changed fields. */
lp_code lp_plan_update(const lp_plan_in *in, json_t *cols, lp_plan *plan, lp_err *err);
/* Close (POST /leads/{id}/close). Refusals: 409 already closed; 422 unknown outcome, missing
 * mandatory fields (err->fields and plan->missing say which; plan->made is set), bad options;
 * 403 policy deny. Policy "request" is not a refusal: the plan says approval_required — unless
 * a request of the lead is waiting already (in->pending_approval): 409, one at a time. */
lp_code lp_plan_close(const lp_plan_in *in, lp_plan *plan, lp_err *err);
/* Reopen: 409 if open; 403 if denied; approval_required for "request" (409 while one waits). */
lp_code lp_plan_reopen(const lp_plan_in *in, lp_plan *plan, lp_err *err);
/* The stage move of an update or a merge into plan (in->stage: the target, in->cur_stage: the
 * current stage): 409 if the lead is closed; nothing when the stage stays. */
lp_code lp_plan_stage_into(const lp_plan_in *in, lp_plan *plan, lp_err *err);
/* Stage move: 409 if the lead is closed; sets sold_at on an is_sale stage; tracks waiting time. */
lp_code lp_plan_stage(const lp_plan_in *in, lp_plan *plan, lp_err *err);
/* Delete: 403 unless the policy allows it. */
lp_code lp_plan_delete(const lp_plan_in *in, lp_plan *plan, lp_err *err);
/* Joining a contact group (known to exist); a member already gets an empty plan. */
lp_code lp_plan_group(const lp_plan_in *in, int64_t group_id, lp_plan *plan, lp_err *err);
/* A comment {body, icon, color} (taken over). */
lp_code lp_plan_comment(const lp_plan_in *in, json_t *data, lp_plan *plan, lp_err *err);
/* Conversations. A message from an agent: channel email|sms, thread_id 0 for the open thread of
 * that channel (or a new one); subject and body rendered already, or kind (review_request) for
 * the outbox to render from its template. Refusals: 422 opted out, no address, bad channel,
 * empty body; 409 closed thread (start a new one), review asked too recently. */
typedef struct lp_send {
  const char *channel;
  int64_t thread_id;
  const char *subject, *body;
  const char *kind;
  int new_thread;        /* always start a new thread */
} lp_send;
lp_code lp_plan_send(const lp_plan_in *in, const lp_send *m, lp_plan *plan, lp_err *err);
/* Ends the engagement of in->thread (409 when closed); notify queues the closing notification
 * on an e-mail thread of a lead who has not opted out. */
lp_code lp_plan_thread_close(const lp_plan_in *in, int notify, lp_plan *plan, lp_err *err);
/* A message from the lead: facts {channel, from_addr, to_addr, subject, body, message_id,
 * in_reply_to, refs, matched_by, provider_id} (borrowed), on thread_id (0: a new thread; then
 * after_thread_id is the closed thread it answered, if any). An SMS of exactly STOP, STOPALL,
 * UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE or OPTOUT sets the SMS opt-out; START, YES or UNSTOP
 * clears it. */
lp_code lp_plan_inbound(const lp_plan_in *in, json_t *facts, int64_t thread_id, int64_t after_thread_id,
                        lp_plan *plan, lp_err *err);
/* Conversion (POST /leads/{id}/convert): the lead closes with outcome `converted` (in->outcome:
 * its row; tasks and threads as a close of kind won) and becomes a customer with services and an
 * invoice (mode active_invoice: an active customer, the invoice adds to its balance) or a proforma
 * (inactive_proforma: an inactive customer, no balance change until paid). quotes: the chosen
 * quote rows (lines in stored form as JSON text); services: the lines to make services of, checked
 * already (core/billing.h, with start_date), or NULL for the quotes' lines starting today.
 * Refusals: 409 closed or converted already; 422 bad mode, declined or unknown quote, nothing to
 * convert, mixed currencies; 403 when the role's `convert` is deny; approval_required for request. */
typedef struct lp_convert {
  const char *mode;
  json_t *quotes;
  json_t *services;
  const char *currency;    /* settings: used when no quote gives one */
  int64_t due_days;        /* settings: days an invoice is due after it is issued */
} lp_convert;
lp_code lp_plan_convert(const lp_plan_in *in, const lp_convert *cv, lp_plan *plan, lp_err *err);
/* The moves open to the caller now: {kind, stage_id|outcome, allowed, approval_required, missing}.
 * stages and outcomes are arrays of rows. New reference. */
json_t *lp_plan_transitions(const lp_plan_in *in, json_t *stages, json_t *outcomes);
/* SLA and age of a lead row at `now`. waiting time does not count against the SLA. */
const char *lp_lead_sla(json_t *lead, int64_t now, int64_t warn_days, int64_t breach_days);
int64_t lp_lead_age_days(json_t *lead, int64_t now);
/* The same from plain values (0 = not set), for fast paths that read columns directly. */
const char *lp_sla_of(int open, int64_t created, int64_t closed_at, int64_t waiting_seconds, int64_t waiting_since,
                      int64_t now, int64_t warn_days, int64_t breach_days);
int64_t lp_age_days_of(int64_t created, int64_t closed_at, int64_t now);
/* The permission that governs closing with an outcome of this kind ("won"/"lost"/"neutral"). */
lp_action lp_close_action(const char *kind);
#endif
