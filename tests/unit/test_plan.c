/* test_plan.c — unit tests for lib/core/plan: the pure transition planner.
 *
 * Every input is built by hand: lead, outcome, reason, task, thread and stage rows as jansson
 * objects (row form: Unix seconds, 0/1) and an lp_actor filled with lp_actor_set_policy. No
 * clock and no database: `now` is the fixed NOW below. Covers close (options, defaults,
 * refusals, side effects), reopen, stage moves, the transitions list and SLA / age. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/plan.h"
#include "core/policy.h"
#include "util/timefmt.h"

#define NOW INT64_C(1800000000) /* 2027-01-15T08:00:00Z */
#define DAY INT64_C(86400)

/* ---- helpers --------------------------------------------------------------------------- */

/* Builds JSON from a printf format; fails the test on invalid JSON. New reference. */
static json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *J(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    json_error_t e;
    json_t *v = json_loads(buf, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad test JSON (%s): %s", e.text, buf);
    return v;
}

static void replace(json_t **slot, json_t *v)
{
    json_decref(*slot);
    *slot = v;
}

static int64_t iget(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* arr (of integers) equals the n given ids, in order. */
static void assert_ids(json_t *arr, int n, ...)
{
    if (!json_is_array(arr))
        fail_msg("not an array");
    if ((int)json_array_size(arr) != n) {
        char *s = json_dumps(arr, JSON_COMPACT);
        fail_msg("want %d ids, got %s", n, s);
    }
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        int64_t want = va_arg(ap, int64_t);
        assert_int_equal(json_integer_value(json_array_get(arr, (size_t)i)), want);
    }
    va_end(ap);
}
#define IDS(arr, ...) assert_ids((arr), PP_NARG(__VA_ARGS__), __VA_ARGS__)
#define PP_NARG(...) PP_NARG_(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define PP_NARG_(_1, _2, _3, _4, _5, _6, _7, _8, N, ...) N
#define I64(x) ((int64_t)(x))

static int has_string(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), s)) return 1;
    return 0;
}

/* How many timeline items of `kind` the plan has; also checks events mirrors timeline. */
static int count_kind(json_t *plan, const char *kind)
{
    json_t *tl = json_object_get(plan, "timeline"), *ev = json_object_get(plan, "events");
    assert_int_equal(json_array_size(tl), json_array_size(ev));
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(tl, i, t) {
        assert_string_equal(sget(t, "kind"), json_string_value(json_array_get(ev, i)));
        assert_true(json_is_object(json_object_get(t, "data")));
        if (!strcmp(sget(t, "kind"), kind))
            n++;
    }
    return n;
}

static void assert_field(lp_err *err, const char *field, const char *reason)
{
    json_t *v = json_object_get(err->fields, field);
    if (!json_is_string(v)) {
        char *s = err->fields ? json_dumps(err->fields, JSON_COMPACT) : NULL;
        fail_msg("no field error for %s (fields: %s)", field, s ? s : "none");
    }
    if (reason)
        assert_string_equal(json_string_value(v), reason);
}

/* ---- the fixture ----------------------------------------------------------------------- */

typedef struct {
    lp_actor actor;
    json_t *lead, *req, *outcome, *reason, *tasks, *threads, *known_groups, *stage, *cur_stage;
    int64_t default_group;
    int64_t pending;       /* a request of the lead waiting for approval */
    json_t *plan;
    lp_err err;
} fx;

static fx F;

static void actor_policy(const char *role, const char *policy)
{
    json_t *p = policy ? J("%s", policy) : NULL;
    lp_actor_set_policy(&F.actor, role, p);
    json_decref(p);
}

static json_t *outcome_row(const char *key, const char *kind, int active)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:i}", "id", (json_int_t)7, "key", key, "name", key, "kind", kind,
                     "active", active);
}

/* follow_up_days / group_id < 0 mean NULL. */
static json_t *reason_row(int64_t id, int active, int64_t fu_days, int64_t group)
{
    json_t *r = json_pack("{s:I, s:s, s:i, s:i}", "id", (json_int_t)id, "name", "Price", "active", active,
                          "counts_in_reports", 1);
    json_object_set_new(r, "follow_up_days", fu_days >= 0 ? json_integer(fu_days) : json_null());
    json_object_set_new(r, "group_id", group >= 0 ? json_integer(group) : json_null());
    return r;
}

/* due < 0 means no due date. */
static json_t *task_row(int64_t id, int64_t due)
{
    json_t *t = json_pack("{s:I, s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "lead_id", (json_int_t)10, "type",
                          "call", "title", "Call back", "status", "open");
    json_object_set_new(t, "due_at", due >= 0 ? json_integer(due) : json_null());
    return t;
}

static json_t *thread_row(int64_t id, const char *channel)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:I}", "id", (json_int_t)id, "lead_id", (json_int_t)10, "channel", channel,
                     "status", "open", "opened_at", (json_int_t)(NOW - DAY));
}

static json_t *stage_row(int64_t id, const char *name, int is_sale, int waiting, int active)
{
    return json_pack("{s:I, s:s, s:I, s:i, s:i, s:s, s:i}", "id", (json_int_t)id, "name", name, "position",
                     (json_int_t)id, "is_sale", is_sale, "waiting", waiting, "guidance", "", "active", active);
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    F.actor.id = 5;
    F.actor.manager_id = 9;
    snprintf(F.actor.name, sizeof F.actor.name, "Agent Smith");
    actor_policy("agent", NULL);
    F.lead = J("{\"id\": 10, \"version\": 3, \"full_name\": \"Ada Lovelace\", \"status\": \"open\","
               " \"owner_id\": 7, \"stage_id\": 2, \"created_at\": %lld, \"updated_at\": %lld,"
               " \"outcome\": null, \"lost_reason_id\": null, \"close_notes\": null, \"closed_at\": null,"
               " \"closed_by\": null, \"sold_at\": null, \"email_opt_out\": 0, \"sms_opt_out\": 0,"
               " \"waiting_since\": null, \"waiting_seconds\": 0, \"groups\": [],"
               " \"emails\": \"[\\\"ada@example.com\\\"]\", \"phones\": \"[\\\"+442079460018\\\"]\"}",
               (long long)(NOW - 2 * DAY), (long long)(NOW - DAY));
    F.tasks = json_array();
    F.threads = json_array();
    F.known_groups = J("[1, 2, 3]");
    F.default_group = 1;
    F.err = (lp_err)LP_ERR_INIT;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(F.lead);
    json_decref(F.req);
    json_decref(F.outcome);
    json_decref(F.reason);
    json_decref(F.tasks);
    json_decref(F.threads);
    json_decref(F.known_groups);
    json_decref(F.stage);
    json_decref(F.cur_stage);
    json_decref(F.plan);
    lp_err_release(&F.err);
    memset(&F, 0, sizeof F);
    return 0;
}

static lp_plan_in plan_in(void)
{
    lp_plan_in in = {0};
    in.lead = F.lead;
    in.actor = &F.actor;
    in.now = NOW;
    in.req = F.req;
    in.outcome = F.outcome;
    in.reason = F.reason;
    in.tasks = F.tasks;
    in.threads = F.threads;
    in.known_groups = F.known_groups;
    in.default_group = F.default_group;
    in.pending_approval = F.pending;
    in.stage = F.stage;
    in.cur_stage = F.cur_stage;
    return in;
}

/* Forgets the previous plan and error (for several calls in one test). */
static void reset_result(void)
{
    replace(&F.plan, NULL);
    lp_err_release(&F.err);
}

/* Runs a typed plan's result into F.plan as its wire form (what dry_run answers): NULL when the
 * planner made no plan (a refusal), as the tests below expect. */
static lp_code keep(lp_code rc, lp_plan *p)
{
    F.plan = p->made ? lp_plan_json(p) : NULL;
    lp_plan_release(p);
    return rc;
}

/* Closes with request body `req` (JSON text); the outcome row is set by the caller. */
static lp_code close_req(const char *req)
{
    reset_result();
    replace(&F.req, J("%s", req));
    lp_plan_in in = plan_in();
    lp_plan p;
    return keep(lp_plan_close(&in, &p, &F.err), &p);
}

