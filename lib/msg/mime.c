/* mime.c — building and parsing e-mail over GMime, HTML to text, and reply addresses
 * (see mime.h).
 *
 * GMime objects are reference-counted GObjects: every object made here is unref'd before the
 * function returns, and every string GMime hands over (g_free) is copied into our own malloc'd
 * memory first, so the structs this file returns hold nothing of GMime's.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <gmime/gmime.h>
#include <sodium.h>
#include "msg/mime.h"
#include "util/valid.h"

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;
static void mime_init_once(void) { g_mime_init(); }
void lp_mime_init(void) { pthread_once(&mime_once, mime_init_once); }
void lp_mime_shutdown(void) { g_mime_shutdown(); }

/* ---- small helpers --------------------------------------------------------------------- */

static char *dup_n(const char *s, size_t n) {
  char *p = malloc(n + 1);
  if (!p) abort();
  if (n) memcpy(p, s, n);
  p[n] = 0;
  return p;
}

/* A malloc'd copy of s that is valid UTF-8 without NUL bytes ("" for NULL). */
static char *dup_utf8(const char *s) {
  if (!s) return dup_n("", 0);
  if (g_utf8_validate(s, -1, NULL)) return dup_n(s, strlen(s));
  char *ok = g_utf8_make_valid(s, -1);
  char *r = dup_n(ok, strlen(ok));
  g_free(ok);
  return r;
}

static int ieq(const char *a, const char *b) { return a && b && g_ascii_strcasecmp(a, b) == 0; }

/* Trimmed, lower-cased address: the normalised form when it is a plain address, else the
 * text as given (lower-cased), so an odd sender is still recorded. */
static char *addr_dup(const char *a) {
  char norm[LP_EMAIL_BUFSZ];
  if (!a) return dup_n("", 0);
  if (lp_email_normalize(a, norm, sizeof norm) == 0) return dup_n(norm, strlen(norm));
  while (*a == ' ' || *a == '\t' || *a == '<') a++;
  size_t n = strlen(a);
  while (n && (a[n - 1] == ' ' || a[n - 1] == '\t' || a[n - 1] == '>')) n--;
  char *t = dup_n(a, n), *r = dup_utf8(t);
  free(t);
  for (char *p = r; *p; p++) *p = (char)tolower((unsigned char)*p);
  return r;
}

/* A growable list of malloc'd strings without duplicates, at most LIST_MAX of them: past
 * that a list of recipients keeps its first ones, a list of references (keep_last) its last
 * (newest) ones, which are the ones matching needs. */
#define LIST_MAX 500
typedef struct { char **v; size_t n, alloc; int keep_last; } strlist;

static void list_add(strlist *l, char *s) {   /* takes s */
  if (!s[0]) { free(s); return; }
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i], s) == 0) { free(s); return; }
  if (l->n == LIST_MAX) {
    if (!l->keep_last) { free(s); return; }
    free(l->v[0]);
    memmove(l->v, l->v + 1, (l->n - 1) * sizeof *l->v);
    l->n--;
  }
  if (l->n == l->alloc) {
    l->alloc = l->alloc ? l->alloc * 2 : 8;
    char **p = realloc(l->v, l->alloc * sizeof *p);
    if (!p) abort();
    l->v = p;
  }
  l->v[l->n++] = s;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++) free(v[i]);
  free(v);
}

/* ---- reply addresses ------------------------------------------------------------------- */

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

void lp_reply_token_new(char out[LP_REPLY_TOKEN_LEN]) {
  unsigned char r[15];
  randombytes_buf(r, sizeof r);
  for (int i = 0; i < 24; i++) {           /* 24 groups of 5 bits = 120 bits */
    int bit = i * 5, v = 0;
    for (int k = 0; k < 5; k++, bit++) v = (v << 1) | ((r[bit / 8] >> (7 - bit % 8)) & 1);
    out[i] = b32[v];
  }
  out[24] = 0;
}

static int token_ok(const char *t, size_t n) {
  if (n != LP_REPLY_TOKEN_LEN - 1) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = (char)tolower((unsigned char)t[i]);
    if (!strchr(b32, c) || !c) return 0;
  }
  return 1;
}

int lp_reply_address(const char *token, const char *domain, char *out, size_t outsz) {
  if (outsz) out[0] = 0;
  if (!token || !domain || !domain[0] || !token_ok(token, strlen(token))) return -1;
  int n = snprintf(out, outsz, "reply+%s@%s", token, domain);
  if (n < 0 || (size_t)n >= outsz) { if (outsz) out[0] = 0; return -1; }
  return 0;
}

