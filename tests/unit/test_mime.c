/* test_mime.c — unit tests for lib/msg/mime: outgoing messages (headers, encoded words,
 * multipart/alternative, CRLF, threading headers, Auto-Submitted) read back by the parser, and
 * inbound messages as real mail systems send them: plain, quoted-printable Latin-1, base64
 * UTF-8, HTML only, multipart/alternative, folded References, auto-replies and DSN bounces.
 * Also the HTML-to-text conversion and the reply+token addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <strings.h>

#include "msg/mime.h"

/* ---- helpers --------------------------------------------------------------------------- */

/* The fixture with every LF turned into CRLF, as it travels over SMTP (caller frees). */
static char *crlf(const char *s)
{
    lp_buf b = LP_BUF_INIT(1 << 20);
    for (; *s; s++) {
        if (*s == '\n') lp_buf_add(&b, "\r", 1);
        lp_buf_add(&b, s, 1);
    }
    return lp_buf_detach(&b);
}

/* Parses a fixture (in its LF form and its CRLF form: both must give the same facts). */
static void parse(const char *raw, lp_mail_in *m)
{
    lp_err err = LP_ERR_INIT;
    if (lp_mail_parse(raw, strlen(raw), m, &err) != LP_OK)
        fail_msg("parse failed: %s", err.message);
    char *c = crlf(raw);
    lp_mail_in m2;
    assert_int_equal(lp_mail_parse(c, strlen(c), &m2, &err), LP_OK);
    json_t *a = lp_mail_in_json(m), *b = lp_mail_in_json(&m2);
    if (!json_equal(a, b)) {
        char *sa = json_dumps(a, 0), *sb = json_dumps(b, 0);
        fail_msg("LF and CRLF forms differ:\n%s\n%s", sa, sb);
    }
    json_decref(a);
    json_decref(b);
    lp_mail_in_release(&m2);
    free(c);
}