/* Sets the outcome row to {key, kind, active 1}. */
static void outcome(const char *key, const char *kind) { replace(&F.outcome, outcome_row(key, kind, 1)); }

static lp_code reopen_req(const char *req)
{
    reset_result();
    replace(&F.req, req ? J("%s", req) : NULL);
    lp_plan_in in = plan_in();
    lp_plan p;
    return keep(lp_plan_reopen(&in, &p, &F.err), &p);
}

static lp_code stage_to(json_t *stage)
{
    reset_result();
    replace(&F.stage, stage);
    lp_plan_in in = plan_in();
    lp_plan p;
    return keep(lp_plan_stage(&in, &p, &F.err), &p);
}

static json_t *plan_lead(void) { return json_object_get(F.plan, "lead"); }

static void set_lead(const char *k, json_t *v) { json_object_set_new(F.lead, k, v); }

static void close_lead(void)
{
    set_lead("status", json_string("closed"));
    set_lead("outcome", json_string("lost"));
    set_lead("lost_reason_id", json_integer(4));
    set_lead("close_notes", json_string("gone"));
    set_lead("closed_at", json_integer(NOW - DAY));
    set_lead("closed_by", json_integer(5));
}

/* ---- close: the outcome ---------------------------------------------------------------- */

static void test_close_outcome_required(void **state)
{
    (void)state;
    assert_int_equal(close_req("{}"), LP_EVALIDATION);
    assert_int_equal(lp_code_status(F.err.code), 422);
    assert_field(&F.err, "outcome", "required");
    assert_null(F.plan);

    assert_int_equal(close_req("{\"outcome\": null}"), LP_EVALIDATION);
    assert_field(&F.err, "outcome", "required");

    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": 3}"), LP_EVALIDATION);
    assert_field(&F.err, "outcome", NULL);
    assert_null(F.plan);
}

static void test_close_outcome_unknown_or_inactive(void **state)
{
    (void)state;
    /* the caller found no outcome row for the key */
    assert_int_equal(close_req("{\"outcome\": \"nope\"}"), LP_EVALIDATION);
    assert_field(&F.err, "outcome", "unknown outcome");
    assert_null(F.plan);

    replace(&F.outcome, outcome_row("retired", "won", 0));
    assert_int_equal(close_req("{\"outcome\": \"retired\"}"), LP_EVALIDATION);
    assert_int_equal(lp_code_status(F.err.code), 422);
    assert_field(&F.err, "outcome", "unknown outcome");
    assert_null(F.plan);
}

static void test_close_body_must_be_object(void **state)
{
    (void)state;
    outcome("won", "won");
    assert_int_equal(close_req("[]"), LP_EVALIDATION);
    assert_null(F.plan);
}

static void test_close_already_closed(void **state)
{
    (void)state;
    close_lead();
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_ECONFLICT);
    assert_int_equal(lp_code_status(F.err.code), 409);
    assert_null(F.plan);
    /* the state conflict is reported before any field problem */
    assert_int_equal(close_req("{}"), LP_ECONFLICT);
}

static void test_close_bad_field_types(void **state)
{
    (void)state;
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, -1, -1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": \"4\", \"notes\": 5, \"notify_lead\": \"yes\","
                               " \"follow_up\": 3, \"groups\": \"2\"}"),
                     LP_EVALIDATION);
    /* every problem is named at once */
    assert_field(&F.err, "reason_id", "must be an integer");
    assert_field(&F.err, "notes", "must be a string");
    assert_field(&F.err, "notify_lead", "must be true or false");
    assert_field(&F.err, "follow_up", "must be an object");
    assert_field(&F.err, "groups", NULL);
    assert_null(F.plan);
}

/* ---- close: kind lost, reasons and mandatory fields ----------------------------------- */

static void test_close_lost_without_reason(void **state)
{
    (void)state;
    outcome("lost", "lost");
    assert_int_equal(close_req("{\"outcome\": \"lost\"}"), LP_EVALIDATION);
    assert_int_equal(lp_code_status(F.err.code), 422);
    assert_field(&F.err, "reason_id", "required");
    /* the plan still comes back as a preview that names what is missing */
    assert_non_null(F.plan);
    json_t *missing = json_object_get(F.plan, "missing");
    assert_int_equal(json_array_size(missing), 1);
    assert_true(has_string(missing, "reason_id"));

    /* reason_id: null is the same as not given */
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": null}"), LP_EVALIDATION);
    assert_field(&F.err, "reason_id", "required");
    assert_true(has_string(json_object_get(F.plan, "missing"), "reason_id"));

    /* another outcome of kind lost follows the same rule */
    outcome("abandoned", "lost");
    assert_int_equal(close_req("{\"outcome\": \"abandoned\"}"), LP_EVALIDATION);
    assert_field(&F.err, "reason_id", "required");
}

static void test_close_lost_policy_required(void **state)
{
    (void)state;
    actor_policy("agent", "{\"close_lost_required\": [\"notes\", \"follow_up\"]}");
    assert_int_equal(F.actor.close_lost_required, LP_REQ_REASON | LP_REQ_NOTES | LP_REQ_FOLLOW_UP);
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, -1, -1));

    /* nothing given: reason (always), notes and follow_up are missing */
    assert_int_equal(close_req("{\"outcome\": \"lost\"}"), LP_EVALIDATION);
    json_t *missing = json_object_get(F.plan, "missing");
    assert_int_equal(json_array_size(missing), 3);
    assert_true(has_string(missing, "reason_id"));
    assert_true(has_string(missing, "notes"));
    assert_true(has_string(missing, "follow_up"));
    assert_field(&F.err, "reason_id", "required");
    assert_field(&F.err, "notes", "required");
    assert_field(&F.err, "follow_up", "required");

    /* reason given, empty notes count as missing */
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"notes\": \"\"}"), LP_EVALIDATION);
    missing = json_object_get(F.plan, "missing");
    assert_int_equal(json_array_size(missing), 2);
    assert_true(has_string(missing, "notes"));
    assert_true(has_string(missing, "follow_up"));
    assert_null(json_object_get(F.err.fields, "reason_id"));

    /* follow_up: null is no follow-up */
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"notes\": \"n\", \"follow_up\": null}"),
                     LP_EVALIDATION);
    missing = json_object_get(F.plan, "missing");
    assert_int_equal(json_array_size(missing), 1);
    assert_true(has_string(missing, "follow_up"));

    /* everything given */
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"notes\": \"too pricey\","
                               " \"follow_up\": {\"due_at\": \"2027-03-01T09:00:00Z\"}}"),
                     LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "missing")), 0);
    assert_null(F.err.fields);

    /* the policy's requirements apply to kind lost only */
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "missing")), 0);
}

/* Where the role makes notes mandatory for a lost close, notes of only white space do not
 * count: blank means absent, as for every other text input (lib/core/record.c). */
static void test_close_lost_blank_notes_missing(void **state)
{
    (void)state;
    actor_policy("agent", "{\"close_lost_required\": [\"notes\"]}");
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, -1, -1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"notes\": \"   \"}"), LP_EVALIDATION);
    assert_true(has_string(json_object_get(F.plan, "missing"), "notes"));
    assert_field(&F.err, "notes", "required");
}

static void test_close_reason_on_non_lost(void **state)
{
    (void)state;
    replace(&F.reason, reason_row(4, 1, -1, -1));
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\", \"reason_id\": 4}"), LP_EVALIDATION);
    assert_int_equal(lp_code_status(F.err.code), 422);
    assert_field(&F.err, "reason_id", NULL);
    assert_null(F.plan);

    outcome("treated", "neutral");
    assert_int_equal(close_req("{\"outcome\": \"treated\", \"reason_id\": 4}"), LP_EVALIDATION);
    assert_field(&F.err, "reason_id", NULL);
    assert_null(F.plan);
}

static void test_close_reason_unknown_or_inactive(void **state)
{
    (void)state;
    outcome("lost", "lost");
    /* unknown: the caller found no row */
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 99}"), LP_EVALIDATION);
    assert_field(&F.err, "reason_id", "unknown lost reason");
    assert_null(F.plan);

    replace(&F.reason, reason_row(4, 0, -1, -1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_EVALIDATION);
    assert_field(&F.err, "reason_id", "unknown lost reason");
    assert_null(F.plan);
}

