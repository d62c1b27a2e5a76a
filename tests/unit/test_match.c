/* test_match.c — unit tests for lib/msg/match: each rule of the inbound matcher (reply token,
 * In-Reply-To / References, sender address on an open thread, new thread, new lead), their
 * order when several could apply, replies to closed threads, bounces and auto-replies, and
 * lookup failures. The lookups answer from a small in-memory world. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "msg/match.h"

/* ---- a small world: threads with tokens and message ids, leads with addresses ---------- */

typedef struct {
    int64_t id, lead;
    int open;
    const char *token;
    const char *ids[4];     /* Message-IDs of messages in the thread */
} fthread;

typedef struct {
    int64_t id;
    const char *addr;
} flead;

#define TOKEN_A "aaaabbbbccccddddeeeeffff"
#define TOKEN_CLOSED "zzzzyyyyxxxxwwwwvvvvuuuu"
#define TOKEN_UNKNOWN "qqqqqqqqqqqqqqqqqqqqqqqq"

static const fthread threads[] = {
    {101, 1, 1, TOKEN_A, {"out-1@fibre.example", "in-1@example.com"}},
    {102, 2, 1, "bbbbbbbbbbbbbbbbbbbbbbbb", {"out-2@fibre.example"}},
    {103, 3, 0, TOKEN_CLOSED, {"out-3@fibre.example"}},
    {104, 4, 1, "cccccccccccccccccccccccc", {"out-4@fibre.example"}},
};
static const flead leads[] = {
    {1, "ana@example.com"}, {2, "bo@example.com"}, {3, "cy@example.com"}, {4, "di@example.com"},
    {5, "eve@example.com"},   /* a lead without any thread */
};

typedef struct {
    int calls[4];           /* token, message id, open thread, lead */
    lp_code fail_with;      /* when set, every lookup fails with it */
} world;

static void set_thread(const fthread *t, lp_match_thread *out)
{
    out->thread_id = t->id;
    out->lead_id = t->lead;
    out->open = t->open;
}

static lp_code by_token(void *ctx, const char *token, lp_match_thread *out)
{
    world *w = ctx;
    w->calls[0]++;
    if (w->fail_with)
        return w->fail_with;
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++)
        if (strcmp(threads[i].token, token) == 0) {
            set_thread(&threads[i], out);
            return LP_OK;
        }
    return LP_ENOTFOUND;
}

static lp_code by_message_id(void *ctx, const char *id, lp_match_thread *out)
{
    world *w = ctx;
    w->calls[1]++;
    if (w->fail_with)
        return w->fail_with;
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++)
        for (size_t k = 0; k < 4 && threads[i].ids[k]; k++)
            if (strcmp(threads[i].ids[k], id) == 0) {
                set_thread(&threads[i], out);
                return LP_OK;
            }
    return LP_ENOTFOUND;
}

static int64_t lead_of(const char *addr)
{
    for (size_t i = 0; i < sizeof leads / sizeof leads[0]; i++)
        if (strcmp(leads[i].addr, addr) == 0)
            return leads[i].id;
    return 0;
}

static lp_code open_thread_by_address(void *ctx, const char *addr, lp_match_thread *out)
{
    world *w = ctx;
    w->calls[2]++;
    if (w->fail_with)
        return w->fail_with;
    int64_t lead = lead_of(addr);
    for (size_t i = 0; lead && i < sizeof threads / sizeof threads[0]; i++)
        if (threads[i].lead == lead && threads[i].open) {
            set_thread(&threads[i], out);
            return LP_OK;
        }
    return LP_ENOTFOUND;
}

static lp_code lead_by_address(void *ctx, const char *addr, int64_t *lead)
{
    world *w = ctx;
    w->calls[3]++;
    if (w->fail_with)
        return w->fail_with;
    *lead = lead_of(addr);
    return *lead ? LP_OK : LP_ENOTFOUND;
}

/* A message from `from` to `to` (NULL: sales@) answering in_reply_to with references refs. */
typedef struct {
    lp_mail_in m;
    char *to[2];
    char *refs[4];
} fmsg;

static void msg(fmsg *f, const char *from, const char *to, const char *irt, const char *r1, const char *r2)
{
    memset(f, 0, sizeof *f);
    f->m.from = (char *)from;
    f->to[0] = (char *)"sales@fibre.example";
    f->to[1] = (char *)to;
    f->m.to = f->to;
    f->m.n_to = to ? 2 : 1;
    f->m.in_reply_to = (char *)(irt ? irt : "");
    size_t n = 0;
    if (r1) f->refs[n++] = (char *)r1;
    if (r2) f->refs[n++] = (char *)r2;
    f->m.references = f->refs;
    f->m.n_references = n;
    f->m.bounce_message_id = (char *)"";
}

static lp_match run(fmsg *f, world *w)
{
    lp_match_lookup lk = {w, by_token, by_message_id, open_thread_by_address, lead_by_address};
    lp_match out;
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_match_inbound(&f->m, "reply.fibre.example", &lk, &out, &err), LP_OK);
    assert_int_equal(err.code, LP_OK);
    return out;
}