/* strstr without case (ci_strstr is a GNU extension). */
static const char *ci_strstr(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

static int has(char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

/* ---- inbound fixtures ------------------------------------------------------------------ */

static const char PLAIN[] =
    "Return-Path: <Ana.Lopez@Example.COM>\n"
    "Delivered-To: sales@fibre.example\n"
    "Received: from mx.example.com (mx.example.com [192.0.2.10])\n"
    "\tby mail.fibre.example with ESMTPS id 4Tq; Mon, 07 Dec 2026 09:14:03 +0100\n"
    "From: \"Ana Lopez\" <Ana.Lopez@Example.COM>\n"
    "To: Fast Fibre Sales <sales@fibre.example>\n"
    "Cc: bo@fibre.example, \"Team\" <team@fibre.example>\n"
    "Subject: Question about the 500 Mbit plan\n"
    "Date: Mon, 07 Dec 2026 09:13:58 +0100\n"
    "Message-ID: <CAF=abc123.456@mail.example.com>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=\"us-ascii\"\n"
    "Content-Transfer-Encoding: 7bit\n"
    "\n"
    "Hello,\n"
    "\n"
    "is the 500 Mbit plan available at Main Street 12?\n"
    "\n"
    "Thanks, Ana\n";

static const char QUOTED_PRINTABLE[] =
    "From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <juergen@beispiel.de>\n"
    "To: sales@fibre.example\n"
    "Subject: =?ISO-8859-1?Q?Anfrage_f=FCr_Glasfaser_in_M=FCnchen?=\n"
    "Message-ID: <20261207.qp.1@beispiel.de>\n"
    "Date: Mon, 7 Dec 2026 10:00:00 +0100\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=ISO-8859-1\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Sehr geehrte Damen und Herren,\n"
    "\n"
    "ich h=E4tte gern ein Angebot f=FCr einen Glasfaseranschluss. Die Stra=DFe ist=\n"
    " die Hauptstra=DFe 5.\n"
    "\n"
    "Gr=FC=DFe\n";

static const char BASE64_UTF8[] =
    "From: Jürgen <juergen@beispiel.de>\n"
    "To: sales@fibre.example\n"
    "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4g4oCUIOadseS6rCDinJM=?=\n"
    "Message-ID: <b64.utf8.2@beispiel.de>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "SGFsbG8gQm8sCmljaCBow6R0dGUgZ2VybiBlaW4gQW5nZWJvdCBmw7xyIEdsYXNmYXNlci4KR3LD\n"
    "vMOfZSwgSsO8cmdlbgo=\n";

static const char HTML_ONLY[] =
    "From: Marketing Person <person@shop.example>\n"
    "To: sales@fibre.example\n"
    "Subject: HTML only\n"
    "Message-ID: <html.only.3@shop.example>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/html; charset=windows-1252\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "<html><head><title>ignored</title><style>p { color: red; }</style></head>\n"
    "<body><p>Hello&nbsp;Bo,</p><p>we need   <b>fibre</b> &amp; a router =96 soon.<br>\n"
    "Caf=E9 &lt;Main&gt; &#8364;50 &#x2713;</p><script>alert(1)</script>\n"
    "<!-- a comment --><div>Bye</div></body></html>\n";

static const char ALTERNATIVE[] =
    "From: Ana Lopez <ana.lopez@example.com>\n"
    "To: sales@fibre.example\n"
    "Subject: Re: Your offer\n"
    "Message-ID: <alt.4@example.com>\n"
    "In-Reply-To: <offer-17@fibre.example>\n"
    "References: <offer-17@fibre.example>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/alternative; boundary=\"000000000000b1b2b3\"\n"
    "\n"
    "--000000000000b1b2b3\n"
    "Content-Type: text/plain; charset=\"UTF-8\"\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "Yes, please go ahead =E2=80=93 Ana\n"
    "\n"
    "--000000000000b1b2b3\n"
    "Content-Type: text/html; charset=\"UTF-8\"\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "<div dir=3D\"ltr\">HTML version that must not win</div>\n"
    "\n"
    "--000000000000b1b2b3--\n";

static const char FOLDED_REFS[] =
    "From: ana.lopez@example.com\n"
    "To: reply+abcdefghijklmnopqrstuvwx@reply.fibre.example\n"
    "Subject: Re: Re: Re: offer\n"
    "Message-ID: <folded.5@example.com>\n"
    "In-Reply-To: <third@fibre.example> (Bo Berg's message of Mon, 7 Dec 2026)\n"
    "References: <first@fibre.example>\n"
    " <second@example.com>\n"
    "\t<third@fibre.example>,\n"
    "  <first@fibre.example>\n"
    "Content-Type: text/plain\n"
    "\n"
    "ok\n";

static const char AUTO_REPLY[] =
    "Return-Path: <>\n"
    "From: Ana Lopez <ana.lopez@example.com>\n"
    "To: sales@fibre.example\n"
    "Subject: Out of office: Your offer\n"
    "Message-ID: <ooo.6@example.com>\n"
    "In-Reply-To: <offer-17@fibre.example>\n"
    "Auto-Submitted: auto-replied (vacation)\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "I am away until 4 January.\n";

static const char DSN[] =
    "Return-Path: <>\n"
    "Delivered-To: reply+abcdefghijklmnopqrstuvwx@reply.fibre.example\n"
    "From: MAILER-DAEMON@mail.fibre.example (Mail Delivery System)\n"
    "To: reply+abcdefghijklmnopqrstuvwx@reply.fibre.example\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "Auto-Submitted: auto-replied\n"
    "Message-ID: <dsn.7@mail.fibre.example>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"4F2A1C0E.1733562000/mail.fibre.example\"\n"
    "\n"
    "This is a MIME-encapsulated message.\n"
    "\n"
    "--4F2A1C0E.1733562000/mail.fibre.example\n"
    "Content-Description: Notification\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "This is the mail system at host mail.fibre.example.\n"
    "\n"
    "I'm sorry to have to inform you that your message could not\n"
    "be delivered to one or more recipients.\n"
    "\n"
    "<nobody@example.com>: host mx.example.com[192.0.2.10] said: 550 5.1.1\n"
    "    <nobody@example.com>: Recipient address rejected: User unknown\n"
    "\n"
    "--4F2A1C0E.1733562000/mail.fibre.example\n"
    "Content-Description: Delivery report\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mail.fibre.example\n"
    "X-Postfix-Queue-ID: 4F2A1C0E\n"
    "Arrival-Date: Mon,  7 Dec 2026 09:00:00 +0100 (CET)\n"
    "\n"
    "Final-Recipient: rfc822; nobody@example.com\n"
    "Original-Recipient: rfc822;nobody@example.com\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; mx.example.com\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>: Recipient address\n"
    "    rejected: User unknown\n"
    "\n"
    "--4F2A1C0E.1733562000/mail.fibre.example\n"
    "Content-Description: Undelivered Message Headers\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "Return-Path: <sales@fibre.example>\n"
    "From: Bo Berg <sales@fibre.example>\n"
    "To: nobody@example.com\n"
    "Subject: Your offer\n"
    "Message-ID:\n"
    " <k2m4n6p8q0r2s4t6@fibre.example>\n"
    "Date: Mon, 07 Dec 2026 08:59:59 +0000\n"
    "\n"
    "--4F2A1C0E.1733562000/mail.fibre.example--\n";

/* A DSN that attaches the whole original message and reports a delay first, then a failure. */
static const char DSN_RFC822[] =
    "From: Mail Delivery Subsystem <postmaster@relay.example.net>\n"
    "To: sales@fibre.example\n"
    "Subject: Delivery Status Notification (Failure)\n"
    "Message-ID: <dsn.8@relay.example.net>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; boundary=\"b8\"; report-type=\"delivery-status\"\n"
    "\n"
    "--b8\n"
    "Content-Type: text/plain\n"
    "\n"
    "Delivery to these recipients failed: full@example.org\n"
    "--b8\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; relay.example.net\n"
    "\n"
    "Final-Recipient: rfc822; slow@example.org\n"
    "Action: delayed\n"
    "Status: 4.4.1\n"
    "\n"
    "Final-Recipient: rfc822; Full@Example.org\n"
    "Action: failed\n"
    "Status: 5.2.2\n"
    "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n"
    "\n"
    "--b8\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: sales@fibre.example\n"
    "To: full@example.org\n"
    "Subject: Quote\n"
    "Message-ID: <quote-99@fibre.example>\n"
    "\n"
    "Your quote.\n"
    "--b8--\n";

/* ---- inbound tests --------------------------------------------------------------------- */

static void test_parse_plain(void **state)
{
    (void)state;
    lp_mail_in m;
    parse(PLAIN, &m);
    assert_string_equal(m.from, "ana.lopez@example.com");
    assert_string_equal(m.from_name, "Ana Lopez");
    assert_int_equal(m.n_to, 3);   /* To, Cc (2); Delivered-To is the same as To */
    assert_true(has(m.to, m.n_to, "sales@fibre.example"));
    assert_true(has(m.to, m.n_to, "bo@fibre.example"));
    assert_true(has(m.to, m.n_to, "team@fibre.example"));
    assert_string_equal(m.subject, "Question about the 500 Mbit plan");
    assert_string_equal(m.message_id, "CAF=abc123.456@mail.example.com");
    assert_string_equal(m.in_reply_to, "");
    assert_int_equal(m.n_references, 0);
    assert_string_equal(m.text, "Hello,\n\nis the 500 Mbit plan available at Main Street 12?\n\nThanks, Ana\n");
    assert_int_equal(m.date, 1796631238);   /* 2026-12-07T08:13:58Z */
    assert_false(m.auto_reply);
    assert_false(m.bounce);
    json_t *j = lp_mail_in_json(&m);
    assert_true(json_is_null(json_object_get(j, "bounce")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "to"), 0)), m.to[0]);
    json_decref(j);
    lp_mail_in_release(&m);
}