int lp_reply_token_parse(const char *address, const char *domain, char out[LP_REPLY_TOKEN_LEN]) {
  out[0] = 0;
  if (!address) return 0;
  while (*address == ' ' || *address == '<') address++;
  if (g_ascii_strncasecmp(address, "reply+", 6) != 0) return 0;
  const char *t = address + 6, *at = strchr(t, '@');
  if (!at || !token_ok(t, (size_t)(at - t))) return 0;
  if (domain) {
    size_t n = strlen(at + 1);
    while (n && (at[n] == '>' || at[n] == ' ')) n--;
    if (n != strlen(domain) || g_ascii_strncasecmp(at + 1, domain, n) != 0) return 0;
  }
  for (int i = 0; i < LP_REPLY_TOKEN_LEN - 1; i++) out[i] = (char)tolower((unsigned char)t[i]);
  out[LP_REPLY_TOKEN_LEN - 1] = 0;
  return 1;
}

/* ---- HTML to text ---------------------------------------------------------------------- */

static void put_utf8(lp_buf *b, unsigned long cp) {
  char s[4];
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) { s[0] = (char)cp; lp_buf_add(b, s, 1); }
  else if (cp < 0x800) { s[0] = (char)(0xC0 | cp >> 6); s[1] = (char)(0x80 | (cp & 0x3F)); lp_buf_add(b, s, 2); }
  else if (cp < 0x10000) {
    s[0] = (char)(0xE0 | cp >> 12); s[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); s[2] = (char)(0x80 | (cp & 0x3F));
    lp_buf_add(b, s, 3);
  } else {
    s[0] = (char)(0xF0 | cp >> 18); s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    s[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); s[3] = (char)(0x80 | (cp & 0x3F));
    lp_buf_add(b, s, 4);
  }
}

/* Decodes the entity at p ('&'), appending it to b; returns the bytes used (1 when it is not
 * an entity: the '&' is then plain text). */
static size_t put_entity(lp_buf *b, const char *p, const char *end) {
  static const struct { const char *name; unsigned long cp; } names[] = {
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '},
    {"copy", 0xA9}, {"reg", 0xAE}, {"euro", 0x20AC}, {"ndash", 0x2013}, {"mdash", 0x2014},
    {"hellip", 0x2026}, {"laquo", 0xAB}, {"raquo", 0xBB}, {"rsquo", 0x2019}, {"lsquo", 0x2018},
    {"rdquo", 0x201D}, {"ldquo", 0x201C}, {"auml", 0xE4}, {"ouml", 0xF6}, {"uuml", 0xFC},
    {"Auml", 0xC4}, {"Ouml", 0xD6}, {"Uuml", 0xDC}, {"szlig", 0xDF}, {"eacute", 0xE9},
  };
  const char *semi = memchr(p, ';', (size_t)(end - p) < 12 ? (size_t)(end - p) : 12);
  if (!semi) { lp_buf_add(b, "&", 1); return 1; }
  const char *name = p + 1;
  size_t n = (size_t)(semi - name);
  if (n > 1 && name[0] == '#') {
    unsigned long cp = 0;
    int hex = name[1] == 'x' || name[1] == 'X';
    size_t i = hex ? 2 : 1;
    if (i >= n) { lp_buf_add(b, "&", 1); return 1; }
    for (; i < n; i++) {
      int c = (unsigned char)name[i], d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else { lp_buf_add(b, "&", 1); return 1; }
      cp = cp * (hex ? 16 : 10) + (unsigned long)d;
      if (cp > 0x10FFFF) cp = 0x110000;
    }
    put_utf8(b, cp == 0xA0 ? ' ' : cp);
    return n + 2;
  }
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strlen(names[i].name) == n && memcmp(names[i].name, name, n) == 0) {
      put_utf8(b, names[i].cp);
      return n + 2;
    }
  lp_buf_add(b, "&", 1);
  return 1;
}

/* Tags that end a line of text, and the ones whose content is not text at all. */
static int tag_in(const char *tag, size_t n, const char *list) {
  char t[16];
  if (!n || n >= sizeof t) return 0;
  for (size_t i = 0; i < n; i++) t[i] = (char)tolower((unsigned char)tag[i]);
  t[n] = 0;
  for (const char *p = strstr(list, t); p; p = strstr(p + 1, t))
    if (p[-1] == ' ' && p[n] == ' ') return 1;
  return 0;
}
/* A paragraph leaves an empty line, a block starts a new line, <br> adds one line break. */
static const char *const PARA_TAGS = " p h1 h2 h3 h4 h5 h6 blockquote pre hr table ";
static const char *const BLOCK_TAGS = " div li tr ul ol dl dt dd tbody thead tfoot section article header footer address center form ";
static const char *const SKIP_TAGS = " script style head ";

