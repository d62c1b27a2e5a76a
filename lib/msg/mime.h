/* mime.h — e-mail messages in and out, over GMime: building an outgoing RFC 5322 message,
 * parsing an inbound one into the facts the matcher and the timeline need, and the reply
 * address `reply+<token>@<domain>` that ties a reply to its thread.
 *
 * GMime keeps global tables, so the process calls lp_mime_init() once before the first message
 * (it is safe to call again, from any thread); tests may call lp_mime_shutdown() at the very end
 * (nothing here may be used after it; the process need not call it: nothing is reported leaked).
 * Neither function here keeps state between calls; both are thread-safe after lp_mime_init().
 * The library never reads the clock: the Date of an outgoing message comes in as a parameter.
 *
 * Message-IDs travel without their angle brackets everywhere ("abc@example.com").
 */
#ifndef LP_MSG_MIME_H
#define LP_MSG_MIME_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "leadpath/error.h"
#include "util/buf.h"

void lp_mime_init(void);
void lp_mime_shutdown(void);

/* ---- outgoing -------------------------------------------------------------------------- */

typedef enum {
  LP_MAIL_PERSONAL = 0,       /* written by a person: no Auto-Submitted header */
  LP_MAIL_AUTO_GENERATED,     /* Auto-Submitted: auto-generated (notifications, review requests) */
  LP_MAIL_AUTO_REPLIED,       /* Auto-Submitted: auto-replied (an automatic answer to a message) */
} lp_mail_kind;

/* A file sent with a message (e.g. a quote as PDF): bytes, not text; sent base64-encoded. */
typedef struct lp_mail_attachment {
  const char *filename;                 /* e.g. "quote-Q-000042.pdf"; encoded per RFC 2231 when needed */
  const char *content_type;             /* "type/subtype", e.g. "application/pdf" */
  const void *data;
  size_t len;
} lp_mail_attachment;

typedef struct lp_mail_out {
  const char *from, *from_name;         /* address required; display name may be NULL */
  const char *to, *to_name;             /* address required */
  const char *reply_to;                 /* e.g. reply+token@domain; NULL for none */
  const char *subject;                  /* UTF-8; encoded words where needed; CR/LF become spaces */
  const char *text;                     /* UTF-8 plain-text body, required */
  const char *html;                     /* UTF-8 HTML alternative, or NULL */
  const char *in_reply_to;              /* Message-ID answered, or NULL */
  const char *const *references;        /* Message-IDs of the thread, oldest first */
  size_t n_references;
  int64_t date;                         /* Unix seconds, written as UTC */
  const char *msgid_domain;             /* right-hand side of the generated Message-ID */
  const char *message_id;               /* NULL: a new one; else this one (a retry of the same message) */
  lp_mail_kind kind;
  const lp_mail_attachment *attachments;  /* NULL or n_attachments files: the message becomes */
  size_t n_attachments;                   /* multipart/mixed, the text first */
} lp_mail_out;

#define LP_MSGID_MAX 256   /* room for a Message-ID without brackets, NUL included */
/* Builds the message as RFC 5322 bytes with CRLF line ends (ready for SMTP DATA) into out and
 * writes its new Message-ID `<random@msgid_domain>` (without brackets) into msgid.
 * LP_EVALIDATION (fields named) for a missing or malformed address, a missing body or domain,
 * an attachment without a name, a type of the form type/subtype or bytes;
 * LP_ETOOLARGE when out's cap is reached; LP_EINTERNAL if GMime fails. */
lp_code lp_mail_build(const lp_mail_out *m, lp_buf *out, char msgid[LP_MSGID_MAX], lp_err *err);
/* A new Message-ID `<random@domain>` (without brackets) into msgid, as lp_mail_build makes them;
 * -1 (msgid empty) when domain is not a domain name. */
int lp_mail_message_id(const char *domain, char msgid[LP_MSGID_MAX]);

/* ---- inbound --------------------------------------------------------------------------- */

/* An inbound message as the rest of leadpath needs it. Every string is UTF-8, owned by the
 * struct (released by lp_mail_in_release) and never NULL after a successful parse ("" when
 * absent). Addresses are lower-cased. The HTTP form of inbound e-mail (JSON from, to, subject,
 * body, message_id) fills the same struct through lp_mail_in_from_json. */
typedef struct lp_mail_in {
  char *from;                 /* sender address (From, else Sender, else Return-Path) */
  char *from_name;            /* its display name */
  char **to;                  /* every recipient: To, Cc, Delivered-To, X-Original-To; unique */
  size_t n_to;
  char *subject;
  char *message_id;
  char *in_reply_to;          /* the first Message-ID of In-Reply-To */
  char **references;          /* References, oldest first, unique */
  size_t n_references;
  char *text;                 /* the body: text/plain, else text/html without tags; LF line ends */
  int64_t date;               /* Date as Unix seconds; 0 if missing or unreadable */
  int auto_reply;             /* an automatic message: Auto-Submitted (not "no"), X-Autoreply,
                                 X-Autorespond, Precedence auto_reply|bulk|junk, delayed DSNs */
  int bounce;                 /* a failure report: DSN (multipart/report delivery-status) with a
                                 failed recipient, or from MAILER-DAEMON, or an empty Return-Path
                                 on a message that is not an auto-reply */
  char *bounce_message_id;    /* Message-ID of the message that failed, "" if not found */
  char *bounce_recipient;     /* the address that failed (Final-Recipient), "" if not given */
  char *bounce_status;        /* DSN Status, e.g. "5.1.1", "" if not given */
  char *bounce_reason;        /* Diagnostic-Code without its type, else the Status, else "" */
} lp_mail_in;

/* Parses raw RFC 5322 bytes (LF or CRLF). Transfer encodings and charsets are decoded; header
 * encoded words too. LP_EBADREQ when the bytes are not a message (no header at all).
 * On success the caller releases m with lp_mail_in_release (also safe after a failure). */
lp_code lp_mail_parse(const char *raw, size_t len, lp_mail_in *m, lp_err *err);
/* Fills m from the HTTP form {from, to (string or array), subject?, body, message_id?,
 * in_reply_to?, references?}; LP_EVALIDATION names a missing or malformed from/to/body. */
lp_code lp_mail_in_from_json(json_t *in, lp_mail_in *m, lp_err *err);
void lp_mail_in_release(lp_mail_in *m);
/* The parsed message as JSON (new object): the struct's fields by their names, the arrays as
 * arrays, and the bounce facts under "bounce" (an object, or null when not a bounce). */
json_t *lp_mail_in_json(const lp_mail_in *m);

/* Text of an HTML document: tags dropped (with the content of script, style and head),
 * paragraph-like elements and <br> as line breaks, entities decoded, runs of blanks collapsed.
 * Appends UTF-8 to out. */
void lp_html_to_text(const char *html, size_t len, lp_buf *out);

/* ---- reply addresses ------------------------------------------------------------------- */

/* A reply token: 24 characters of lower-case base32 (15 random bytes from libsodium), so it
 * survives mail systems that change the case of an address or URL-encode it. */
#define LP_REPLY_TOKEN_LEN 25
void lp_reply_token_new(char out[LP_REPLY_TOKEN_LEN]);
/* Writes "reply+<token>@<domain>" into out; 0, or -1 for a bad token or a short buffer. */
int lp_reply_address(const char *token, const char *domain, char *out, size_t outsz);
/* 1 and the token (lower-cased) when address is reply+<token>@<domain> (domain compared
 * without case; NULL domain accepts any), else 0 and out = "". */
int lp_reply_token_parse(const char *address, const char *domain, char out[LP_REPLY_TOKEN_LEN]);
#endif