static void expect(lp_match got, lp_match_rule rule, int64_t thread, int64_t lead)
{
    if (got.rule != rule || got.thread_id != thread || got.lead_id != lead)
        fail_msg("got %s thread %lld lead %lld, want %s thread %lld lead %lld", lp_match_rule_name(got.rule),
                 (long long)got.thread_id, (long long)got.lead_id, lp_match_rule_name(rule),
                 (long long)thread, (long long)lead);
}

/* ---- rules ----------------------------------------------------------------------------- */

static void test_reply_token(void **state)
{
    (void)state;
    world w = {0};
    fmsg f;
    /* the token wins over everything else: a header naming another thread, a sender of another lead */
    msg(&f, "bo@example.com", "reply+" TOKEN_A "@reply.fibre.example", "out-2@fibre.example", NULL, NULL);
    lp_match m = run(&f, &w);
    expect(m, LP_MATCH_REPLY_TOKEN, 101, 1);
    assert_int_equal(m.via, LP_MATCH_REPLY_TOKEN);
    assert_string_equal(m.token, TOKEN_A);
    assert_string_equal(m.evidence, TOKEN_A);
    assert_int_equal(w.calls[1] + w.calls[2] + w.calls[3], 0);   /* nothing else asked */
    assert_string_equal(lp_match_rule_name(m.rule), "reply_token");

    /* the token at another domain is not ours: falls to the header */
    msg(&f, "bo@example.com", "reply+" TOKEN_A "@elsewhere.example", "out-2@fibre.example", NULL, NULL);
    expect(run(&f, &w), LP_MATCH_HEADER, 102, 2);

    /* an unknown token falls through, and is still reported */
    msg(&f, "bo@example.com", "reply+" TOKEN_UNKNOWN "@reply.fibre.example", NULL, NULL, NULL);
    m = run(&f, &w);
    expect(m, LP_MATCH_ADDRESS, 102, 2);
    assert_string_equal(m.token, TOKEN_UNKNOWN);
}

static void test_header(void **state)
{
    (void)state;
    world w = {0};
    fmsg f;
    /* In-Reply-To names our message */
    msg(&f, "stranger@example.org", NULL, "out-4@fibre.example", NULL, NULL);
    lp_match m = run(&f, &w);
    expect(m, LP_MATCH_HEADER, 104, 4);
    assert_string_equal(m.evidence, "out-4@fibre.example");
    assert_string_equal(lp_match_rule_name(m.rule), "header");

    /* In-Reply-To unknown; References: the newest known one wins */
    msg(&f, "stranger@example.org", NULL, "unknown@x.example", "out-1@fibre.example", "out-2@fibre.example");
    m = run(&f, &w);
    expect(m, LP_MATCH_HEADER, 102, 2);
    assert_string_equal(m.evidence, "out-2@fibre.example");

    /* an inbound message we stored earlier counts as well */
    msg(&f, "stranger@example.org", NULL, NULL, "in-1@example.com", "nothing@x.example");
    expect(run(&f, &w), LP_MATCH_HEADER, 101, 1);

    /* In-Reply-To before the sender's own open thread */
    msg(&f, "ana@example.com", NULL, "out-4@fibre.example", NULL, NULL);
    expect(run(&f, &w), LP_MATCH_HEADER, 104, 4);
}

static void test_address(void **state)
{
    (void)state;
    world w = {0};
    fmsg f;
    msg(&f, "ana@example.com", NULL, "unknown@x.example", "unknown2@x.example", NULL);
    lp_match m = run(&f, &w);
    expect(m, LP_MATCH_ADDRESS, 101, 1);
    assert_string_equal(m.evidence, "ana@example.com");
    assert_string_equal(lp_match_rule_name(m.rule), "address");
    assert_int_equal(w.calls[3], 0);   /* no lead lookup needed */
}

static void test_new_thread(void **state)
{
    (void)state;
    world w = {0};
    fmsg f;
    /* a lead with that address and no thread */
    msg(&f, "eve@example.com", NULL, NULL, NULL, NULL);
    lp_match m = run(&f, &w);
    expect(m, LP_MATCH_NEW_THREAD, 0, 5);
    assert_int_equal(m.via, LP_MATCH_NEW_THREAD);
    assert_int_equal(m.closed_thread_id, 0);
    assert_string_equal(lp_match_rule_name(m.rule), "new_thread");

    /* a lead whose only thread is closed */
    msg(&f, "cy@example.com", NULL, NULL, NULL, NULL);
    expect(run(&f, &w), LP_MATCH_NEW_THREAD, 0, 3);

    /* a reply by token to a closed thread: a new thread on that lead, saying how it was found */
    msg(&f, "someone@else.example", "reply+" TOKEN_CLOSED "@reply.fibre.example", NULL, NULL, NULL);
    m = run(&f, &w);
    expect(m, LP_MATCH_NEW_THREAD, 0, 3);
    assert_int_equal(m.via, LP_MATCH_REPLY_TOKEN);
    assert_int_equal(m.closed_thread_id, 103);

    /* the same by header */
    msg(&f, "someone@else.example", NULL, "out-3@fibre.example", NULL, NULL);
    m = run(&f, &w);
    expect(m, LP_MATCH_NEW_THREAD, 0, 3);
    assert_int_equal(m.via, LP_MATCH_HEADER);
    assert_int_equal(m.closed_thread_id, 103);
}