/* ---- close: the lead's own changes ----------------------------------------------------- */

static void test_close_lost_lead_changes(void **state)
{
    (void)state;
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, -1, -1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"notes\": \"Went elsewhere\"}"), LP_OK);
    assert_int_equal(F.err.code, LP_OK);
    json_t *l = plan_lead();
    assert_string_equal(sget(l, "status"), "closed");
    assert_string_equal(sget(l, "outcome"), "lost");
    assert_int_equal(iget(l, "lost_reason_id"), 4);
    assert_string_equal(sget(l, "close_notes"), "Went elsewhere");
    assert_int_equal(iget(l, "closed_at"), NOW);
    assert_int_equal(iget(l, "closed_by"), 5);
    assert_int_equal(iget(l, "updated_at"), NOW);
    assert_null(json_object_get(l, "sold_at"));            /* lost never sets sold_at */
    assert_null(json_object_get(l, "waiting_seconds"));    /* not waiting: untouched */
    assert_null(json_object_get(l, "waiting_since"));
    assert_false(json_is_true(json_object_get(F.plan, "approval_required")));
    assert_int_equal(json_array_size(json_object_get(F.plan, "missing")), 0);

    /* the timeline starts with "closed" and carries what was decided */
    json_t *first = json_array_get(json_object_get(F.plan, "timeline"), 0);
    assert_string_equal(sget(first, "kind"), "closed");
    json_t *d = json_object_get(first, "data");
    assert_string_equal(sget(d, "outcome"), "lost");
    assert_string_equal(sget(d, "kind"), "lost");
    assert_int_equal(iget(d, "reason_id"), 4);
    assert_string_equal(sget(d, "notes"), "Went elsewhere");
    assert_int_equal(count_kind(F.plan, "closed"), 1);
}

static void test_close_neutral_lead_changes(void **state)
{
    (void)state;
    outcome("treated", "neutral");
    assert_int_equal(close_req("{\"outcome\": \"treated\"}"), LP_OK);
    json_t *l = plan_lead();
    assert_string_equal(sget(l, "outcome"), "treated");
    assert_true(json_is_null(json_object_get(l, "lost_reason_id")));
    assert_true(json_is_null(json_object_get(l, "close_notes")));
    assert_null(json_object_get(l, "sold_at"));
    json_t *d = json_object_get(json_array_get(json_object_get(F.plan, "timeline"), 0), "data");
    assert_true(json_is_null(json_object_get(d, "reason_id")));
    assert_true(json_is_null(json_object_get(d, "notes")));
    assert_string_equal(sget(d, "kind"), "neutral");
}

static void test_close_won_sold_at(void **state)
{
    (void)state;
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_OK);
    assert_int_equal(iget(plan_lead(), "sold_at"), NOW);

    /* another outcome of kind won (converted) too */
    outcome("converted", "won");
    assert_int_equal(close_req("{\"outcome\": \"converted\"}"), LP_OK);
    assert_int_equal(iget(plan_lead(), "sold_at"), NOW);

    /* a lead sold earlier keeps its sale date */
    set_lead("sold_at", json_integer(NOW - 10 * DAY));
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_OK);
    assert_null(json_object_get(plan_lead(), "sold_at"));

    /* neutral never sets it */
    set_lead("sold_at", json_null());
    outcome("treated", "neutral");
    assert_int_equal(close_req("{\"outcome\": \"treated\"}"), LP_OK);
    assert_null(json_object_get(plan_lead(), "sold_at"));
}

static void test_close_waiting_time(void **state)
{
    (void)state;
    set_lead("waiting_since", json_integer(NOW - 3600));
    set_lead("waiting_seconds", json_integer(100));
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_OK);
    json_t *l = plan_lead();
    assert_true(json_is_null(json_object_get(l, "waiting_since")));
    assert_int_equal(iget(l, "waiting_seconds"), 3700);

    /* a waiting_since in the future (clock skew) adds nothing */
    set_lead("waiting_since", json_integer(NOW + 50));
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_OK);
    assert_int_equal(iget(plan_lead(), "waiting_seconds"), 100);
    assert_true(json_is_null(json_object_get(plan_lead(), "waiting_since")));
}

/* ---- close: policy ---------------------------------------------------------------------- */

static void deny_one(const char *action, const char *key, const char *kind)
{
    char pol[100];
    snprintf(pol, sizeof pol, "{\"%s\": \"deny\"}", action);
    actor_policy("agent", pol);
    replace(&F.reason, reason_row(4, 1, -1, -1));
    const char *kinds[3][2] = {{"won", "won"}, {"lost", "lost"}, {"treated", "neutral"}};
    for (int i = 0; i < 3; i++) {
        outcome(kinds[i][0], kinds[i][1]);
        char req[100];
        snprintf(req, sizeof req, "{\"outcome\": \"%s\"%s}", kinds[i][0], !strcmp(kinds[i][1], "lost") ? ", \"reason_id\": 4" : "");
        lp_code rc = close_req(req);
        if (!strcmp(kinds[i][1], kind)) {
            if (rc != LP_EFORBIDDEN)
                fail_msg("%s deny: closing as %s answered %s", action, key, lp_code_name(rc));
            assert_int_equal(lp_code_status(F.err.code), 403);
            assert_null(F.plan);
        } else if (rc != LP_OK) {
            fail_msg("%s deny: closing as %s (other kind) answered %s", action, kinds[i][0], lp_code_name(rc));
        }
    }
}

static void test_close_policy_deny(void **state)
{
    (void)state;
    assert_int_equal(lp_close_action("won"), LP_ACT_CLOSE_WON);
    assert_int_equal(lp_close_action("lost"), LP_ACT_CLOSE_LOST);
    assert_int_equal(lp_close_action("neutral"), LP_ACT_CLOSE_OTHER);
    assert_int_equal(lp_close_action(NULL), LP_ACT_CLOSE_OTHER);
    deny_one("close_won", "won", "won");
    deny_one("close_lost", "lost", "lost");
    deny_one("close_other", "treated", "neutral");

    /* deny wins over missing fields: a denied lost close is 403, not 422 */
    actor_policy("agent", "{\"close_lost\": \"deny\"}");
    outcome("lost", "lost");
    assert_int_equal(close_req("{\"outcome\": \"lost\"}"), LP_EFORBIDDEN);
    assert_null(F.plan);
}

static void test_close_policy_request(void **state)
{
    (void)state;
    actor_policy("agent", "{\"close_won\": \"request\", \"close_other\": \"request\"}");
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_OK);
    assert_true(json_is_true(json_object_get(F.plan, "approval_required")));
    /* the plan still says what the close will do once approved */
    assert_string_equal(sget(plan_lead(), "status"), "closed");

    outcome("treated", "neutral");
    assert_int_equal(close_req("{\"outcome\": \"treated\"}"), LP_OK);
    assert_true(json_is_true(json_object_get(F.plan, "approval_required")));

    /* close_lost stays allow */
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, -1, -1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    assert_false(json_is_true(json_object_get(F.plan, "approval_required")));

    actor_policy("agent", "{\"close_lost\": \"request\"}");
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    assert_true(json_is_true(json_object_get(F.plan, "approval_required")));
    /* request does not excuse missing fields */
    assert_int_equal(close_req("{\"outcome\": \"lost\"}"), LP_EVALIDATION);
    assert_true(has_string(json_object_get(F.plan, "missing"), "reason_id"));
}

/* One request at a time: while one waits, a move that needs approval is refused (409) and
 * plans nothing; a move the policy allows still goes (a manager closing directly). */
static void test_close_request_while_one_waits(void **state)
{
    (void)state;
    actor_policy("agent", "{\"close_won\": \"request\", \"reopen\": \"request\"}");
    outcome("won", "won");
    F.pending = 77;
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_ECONFLICT);
    assert_int_equal(lp_code_status(F.err.code), 409);
    assert_non_null(strstr(F.err.message, "already waiting for approval (request 77)"));
    assert_null(F.plan);
    outcome("treated", "neutral");
    assert_int_equal(close_req("{\"outcome\": \"treated\"}"), LP_OK);
    assert_false(json_is_true(json_object_get(F.plan, "approval_required")));
    close_lead();
    assert_int_equal(reopen_req("{}"), LP_ECONFLICT);
    F.pending = 0;
    assert_int_equal(reopen_req("{}"), LP_OK);
    assert_true(json_is_true(json_object_get(F.plan, "approval_required")));
}