static void test_parse_quoted_printable_latin1(void **state)
{
    (void)state;
    lp_mail_in m;
    parse(QUOTED_PRINTABLE, &m);
    assert_string_equal(m.from_name, "Jürgen Müller");
    assert_string_equal(m.subject, "Anfrage für Glasfaser in München");
    assert_string_equal(m.text, "Sehr geehrte Damen und Herren,\n\n"
                                "ich hätte gern ein Angebot für einen Glasfaseranschluss. Die Straße ist"
                                " die Hauptstraße 5.\n\nGrüße\n");
    lp_mail_in_release(&m);
}

static void test_parse_base64_utf8(void **state)
{
    (void)state;
    lp_mail_in m;
    parse(BASE64_UTF8, &m);
    assert_string_equal(m.from_name, "Jürgen");
    assert_string_equal(m.subject, "Grüße aus München — 東京 ✓");
    assert_string_equal(m.text, "Hallo Bo,\nich hätte gern ein Angebot für Glasfaser.\nGrüße, Jürgen\n");
    lp_mail_in_release(&m);
}

static void test_parse_html_only(void **state)
{
    (void)state;
    lp_mail_in m;
    parse(HTML_ONLY, &m);
    assert_string_equal(m.text, "Hello Bo,\n\nwe need fibre & a router – soon.\nCafé <Main> €50 ✓\n\nBye");
    lp_mail_in_release(&m);
}

static void test_parse_alternative_prefers_plain(void **state)
{
    (void)state;
    lp_mail_in m;
    parse(ALTERNATIVE, &m);
    assert_string_equal(m.text, "Yes, please go ahead – Ana\n");
    assert_string_equal(m.in_reply_to, "offer-17@fibre.example");
    assert_int_equal(m.n_references, 1);
    assert_string_equal(m.references[0], "offer-17@fibre.example");
    lp_mail_in_release(&m);
}