void lp_html_to_text(const char *html, size_t len, lp_buf *out) {
  /* First pass: text with ' ' for every blank and markers for breaks: '\n' a line break,
   * '\1' a block boundary, '\2' a paragraph boundary. */
  lp_buf raw = LP_BUF_INIT((size_t)len * 4 + 64);
  const char *p = html, *end = html + len;
  while (p < end) {
    if (*p == '<') {
      if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
        const char *c = g_strstr_len(p + 4, end - p - 4, "-->");
        p = c ? c + 3 : end;
        continue;
      }
      const char *q = p + 1;
      int closing = q < end && *q == '/';
      if (closing) q++;
      const char *name = q;
      while (q < end && (isalnum((unsigned char)*q))) q++;
      size_t n = (size_t)(q - name);
      const char *gt = memchr(q, '>', (size_t)(end - q));
      if (!n) { lp_buf_add(&raw, "<", 1); p++; continue; }   /* "a < b": plain text */
      p = gt ? gt + 1 : end;
      if (!closing && tag_in(name, n, SKIP_TAGS)) {
        /* skip to the matching end tag */
        while (p < end) {
          const char *lt = memchr(p, '<', (size_t)(end - p));
          if (!lt) { p = end; break; }
          if (end - lt > (ptrdiff_t)(n + 2) && lt[1] == '/' && g_ascii_strncasecmp(lt + 2, name, n) == 0) {
            const char *g = memchr(lt, '>', (size_t)(end - lt));
            p = g ? g + 1 : end;
            break;
          }
          p = lt + 1;
        }
        continue;
      }
      if (tag_in(name, n, " br ")) lp_buf_add(&raw, "\n", 1);
      else if (tag_in(name, n, PARA_TAGS)) lp_buf_add(&raw, "\2", 1);
      else if (tag_in(name, n, BLOCK_TAGS)) lp_buf_add(&raw, "\1", 1);
      else if (tag_in(name, n, " td th ")) lp_buf_add(&raw, " ", 1);
      continue;
    }
    if (*p == '&') { p += put_entity(&raw, p, end); continue; }
    if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\f') { lp_buf_add(&raw, " ", 1); p++; continue; }
    lp_buf_add(&raw, p, 1);
    p++;
  }
  /* Second pass: one space between words, no blanks at line ends, at most one empty line,
   * none at the start or the end. */
  const char *s = lp_buf_str(&raw);
  size_t start = out->len;
  int pending_space = 0, newlines = 0;
  for (; *s; s++) {
    if (*s == ' ') { pending_space = 1; continue; }
    if (*s == '\n') { newlines++; pending_space = 0; continue; }
    if (*s == '\1' || *s == '\2') {
      if (newlines < *s) newlines = *s;
      pending_space = 0;
      continue;
    }
    if (newlines) {
      if (out->len > start) lp_buf_add(out, "\n\n", newlines > 1 ? 2 : 1);
    } else if (pending_space && out->len > start) {
      lp_buf_add(out, " ", 1);
    }
    newlines = pending_space = 0;
    lp_buf_add(out, s, 1);
  }
  lp_buf_release(&raw);
}

/* ---- building -------------------------------------------------------------------------- */

/* s with CR and LF as spaces (a header value must stay one line). */
static char *one_line(const char *s) {
  char *r = dup_utf8(s);
  for (char *p = r; *p; p++)
    if (*p == '\r' || *p == '\n') *p = ' ';
  return r;
}

/* Message-ID without brackets and blanks, or NULL when it has none. */
static char *bare_id(const char *id) {
  if (!id) return NULL;
  char *d = g_mime_utils_decode_message_id(id);
  if (!d || !d[0]) { g_free(d); return NULL; }
  char *r = dup_n(d, strlen(d));
  g_free(d);
  return r;
}

static GMimeObject *text_part(const char *subtype, const char *text) {
  GMimeTextPart *tp = g_mime_text_part_new_with_subtype(subtype);
  /* Body text with LF line ends; GMime writes them as CRLF and picks the transfer encoding. */
  size_t n = strlen(text);
  char *lf = malloc(n + 1);
  if (!lf) abort();
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (text[i] != '\r') lf[k++] = text[i];
    else if (text[i + 1] != '\n') lf[k++] = '\n';
  int ascii = 1;
  for (size_t i = 0; i < k; i++)
    if ((unsigned char)lf[i] >= 0x80) { ascii = 0; break; }
  g_mime_text_part_set_charset(tp, ascii ? "us-ascii" : "utf-8");
  GMimeStream *st = g_mime_stream_mem_new_with_buffer(lf, k);
  GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content(GMIME_PART(tp), w);
  g_object_unref(w);
  g_object_unref(st);
  free(lf);
  return GMIME_OBJECT(tp);
}