/* ---- close: tasks ----------------------------------------------------------------------- */

/* Tasks: 21 overdue, 22 due later, 23 no due date, 24 due exactly now. */
static void four_tasks(void)
{
    json_array_clear(F.tasks);
    json_array_append_new(F.tasks, task_row(21, NOW - DAY));
    json_array_append_new(F.tasks, task_row(22, NOW + DAY));
    json_array_append_new(F.tasks, task_row(23, -1));
    json_array_append_new(F.tasks, task_row(24, NOW));
}

static void test_close_tasks_defaults(void **state)
{
    (void)state;
    four_tasks();
    /* lost -> complete_overdue: only the overdue task is completed */
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, -1, -1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    IDS(json_object_get(F.plan, "tasks_completed"), I64(21));
    assert_int_equal(json_array_size(json_object_get(F.plan, "tasks_cancelled")), 0);
    assert_int_equal(count_kind(F.plan, "task_done"), 1);
    assert_int_equal(count_kind(F.plan, "task_cancelled"), 0);

    /* won -> cancel_future: every task that is not overdue is cancelled */
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "tasks_completed")), 0);
    IDS(json_object_get(F.plan, "tasks_cancelled"), I64(22), I64(23), I64(24));
    assert_int_equal(count_kind(F.plan, "task_cancelled"), 3);
    assert_int_equal(count_kind(F.plan, "task_done"), 0);

    /* neutral -> keep */
    outcome("treated", "neutral");
    assert_int_equal(close_req("{\"outcome\": \"treated\"}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "tasks_completed")), 0);
    assert_int_equal(json_array_size(json_object_get(F.plan, "tasks_cancelled")), 0);
    assert_int_equal(count_kind(F.plan, "task_done") + count_kind(F.plan, "task_cancelled"), 0);
}

static void test_close_tasks_explicit(void **state)
{
    (void)state;
    four_tasks();
    outcome("treated", "neutral");
    assert_int_equal(close_req("{\"outcome\": \"treated\", \"tasks\": \"complete_overdue\"}"), LP_OK);
    IDS(json_object_get(F.plan, "tasks_completed"), I64(21));
    assert_int_equal(json_array_size(json_object_get(F.plan, "tasks_cancelled")), 0);

    assert_int_equal(close_req("{\"outcome\": \"treated\", \"tasks\": \"complete_all\"}"), LP_OK);
    IDS(json_object_get(F.plan, "tasks_completed"), I64(21), I64(22), I64(23), I64(24));
    assert_int_equal(json_array_size(json_object_get(F.plan, "tasks_cancelled")), 0);
    assert_int_equal(count_kind(F.plan, "task_done"), 4);
    json_t *ev = json_array_get(json_object_get(F.plan, "timeline"), 1);
    assert_string_equal(sget(ev, "kind"), "task_done");
    assert_int_equal(iget(json_object_get(ev, "data"), "task_id"), 21);
    assert_string_equal(sget(json_object_get(ev, "data"), "title"), "Call back");

    assert_int_equal(close_req("{\"outcome\": \"treated\", \"tasks\": \"cancel_future\"}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "tasks_completed")), 0);
    IDS(json_object_get(F.plan, "tasks_cancelled"), I64(22), I64(23), I64(24));

    /* keep overrides the kind's default */
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, -1, -1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"tasks\": \"keep\"}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "tasks_completed")), 0);
    assert_int_equal(json_array_size(json_object_get(F.plan, "tasks_cancelled")), 0);

    /* tasks: null means the default */
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"tasks\": null}"), LP_OK);
    IDS(json_object_get(F.plan, "tasks_completed"), I64(21));

    /* no open tasks: nothing to do */
    json_array_clear(F.tasks);
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"tasks\": \"complete_all\"}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "tasks_completed")), 0);
}

static void test_close_tasks_bad_value(void **state)
{
    (void)state;
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\", \"tasks\": \"delete_all\"}"), LP_EVALIDATION);
    assert_field(&F.err, "tasks", NULL);
    assert_null(F.plan);
    assert_int_equal(close_req("{\"outcome\": \"won\", \"tasks\": 1}"), LP_EVALIDATION);
    assert_field(&F.err, "tasks", NULL);
    assert_int_equal(close_req("{\"outcome\": \"won\", \"tasks\": \"\"}"), LP_EVALIDATION);
    assert_field(&F.err, "tasks", NULL);
}

/* ---- close: follow-up ------------------------------------------------------------------- */

static void test_close_follow_up_explicit(void **state)
{
    (void)state;
    int64_t due;
    assert_int_equal(lp_time_parse("2027-03-01T09:00:00Z", &due), 0);
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, 90, -1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4,"
                               " \"follow_up\": {\"due_at\": \"2027-03-01T09:00:00Z\", \"notes\": \"try again\"}}"),
                     LP_OK);
    json_t *fu = json_object_get(F.plan, "follow_up");
    assert_true(json_is_object(fu));
    assert_string_equal(sget(fu, "type"), "closed_lost_follow_up");
    assert_int_equal(iget(fu, "due_at"), due); /* the explicit date wins over the reason's days */
    assert_int_equal(iget(fu, "assignee_id"), 7); /* the lead's owner */
    assert_string_equal(sget(fu, "notes"), "try again");
    assert_non_null(sget(fu, "title"));
    assert_non_null(strstr(sget(fu, "title"), "Ada Lovelace"));
    assert_int_equal(count_kind(F.plan, "task_created"), 1);

    /* the task_created event gives the due date in RFC 3339 */
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(F.plan, "timeline"), i, t) {
        if (strcmp(sget(t, "kind"), "task_created"))
            continue;
        assert_string_equal(sget(json_object_get(t, "data"), "due_at"), "2027-03-01T09:00:00Z");
        assert_string_equal(sget(json_object_get(t, "data"), "type"), "closed_lost_follow_up");
        assert_int_equal(iget(json_object_get(t, "data"), "assignee_id"), 7);
    }

    /* other kinds default to post_sale_follow_up; a given type is kept; offsets are UTC'd */
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\", \"follow_up\": {\"due_at\": \"2027-03-01T10:00:00+01:00\"}}"), LP_OK);
    fu = json_object_get(F.plan, "follow_up");
    assert_string_equal(sget(fu, "type"), "post_sale_follow_up");
    assert_int_equal(iget(fu, "due_at"), due);
    assert_true(json_is_null(json_object_get(fu, "notes")));
    outcome("treated", "neutral");
    assert_int_equal(close_req("{\"outcome\": \"treated\", \"follow_up\": {\"due_at\": \"2027-03-01T09:00:00Z\"}}"), LP_OK);
    assert_string_equal(sget(json_object_get(F.plan, "follow_up"), "type"), "post_sale_follow_up");
    assert_int_equal(close_req("{\"outcome\": \"treated\", \"follow_up\": {\"due_at\": \"2027-03-01T09:00:00Z\","
                               " \"type\": \"check_in\"}}"),
                     LP_OK);
    assert_string_equal(sget(json_object_get(F.plan, "follow_up"), "type"), "check_in");

    /* a lead without an owner: the follow-up goes to the actor */
    set_lead("owner_id", json_null());
    assert_int_equal(close_req("{\"outcome\": \"treated\", \"follow_up\": {\"due_at\": \"2027-03-01T09:00:00Z\"}}"), LP_OK);
    assert_int_equal(iget(json_object_get(F.plan, "follow_up"), "assignee_id"), 5);
}