static void test_parse_folded_references(void **state)
{
    (void)state;
    lp_mail_in m;
    parse(FOLDED_REFS, &m);
    assert_string_equal(m.in_reply_to, "third@fibre.example");
    assert_int_equal(m.n_references, 3);   /* in order, the repeated one once */
    assert_string_equal(m.references[0], "first@fibre.example");
    assert_string_equal(m.references[1], "second@example.com");
    assert_string_equal(m.references[2], "third@fibre.example");
    assert_int_equal(m.n_to, 1);
    assert_string_equal(m.to[0], "reply+abcdefghijklmnopqrstuvwx@reply.fibre.example");
    lp_mail_in_release(&m);

    /* a thread of 700 messages: the newest 500 references are kept, in order */
    lp_buf big = LP_BUF_INIT(1 << 20);
    lp_buf_puts(&big, "From: a@example.com\nTo: b@example.com\nReferences:");
    for (int i = 0; i < 700; i++)
        lp_buf_printf(&big, "\n <m%d@example.com>", i);
    lp_buf_puts(&big, "\n\nx\n");
    parse(lp_buf_str(&big), &m);
    assert_int_equal(m.n_references, 500);
    assert_string_equal(m.references[0], "m200@example.com");
    assert_string_equal(m.references[499], "m699@example.com");
    lp_mail_in_release(&m);
    lp_buf_release(&big);

    /* bare ids without brackets, separated by commas, as some clients write them */
    static const char bare[] = "From: a@example.com\nTo: b@example.com\n"
                               "References: one@example.com, two@example.com\n\nx\n";
    parse(bare, &m);
    assert_int_equal(m.n_references, 2);
    assert_string_equal(m.references[0], "one@example.com");
    assert_string_equal(m.references[1], "two@example.com");
    lp_mail_in_release(&m);
}

static void test_parse_auto_replies(void **state)
{
    (void)state;
    lp_mail_in m;
    parse(AUTO_REPLY, &m);
    assert_true(m.auto_reply);
    assert_false(m.bounce);   /* an empty Return-Path on an auto-reply is not a bounce */
    assert_string_equal(m.in_reply_to, "offer-17@fibre.example");
    lp_mail_in_release(&m);

    static const struct { const char *header; int is_auto; } cases[] = {
        {"Auto-Submitted: auto-generated", 1}, {"Auto-Submitted: auto-notified", 1},
        {"Auto-Submitted: no", 0}, {"Auto-Submitted: No ; comment", 0},
        {"X-Autoreply: yes", 1}, {"X-Autorespond: Out of office", 1},
        {"Precedence: bulk", 1}, {"Precedence: junk", 1}, {"Precedence: auto_reply", 1},
        {"Precedence: first-class", 0}, {"X-Mailer: Thunderbird", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char raw[512];
        snprintf(raw, sizeof raw, "From: a@example.com\nTo: b@example.com\n%s\nSubject: s\n\nbody\n", cases[i].header);
        parse(raw, &m);
        if (m.auto_reply != cases[i].is_auto)
            fail_msg("%s: auto_reply %d, want %d", cases[i].header, m.auto_reply, cases[i].is_auto);
        assert_false(m.bounce);
        lp_mail_in_release(&m);
    }
}

static void test_parse_dsn_bounce(void **state)
{
    (void)state;
    lp_mail_in m;
    parse(DSN, &m);
    assert_true(m.bounce);
    assert_true(m.auto_reply);
    assert_string_equal(m.bounce_message_id, "k2m4n6p8q0r2s4t6@fibre.example");
    assert_string_equal(m.bounce_recipient, "nobody@example.com");
    assert_string_equal(m.bounce_status, "5.1.1");
    assert_string_equal(m.bounce_reason, "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown");
    assert_true(has(m.to, m.n_to, "reply+abcdefghijklmnopqrstuvwx@reply.fibre.example"));
    assert_non_null(strstr(m.text, "could not\nbe delivered"));   /* the human-readable part */
    json_t *j = lp_mail_in_json(&m);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "bounce"), "status")), "5.1.1");
    json_decref(j);
    lp_mail_in_release(&m);

    parse(DSN_RFC822, &m);
    assert_true(m.bounce);
    assert_string_equal(m.bounce_message_id, "quote-99@fibre.example");
    assert_string_equal(m.bounce_recipient, "full@example.org");   /* the failed one, not the delayed */
    assert_string_equal(m.bounce_status, "5.2.2");
    assert_string_equal(m.bounce_reason, "552 5.2.2 Mailbox full");
    lp_mail_in_release(&m);
}