static int domain_ok(const char *d) {
  if (!d || !d[0] || strlen(d) > 200) return 0;
  for (const char *p = d; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-')) return 0;
  return 1;
}

/* Adds "name <addr>" with the name in UTF-8 encoded words when it needs them (GMime would
 * otherwise pick the smallest legacy charset that fits). */
static void add_mailbox(GMimeMessage *msg, GMimeAddressType type, const char *name, const char *addr) {
  char *n = name ? one_line(name) : NULL;
  InternetAddress *ia = internet_address_mailbox_new(n, addr);
  internet_address_set_charset(ia, "utf-8");
  internet_address_list_add(g_mime_message_get_addresses(msg, type), ia);
  g_object_unref(ia);
  free(n);
}

int lp_mail_message_id(const char *domain, char msgid[LP_MSGID_MAX]) {
  msgid[0] = 0;
  if (!domain_ok(domain)) return -1;
  char tok[LP_REPLY_TOKEN_LEN];
  lp_reply_token_new(tok);
  snprintf(msgid, LP_MSGID_MAX, "%s@%s", tok, domain);
  return 0;
}

/* An attachment: its bytes base64-encoded, Content-Disposition attachment with its file name. */
static GMimeObject *attachment_part(const lp_mail_attachment *at) {
  const char *slash = strchr(at->content_type, '/');
  char type[128];
  snprintf(type, sizeof type, "%.*s", (int)(slash - at->content_type), at->content_type);
  GMimePart *part = g_mime_part_new_with_type(type, slash + 1);
  GMimeStream *st = g_mime_stream_mem_new_with_buffer(at->data ? at->data : "", at->len);
  GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content(part, w);
  g_object_unref(w);
  g_object_unref(st);
  g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
  g_mime_object_set_disposition(GMIME_OBJECT(part), GMIME_DISPOSITION_ATTACHMENT);
  char *name = one_line(at->filename);
  g_mime_part_set_filename(part, name);
  free(name);
  return GMIME_OBJECT(part);
}

lp_code lp_mail_build(const lp_mail_out *m, lp_buf *out, char msgid[LP_MSGID_MAX], lp_err *err) {
  char tmp[LP_EMAIL_BUFSZ];
  msgid[0] = 0;
  int bad = 0;
  if (!m->from || lp_email_normalize(m->from, tmp, sizeof tmp) != 0)
    bad = lp_fail_field(err, "from", "must be an e-mail address");
  if (!m->to || lp_email_normalize(m->to, tmp, sizeof tmp) != 0)
    bad = lp_fail_field(err, "to", "must be an e-mail address");
  if (m->reply_to && lp_email_normalize(m->reply_to, tmp, sizeof tmp) != 0)
    bad = lp_fail_field(err, "reply_to", "must be an e-mail address");
  if (!m->text) bad = lp_fail_field(err, "body", "is required");
  if (!domain_ok(m->msgid_domain)) bad = lp_fail_field(err, "msgid_domain", "must be a domain name");
  for (size_t i = 0; i < m->n_attachments; i++) {
    const lp_mail_attachment *at = &m->attachments[i];
    const char *slash = at->content_type ? strchr(at->content_type, '/') : NULL;
    if (!at->filename || !*at->filename || !slash || slash == at->content_type || !slash[1] || (!at->data && at->len))
      bad = lp_fail_field(err, "attachments", "each needs a file name, a type/subtype and its bytes");
  }
  if (bad) return LP_EVALIDATION;
  lp_mime_init();

  GMimeMessage *msg = g_mime_message_new(TRUE);
  GMimeObject *top = GMIME_OBJECT(msg);
  char *s;
  add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, m->from_name, m->from);
  add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, m->to_name, m->to);
  if (m->reply_to) add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, m->reply_to);
  s = one_line(m->subject ? m->subject : "");
  g_mime_message_set_subject(msg, s, "utf-8");
  free(s);
  GDateTime *dt = g_date_time_new_from_unix_utc(m->date);
  g_mime_message_set_date(msg, dt);
  g_date_time_unref(dt);

  char tok[LP_REPLY_TOKEN_LEN];   /* 120 random bits make the local part */
  lp_reply_token_new(tok);
  if (m->message_id && *m->message_id) snprintf(msgid, LP_MSGID_MAX, "%s", m->message_id);  /* a retry keeps its id */
  else snprintf(msgid, LP_MSGID_MAX, "%s@%s", tok, m->msgid_domain);
  g_mime_message_set_message_id(msg, msgid);

  lp_buf refs = LP_BUF_INIT(1 << 16);
  char *irt = bare_id(m->in_reply_to);
  if (irt) {
    lp_buf_printf(&refs, "<%s>", irt);
    g_mime_object_set_header(top, "In-Reply-To", lp_buf_str(&refs), NULL);
    lp_buf_reset(&refs);
    free(irt);
  }
  for (size_t i = 0; i < m->n_references; i++) {
    char *id = bare_id(m->references[i]);
    if (id) lp_buf_printf(&refs, "%s<%s>", refs.len ? " " : "", id);
    free(id);
  }
  if (refs.len) g_mime_object_set_header(top, "References", lp_buf_str(&refs), NULL);
  lp_buf_release(&refs);
  if (m->kind == LP_MAIL_AUTO_GENERATED) g_mime_object_set_header(top, "Auto-Submitted", "auto-generated", NULL);
  if (m->kind == LP_MAIL_AUTO_REPLIED) g_mime_object_set_header(top, "Auto-Submitted", "auto-replied", NULL);

  GMimeObject *body = text_part("plain", m->text);
  if (m->html) {
    GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
    GMimeObject *html = text_part("html", m->html);
    g_mime_multipart_add(alt, body);
    g_mime_multipart_add(alt, html);
    g_object_unref(body);
    g_object_unref(html);
    body = GMIME_OBJECT(alt);
  }
  if (m->n_attachments) {
    GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
    g_mime_multipart_add(mixed, body);
    g_object_unref(body);
    for (size_t i = 0; i < m->n_attachments; i++) {
      GMimeObject *part = attachment_part(&m->attachments[i]);
      g_mime_multipart_add(mixed, part);
      g_object_unref(part);
    }
    body = GMIME_OBJECT(mixed);
  }
  g_mime_message_set_mime_part(msg, body);
  g_object_unref(body);
  g_mime_object_encode(top, GMIME_ENCODING_CONSTRAINT_7BIT);

  GMimeFormatOptions *fo = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
  s = g_mime_object_to_string(top, fo);
  g_mime_format_options_free(fo);
  g_object_unref(msg);
  if (!s) { msgid[0] = 0; return lp_fail(err, LP_EINTERNAL, "The message could not be written"); }
  int full = lp_buf_puts(out, s);
  g_free(s);
  if (full) { msgid[0] = 0; return lp_fail(err, LP_ETOOLARGE, "The message is too large"); }
  return LP_OK;
}

