/* chat.h — web chat in the store: a visitor starts a chat (matched to a lead by e-mail or phone,
 * or a new lead from the "Chat" source), writes on it, reads it and leaves it; the sweep closes
 * chats left idle. The visitor's token opens only its own chat: it is random (libsodium), answered
 * once, and kept only as its hash on the thread. Every change is planned and applied like any
 * other conversation (store/threads.c); an agent answers through lp_message_send. */
#ifndef LP_STORE_CHAT_H
#define LP_STORE_CHAT_H
#include <jansson.h>
#include "store/db.h"

#define LP_CHAT_MESSAGE_MAX 4096   /* bytes in one visitor message */

/* {chat_id, token}. in: {name, email?, phone?, message} (validated here: 422 with fields). */
json_t *lp_chat_start(lp_store *s, json_t *in, int64_t now, lp_err *err);
/* The visitor's message on chat_id; answers it in the visitor's form {id, from, author_name, body,
 * created_at}. 404 wrong token or no such chat; 409 closed; 422 empty or too long. */
json_t *lp_chat_post(lp_store *s, int64_t chat_id, const char *token, const char *body, int64_t now, lp_err *err);
/* {items, next_cursor}: every message of the chat, both ways, oldest first (visitor's form). 404
 * wrong token. */
json_t *lp_chat_messages(lp_db *db, int64_t chat_id, const char *token, lp_err *err);
/* The visitor left: the thread closes (thread_closed, by "lead"); closed already is fine. 404
 * wrong token. */
lp_code lp_chat_close(lp_store *s, int64_t chat_id, const char *token, int64_t now, lp_err *err);
/* Inside the sweep: closes up to a batch of open chats with no message for chat_idle_minutes
 * (default 30), each with thread_closed (by "idle"). *closed: how many; *more: call again. */
lp_code lp_chat_close_idle(lp_db *db, int64_t now, int *closed, int *more, lp_err *err);
/* The chat_origins setting (a JSON array of origins), new reference, [] when unset. */
json_t *lp_chat_origins(lp_db *db, lp_err *err);
#endif