static void test_close_follow_up_invalid(void **state)
{
    (void)state;
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\", \"follow_up\": {}}"), LP_EVALIDATION);
    assert_field(&F.err, "follow_up.due_at", "required");
    assert_null(F.plan);
    assert_int_equal(close_req("{\"outcome\": \"won\", \"follow_up\": {\"due_at\": \"next tuesday\"}}"), LP_EVALIDATION);
    assert_field(&F.err, "follow_up.due_at", NULL);
    assert_int_equal(close_req("{\"outcome\": \"won\", \"follow_up\": {\"due_at\": 1800000000}}"), LP_EVALIDATION);
    assert_field(&F.err, "follow_up.due_at", NULL);
    assert_int_equal(close_req("{\"outcome\": \"won\", \"follow_up\": {\"due_at\": \"2027-02-30T00:00:00Z\"}}"), LP_EVALIDATION);
    assert_field(&F.err, "follow_up.due_at", NULL);
    assert_int_equal(close_req("{\"outcome\": \"won\", \"follow_up\": {\"due_at\": \"2027-03-01T09:00:00Z\", \"type\": \"\"}}"),
                     LP_EVALIDATION);
    assert_field(&F.err, "follow_up.type", NULL);
    assert_int_equal(close_req("{\"outcome\": \"won\", \"follow_up\": {\"due_at\": \"2027-03-01T09:00:00Z\", \"notes\": 1}}"),
                     LP_EVALIDATION);
    assert_field(&F.err, "follow_up.notes", NULL);
    assert_int_equal(close_req("{\"outcome\": \"won\", \"follow_up\": \"tomorrow\"}"), LP_EVALIDATION);
    assert_field(&F.err, "follow_up", NULL);
}

static void test_close_follow_up_from_reason(void **state)
{
    (void)state;
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, 90, -1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    json_t *fu = json_object_get(F.plan, "follow_up");
    assert_true(json_is_object(fu));
    assert_int_equal(iget(fu, "due_at"), NOW + 90 * DAY);
    assert_string_equal(sget(fu, "type"), "closed_lost_follow_up");
    assert_int_equal(iget(fu, "assignee_id"), 7);
    assert_true(json_is_null(json_object_get(fu, "notes")));
    assert_int_equal(count_kind(F.plan, "task_created"), 1);

    /* follow_up: null means none, even where the reason brings one */
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"follow_up\": null}"), LP_OK);
    assert_true(json_is_null(json_object_get(F.plan, "follow_up")));
    assert_int_equal(count_kind(F.plan, "task_created"), 0);

    /* a reason without follow_up_days brings none */
    replace(&F.reason, reason_row(4, 1, -1, -1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    assert_true(json_is_null(json_object_get(F.plan, "follow_up")));
    assert_int_equal(count_kind(F.plan, "task_created"), 0);

    /* non-lost outcomes never get one by default */
    outcome("won", "won");
    replace(&F.reason, NULL);
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_OK);
    assert_true(json_is_null(json_object_get(F.plan, "follow_up")));
}

/* ---- close: groups ---------------------------------------------------------------------- */

static void test_close_groups_default_lost(void **state)
{
    (void)state;
    outcome("lost", "lost");
    /* reason group 3 and the default group 1 */
    replace(&F.reason, reason_row(4, 1, -1, 3));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    IDS(json_object_get(F.plan, "groups"), I64(3), I64(1));
    assert_int_equal(count_kind(F.plan, "group_added"), 2);

    /* reason group equal to the default group: once */
    replace(&F.reason, reason_row(4, 1, -1, 1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    IDS(json_object_get(F.plan, "groups"), I64(1));
    assert_int_equal(count_kind(F.plan, "group_added"), 1);

    /* groups the lead is in already are skipped */
    replace(&F.reason, reason_row(4, 1, -1, 3));
    set_lead("groups", J("[3]"));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    IDS(json_object_get(F.plan, "groups"), I64(1));
    set_lead("groups", J("[1, 3]"));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "groups")), 0);
    assert_int_equal(count_kind(F.plan, "group_added"), 0);

    /* no default group configured, reason without group: none */
    set_lead("groups", json_array());
    F.default_group = 0;
    replace(&F.reason, reason_row(4, 1, -1, -1));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "groups")), 0);
}

static void test_close_groups_explicit(void **state)
{
    (void)state;
    outcome("won", "won");
    /* won: no groups by default, even with a default group configured */
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "groups")), 0);
    outcome("treated", "neutral");
    assert_int_equal(close_req("{\"outcome\": \"treated\"}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "groups")), 0);

    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\", \"groups\": [2]}"), LP_OK);
    IDS(json_object_get(F.plan, "groups"), I64(2));
    assert_int_equal(count_kind(F.plan, "group_added"), 1);

    /* duplicates in the request: once; a group the lead is in: skipped */
    set_lead("groups", J("[3]"));
    assert_int_equal(close_req("{\"outcome\": \"won\", \"groups\": [2, 2, 3]}"), LP_OK);
    IDS(json_object_get(F.plan, "groups"), I64(2));

    /* explicit groups replace the lost defaults */
    set_lead("groups", json_array());
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, -1, 3));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"groups\": [2]}"), LP_OK);
    IDS(json_object_get(F.plan, "groups"), I64(2));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"groups\": []}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "groups")), 0);

    /* unknown group ids and non-integers are refused */
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\", \"groups\": [2, 99]}"), LP_EVALIDATION);
    assert_int_equal(lp_code_status(F.err.code), 422);
    assert_field(&F.err, "groups", NULL);
    assert_null(F.plan);
    assert_int_equal(close_req("{\"outcome\": \"won\", \"groups\": [\"2\"]}"), LP_EVALIDATION);
    assert_field(&F.err, "groups", NULL);
    assert_int_equal(close_req("{\"outcome\": \"won\", \"groups\": 2}"), LP_EVALIDATION);
    assert_field(&F.err, "groups", NULL);
}

/* ---- close: conversations and notifications ------------------------------------------- */

static void three_threads(void)
{
    json_array_clear(F.threads);
    json_array_append_new(F.threads, thread_row(40, "email"));
    json_array_append_new(F.threads, thread_row(41, "sms"));
    json_array_append_new(F.threads, thread_row(42, "email"));
    json_array_append_new(F.threads, thread_row(43, "chat"));
}