/* ---- parsing --------------------------------------------------------------------------- */

/* Adds the mailboxes of an address list (groups flattened) to l. */
static void add_addresses(strlist *l, InternetAddressList *al) {
  int n = al ? internet_address_list_length(al) : 0;
  for (int i = 0; i < n; i++) {
    InternetAddress *a = internet_address_list_get_address(al, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(a)) list_add(l, addr_dup(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))));
    else if (INTERNET_ADDRESS_IS_GROUP(a)) add_addresses(l, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
  }
}

/* The first mailbox of a list, or NULL. */
static InternetAddressMailbox *first_mailbox(InternetAddressList *al) {
  int n = al ? internet_address_list_length(al) : 0;
  for (int i = 0; i < n; i++) {
    InternetAddress *a = internet_address_list_get_address(al, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(a)) return INTERNET_ADDRESS_MAILBOX(a);
    if (INTERNET_ADDRESS_IS_GROUP(a)) {
      InternetAddressMailbox *mb = first_mailbox(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
      if (mb) return mb;
    }
  }
  return NULL;
}

/* Adds every Message-ID of a References-like value: bracketed ids (folded, commas or blanks
 * between them), else bare words with an '@'. */
static void add_ids(strlist *l, const char *value) {
  if (!value) return;
  GMimeReferences *r = g_mime_references_parse(NULL, value);
  int n = r ? g_mime_references_length(r) : 0;
  for (int i = 0; i < n; i++) list_add(l, dup_utf8(g_mime_references_get_message_id(r, i)));
  if (r) g_mime_references_free(r);
  if (n) return;
  char *copy = dup_utf8(value);
  for (char *save = NULL, *w = strtok_r(copy, " \t\r\n,;", &save); w; w = strtok_r(NULL, " \t\r\n,;", &save))
    if (strchr(w, '@')) {
      char *id = bare_id(w);
      if (id) list_add(l, id);
    }
  free(copy);
}

/* The decoded bytes of a leaf part (transfer encoding undone, charset not converted). */
static char *part_bytes(GMimePart *part, size_t *len) {
  GMimeDataWrapper *w = g_mime_part_get_content(part);
  GMimeStream *st = g_mime_stream_mem_new();
  if (w) g_mime_data_wrapper_write_to_stream(w, st);
  GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(st));
  char *r = dup_n((const char *)ba->data, ba->len);
  *len = ba->len;
  g_object_unref(st);
  return r;
}

/* Text of a text part as UTF-8 with LF line ends. */
static char *part_text(GMimeTextPart *tp) {
  char *t = g_mime_text_part_get_text(tp);
  char *r = dup_utf8(t ? t : "");
  g_free(t);
  size_t k = 0;
  for (size_t i = 0; r[i]; i++)
    if (r[i] != '\r') r[k++] = r[i];
    else if (r[i + 1] != '\n') r[k++] = '\n';
  r[k] = 0;
  return r;
}

/* Finds the first text/plain and text/html parts that are not attachments, without looking
 * into attached messages. */
static void find_bodies(GMimeObject *o, GMimeTextPart **plain, GMimeTextPart **html) {
  if (GMIME_IS_MULTIPART(o)) {
    int n = g_mime_multipart_get_count(GMIME_MULTIPART(o));
    for (int i = 0; i < n; i++) find_bodies(g_mime_multipart_get_part(GMIME_MULTIPART(o), i), plain, html);
    return;
  }
  if (!GMIME_IS_TEXT_PART(o)) return;
  GMimeContentDisposition *cd = g_mime_object_get_content_disposition(o);
  if (cd && g_mime_content_disposition_is_attachment(cd)) return;
  GMimeContentType *ct = g_mime_object_get_content_type(o);
  if (!*plain && g_mime_content_type_is_type(ct, "text", "plain")) *plain = GMIME_TEXT_PART(o);
  if (!*html && g_mime_content_type_is_type(ct, "text", "html")) *html = GMIME_TEXT_PART(o);
}

/* The value of header `name` in a block of "Name: value" lines (folded lines joined), or NULL.
 * Returns malloc'd. */