static void test_parse_other_bounces(void **state)
{
    (void)state;
    lp_mail_in m;
    /* only a delay: automatic, not a failure */
    static const char delayed[] =
        "From: MAILER-DAEMON@relay.example.net\nTo: sales@fibre.example\nSubject: Delayed Mail\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"d\"\n\n"
        "--d\nContent-Type: text/plain\n\nstill trying\n"
        "--d\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; relay\n\n"
        "Final-Recipient: rfc822; slow@example.org\nAction: delayed\nStatus: 4.4.1\n\n--d--\n";
    parse(delayed, &m);
    assert_false(m.bounce);
    assert_true(m.auto_reply);
    lp_mail_in_release(&m);

    /* an old-style bounce from MAILER-DAEMON quoting the original headers in plain text */
    static const char oldstyle[] =
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\nTo: sales@fibre.example\n"
        "Subject: Returned mail: see transcript for details\n\n"
        "   ----- The following addresses had permanent fatal errors -----\n<gone@example.org>\n\n"
        "   ----- Original message -----\nFrom: sales@fibre.example\nTo: gone@example.org\n"
        "Message-Id: <orig-5@fibre.example>\nSubject: Hello\n\nHello\n";
    parse(oldstyle, &m);
    assert_true(m.bounce);
    assert_string_equal(m.bounce_message_id, "orig-5@fibre.example");
    lp_mail_in_release(&m);

    /* an empty Return-Path on a message that does not say it is automatic */
    static const char nullsender[] =
        "Return-Path: <>\nFrom: postmaster@example.org\nTo: sales@fibre.example\nSubject: failure\n\nx\n";
    parse(nullsender, &m);
    assert_true(m.bounce);
    assert_string_equal(m.bounce_message_id, "");
    lp_mail_in_release(&m);
}

static void test_parse_refuses_garbage(void **state)
{
    (void)state;
    lp_mail_in m;
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_mail_parse("", 0, &m, &err), LP_EBADREQ);
    lp_mail_in_release(&m);
    static const char noheader[] = "\njust some text without any header\n";
    assert_int_equal(lp_mail_parse(noheader, strlen(noheader), &m, &err), LP_EBADREQ);
    lp_mail_in_release(&m);
    /* invalid UTF-8 in an 8bit body without a charset still gives valid UTF-8 */
    static const char latin[] = "From: a@example.com\nTo: b@example.com\nSubject: x\n\ncaf\xe9 \xff\n";
    assert_int_equal(lp_mail_parse(latin, strlen(latin), &m, &err), LP_OK);
    json_t *j = lp_mail_in_json(&m);
    assert_non_null(json_object_get(j, "text"));
    assert_non_null(json_string_value(json_object_get(j, "text")));
    assert_true(strncmp(m.text, "caf", 3) == 0);
    json_decref(j);
    lp_mail_in_release(&m);
}

/* Every fixture cut at every length parses or is refused, never crashes (run under ASan), and
 * whatever it gives is valid JSON-able UTF-8. */
static void test_parse_truncated(void **state)
{
    (void)state;
    static const char *const all[] = {PLAIN, QUOTED_PRINTABLE, BASE64_UTF8, HTML_ONLY, ALTERNATIVE,
                                      FOLDED_REFS, AUTO_REPLY, DSN, DSN_RFC822};
    for (size_t f = 0; f < sizeof all / sizeof all[0]; f++) {
        size_t len = strlen(all[f]);
        for (size_t n = 0; n <= len; n += 1 + n / 64) {
            lp_mail_in m;
            lp_err err = LP_ERR_INIT;
            lp_code rc = lp_mail_parse(all[f], n, &m, &err);
            assert_true(rc == LP_OK || rc == LP_EBADREQ);
            if (rc == LP_OK) {
                json_t *j = lp_mail_in_json(&m);
                assert_non_null(j);
                json_decref(j);
            }
            lp_mail_in_release(&m);
        }
    }
}

static void test_mail_in_from_json(void **state)
{
    (void)state;
    lp_mail_in m;
    lp_err err = LP_ERR_INIT;
    json_t *in = json_pack("{s:s, s:[s,s], s:s, s:s, s:s, s:s}", "from", "Ana@Example.com",
                           "to", "Sales@fibre.example", "reply+abcdefghijklmnopqrstuvwx@reply.fibre.example",
                           "subject", "Hi\r\nBcc: x", "body", "text", "message_id", "<m1@example.com>",
                           "references", "<a@x.example> <b@x.example>");
    assert_int_equal(lp_mail_in_from_json(in, &m, &err), LP_OK);
    assert_string_equal(m.from, "ana@example.com");
    assert_int_equal(m.n_to, 2);
    assert_string_equal(m.to[0], "sales@fibre.example");
    assert_string_equal(m.subject, "Hi  Bcc: x");
    assert_string_equal(m.message_id, "m1@example.com");
    assert_int_equal(m.n_references, 2);
    assert_string_equal(m.references[1], "b@x.example");
    lp_mail_in_release(&m);
    json_decref(in);

    in = json_pack("{s:s, s:[s,i]}", "from", "not an address", "to", "a@example.com", 3);
    assert_int_equal(lp_mail_in_from_json(in, &m, &err), LP_EVALIDATION);
    assert_non_null(json_object_get(err.fields, "from"));
    assert_non_null(json_object_get(err.fields, "to"));
    assert_non_null(json_object_get(err.fields, "body"));
    lp_err_release(&err);
    lp_mail_in_release(&m);
    json_decref(in);
}

