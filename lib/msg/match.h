/* match.h — which thread and lead an inbound message belongs to.
 *
 * The decision is pure: the caller does the lookups (in its store transaction) through the
 * callbacks below and the matcher applies the rules, strongest evidence first:
 *
 *   1. reply_token  a recipient is reply+<token>@<reply domain> and the token names a thread
 *   2. header       In-Reply-To, then References (newest first, at most 64), name a message we
 *                   sent or stored
 *   3. address      the sender's address belongs to a lead with an open thread on this channel
 *   4. new_thread   the sender's address belongs to a lead without an open thread
 *   5. new_lead     nobody known: a new lead and a new thread
 *
 * When rule 1 or 2 finds a thread that is closed, the message goes to a new thread of that
 * thread's lead (rule new_thread, `via` telling how the lead was found, `closed_thread_id` the
 * thread it answered). A token or Message-ID that names nothing falls through to the next rule.
 * Bounces are matched only by the Message-ID of the message that failed (rule header) and
 * automatic messages (auto-replies, bounces) never become a new lead: LP_MATCH_NONE, for the
 * caller to drop or keep aside. SMS and chat use the same rules with the phone number or chat
 * address as `from` and no tokens or headers.
 */
#ifndef LP_MSG_MATCH_H
#define LP_MSG_MATCH_H
#include <stdint.h>
#include "leadpath/error.h"
#include "msg/mime.h"

typedef enum {
  LP_MATCH_NONE = 0,      /* nothing to attach to and nothing to create (automatic mail) */
  LP_MATCH_REPLY_TOKEN,
  LP_MATCH_HEADER,
  LP_MATCH_ADDRESS,
  LP_MATCH_NEW_THREAD,
  LP_MATCH_NEW_LEAD,
} lp_match_rule;

/* The API's name of a rule: "reply_token", "header", "address", "new_thread", "new_lead",
 * or "none". */
const char *lp_match_rule_name(lp_match_rule r);

/* A thread as a lookup returns it. */
typedef struct lp_match_thread {
  int64_t thread_id;
  int64_t lead_id;
  int open;               /* 1: open, 0: closed */
} lp_match_thread;

/* The lookups. Each returns LP_OK (found, *out filled), LP_ENOTFOUND (nothing), or another
 * code (a store failure), which the matcher returns as it is. A callback may be NULL: that rule
 * is then skipped. */
typedef struct lp_match_lookup {
  void *ctx;
  /* the thread whose reply token this is */
  lp_code (*thread_by_token)(void *ctx, const char *token, lp_match_thread *out);
  /* the thread of a message we sent or stored with this Message-ID (without brackets) */
  lp_code (*thread_by_message_id)(void *ctx, const char *message_id, lp_match_thread *out);
  /* the open thread on this channel of a lead with this address (the most recent one) */
  lp_code (*open_thread_by_address)(void *ctx, const char *address, lp_match_thread *out);
  /* a lead with this address (the most recently active one) */
  lp_code (*lead_by_address)(void *ctx, const char *address, int64_t *lead_id);
} lp_match_lookup;

typedef struct lp_match {
  lp_match_rule rule;
  int64_t thread_id;          /* the thread to append to; 0 when a new thread is to be made */
  int64_t lead_id;            /* the lead; 0 for new_lead and none */
  lp_match_rule via;          /* new_thread: the rule that found the lead (reply_token, header,
                                 or new_thread for the sender's address); else = rule */
  int64_t closed_thread_id;   /* new_thread after a closed thread was answered; else 0 */
  char token[LP_REPLY_TOKEN_LEN];   /* the reply token seen in a recipient, "" if none */
  char evidence[LP_MSGID_MAX];      /* what matched: the token, Message-ID or address */
} lp_match;

/* Decides where m belongs. reply_domain: the domain of reply+token addresses (NULL: tokens
 * are accepted at any domain). LP_OK with *out filled, or a lookup's failure code. */
lp_code lp_match_inbound(const lp_mail_in *m, const char *reply_domain, const lp_match_lookup *lk,
                         lp_match *out, lp_err *err);
#endif