static char *field_in(const char *text, const char *name) {
  size_t n = strlen(name);
  for (const char *line = text; line && *line; ) {
    const char *eol = strchr(line, '\n');
    if (g_ascii_strncasecmp(line, name, n) == 0 && line[n] == ':') {
      lp_buf v = LP_BUF_INIT(1 << 16);
      const char *p = line + n + 1;
      for (;;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        lp_buf_add(&v, p, len);
        if (!e || (e[1] != ' ' && e[1] != '\t')) break;
        p = e + 1;
      }
      /* one space for every run of blanks (folding included) */
      char *r = dup_utf8(lp_buf_str(&v));
      lp_buf_release(&v);
      size_t k = 0;
      for (size_t i = 0; r[i]; i++) {
        int blank = r[i] == ' ' || r[i] == '\t' || r[i] == '\r';
        if (blank && (k == 0 || r[k - 1] == ' ')) continue;
        r[k++] = blank ? ' ' : r[i];
      }
      while (k && r[k - 1] == ' ') k--;
      r[k] = 0;
      return r;
    }
    line = eol ? eol + 1 : NULL;
  }
  return NULL;
}

/* Facts of a DSN's message/delivery-status part. */
typedef struct { int failed, delayed, other, kept_failed; char *recipient, *status, *reason; } dsn_facts;

static void read_dsn(const char *text, dsn_facts *d) {
  /* Per-recipient groups follow the per-message group, each separated by an empty line. */
  const char *p = text;
  while (p && *p) {
    const char *blank = strstr(p, "\n\n");
    size_t n = blank ? (size_t)(blank - p) : strlen(p);
    char *group = dup_n(p, n);
    char *action = field_in(group, "Action");
    char *rcpt = field_in(group, "Final-Recipient");
    if (!rcpt) rcpt = field_in(group, "Original-Recipient");
    if (action || rcpt) {
      int failed = !action || g_ascii_strncasecmp(action, "failed", 6) == 0;
      int delayed = action && g_ascii_strncasecmp(action, "delayed", 7) == 0;
      if (failed) d->failed++; else if (delayed) d->delayed++; else d->other++;
      if (!d->recipient || (failed && !d->kept_failed)) {   /* the first failure, else the first */
        d->kept_failed = failed;
        free(d->recipient); free(d->status); free(d->reason);
        const char *semi = rcpt ? strchr(rcpt, ';') : NULL;
        d->recipient = addr_dup(semi ? semi + 1 : rcpt ? rcpt : "");
        d->status = field_in(group, "Status");
        if (!d->status) d->status = dup_n("", 0);
        char *diag = field_in(group, "Diagnostic-Code");
        const char *ds = diag ? strchr(diag, ';') : NULL;
        d->reason = dup_utf8(g_strchug(ds ? (char *)ds + 1 : diag ? diag : d->status));
        free(diag);
      }
    }
    free(action);
    free(rcpt);
    free(group);
    p = blank ? blank + 2 : NULL;
    while (p && (*p == '\n')) p++;
  }
}

/* Looks through a DSN's parts: the delivery-status fields and the original's Message-ID. */
static void read_report(GMimeMultipart *mp, lp_mail_in *m, dsn_facts *d) {
  int n = g_mime_multipart_get_count(mp);
  for (int i = 0; i < n; i++) {
    GMimeObject *o = g_mime_multipart_get_part(mp, i);
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    if (GMIME_IS_MESSAGE_PART(o)) {
      GMimeMessage *orig = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
      const char *id = orig ? g_mime_message_get_message_id(orig) : NULL;
      if (id && !m->bounce_message_id[0]) { free(m->bounce_message_id); m->bounce_message_id = dup_utf8(id); }
      continue;
    }
    if (!GMIME_IS_PART(o)) continue;
    size_t len;
    char *bytes = part_bytes(GMIME_PART(o), &len);
    /* CRLF to LF so field_in and the group splitter see plain lines */
    size_t k = 0;
    for (size_t j = 0; j < len; j++) if (bytes[j] != '\r') bytes[k++] = bytes[j];
    bytes[k] = 0;
    if (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
        g_mime_content_type_is_type(ct, "message", "global-delivery-status")) {
      read_dsn(bytes, d);
    } else if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
               g_mime_content_type_is_type(ct, "message", "rfc822-headers")) {
      char *id = field_in(bytes, "Message-ID");
      char *bare = bare_id(id);
      if (bare && !m->bounce_message_id[0]) { free(m->bounce_message_id); m->bounce_message_id = bare; bare = NULL; }
      free(bare);
      free(id);
    }
    free(bytes);
  }
}

static void set(char **dst, char *v) { free(*dst); *dst = v; }

static void mail_in_blank(lp_mail_in *m) {
  memset(m, 0, sizeof *m);
  m->from = dup_n("", 0); m->from_name = dup_n("", 0); m->subject = dup_n("", 0);
  m->message_id = dup_n("", 0); m->in_reply_to = dup_n("", 0); m->text = dup_n("", 0);
  m->bounce_message_id = dup_n("", 0); m->bounce_recipient = dup_n("", 0);
  m->bounce_status = dup_n("", 0); m->bounce_reason = dup_n("", 0);
}