/* ---- outgoing -------------------------------------------------------------------------- */

static void test_build_round_trip(void **state)
{
    (void)state;
    const char *refs[] = {"first@fibre.example", "<second@example.com>"};
    lp_mail_out o = {
        .from = "sales@fibre.example", .from_name = "Bo Berg — Fast Fibre",
        .to = "ana.lopez@example.com", .to_name = "Ana López",
        .reply_to = "reply+abcdefghijklmnopqrstuvwx@reply.fibre.example",
        .subject = "Ihr Angebot für Glasfaser — 500 Mbit/s, gültig bis Freitag, mit Router und Installation vor Ort",
        .text = "Hallo Ana,\n\nhier ist Ihr Angebot: 39,90 € im Monat.\r\nGrüße\nBo\n",
        .in_reply_to = "<second@example.com>", .references = refs, .n_references = 2,
        .date = 1796631238, .msgid_domain = "fibre.example", .kind = LP_MAIL_PERSONAL,
    };
    lp_buf out = LP_BUF_INIT(1 << 20);
    char id[LP_MSGID_MAX];
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_mail_build(&o, &out, id, &err), LP_OK);
    const char *s = lp_buf_str(&out);

    /* CRLF everywhere, only 7-bit bytes, no line over 998, headers encoded */
    for (size_t i = 0, col = 0; i < out.len; i++, col++) {
        assert_true((unsigned char)s[i] < 0x80);
        if (s[i] == '\n') { assert_true(i > 0 && s[i - 1] == '\r'); col = 0; }
        assert_true(col <= 998);
    }
    const char *subj = strstr(s, "\r\nSubject: ");
    assert_non_null(subj);
    assert_non_null(ci_strstr(subj, "=?utf-8?"));   /* encoded words */
    assert_non_null(strstr(s, "Date: Mon, 07 Dec 2026 08:13:58 +0000\r\n"));
    assert_null(ci_strstr(s, "windows-"));   /* names and subject in UTF-8, not a legacy charset */
    assert_null(ci_strstr(s, "iso-8859"));
    assert_non_null(strstr(s, "\r\nIn-Reply-To: <second@example.com>\r\n"));
    assert_non_null(strstr(s, "<first@fibre.example> <second@example.com>"));
    assert_null(strstr(s, "Auto-Submitted"));
    assert_non_null(strstr(s, "MIME-Version: 1.0"));
    /* the Message-ID: random local part at the domain, as returned */
    assert_int_equal(strlen(id), 24 + strlen("@fibre.example"));
    assert_non_null(strstr(id, "@fibre.example"));
    char line[LP_MSGID_MAX + 32];
    snprintf(line, sizeof line, "\r\nMessage-Id: <%s>\r\n", id);
    assert_non_null(ci_strstr(s, line));

    lp_mail_in m;
    assert_int_equal(lp_mail_parse(s, out.len, &m, &err), LP_OK);
    assert_string_equal(m.from, "sales@fibre.example");
    assert_string_equal(m.from_name, "Bo Berg — Fast Fibre");
    assert_int_equal(m.n_to, 1);
    assert_string_equal(m.to[0], "ana.lopez@example.com");
    assert_string_equal(m.subject, o.subject);
    assert_string_equal(m.message_id, id);
    assert_string_equal(m.in_reply_to, "second@example.com");
    assert_int_equal(m.n_references, 2);
    assert_string_equal(m.references[0], "first@fibre.example");
    assert_string_equal(m.text, "Hallo Ana,\n\nhier ist Ihr Angebot: 39,90 € im Monat.\nGrüße\nBo\n");
    assert_int_equal(m.date, o.date);
    assert_false(m.auto_reply);
    lp_mail_in_release(&m);

    /* a second message gets another Message-ID */
    char id2[LP_MSGID_MAX];
    lp_buf_reset(&out);
    assert_int_equal(lp_mail_build(&o, &out, id2, &err), LP_OK);
    assert_string_not_equal(id, id2);
    lp_buf_release(&out);
}