static void test_close_threads(void **state)
{
    (void)state;
    three_threads();
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_OK);
    IDS(json_object_get(F.plan, "threads_closed"), I64(40), I64(41), I64(42), I64(43));
    assert_int_equal(count_kind(F.plan, "thread_closed"), 4);
    /* no notify_lead: no messages */
    assert_int_equal(json_array_size(json_object_get(F.plan, "messages")), 0);

    assert_int_equal(close_req("{\"outcome\": \"won\", \"notify_lead\": false}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "messages")), 0);

    /* notify_lead: a close_notification on each email thread only */
    assert_int_equal(close_req("{\"outcome\": \"won\", \"notify_lead\": true}"), LP_OK);
    IDS(json_object_get(F.plan, "threads_closed"), I64(40), I64(41), I64(42), I64(43));
    json_t *msgs = json_object_get(F.plan, "messages");
    assert_int_equal(json_array_size(msgs), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *m = json_array_get(msgs, i);
        assert_string_equal(sget(m, "channel"), "email");
        assert_string_equal(sget(m, "kind"), "close_notification");
        assert_int_equal(iget(m, "thread_id"), i == 0 ? 40 : 42);
    }

    /* not to a lead that opted out of email */
    set_lead("email_opt_out", json_integer(1));
    assert_int_equal(close_req("{\"outcome\": \"won\", \"notify_lead\": true}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "messages")), 0);
    assert_int_equal(json_array_size(json_object_get(F.plan, "threads_closed")), 4);

    /* no open threads: nothing */
    set_lead("email_opt_out", json_integer(0));
    json_array_clear(F.threads);
    assert_int_equal(close_req("{\"outcome\": \"won\", \"notify_lead\": true}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "threads_closed")), 0);
    assert_int_equal(json_array_size(json_object_get(F.plan, "messages")), 0);
}

/* An agent's answer on a web chat: on the open chat thread only, stored as sent by the outbox
 * (no address or opt-out applies); never a new chat thread. */
static void test_send_chat_answer(void **state)
{
    (void)state;
    lp_plan_in in = {0};
    in.actor = &F.actor;
    in.now = NOW;
    in.lead = F.lead;
    in.threads = F.threads;
    lp_plan plan;
    lp_send m = {0};
    m.channel = "chat";
    m.body = "Hello <there>";
    /* no open chat: refused, nothing planned */
    json_array_clear(F.threads);
    json_array_append_new(F.threads, thread_row(40, "email"));
    assert_int_equal(lp_plan_send(&in, &m, &plan, &F.err), LP_EVALIDATION);
    assert_non_null(json_object_get(F.err.fields, "channel"));
    assert_int_equal(plan.messages.n, 0);
    assert_int_equal(plan.thread_open.wanted, 0);
    lp_plan_release(&plan);
    lp_err_release(&F.err);
    /* the lead's open chat: one message on it, no new thread; opted out of e-mail and SMS does not matter */
    json_array_append_new(F.threads, thread_row(43, "chat"));
    json_object_set_new(F.lead, "email_opt_out", json_integer(1));
    json_object_set_new(F.lead, "sms_opt_out", json_integer(1));
    assert_int_equal(lp_plan_send(&in, &m, &plan, &F.err), LP_OK);
    assert_int_equal(plan.messages.n, 1);
    assert_string_equal(plan.messages.v[0].channel, "chat");
    assert_int_equal(plan.messages.v[0].thread_id, 43);
    assert_string_equal(sget(plan.messages.v[0].cols, "body"), "Hello <there>");
    assert_int_equal(plan.thread_open.wanted, 0);
    lp_plan_release(&plan);
    /* named, but closed: 409; too long: 422 */
    json_t *closed = thread_row(44, "chat");
    json_object_set_new(closed, "status", json_string("closed"));
    in.thread = closed;
    m.channel = NULL;
    assert_int_equal(lp_plan_send(&in, &m, &plan, &F.err), LP_ECONFLICT);
    lp_plan_release(&plan);
    lp_err_release(&F.err);
    json_decref(closed);
    in.thread = NULL;
    m.channel = "chat";
    char big[4200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    m.body = big;
    assert_int_equal(lp_plan_send(&in, &m, &plan, &F.err), LP_EVALIDATION);
    lp_plan_release(&plan);
    lp_err_release(&F.err);
}

static void test_close_manager_notifications(void **state)
{
    (void)state;
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, -1, -1));
    /* default policy: no notification */
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "notifications")), 0);

    actor_policy("agent", "{\"notify_managers_on_close_lost\": true}");
    F.actor.manager_id = 9;
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    json_t *n = json_object_get(F.plan, "notifications");
    assert_int_equal(json_array_size(n), 1);
    assert_int_equal(iget(json_array_get(n, 0), "user_id"), 9);
    assert_string_equal(sget(json_array_get(n, 0), "kind"), "lead_closed_lost");

    /* not for other kinds */
    outcome("won", "won");
    assert_int_equal(close_req("{\"outcome\": \"won\"}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "notifications")), 0);

    /* not without a manager */
    outcome("lost", "lost");
    F.actor.manager_id = 0;
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4}"), LP_OK);
    assert_int_equal(json_array_size(json_object_get(F.plan, "notifications")), 0);
}

/* ---- close: the whole plan ------------------------------------------------------------- */

static void test_close_full_plan_shape(void **state)
{
    (void)state;
    four_tasks();
    three_threads();
    set_lead("waiting_since", json_integer(NOW - 600));
    actor_policy("agent", "{\"notify_managers_on_close_lost\": true}");
    F.actor.manager_id = 9;
    outcome("lost", "lost");
    replace(&F.reason, reason_row(4, 1, 30, 3));
    assert_int_equal(close_req("{\"outcome\": \"lost\", \"reason_id\": 4, \"notes\": \"n\", \"notify_lead\": true}"), LP_OK);

    const char *keys[] = {"lead", "tasks_completed", "tasks_cancelled", "follow_up", "groups", "threads_closed",
                          "messages", "notifications", "approval_required", "missing", "timeline", "events"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!json_object_get(F.plan, keys[i]))
            fail_msg("plan lacks %s", keys[i]);

    IDS(json_object_get(F.plan, "tasks_completed"), I64(21));
    assert_int_equal(iget(json_object_get(F.plan, "follow_up"), "due_at"), NOW + 30 * DAY);
    IDS(json_object_get(F.plan, "groups"), I64(3), I64(1));
    assert_int_equal(json_array_size(json_object_get(F.plan, "messages")), 2);
    assert_int_equal(json_array_size(json_object_get(F.plan, "notifications")), 1);
    assert_int_equal(iget(plan_lead(), "waiting_seconds"), 600);

    /* timeline kinds: closed first, then one event per side effect */
    assert_string_equal(json_string_value(json_array_get(json_object_get(F.plan, "events"), 0)), "closed");
    assert_int_equal(count_kind(F.plan, "closed"), 1);
    assert_int_equal(count_kind(F.plan, "task_done"), 1);
    assert_int_equal(count_kind(F.plan, "task_cancelled"), 0);
    assert_int_equal(count_kind(F.plan, "task_created"), 1);
    assert_int_equal(count_kind(F.plan, "group_added"), 2);
    assert_int_equal(count_kind(F.plan, "thread_closed"), 4);
    assert_int_equal(json_array_size(json_object_get(F.plan, "events")), 1 + 1 + 1 + 2 + 4);
}

/* ---- reopen ----------------------------------------------------------------------------- */

static void test_reopen_open_lead(void **state)
{
    (void)state;
    assert_int_equal(reopen_req("{}"), LP_ECONFLICT);
    assert_int_equal(lp_code_status(F.err.code), 409);
    assert_null(F.plan);
}

static void test_reopen_fields_cleared(void **state)
{
    (void)state;
    close_lead();
    set_lead("sold_at", json_integer(NOW - 3 * DAY));
    assert_int_equal(reopen_req("{\"notes\": \"came back\"}"), LP_OK);
    json_t *l = plan_lead();
    assert_string_equal(sget(l, "status"), "open");
    const char *cleared[] = {"outcome", "lost_reason_id", "close_notes", "closed_at", "closed_by"};
    for (size_t i = 0; i < sizeof cleared / sizeof *cleared; i++) {
        json_t *v = json_object_get(l, cleared[i]);
        if (!v || !json_is_null(v))
            fail_msg("reopen does not clear %s", cleared[i]);
    }
    assert_int_equal(iget(l, "updated_at"), NOW);
    assert_null(json_object_get(l, "sold_at")); /* history of the sale stays */
    assert_null(json_object_get(l, "waiting_since")); /* the stage is not a waiting one */
    assert_false(json_is_true(json_object_get(F.plan, "approval_required")));

    /* the timeline keeps the previous outcome */
    assert_int_equal(count_kind(F.plan, "reopened"), 1);
    assert_int_equal(json_array_size(json_object_get(F.plan, "timeline")), 1);
    json_t *d = json_object_get(json_array_get(json_object_get(F.plan, "timeline"), 0), "data");
    assert_string_equal(sget(d, "previous_outcome"), "lost");
    assert_int_equal(iget(d, "previous_reason_id"), 4);
    char closed_at[LP_TIME_LEN];
    lp_time_format(NOW - DAY, closed_at);
    assert_string_equal(sget(d, "previous_closed_at"), closed_at); /* timeline data speaks RFC 3339 */
    assert_string_equal(sget(d, "notes"), "came back");

    /* no body at all is fine */
    assert_int_equal(reopen_req(NULL), LP_OK);
    d = json_object_get(json_array_get(json_object_get(F.plan, "timeline"), 0), "data");
    assert_true(json_is_null(json_object_get(d, "notes")));

    /* bad notes */
    assert_int_equal(reopen_req("{\"notes\": 3}"), LP_EVALIDATION);
    assert_field(&F.err, "notes", NULL);
    assert_null(F.plan);
}

static void test_reopen_policy(void **state)
{
    (void)state;
    close_lead();
    actor_policy("agent", "{\"reopen\": \"deny\"}");
    assert_int_equal(reopen_req("{}"), LP_EFORBIDDEN);
    assert_int_equal(lp_code_status(F.err.code), 403);
    assert_null(F.plan);

    actor_policy("agent", "{\"reopen\": \"request\"}");
    assert_int_equal(reopen_req("{}"), LP_OK);
    assert_true(json_is_true(json_object_get(F.plan, "approval_required")));
    assert_string_equal(sget(plan_lead(), "status"), "open");
}

static void test_reopen_waiting_stage(void **state)
{
    (void)state;
    close_lead();
    replace(&F.cur_stage, stage_row(3, "Waiting for more information", 0, 1, 1));
    set_lead("stage_id", json_integer(3));
    assert_int_equal(reopen_req("{}"), LP_OK);
    assert_int_equal(iget(plan_lead(), "waiting_since"), NOW);

    replace(&F.cur_stage, stage_row(2, "Contacted", 0, 0, 1));
    set_lead("stage_id", json_integer(2));
    assert_int_equal(reopen_req("{}"), LP_OK);
    assert_null(json_object_get(plan_lead(), "waiting_since"));
}

/* ---- stage moves ------------------------------------------------------------------------ */

static void test_stage_closed_lead(void **state)
{
    (void)state;
    close_lead();
    replace(&F.cur_stage, stage_row(2, "Contacted", 0, 0, 1));
    assert_int_equal(stage_to(stage_row(4, "Quoted", 0, 0, 1)), LP_ECONFLICT);
    assert_int_equal(lp_code_status(F.err.code), 409);
    assert_null(F.plan);
}

static void test_stage_unknown_or_inactive(void **state)
{
    (void)state;
    assert_int_equal(stage_to(NULL), LP_EVALIDATION);
    assert_int_equal(lp_code_status(F.err.code), 422);
    assert_field(&F.err, "stage_id", NULL);
    assert_null(F.plan);

    assert_int_equal(stage_to(stage_row(6, "Old", 0, 0, 0)), LP_EVALIDATION);
    assert_field(&F.err, "stage_id", NULL);
    assert_null(F.plan);
}

static void test_stage_move(void **state)
{
    (void)state;
    replace(&F.cur_stage, stage_row(2, "Contacted", 0, 0, 1));
    assert_int_equal(stage_to(stage_row(4, "Quoted", 0, 0, 1)), LP_OK);
    json_t *l = plan_lead();
    assert_int_equal(iget(l, "stage_id"), 4);
    assert_int_equal(iget(l, "stage_entered_at"), NOW);
    assert_int_equal(iget(l, "updated_at"), NOW);
    assert_null(json_object_get(l, "sold_at"));
    assert_null(json_object_get(l, "waiting_since"));
    assert_null(json_object_get(l, "status"));
    assert_int_equal(count_kind(F.plan, "stage_changed"), 1);
    json_t *d = json_object_get(json_array_get(json_object_get(F.plan, "timeline"), 0), "data");
    assert_int_equal(iget(d, "from"), 2);
    assert_int_equal(iget(d, "to"), 4);
    assert_string_equal(sget(d, "from_name"), "Contacted");
    assert_string_equal(sget(d, "to_name"), "Quoted");
    assert_false(json_is_true(json_object_get(d, "sale")));
    assert_false(json_is_true(json_object_get(F.plan, "approval_required")));
}

static void test_stage_same_stage(void **state)
{
    (void)state;
    replace(&F.cur_stage, stage_row(2, "Contacted", 0, 0, 1));
    assert_int_equal(stage_to(stage_row(2, "Contacted", 0, 0, 1)), LP_OK);
    assert_non_null(F.plan);
    assert_int_equal(json_object_size(plan_lead()), 0);
    assert_int_equal(json_array_size(json_object_get(F.plan, "timeline")), 0);
    assert_int_equal(json_array_size(json_object_get(F.plan, "events")), 0);
}

static void test_stage_sale(void **state)
{
    (void)state;
    replace(&F.cur_stage, stage_row(4, "Quoted", 0, 0, 1));
    set_lead("stage_id", json_integer(4));
    assert_int_equal(stage_to(stage_row(5, "Sold", 1, 0, 1)), LP_OK);
    assert_int_equal(iget(plan_lead(), "sold_at"), NOW);
    json_t *d = json_object_get(json_array_get(json_object_get(F.plan, "timeline"), 0), "data");
    assert_true(json_is_true(json_object_get(d, "sale")));
    /* the lead stays open */
    assert_null(json_object_get(plan_lead(), "status"));

    /* sold once: a second sale stage does not overwrite the date */
    set_lead("sold_at", json_integer(NOW - 5 * DAY));
    assert_int_equal(stage_to(stage_row(6, "Sold again", 1, 0, 1)), LP_OK);
    assert_null(json_object_get(plan_lead(), "sold_at"));
    d = json_object_get(json_array_get(json_object_get(F.plan, "timeline"), 0), "data");
    assert_false(json_is_true(json_object_get(d, "sale")));
}

static void test_stage_waiting(void **state)
{
    (void)state;
    /* entering a waiting stage starts the clock */
    replace(&F.cur_stage, stage_row(2, "Contacted", 0, 0, 1));
    set_lead("waiting_seconds", json_integer(50));
    assert_int_equal(stage_to(stage_row(3, "Waiting for more information", 0, 1, 1)), LP_OK);
    assert_int_equal(iget(plan_lead(), "waiting_since"), NOW);
    assert_null(json_object_get(plan_lead(), "waiting_seconds"));

    /* leaving it adds the time spent */
    replace(&F.cur_stage, stage_row(3, "Waiting for more information", 0, 1, 1));
    set_lead("stage_id", json_integer(3));
    set_lead("waiting_since", json_integer(NOW - 2 * DAY));
    assert_int_equal(stage_to(stage_row(4, "Quoted", 0, 0, 1)), LP_OK);
    assert_int_equal(iget(plan_lead(), "waiting_seconds"), 50 + 2 * DAY);
    assert_true(json_is_null(json_object_get(plan_lead(), "waiting_since")));

    /* waiting stage to another waiting stage: the time so far is kept, the clock restarts */
    assert_int_equal(stage_to(stage_row(7, "On hold", 0, 1, 1)), LP_OK);
    assert_int_equal(iget(plan_lead(), "waiting_seconds"), 50 + 2 * DAY);
    assert_int_equal(iget(plan_lead(), "waiting_since"), NOW);
}

/* ---- transitions ------------------------------------------------------------------------ */

static json_t *find_item(json_t *items, const char *kind, const char *key, int64_t stage_id)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (strcmp(sget(it, "kind"), kind))
            continue;
        if (key && (!sget(it, "outcome") || strcmp(sget(it, "outcome"), key)))
            continue;
        if (stage_id && iget(it, "stage_id") != stage_id)
            continue;
        return it;
    }
    return NULL;
}