void lp_mail_in_release(lp_mail_in *m) {
  free(m->from); free(m->from_name); free(m->subject); free(m->message_id); free(m->in_reply_to);
  free(m->text); free(m->bounce_message_id); free(m->bounce_recipient); free(m->bounce_status);
  free(m->bounce_reason);
  free_strv(m->to, m->n_to);
  free_strv(m->references, m->n_references);
  memset(m, 0, sizeof *m);
}

static int is_auto(GMimeObject *top) {
  const char *v = g_mime_object_get_header(top, "Auto-Submitted");
  if (v) {
    while (*v == ' ' || *v == '\t') v++;
    if (*v && !(g_ascii_strncasecmp(v, "no", 2) == 0 && !isalnum((unsigned char)v[2]) && v[2] != '-')) return 1;
  }
  if (g_mime_object_get_header(top, "X-Autoreply") || g_mime_object_get_header(top, "X-Autorespond")) return 1;
  v = g_mime_object_get_header(top, "Precedence");
  if (v) {
    while (*v == ' ' || *v == '\t') v++;
    if (!g_ascii_strncasecmp(v, "auto_reply", 10) || !g_ascii_strncasecmp(v, "bulk", 4) ||
        !g_ascii_strncasecmp(v, "junk", 4)) return 1;
  }
  return 0;
}

lp_code lp_mail_parse(const char *raw, size_t len, lp_mail_in *m, lp_err *err) {
  mail_in_blank(m);
  if (!raw || !len) return lp_fail(err, LP_EBADREQ, "The message is empty");
  lp_mime_init();
  GMimeStream *st = g_mime_stream_mem_new_with_buffer(raw, len);
  GMimeParser *parser = g_mime_parser_new_with_stream(st);
  GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
  g_object_unref(parser);
  g_object_unref(st);
  GMimeObject *top = msg ? GMIME_OBJECT(msg) : NULL;
  GMimeHeaderList *hl = top ? g_mime_object_get_header_list(top) : NULL;
  if (!hl || g_mime_header_list_get_count(hl) == 0) {
    if (msg) g_object_unref(msg);
    return lp_fail(err, LP_EBADREQ, "The message has no header");
  }

  /* sender */
  InternetAddressMailbox *mb = first_mailbox(g_mime_message_get_from(msg));
  if (!mb) mb = first_mailbox(g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_SENDER));
  if (mb) {
    set(&m->from, addr_dup(internet_address_mailbox_get_addr(mb)));
    set(&m->from_name, dup_utf8(internet_address_get_name(INTERNET_ADDRESS(mb))));
  }
  const char *rp = g_mime_object_get_header(top, "Return-Path");
  char *rp_addr = rp ? addr_dup(rp) : NULL;
  if (!m->from[0] && rp_addr) set(&m->from, dup_n(rp_addr, strlen(rp_addr)));

  /* recipients, references, and the header-only facts */
  strlist to = {0}, refs = {.keep_last = 1};
  add_addresses(&to, g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_TO));
  add_addresses(&to, g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_CC));
  int nh = g_mime_header_list_get_count(hl);
  for (int i = 0; i < nh; i++) {
    GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
    const char *name = g_mime_header_get_name(h), *value = g_mime_header_get_value(h);
    if (ieq(name, "Delivered-To") || ieq(name, "X-Original-To") || ieq(name, "Envelope-To")) {
      InternetAddressList *al = internet_address_list_parse(NULL, value);
      if (al) { add_addresses(&to, al); g_object_unref(al); }
    } else if (ieq(name, "References")) {
      add_ids(&refs, value);
    } else if (ieq(name, "In-Reply-To") && !m->in_reply_to[0]) {
      strlist irt = {0};
      add_ids(&irt, value);
      if (irt.n) set(&m->in_reply_to, irt.v[0]), irt.v[0] = NULL;
      free_strv(irt.v, irt.n);
    }
  }
  m->to = to.v; m->n_to = to.n;
  m->references = refs.v; m->n_references = refs.n;
  set(&m->subject, one_line(g_mime_message_get_subject(msg)));
  set(&m->message_id, dup_utf8(g_mime_message_get_message_id(msg)));
  GDateTime *dt = g_mime_message_get_date(msg);
  m->date = dt ? g_date_time_to_unix(dt) : 0;

  /* body */
  GMimeObject *body = g_mime_message_get_mime_part(msg);
  GMimeTextPart *plain = NULL, *html = NULL;
  if (body) find_bodies(body, &plain, &html);
  if (plain) {
    set(&m->text, part_text(plain));
  } else if (html) {
    char *h = part_text(html);
    lp_buf t = LP_BUF_INIT(strlen(h) * 4 + 64);
    lp_html_to_text(h, strlen(h), &t);
    set(&m->text, dup_utf8(lp_buf_str(&t)));
    lp_buf_release(&t);
    free(h);
  }

  /* automatic messages and bounces */
  m->auto_reply = is_auto(top);
  dsn_facts d = {0};
  GMimeContentType *ct = body ? g_mime_object_get_content_type(body) : NULL;
  int report = ct && GMIME_IS_MULTIPART(body) && g_mime_content_type_is_type(ct, "multipart", "report") &&
               ieq(g_mime_content_type_get_parameter(ct, "report-type"), "delivery-status");
  if (report) read_report(GMIME_MULTIPART(body), m, &d);
  const char *at = strchr(m->from, '@');
  int daemon = at && (size_t)(at - m->from) == 13 && g_ascii_strncasecmp(m->from, "mailer-daemon", 13) == 0;
  int null_sender = rp && rp_addr && !rp_addr[0];
  if (report) {
    m->bounce = d.failed > 0 || (!d.delayed && !d.other);
    if (!m->bounce) m->auto_reply = 1;   /* delay or success notices: automatic, not a failure */
  } else {
    m->bounce = daemon || (null_sender && !m->auto_reply);
  }
  if (m->bounce && !m->bounce_message_id[0]) {
    /* a bounce without a DSN structure often quotes the original headers in its text */
    char *id = field_in(m->text, "Message-ID");
    char *bare = bare_id(id);
    if (bare) set(&m->bounce_message_id, bare);
    free(id);
  }
  if (d.recipient) set(&m->bounce_recipient, d.recipient);
  if (d.status) set(&m->bounce_status, d.status);
  if (d.reason) set(&m->bounce_reason, d.reason);
  if (m->bounce) m->auto_reply = 1;
  free(rp_addr);
  g_object_unref(msg);
  return LP_OK;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static json_t *strv_json(char **v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, json_string(v[i]));
  return a;
}