static void test_build_html_alternative_and_auto(void **state)
{
    (void)state;
    lp_mail_out o = {
        .from = "noreply@fibre.example", .to = "ana@example.com", .subject = "Your review",
        .text = "Please rate us.\n", .html = "<p>Please <b>rate</b> us – thanks.</p>\n",
        .date = 1796631238, .msgid_domain = "fibre.example", .kind = LP_MAIL_AUTO_GENERATED,
    };
    lp_buf out = LP_BUF_INIT(1 << 20);
    char id[LP_MSGID_MAX];
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_mail_build(&o, &out, id, &err), LP_OK);
    const char *s = lp_buf_str(&out);
    assert_non_null(strstr(s, "\r\nAuto-Submitted: auto-generated\r\n"));
    assert_non_null(strstr(s, "multipart/alternative"));
    assert_non_null(strstr(s, "text/plain"));
    assert_non_null(strstr(s, "text/html"));
    assert_true(strstr(s, "text/plain") < strstr(s, "text/html"));   /* the preferred part last */
    assert_null(strstr(s, "In-Reply-To"));
    assert_null(strstr(s, "References"));

    lp_mail_in m;
    assert_int_equal(lp_mail_parse(s, out.len, &m, &err), LP_OK);
    assert_true(m.auto_reply);   /* our own automatic mail is recognised as automatic */
    assert_string_equal(m.text, "Please rate us.\n");
    lp_mail_in_release(&m);

    /* auto-replied */
    o.kind = LP_MAIL_AUTO_REPLIED;
    o.html = NULL;
    lp_buf_reset(&out);
    assert_int_equal(lp_mail_build(&o, &out, id, &err), LP_OK);
    assert_non_null(strstr(lp_buf_str(&out), "\r\nAuto-Submitted: auto-replied\r\n"));
    assert_null(strstr(lp_buf_str(&out), "multipart"));
    lp_buf_release(&out);
}

static void test_build_header_injection_and_errors(void **state)
{
    (void)state;
    lp_mail_out o = {
        .from = "sales@fibre.example", .to = "ana@example.com",
        .subject = "Hello\r\nBcc: victim@example.org\r\n\r\nforged body", .text = "real body\n",
        .date = 0, .msgid_domain = "fibre.example",
    };
    lp_buf out = LP_BUF_INIT(1 << 20);
    char id[LP_MSGID_MAX];
    lp_err err = LP_ERR_INIT;
    assert_int_equal(lp_mail_build(&o, &out, id, &err), LP_OK);
    assert_null(strstr(lp_buf_str(&out), "\nBcc:"));
    lp_mail_in m;
    assert_int_equal(lp_mail_parse(out.data, out.len, &m, &err), LP_OK);
    assert_int_equal(m.n_to, 1);
    assert_string_equal(m.text, "real body\n");
    lp_mail_in_release(&m);

    lp_mail_out bad = {.from = "not-an-address", .to = "a@b", .text = NULL, .msgid_domain = "x y"};
    lp_buf_reset(&out);
    assert_int_equal(lp_mail_build(&bad, &out, id, &err), LP_EVALIDATION);
    assert_non_null(json_object_get(err.fields, "from"));
    assert_non_null(json_object_get(err.fields, "to"));
    assert_non_null(json_object_get(err.fields, "body"));
    assert_non_null(json_object_get(err.fields, "msgid_domain"));
    assert_int_equal(out.len, 0);
    assert_string_equal(id, "");
    lp_err_release(&err);

    /* the cap of the output buffer */
    lp_buf small = LP_BUF_INIT(200);
    assert_int_equal(lp_mail_build(&o, &small, id, &err), LP_ETOOLARGE);
    assert_string_equal(id, "");   /* nothing was made */
    assert_int_equal(small.len, 0);
    lp_err_release(&err);
    lp_buf_release(&small);
    lp_buf_release(&out);
}

/* ---- HTML to text ---------------------------------------------------------------------- */

static void html_is(const char *html, const char *want)
{
    lp_buf b = LP_BUF_INIT(1 << 16);
    lp_html_to_text(html, strlen(html), &b);
    if (strcmp(lp_buf_str(&b), want) != 0)
        fail_msg("html \"%s\":\n got  \"%s\"\n want \"%s\"", html, lp_buf_str(&b), want);
    lp_buf_release(&b);
}