static int allowed(json_t *it) { return json_is_true(json_object_get(it, "allowed")); }
static int approval(json_t *it) { return json_is_true(json_object_get(it, "approval_required")); }

static void test_transitions(void **state)
{
    (void)state;
    json_t *stages = json_array(), *outcomes = json_array();
    json_array_append_new(stages, stage_row(1, "New", 0, 0, 1));
    json_array_append_new(stages, stage_row(2, "Contacted", 0, 0, 1));
    json_array_append_new(stages, stage_row(3, "Waiting", 0, 1, 1));
    json_array_append_new(stages, stage_row(6, "Old", 0, 0, 0));
    json_array_append_new(outcomes, outcome_row("won", "won", 1));
    json_array_append_new(outcomes, outcome_row("lost", "lost", 1));
    json_array_append_new(outcomes, outcome_row("treated", "neutral", 1));
    json_array_append_new(outcomes, outcome_row("retired", "won", 0));
    actor_policy("agent", "{\"close_won\": \"request\", \"close_other\": \"deny\","
                          " \"close_lost_required\": [\"notes\"]}");

    lp_plan_in in = plan_in();
    json_t *items = lp_plan_transitions(&in, stages, outcomes);
    /* stages: every active one but the current (2) */
    assert_non_null(find_item(items, "stage", NULL, 1));
    assert_non_null(find_item(items, "stage", NULL, 3));
    assert_null(find_item(items, "stage", NULL, 2));
    assert_null(find_item(items, "stage", NULL, 6));
    assert_true(allowed(find_item(items, "stage", NULL, 1)));
    assert_int_equal(json_array_size(json_object_get(find_item(items, "stage", NULL, 1), "missing")), 0);
    /* outcomes: active ones, with the policy */
    json_t *won = find_item(items, "close", "won", 0), *lost = find_item(items, "close", "lost", 0),
           *treated = find_item(items, "close", "treated", 0);
    assert_non_null(won);
    assert_non_null(lost);
    assert_non_null(treated);
    assert_null(find_item(items, "close", "retired", 0));
    assert_true(allowed(won));
    assert_true(approval(won));
    assert_int_equal(json_array_size(json_object_get(won, "missing")), 0);
    assert_true(allowed(lost));
    assert_false(approval(lost));
    json_t *missing = json_object_get(lost, "missing");
    assert_int_equal(json_array_size(missing), 2);
    assert_true(has_string(missing, "reason_id"));
    assert_true(has_string(missing, "notes"));
    assert_false(allowed(treated));
    assert_string_equal(sget(lost, "outcome_kind"), "lost");
    /* reopen: not while open */
    json_t *re = find_item(items, "reopen", NULL, 0);
    assert_non_null(re);
    assert_false(allowed(re));
    assert_int_equal(json_array_size(items), 2 + 3 + 1);
    json_decref(items);

    /* a closed lead: only reopen is open */
    close_lead();
    actor_policy("agent", "{\"reopen\": \"request\"}");
    in = plan_in();
    items = lp_plan_transitions(&in, stages, outcomes);
    assert_false(allowed(find_item(items, "stage", NULL, 1)));
    assert_false(allowed(find_item(items, "close", "won", 0)));
    assert_false(allowed(find_item(items, "close", "lost", 0)));
    assert_true(allowed(find_item(items, "reopen", NULL, 0)));
    assert_true(approval(find_item(items, "reopen", NULL, 0)));
    json_decref(items);

    actor_policy("agent", "{\"reopen\": \"deny\"}");
    in = plan_in();
    items = lp_plan_transitions(&in, stages, outcomes);
    assert_false(allowed(find_item(items, "reopen", NULL, 0)));
    json_decref(items);

    json_decref(stages);
    json_decref(outcomes);
}