json_t *lp_mail_in_json(const lp_mail_in *m) {
  json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:s, s:I, s:b}",
                        "from", m->from, "from_name", m->from_name, "to", strv_json(m->to, m->n_to),
                        "subject", m->subject, "message_id", m->message_id, "in_reply_to", m->in_reply_to,
                        "references", strv_json(m->references, m->n_references), "text", m->text,
                        "date", (json_int_t)m->date, "auto_reply", m->auto_reply);
  json_object_set_new(o, "bounce", m->bounce ? json_pack("{s:s, s:s, s:s, s:s}",
                        "message_id", m->bounce_message_id, "recipient", m->bounce_recipient,
                        "status", m->bounce_status, "reason", m->bounce_reason) : json_null());
  return o;
}

static char *json_str(json_t *in, const char *key) {
  json_t *v = json_object_get(in, key);
  return dup_utf8(json_is_string(v) ? json_string_value(v) : "");
}

lp_code lp_mail_in_from_json(json_t *in, lp_mail_in *m, lp_err *err) {
  mail_in_blank(m);
  char tmp[LP_EMAIL_BUFSZ];
  json_t *from = json_object_get(in, "from"), *to = json_object_get(in, "to");
  json_t *body = json_object_get(in, "body");
  int bad = 0;
  if (!json_is_string(from) || lp_email_normalize(json_string_value(from), tmp, sizeof tmp) != 0)
    bad = lp_fail_field(err, "from", "must be an e-mail address");
  else set(&m->from, dup_n(tmp, strlen(tmp)));
  strlist l = {0};
  json_t *one = json_is_string(to) ? to : NULL;
  size_t n_to = one ? 1 : json_is_array(to) ? json_array_size(to) : 0;
  for (size_t i = 0; i < n_to; i++) {
    json_t *v = one ? one : json_array_get(to, i);
    if (!json_is_string(v) || lp_email_normalize(json_string_value(v), tmp, sizeof tmp) != 0) { n_to = 0; break; }
    list_add(&l, dup_n(tmp, strlen(tmp)));
  }
  m->to = l.v; m->n_to = l.n;
  if (!n_to) bad = lp_fail_field(err, "to", "must be an e-mail address or a list of them");
  if (!json_is_string(body)) bad = lp_fail_field(err, "body", "is required");
  if (bad) return LP_EVALIDATION;
  set(&m->subject, one_line(json_string_value(json_object_get(in, "subject"))));
  set(&m->text, json_str(in, "body"));
  char *id = bare_id(json_string_value(json_object_get(in, "message_id")));
  if (id) set(&m->message_id, id);
  id = bare_id(json_string_value(json_object_get(in, "in_reply_to")));
  if (id) set(&m->in_reply_to, id);
  strlist refs = {.keep_last = 1};
  json_t *r = json_object_get(in, "references");
  if (json_is_string(r)) add_ids(&refs, json_string_value(r));
  else if (json_is_array(r)) {
    size_t i;
    json_t *v;
    json_array_foreach(r, i, v) if (json_is_string(v)) add_ids(&refs, json_string_value(v));
  }
  m->references = refs.v; m->n_references = refs.n;
  return LP_OK;
}