static void test_html_to_text(void **state)
{
    (void)state;
    html_is("<p>One</p><p>Two</p>", "One\n\nTwo");
    html_is("<div>line one</div><div>line two</div><div><br></div><div>after a gap</div>",
            "line one\nline two\n\nafter a gap");
    html_is("<ul><li>a</li><li>b</li></ul>", "a\nb");
    html_is("a<br>b<br/>c<BR />d", "a\nb\nc\nd");
    html_is("  lots   of \n\t blanks  ", "lots of blanks");
    html_is("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc");
    html_is("x &lt; y &amp;&amp; y &gt; z &quot;q&quot; &#39;s&#39; &#x41;&#66; &bogus; & alone", "x < y && y > z \"q\" 's' AB &bogus; & alone");
    html_is("1 < 2 and 3 > 2", "1 < 2 and 3 > 2");
    html_is("<SCRIPT type=x>if (a < b) {}</SCRIPT>ok<style>b{}</style>", "ok");
    html_is("<p>para</p>\n\n\n<p></p><p></p><div>next</div>", "para\n\nnext");
    html_is("<p>one</p><br><br><br><p>two</p>", "one\n\ntwo");
    html_is("unclosed <b", "unclosed");
    html_is("<!-- never closed", "");
    html_is("&#0; &#xD800; &#99999999;", "\xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD");
}

/* ---- reply addresses ------------------------------------------------------------------- */

static void test_reply_tokens(void **state)
{
    (void)state;
    char t1[LP_REPLY_TOKEN_LEN], t2[LP_REPLY_TOKEN_LEN], got[LP_REPLY_TOKEN_LEN], addr[128];
    lp_reply_token_new(t1);
    lp_reply_token_new(t2);
    assert_int_equal(strlen(t1), 24);
    assert_string_not_equal(t1, t2);
    for (const char *p = t1; *p; p++)
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= '2' && *p <= '7'));

    assert_int_equal(lp_reply_address(t1, "reply.fibre.example", addr, sizeof addr), 0);
    assert_true(strncmp(addr, "reply+", 6) == 0);
    assert_int_equal(lp_reply_token_parse(addr, "reply.fibre.example", got), 1);
    assert_string_equal(got, t1);

    /* case changed by a mail system, brackets, any domain */
    char upper[128];
    for (size_t i = 0; i <= strlen(addr); i++)
        upper[i] = (char)toupper((unsigned char)addr[i]);
    assert_int_equal(lp_reply_token_parse(upper, "reply.fibre.example", got), 1);
    assert_string_equal(got, t1);
    char bracketed[140];
    snprintf(bracketed, sizeof bracketed, "<%s>", addr);
    assert_int_equal(lp_reply_token_parse(bracketed, "reply.fibre.example", got), 1);
    assert_int_equal(lp_reply_token_parse(addr, NULL, got), 1);

    /* not ours */
    assert_int_equal(lp_reply_token_parse(addr, "other.example", got), 0);
    assert_string_equal(got, "");
    assert_int_equal(lp_reply_token_parse("sales@reply.fibre.example", NULL, got), 0);
    assert_int_equal(lp_reply_token_parse("reply+short@reply.fibre.example", NULL, got), 0);
    assert_int_equal(lp_reply_token_parse("reply+abcdefghijklmnopqrstuvw1@reply.fibre.example", NULL, got), 0);
    assert_int_equal(lp_reply_token_parse("reply+abcdefghijklmnopqrstuvwxy@reply.fibre.example", NULL, got), 0);
    assert_int_equal(lp_reply_token_parse("reply+abcdefghijklmnopqrstuvwx", NULL, got), 0);
    assert_int_equal(lp_reply_token_parse(NULL, NULL, got), 0);

    assert_int_equal(lp_reply_address("bad token", "x.example", addr, sizeof addr), -1);
    assert_int_equal(lp_reply_address(t1, "", addr, sizeof addr), -1);
    assert_int_equal(lp_reply_address(t1, "x.example", addr, 20), -1);
    assert_string_equal(addr, "");
}

static int teardown(void **state)
{
    (void)state;
    lp_mime_shutdown();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_plain),              cmocka_unit_test(test_parse_quoted_printable_latin1),
        cmocka_unit_test(test_parse_base64_utf8),        cmocka_unit_test(test_parse_html_only),
        cmocka_unit_test(test_parse_alternative_prefers_plain), cmocka_unit_test(test_parse_folded_references),
        cmocka_unit_test(test_parse_auto_replies),       cmocka_unit_test(test_parse_dsn_bounce),
        cmocka_unit_test(test_parse_other_bounces),      cmocka_unit_test(test_parse_refuses_garbage),
        cmocka_unit_test(test_parse_truncated),
        cmocka_unit_test(test_mail_in_from_json),        cmocka_unit_test(test_build_round_trip),
        cmocka_unit_test(test_build_html_alternative_and_auto),
        cmocka_unit_test(test_build_header_injection_and_errors),
        cmocka_unit_test(test_html_to_text),             cmocka_unit_test(test_reply_tokens),
    };
    lp_mime_init();
    return cmocka_run_group_tests(tests, NULL, teardown);
}
