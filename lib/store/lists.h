/* lists.h — configurable lists (stages, outcomes, lost reasons, sources, locations, partners,
 * contact groups), settings, the timeline and the events feed. */
#ifndef LP_STORE_LISTS_H
#define LP_STORE_LISTS_H
#include <jansson.h>
#include "core/policy.h"
#include "core/record.h"
#include "store/db.h"

/* Every row of the list, presented (new reference): {"items": [...], "next_cursor": null}. */
json_t *lp_list_all(lp_db *db, const lp_rectype *t, lp_err *err);
json_t *lp_list_get(lp_db *db, const lp_rectype *t, int64_t id, lp_err *err);
json_t *lp_list_create(lp_store *s, const lp_rectype *t, const lp_actor *a, json_t *cols, int64_t now, lp_err *err);
json_t *lp_list_update(lp_store *s, const lp_rectype *t, const lp_actor *a, int64_t id, json_t *cols, int64_t expect,
                       int64_t now, lp_err *err);

json_t *lp_settings_get(lp_db *db, lp_err *err);
/* Patches settings (validated here: known keys and types). */
json_t *lp_settings_patch(lp_store *s, const lp_actor *a, json_t *patch, int64_t now, lp_err *err);

/* The timeline of a lead, oldest first, with cursor paging by event id. */
json_t *lp_timeline(lp_db *db, int64_t lead_id, int64_t after, int limit, lp_err *err);
/* Every event after `after`, for integrations that poll. */
json_t *lp_events(lp_db *db, const lp_actor *a, int64_t after, int limit, lp_err *err);
lp_code lp_comment_add(lp_store *s, const lp_actor *a, int64_t lead_id, const char *body, const char *icon,
                       const char *color, int64_t now, json_t **out, lp_err *err);
json_t *lp_event_present(json_t *row);
/* The id of the outcome with this key, 0 when none. */
int64_t lp_outcome_id(lp_db *db, const char *key, lp_err *err);
/* A text setting as stored (secrets too), or NULL when unset or empty (or on error: see err).
 * Caller frees. */
char *lp_setting_text(lp_db *db, const char *key, lp_err *err);
/* 1 when given equals the configured inbound secret (never when none is set); compared in constant time. */
int lp_inbound_secret_ok(lp_db *db, const char *given, lp_err *err);
/* Every setting as stored, secrets included (for the server's own use, never an answer). New ref. */
json_t *lp_settings_raw(lp_db *db, lp_err *err);
/* An integer setting, dflt when it is not set. */
int64_t lp_setting_int(lp_db *db, const char *key, int64_t dflt, lp_err *err);
#endif