/* ---- SLA and age ------------------------------------------------------------------------ */

static const char *sla_at(int64_t age_seconds)
{
    set_lead("created_at", json_integer(NOW - age_seconds));
    return lp_lead_sla(F.lead, NOW, 5, 30);
}

static void test_sla_boundaries(void **state)
{
    (void)state;
    assert_string_equal(sla_at(0), "ok");
    assert_string_equal(sla_at(5 * DAY - 1), "ok");
    assert_string_equal(sla_at(5 * DAY), "warning");
    assert_string_equal(sla_at(30 * DAY - 1), "warning");
    assert_string_equal(sla_at(30 * DAY), "breached");
    assert_string_equal(sla_at(400 * DAY), "breached");
    /* a lead created in the future (imported with skew) is ok */
    assert_string_equal(sla_at(-DAY), "ok");
    /* other targets */
    set_lead("created_at", json_integer(NOW - 2 * DAY));
    assert_string_equal(lp_lead_sla(F.lead, NOW, 2, 3), "warning");
    assert_string_equal(lp_lead_sla(F.lead, NOW, 1, 2), "breached");
}

static void test_sla_waiting_excluded(void **state)
{
    (void)state;
    /* 6 days old, 2 of them spent waiting (finished): 4 days count */
    set_lead("waiting_seconds", json_integer(2 * DAY));
    assert_string_equal(sla_at(6 * DAY), "ok");
    assert_string_equal(sla_at(7 * DAY), "warning");
    /* waiting right now: the current wait does not count either */
    set_lead("waiting_seconds", json_integer(0));
    set_lead("waiting_since", json_integer(NOW - 3 * DAY));
    assert_string_equal(sla_at(7 * DAY), "ok");
    assert_string_equal(sla_at(8 * DAY), "warning");
    /* both */
    set_lead("waiting_seconds", json_integer(20 * DAY));
    assert_string_equal(sla_at(50 * DAY), "warning"); /* 50 - 20 - 3 = 27 */
    assert_string_equal(sla_at(53 * DAY), "breached");
}

static void test_sla_closed_ok(void **state)
{
    (void)state;
    close_lead();
    assert_string_equal(sla_at(400 * DAY), "ok");
    set_lead("status", json_null());
    assert_string_equal(sla_at(400 * DAY), "ok");
}

static void test_age_days(void **state)
{
    (void)state;
    set_lead("created_at", json_integer(NOW - 5 * DAY + 1));
    assert_int_equal(lp_lead_age_days(F.lead, NOW), 4);
    set_lead("created_at", json_integer(NOW - 5 * DAY));
    assert_int_equal(lp_lead_age_days(F.lead, NOW), 5);
    set_lead("created_at", json_integer(NOW));
    assert_int_equal(lp_lead_age_days(F.lead, NOW), 0);
    set_lead("created_at", json_integer(NOW + DAY));
    assert_int_equal(lp_lead_age_days(F.lead, NOW), 0);
    /* a closed lead stops ageing at closed_at */
    set_lead("created_at", json_integer(NOW - 40 * DAY));
    close_lead(); /* closed_at = NOW - 1 day */
    assert_int_equal(lp_lead_age_days(F.lead, NOW), 39);
    assert_int_equal(lp_lead_age_days(F.lead, NOW + 100 * DAY), 39);
}

/* ---- policy parsing used above --------------------------------------------------------- */

static void test_actor_policy_defaults(void **state)
{
    (void)state;
    lp_actor a;
    memset(&a, 0, sizeof a);
    lp_actor_set_policy(&a, "agent", NULL);
    assert_int_equal(a.view, LP_VIEW_OWN);
    assert_int_equal(a.perm[LP_ACT_CLOSE_LOST], LP_ALLOW);
    assert_int_equal(a.perm[LP_ACT_DELETE], LP_DENY);
    assert_int_equal(a.perm[LP_ACT_BULK], LP_DENY);
    assert_int_equal(a.close_lost_required, LP_REQ_REASON);
    assert_false(a.notify_managers_on_close_lost);
    assert_false(a.is_admin);

    lp_actor_set_policy(&a, "admin", NULL);
    assert_true(a.is_admin);
    assert_true(a.can_manage);
    assert_int_equal(a.view, LP_VIEW_ALL);
    assert_int_equal(a.perm[LP_ACT_DELETE], LP_ALLOW);

    /* close_lost_required always includes the reason */
    json_t *p = J("{\"close_lost_required\": [], \"leads.view\": \"team\", \"reopen\": \"request\"}");
    lp_actor_set_policy(&a, "agent", p);
    json_decref(p);
    assert_int_equal(a.close_lost_required, LP_REQ_REASON);
    assert_int_equal(a.view, LP_VIEW_TEAM);
    assert_int_equal(a.perm[LP_ACT_REOPEN], LP_REQUEST);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_close_outcome_required),      T(test_close_outcome_unknown_or_inactive),
        T(test_close_body_must_be_object),   T(test_close_already_closed),
        T(test_close_bad_field_types),       T(test_close_lost_without_reason),
        T(test_close_lost_policy_required),  T(test_close_reason_on_non_lost),
        T(test_close_lost_blank_notes_missing),
        T(test_close_reason_unknown_or_inactive),
        T(test_close_lost_lead_changes),     T(test_close_neutral_lead_changes),
        T(test_close_won_sold_at),           T(test_close_waiting_time),
        T(test_close_policy_deny),           T(test_close_policy_request), T(test_close_request_while_one_waits),
        T(test_close_tasks_defaults),        T(test_close_tasks_explicit),
        T(test_close_tasks_bad_value),       T(test_close_follow_up_explicit),
        T(test_close_follow_up_invalid),     T(test_close_follow_up_from_reason),
        T(test_close_groups_default_lost),   T(test_close_groups_explicit),
        T(test_close_threads),               T(test_send_chat_answer),               T(test_close_manager_notifications),
        T(test_close_full_plan_shape),
        T(test_reopen_open_lead),            T(test_reopen_fields_cleared),
        T(test_reopen_policy),               T(test_reopen_waiting_stage),
        T(test_stage_closed_lead),           T(test_stage_unknown_or_inactive),
        T(test_stage_move),                  T(test_stage_same_stage),
        T(test_stage_sale),                  T(test_stage_waiting),
        T(test_transitions),
        T(test_sla_boundaries),              T(test_sla_waiting_excluded),
        T(test_sla_closed_ok),               T(test_age_days),
        T(test_actor_policy_defaults),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
