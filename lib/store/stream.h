/* stream.h — what the live stream (GET /api/v1/stream) reads: the events of leads a caller may
 * see and the caller's own notifications, after a position, in id order. */
#ifndef LP_STORE_STREAM_H
#define LP_STORE_STREAM_H
#include <jansson.h>
#include "core/policy.h"
#include "store/db.h"

/* The newest event id and the newest notification id of the database (0 when none). */
lp_code lp_stream_heads(lp_db *db, int64_t *event_id, int64_t *notification_id, lp_err *err);
/* Up to `limit` events with id > after of leads the actor may see (own / team / all, by the
 * lead's owner now), oldest first: [{id, lead_id, kind, entity, entity_id, at, data}], data (the
 * event's JSON text) only for events of a message (its state), else NULL. */
json_t *lp_stream_events(lp_db *db, const lp_actor *a, int64_t after, int limit, lp_err *err);
/* Up to `limit` notifications of the actor with id > after, oldest first: [{id, lead_id, kind, at}]. */
json_t *lp_stream_notifications(lp_db *db, const lp_actor *a, int64_t after, int limit, lp_err *err);
#endif