static void test_new_lead(void **state)
{
    (void)state;
    world w = {0};
    fmsg f;
    msg(&f, "new.person@example.net", NULL, "unknown@x.example", NULL, NULL);
    lp_match m = run(&f, &w);
    expect(m, LP_MATCH_NEW_LEAD, 0, 0);
    assert_string_equal(m.evidence, "new.person@example.net");
    assert_string_equal(lp_match_rule_name(m.rule), "new_lead");
    assert_int_equal(w.calls[2], 1);
    assert_int_equal(w.calls[3], 1);

    /* SMS: a phone number is the address, no tokens or headers */
    msg(&f, "+4915112345678", NULL, NULL, NULL, NULL);
    expect(run(&f, &w), LP_MATCH_NEW_LEAD, 0, 0);
}

static void test_automatic_messages(void **state)
{
    (void)state;
    world w = {0};
    fmsg f;
    /* an auto-reply from an unknown sender creates nothing */
    msg(&f, "robot@example.net", NULL, NULL, NULL, NULL);
    f.m.auto_reply = 1;
    lp_match m = run(&f, &w);
    expect(m, LP_MATCH_NONE, 0, 0);
    assert_string_equal(lp_match_rule_name(m.rule), "none");
    /* ... but one to a known thread is matched as usual */
    msg(&f, "ana@example.com", NULL, "out-1@fibre.example", NULL, NULL);
    f.m.auto_reply = 1;
    expect(run(&f, &w), LP_MATCH_HEADER, 101, 1);

    /* a bounce: only the failed message's id counts, never the token, headers or the daemon's address */
    msg(&f, "mailer-daemon@mx.example.org", "reply+" TOKEN_A "@reply.fibre.example", "out-2@fibre.example", NULL, NULL);
    f.m.auto_reply = f.m.bounce = 1;
    f.m.bounce_message_id = (char *)"out-4@fibre.example";
    m = run(&f, &w);
    expect(m, LP_MATCH_HEADER, 104, 4);
    assert_string_equal(m.evidence, "out-4@fibre.example");
    f.m.bounce_message_id = (char *)"";
    memset(&w, 0, sizeof w);
    expect(run(&f, &w), LP_MATCH_NONE, 0, 0);
    assert_int_equal(w.calls[0] + w.calls[2] + w.calls[3], 0);

    /* no sender at all */
    msg(&f, "", NULL, NULL, NULL, NULL);
    expect(run(&f, &w), LP_MATCH_NONE, 0, 0);
}

static void test_lookup_failure_and_missing_lookups(void **state)
{
    (void)state;
    world w = {.fail_with = LP_EUNAVAILABLE};
    fmsg f;
    lp_match_lookup lk = {&w, by_token, by_message_id, open_thread_by_address, lead_by_address};
    lp_match out;
    lp_err err = LP_ERR_INIT;
    static const char *const tos[] = {"reply+" TOKEN_A "@reply.fibre.example", NULL};
    for (size_t i = 0; i < 2; i++) {
        msg(&f, "ana@example.com", tos[i], i ? "out-1@fibre.example" : NULL, NULL, NULL);
        assert_int_equal(lp_match_inbound(&f.m, "reply.fibre.example", &lk, &out, &err), LP_EUNAVAILABLE);
        assert_int_equal(err.code, LP_EUNAVAILABLE);
        lp_err_release(&err);
    }
    msg(&f, "eve@example.com", NULL, NULL, NULL, NULL);
    lk.open_thread_by_address = NULL;   /* rule 3 skipped: rule 4's lookup fails and says so */
    assert_int_equal(lp_match_inbound(&f.m, "reply.fibre.example", &lk, &out, &err), LP_EUNAVAILABLE);
    lp_err_release(&err);

    /* without lookups, only what needs none: a new lead */
    lp_match_lookup none = {0};
    msg(&f, "ana@example.com", "reply+" TOKEN_A "@reply.fibre.example", "out-1@fibre.example", NULL, NULL);
    assert_int_equal(lp_match_inbound(&f.m, NULL, &none, &out, &err), LP_OK);
    expect(out, LP_MATCH_NEW_LEAD, 0, 0);
    assert_string_equal(out.token, TOKEN_A);   /* the token is still read */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_token),      cmocka_unit_test(test_header),
        cmocka_unit_test(test_address),          cmocka_unit_test(test_new_thread),
        cmocka_unit_test(test_new_lead),         cmocka_unit_test(test_automatic_messages),
        cmocka_unit_test(test_lookup_failure_and_missing_lookups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
