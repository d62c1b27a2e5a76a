/* migrate.c — the schema of leadpath, as an ordered list of migrations, one text for every engine.
 *
 * Each migration has a version and SQL; a migration never changes once released, a new
 * version is added instead. Timestamps are stored as Unix seconds (64-bit integers), booleans as
 * 0/1 (INTEGER), lists of addresses as JSON text, found by the full-text index (and on PostgreSQL
 * also through a side table, lead_contacts).
 *
 * The SQL is written once in the shared dialect with the words of lp_db_dialect (db.h): {{id}}
 * for a table's own id column, {{int64}} for times, ids and growing counters, plain INTEGER for
 * flags and small counts. SQLite spells both words INTEGER; PostgreSQL makes ids BIGINT identity
 * columns and {{int64}} BIGINT, while booleans stay INTEGER 0/1 and JSON stays TEXT, so rows read
 * back the same on both. Where the engines truly differ (the full-text index, a JSON aggregate,
 * moving PostgreSQL's identity sequences, SQLite's search file) a step has each engine's text.
 */
#include "store/migrate.h"
#include "store/rows.h"
#include "store/reports.h"

/* One step of a migration: sql runs on every engine; otherwise sqlite and pg are each engine's
 * own text (NULL: nothing there). All go through lp_db_ddl. */
typedef struct { const char *sql, *sqlite, *pg; } step;
typedef struct { int version; const char *name; step steps[3]; } migration;
#define EACH(sqlite_text, pg_text) {.sqlite = sqlite_text, .pg = pg_text}


/* The seeded defaults, the same on both engines. */
#define SEEDS \
"INSERT INTO roles(id, name, builtin, policy) VALUES" \
" (1, 'admin', 1, '{\"leads.view\":\"all\",\"close_won\":\"allow\",\"close_lost\":\"allow\",\"close_other\":\"allow\",\"reopen\":\"allow\",\"delete\":\"allow\",\"bulk\":\"allow\",\"convert\":\"allow\",\"notify_managers_on_close_lost\":false,\"close_lost_required\":[\"reason_id\"]}')," \
" (2, 'manager', 1, '{\"leads.view\":\"team\",\"close_won\":\"allow\",\"close_lost\":\"allow\",\"close_other\":\"allow\",\"reopen\":\"allow\",\"delete\":\"allow\",\"bulk\":\"allow\",\"convert\":\"allow\",\"notify_managers_on_close_lost\":false,\"close_lost_required\":[\"reason_id\"]}')," \
" (3, 'agent', 1, '{\"leads.view\":\"own\",\"close_won\":\"allow\",\"close_lost\":\"allow\",\"close_other\":\"allow\",\"reopen\":\"allow\",\"delete\":\"deny\",\"bulk\":\"deny\",\"convert\":\"allow\",\"notify_managers_on_close_lost\":false,\"close_lost_required\":[\"reason_id\"]}');" \
"INSERT INTO stages(id, name, position, is_sale, waiting, guidance) VALUES" \
" (1, 'New', 1, 0, 0, 'Call or write within one business day. Confirm what they need and how to reach them.')," \
" (2, 'Contacted', 2, 0, 0, 'Qualify: budget, timing, decision maker. Schedule the next step before you hang up.')," \
" (3, 'Waiting for more information', 3, 0, 1, 'Waiting on the lead. Set a follow-up task so it does not go cold.')," \
" (4, 'Quoted', 4, 0, 0, 'Send the quote, then follow up within three days. Answer objections on price early.')," \
" (5, 'Sold', 5, 1, 0, 'Sale made. Arrange delivery and ask for a review once the work is done.');" \
"INSERT INTO outcomes(key, name, kind) VALUES ('won','Won','won'), ('lost','Lost','lost')," \
" ('converted','Converted to customer','won'), ('treated','Treated','neutral')," \
" ('passed_to_distribution','Passed to distribution','neutral'), ('abandoned','Abandoned','lost')," \
" ('completed','Engagement complete','neutral');" \
"INSERT INTO contact_groups(id, name) VALUES (1, 'Live Leads'), (2, 'Newsletter'), (3, 'Win-back');" \
"INSERT INTO lost_reasons(name, counts_in_reports) VALUES ('Price', 1), ('Bought elsewhere', 1), ('No response', 1)," \
" ('Not interested', 1), ('Timing', 1), ('Financing declined', 1), ('Spam', 0), ('Other', 1);" \
"INSERT INTO sources(name) VALUES ('Web form'), ('Email'), ('Phone'), ('SMS'), ('Chat'), ('Referral'), ('Partner'), ('Walk-in');" \
"INSERT INTO locations(name) VALUES ('Head office');" \
"INSERT INTO settings(key, value) VALUES ('sla_warning_days', '5'), ('sla_breach_days', '30')," \
" ('close_lost_default_group_id', '1'), ('business_hours', '{\"days\":[1,2,3,4,5],\"start\":\"09:00\",\"end\":\"17:00\",\"time_zone\":\"UTC\"}')," \
" ('inbound_secret', '\"\"'), ('follow_up_window_days', '3');"

/* The seeded templates (conversations): a quick reply quoting the lead's request, the closing
 * notification and the review request, by e-mail and SMS. Their placeholders are written [[...]]
 * here and turned into {{...}} by the UPDATE, because {{word}} in schema text is the dialect's
 * (lp_db_dialect). */
#define TEMPLATE_SEEDS \
"INSERT INTO templates(name, channel, kind, subject, body, created_at, updated_at) VALUES" \
" ('Quick reply: your request', 'email', 'message', 'Your request', 'Hello [[lead.first_name]],\n\n" \
"Thank you for getting in touch. You wrote:\n\n[[lead.request]]\n\nI will come back to you shortly.\n\n" \
"[[user.name]]\n[[company.name]]', 0, 0)," \
" ('Quick reply: your request', 'sms', 'message', NULL, 'Hi [[lead.first_name]], thanks for your request. " \
"[[user.first_name]] from [[company.name]] will call you shortly.', 0, 0)," \
" ('Closing notification', 'email', 'close_notification', 'Thank you, [[lead.first_name]]', 'Hello [[lead.first_name]],\n\n" \
"We have closed your enquiry. Should you need anything else, just reply to this message.\n\n" \
"[[user.name]]\n[[company.name]]', 0, 0)," \
" ('Review request', 'email', 'review_request', 'How did we do?', 'Hello [[lead.first_name]],\n\n" \
"Thank you for choosing [[company.name]]. Would you tell others how we did? A short review helps us a lot.\n\n" \
"[[user.name]]', 0, 0)," \
" ('Review request', 'sms', 'review_request', NULL, 'Thank you for choosing [[company.name]]! " \
"Would you leave us a short review? [[company.website]]', 0, 0);" \
"UPDATE templates SET subject = replace(replace(subject, '[[', '{' || '{'), ']]', '}}')," \
"  body = replace(replace(body, '[[', '{' || '{'), ']]', '}}');"

static const migration migrations[] = {
{1, "core schema", {
{.sql =
"CREATE TABLE roles(id {{id}}, name TEXT NOT NULL UNIQUE, policy TEXT NOT NULL,"
"  builtin INTEGER NOT NULL DEFAULT 0, version {{int64}} NOT NULL DEFAULT 1);"
"CREATE TABLE users(id {{id}}, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
"  role_id {{int64}} NOT NULL REFERENCES roles(id), manager_id {{int64}} REFERENCES users(id),"
"  active INTEGER NOT NULL DEFAULT 1, password_hash TEXT, created_at {{int64}} NOT NULL,"
"  updated_at {{int64}} NOT NULL, version {{int64}} NOT NULL DEFAULT 1);"
"CREATE INDEX users_manager ON users(manager_id);"
"CREATE TABLE sessions(id {{id}}, token_hash TEXT NOT NULL UNIQUE, user_id {{int64}} NOT NULL REFERENCES users(id),"
"  kind TEXT NOT NULL, name TEXT, csrf TEXT, created_at {{int64}} NOT NULL, expires_at {{int64}});"
"CREATE INDEX sessions_user ON sessions(user_id);"
"CREATE TABLE stages(id {{id}}, name TEXT NOT NULL, position {{int64}} NOT NULL,"
"  is_sale INTEGER NOT NULL DEFAULT 0, waiting INTEGER NOT NULL DEFAULT 0, guidance TEXT NOT NULL DEFAULT '',"
"  active INTEGER NOT NULL DEFAULT 1, version {{int64}} NOT NULL DEFAULT 1);"
"CREATE TABLE outcomes(id {{id}}, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
"  kind TEXT NOT NULL CHECK(kind IN ('won','lost','neutral')), active INTEGER NOT NULL DEFAULT 1,"
"  version {{int64}} NOT NULL DEFAULT 1);"
"CREATE TABLE contact_groups(id {{id}}, name TEXT NOT NULL UNIQUE, active INTEGER NOT NULL DEFAULT 1,"
"  version {{int64}} NOT NULL DEFAULT 1);"
"CREATE TABLE lost_reasons(id {{id}}, name TEXT NOT NULL UNIQUE, active INTEGER NOT NULL DEFAULT 1,"
"  counts_in_reports INTEGER NOT NULL DEFAULT 1, follow_up_days {{int64}},"
"  group_id {{int64}} REFERENCES contact_groups(id), version {{int64}} NOT NULL DEFAULT 1);"
"CREATE TABLE sources(id {{id}}, name TEXT NOT NULL UNIQUE, active INTEGER NOT NULL DEFAULT 1, version {{int64}} NOT NULL DEFAULT 1);"
"CREATE TABLE locations(id {{id}}, name TEXT NOT NULL UNIQUE, active INTEGER NOT NULL DEFAULT 1, version {{int64}} NOT NULL DEFAULT 1);"
"CREATE TABLE partners(id {{id}}, name TEXT NOT NULL UNIQUE, active INTEGER NOT NULL DEFAULT 1, version {{int64}} NOT NULL DEFAULT 1);"
"CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
"CREATE TABLE leads(id {{id}}, version {{int64}} NOT NULL DEFAULT 1,"
"  full_name TEXT NOT NULL, company TEXT, login TEXT, emails TEXT NOT NULL DEFAULT '[]',"
"  phones TEXT NOT NULL DEFAULT '[]', partner_id {{int64}} REFERENCES partners(id),"
"  location_id {{int64}} REFERENCES locations(id), owner_id {{int64}} REFERENCES users(id),"
"  stage_id {{int64}} REFERENCES stages(id), source_id {{int64}} REFERENCES sources(id),"
"  country TEXT, region TEXT, city TEXT, service TEXT, request TEXT, notes TEXT, value_cents {{int64}}, currency TEXT,"
"  score {{int64}} NOT NULL DEFAULT 0, last_contacted_at {{int64}}, email_opt_out INTEGER NOT NULL DEFAULT 0,"
"  sms_opt_out INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'open', outcome TEXT,"
"  lost_reason_id {{int64}} REFERENCES lost_reasons(id), close_notes TEXT, closed_at {{int64}},"
"  closed_by {{int64}} REFERENCES users(id), sold_at {{int64}}, review_requested_at {{int64}},"
"  created_at {{int64}} NOT NULL, updated_at {{int64}} NOT NULL, created_by {{int64}},"
"  deleted_at {{int64}}, stage_entered_at {{int64}}, waiting_since {{int64}}, waiting_seconds {{int64}} NOT NULL DEFAULT 0);"
"CREATE INDEX leads_owner_status_created ON leads(owner_id, status, created_at, id) WHERE deleted_at IS NULL;"
"CREATE INDEX leads_status_created ON leads(status, created_at, id) WHERE deleted_at IS NULL;"
"CREATE INDEX leads_owner_status_updated ON leads(owner_id, status, updated_at, id) WHERE deleted_at IS NULL;"
"CREATE INDEX leads_status_closed ON leads(status, closed_at) WHERE deleted_at IS NULL;"
"CREATE INDEX leads_stage ON leads(stage_id) WHERE deleted_at IS NULL;"
"CREATE INDEX leads_source ON leads(source_id) WHERE deleted_at IS NULL;"
"CREATE TABLE lead_contacts(lead_id {{int64}} NOT NULL REFERENCES leads(id), kind TEXT NOT NULL, value TEXT NOT NULL);"
"CREATE INDEX lead_contacts_value ON lead_contacts(value);"
"CREATE INDEX lead_contacts_lead ON lead_contacts(lead_id);"
"CREATE TABLE lead_groups(lead_id {{int64}} NOT NULL REFERENCES leads(id), group_id {{int64}} NOT NULL REFERENCES contact_groups(id),"
"  added_at {{int64}} NOT NULL, PRIMARY KEY(lead_id, group_id));"
"CREATE INDEX lead_groups_group ON lead_groups(group_id);"
},
/* The full-text index. PostgreSQL: search like FTS5's unicode61 tokenizer with remove_diacritics:
 * words split at ASCII punctuation, case folded ('simple'), accents of Latin letters removed
 * (lp_unaccent, also applied to queries); leads_fts is a table with a generated tsvector (see
 * pg.c: the search condition). */
EACH(
"CREATE VIRTUAL TABLE leads_fts USING fts5(body, tokenize='unicode61 remove_diacritics 2');"
,
"CREATE FUNCTION lp_unaccent(t TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE PARALLEL SAFE"
"  RETURN translate(t, 'ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľŃńŅņŇňŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽž',"
"  'AAAAAACEEEEIIIINOOOOOUUUUYaaaaaaceeeeiiiinooooouuuuyyAaAaAaCcCcCcCcDdEeEeEeEeEeGgGgGgGgHhIiIiIiIiIJjKkLlLlLlNnNnNnOoOoOoRrRrRrSsSsSsSsTtTtUuUuUuUuUuUuWwYyYZzZzZz');"
"CREATE TABLE leads_fts(rowid BIGINT PRIMARY KEY, body TEXT,"
"  tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', lp_unaccent(regexp_replace(body, '[!-/:-@[-`{-~]+', ' ', 'g')))) STORED);"
"CREATE INDEX leads_fts_tsv ON leads_fts USING GIN(tsv);"
),
{.sql =
"CREATE TABLE tasks(id {{id}}, version {{int64}} NOT NULL DEFAULT 1,"
"  lead_id {{int64}} NOT NULL REFERENCES leads(id), type TEXT NOT NULL, title TEXT NOT NULL,"
"  due_at {{int64}}, assignee_id {{int64}} REFERENCES users(id), status TEXT NOT NULL DEFAULT 'open',"
"  notes TEXT, completed_at {{int64}}, completed_by {{int64}}, created_at {{int64}} NOT NULL,"
"  created_by {{int64}}, updated_at {{int64}} NOT NULL);"
"CREATE INDEX tasks_assignee ON tasks(assignee_id, status, due_at);"
"CREATE INDEX tasks_lead ON tasks(lead_id, status);"
"CREATE TABLE events(id {{id}}, at {{int64}} NOT NULL, lead_id {{int64}}, actor_id {{int64}},"
"  kind TEXT NOT NULL, entity TEXT NOT NULL, entity_id {{int64}}, data TEXT NOT NULL DEFAULT '{}');"
"CREATE INDEX events_lead ON events(lead_id, id);"
"CREATE TABLE approvals(id {{id}}, version {{int64}} NOT NULL DEFAULT 1,"
"  lead_id {{int64}} NOT NULL REFERENCES leads(id), requested_by {{int64}} NOT NULL REFERENCES users(id),"
"  approver_id {{int64}} REFERENCES users(id), action TEXT NOT NULL, params TEXT NOT NULL DEFAULT '{}',"
"  status TEXT NOT NULL DEFAULT 'pending', created_at {{int64}} NOT NULL, decided_at {{int64}},"
"  decided_by {{int64}} REFERENCES users(id), note TEXT);"
"CREATE INDEX approvals_status ON approvals(status, approver_id);"
"CREATE TABLE notifications(id {{id}}, user_id {{int64}} NOT NULL REFERENCES users(id),"
"  kind TEXT NOT NULL, lead_id {{int64}}, data TEXT NOT NULL DEFAULT '{}', created_at {{int64}} NOT NULL, read_at {{int64}});"
"CREATE INDEX notifications_user ON notifications(user_id, read_at);"
"CREATE TABLE threads(id {{id}}, version {{int64}} NOT NULL DEFAULT 1,"
"  lead_id {{int64}} NOT NULL REFERENCES leads(id), channel TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open',"
"  opened_at {{int64}} NOT NULL, closed_at {{int64}}, closed_by {{int64}} REFERENCES users(id));"
"CREATE INDEX threads_lead ON threads(lead_id, status);"
"CREATE TABLE idempotency(user_id {{int64}} NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,"
"  status {{int64}} NOT NULL, response TEXT NOT NULL, created_at {{int64}} NOT NULL, PRIMARY KEY(user_id, key));"
}}},
{2, "seed defaults", {
{.sql = SEEDS},
/* PostgreSQL: the identity sequences moved past the explicit ids. */
EACH(NULL,
"SELECT setval(pg_get_serial_sequence('roles', 'id'), (SELECT max(id) FROM roles));"
"SELECT setval(pg_get_serial_sequence('stages', 'id'), (SELECT max(id) FROM stages));"
"SELECT setval(pg_get_serial_sequence('contact_groups', 'id'), (SELECT max(id) FROM contact_groups));"
)}},
{3, "search index queue", {
/* Leads whose full-text entry is still to be written (SQLite indexes in batches; see leads.c). */
{.sql = "CREATE TABLE fts_pending(lead_id {{int64}} PRIMARY KEY);"}}},
{4, "drop unused lead indexes", {
/* With five stages and a few sources these indexes were never chosen for a list (the
 * owner/status and status indexes serve them), yet every lead write paid for them. */
{.sql = "DROP INDEX IF EXISTS leads_stage; DROP INDEX IF EXISTS leads_source;"}}},
{5, "jobs and webhooks", {
/* Background work (see lib/jobs/jobs.h): one row per job, claimed with a lease. A webhook's
 * `events` is "*" or a list of event kinds written ",kind,kind," so one LIKE matches a kind. */
{.sql =
"CREATE TABLE jobs(id {{id}}, kind TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'queued',"
"  ref TEXT, subject_id {{int64}}, payload TEXT NOT NULL DEFAULT '{}', result TEXT,"
"  attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL DEFAULT 10, run_at {{int64}} NOT NULL,"
"  locked_by TEXT, locked_until {{int64}}, last_error TEXT, done INTEGER NOT NULL DEFAULT 0,"
"  total INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, unique_key TEXT UNIQUE,"
"  created_by {{int64}}, created_at {{int64}} NOT NULL, updated_at {{int64}} NOT NULL, finished_at {{int64}});"
"CREATE INDEX jobs_due ON jobs(run_at) WHERE status IN ('queued', 'running');"
"CREATE INDEX jobs_ref ON jobs(ref, id);"
"CREATE TABLE webhooks(id {{id}}, url TEXT NOT NULL, events TEXT NOT NULL DEFAULT '*',"
"  secret TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1, created_by {{int64}}, created_at {{int64}} NOT NULL,"
"  updated_at {{int64}} NOT NULL, version {{int64}} NOT NULL DEFAULT 1);"
"ALTER TABLE tasks ADD COLUMN reminded_at {{int64}};"
"CREATE INDEX tasks_remind ON tasks(due_at) WHERE status = 'open' AND reminded_at IS NULL;"
}}},
{6, "sweep state and approval escalation", {
/* Where the periodic sweep has got to (lib/jobs/sweep.c), and which approvals were escalated. */
{.sql =
"CREATE TABLE sweep_state(name TEXT PRIMARY KEY, value {{int64}} NOT NULL);"
"ALTER TABLE approvals ADD COLUMN escalated_at {{int64}};"
"INSERT INTO settings(key, value) VALUES ('approval_escalation_hours', '24') ON CONFLICT(key) DO NOTHING;"
}}},
{7, "group memberships on the lead row", {
/* A lead's contact groups as a JSON array on its row (kept with lead_groups by leads.c), so lists
 * read them without a subquery per lead. */
{.sql = "ALTER TABLE leads ADD COLUMN group_ids TEXT NOT NULL DEFAULT '[]';"},
EACH(
"UPDATE leads SET group_ids = (SELECT json_group_array(group_id) FROM (SELECT group_id FROM lead_groups g"
"  WHERE g.lead_id = leads.id ORDER BY group_id)) WHERE id IN (SELECT lead_id FROM lead_groups);",
"UPDATE leads SET group_ids = (SELECT json_agg(group_id ORDER BY group_id)::text FROM lead_groups g"
"  WHERE g.lead_id = leads.id) WHERE id IN (SELECT lead_id FROM lead_groups);"
)}},
{8, "search index in its own file", {
/* SQLite: the full-text index moves to the search file beside the database (sqlite.c), which is
 * rebuilt from the leads the first time it is opened; the database keeps only a log of the leads
 * whose entries are to be written (leads.c: lp_lead_index_sync). Ids only ever grow: the last
 * row is kept when the log is pruned, so a new row never reuses a number. The address rows go
 * too: the index holds every address (and a search finds a lead by one), while keeping a second
 * index ordered by address cost every create two random B-tree pages, 38 of the 60 KB it wrote.
 * PostgreSQL keeps its index table and address rows, written with the lead. */
EACH(
"DROP TABLE IF EXISTS main.leads_fts; DROP TABLE IF EXISTS main.fts_pending; DROP TABLE IF EXISTS main.lead_contacts;"
"CREATE TABLE main.fts_log(seq INTEGER PRIMARY KEY, lead_id INTEGER NOT NULL);", NULL)}},
{9, "the owner list index covers a page", {
/* SQLite: a page of an owner's leads (the default sort) reads from this index alone what the
 * list needs besides the rendered leads it keeps (leadlist.c): the version and updated_at that
 * name a rendered lead, and what age_days and sla are computed from. deleted_at is in it only so
 * that the partial index's own condition is covered (always NULL here). 36% fewer instructions
 * per page; creates unchanged within the noise. PostgreSQL reads the rows as before. */
EACH(
"DROP INDEX IF EXISTS leads_owner_status_created;"
"CREATE INDEX leads_owner_status_created ON leads(owner_id, status, created_at, id, version, updated_at,"
"  closed_at, waiting_seconds, waiting_since, deleted_at) WHERE deleted_at IS NULL;", NULL)}},
{10, "conversations: threads, messages (the outbox), templates", {
/* A thread is one engagement with a lead on one channel; replies find it by its reply token
 * (reply+<token>@<inbound domain>) or by the Message-IDs of its messages. A message belongs to a
 * thread and its lead. One leadpath sends is written here as `queued` in the same transaction
 * as the change that asked for it (store/apply.c, store/outbox.c), with a `message` job that
 * delivers it and records sent / delivered / failed with the reason. `kind` names the template
 * kind a planned message is made from (close_notification, review_request), NULL for one written
 * by a person. refs holds the Message-IDs an outgoing e-mail names in References (JSON). */
{.sql =
"ALTER TABLE threads ADD COLUMN token TEXT;"
"ALTER TABLE threads ADD COLUMN subject TEXT;"
"ALTER TABLE threads ADD COLUMN opened_by {{int64}} REFERENCES users(id);"
"ALTER TABLE threads ADD COLUMN last_message_at {{int64}};"
"CREATE UNIQUE INDEX threads_token ON threads(token);"
"CREATE TABLE messages(id {{id}}, version {{int64}} NOT NULL DEFAULT 1,"
"  thread_id {{int64}} NOT NULL REFERENCES threads(id), lead_id {{int64}} NOT NULL REFERENCES leads(id),"
"  direction TEXT NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL, kind TEXT, error TEXT,"
"  subject TEXT, body TEXT, from_addr TEXT, to_addr TEXT, message_id TEXT, in_reply_to TEXT, refs TEXT,"
"  provider_id TEXT, matched_by TEXT, attempts INTEGER NOT NULL DEFAULT 0, created_at {{int64}} NOT NULL,"
"  sent_at {{int64}}, delivered_at {{int64}}, created_by {{int64}} REFERENCES users(id));"
"CREATE INDEX messages_thread ON messages(thread_id, id);"
"CREATE INDEX messages_lead ON messages(lead_id, id);"
"CREATE INDEX messages_message_id ON messages(message_id);"
"CREATE INDEX messages_provider ON messages(provider_id);"
"CREATE TABLE templates(id {{id}}, version {{int64}} NOT NULL DEFAULT 1, name TEXT NOT NULL,"
"  channel TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'message', subject TEXT, body TEXT NOT NULL,"
"  active INTEGER NOT NULL DEFAULT 1, created_at {{int64}} NOT NULL, updated_at {{int64}} NOT NULL);"
TEMPLATE_SEEDS}}},
{11, "leads that need a reply", {
/* needs_reply: a message from the lead has come in and nobody has answered it yet (store/apply.c
 * via the planner: set by an inbound message, cleared by an answer, by closing the conversation
 * or the lead). A constant default: no table rewrite on either engine. */
{.sql = "ALTER TABLE leads ADD COLUMN needs_reply INTEGER NOT NULL DEFAULT 0;"}}},
{12, "imap state", {
/* Where IMAP polling (jobs/imap.c) stands in each mailbox it reads: the mailbox's UIDVALIDITY and
 * the highest UID whose message is stored, so nothing is fetched twice or missed after an outage. */
{.sql =
"CREATE TABLE imap_state(mailbox TEXT PRIMARY KEY, uidvalidity {{int64}} NOT NULL,"
"  last_uid {{int64}} NOT NULL, updated_at {{int64}} NOT NULL);"}}},
{13, "web chat: the visitor's token on a chat thread", {
/* A web chat is a thread of channel chat; the visitor's calls carry a random token whose
 * BLAKE2b hash is kept here (the token itself is never stored). The sweep finds idle chats by
 * channel, status and last_message_at. */
{.sql =
"ALTER TABLE threads ADD COLUMN chat_token_hash TEXT;"
"CREATE INDEX threads_open_channel ON threads(channel, status, last_message_at);"}}},
{14, "webhook endpoint health", {
/* A webhook endpoint's circuit breaker (lib/jobs/webhooks.c): failures in a row, since when, and
 * until when its deliveries wait together; paused_at when it was switched off for failing too
 * long. Kept beside the webhook but outside its version: these are not an admin's edits. */
{.sql =
"ALTER TABLE webhooks ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE webhooks ADD COLUMN failing_since {{int64}};"
"ALTER TABLE webhooks ADD COLUMN retry_at {{int64}};"
"ALTER TABLE webhooks ADD COLUMN last_error TEXT;"
"ALTER TABLE webhooks ADD COLUMN paused_at {{int64}};"}}},
{15, "approvals: a lead's pending request found by lead", {
/* A close or reopen asks whether a request of the lead waits already (one at a time), and the
 * lead page and the approval inbox list a lead's requests. */
{.sql =
"CREATE INDEX approvals_lead ON approvals(lead_id, status);"}}},
{16, "web forms and customer-portal logins", {
/* A web form (store/forms.c) takes submissions at /public/v1/forms/{key}: `fields` is the JSON
 * list of the lead fields it asks for ({name, label, required}); kind lead or portal_signup. A
 * portal login belongs to a lead: its login (the e-mail, unique) and an Argon2id hash of the
 * password (libsodium crypto_pwhash_str); the password itself is never stored. form_id records
 * the form it came from (not a reference: deleting a form keeps its logins). */
{.sql =
"CREATE TABLE forms(id {{id}}, version {{int64}} NOT NULL DEFAULT 1, key TEXT NOT NULL, name TEXT NOT NULL,"
"  kind TEXT NOT NULL DEFAULT 'lead', source_id {{int64}} REFERENCES sources(id), owner_id {{int64}} REFERENCES users(id),"
"  fields TEXT NOT NULL DEFAULT '[]', thank_you TEXT, redirect_url TEXT, active INTEGER NOT NULL DEFAULT 1,"
"  created_by {{int64}} REFERENCES users(id), created_at {{int64}} NOT NULL, updated_at {{int64}} NOT NULL);"
"CREATE UNIQUE INDEX forms_key ON forms(key);"
"CREATE TABLE portal_logins(id {{id}}, version {{int64}} NOT NULL DEFAULT 1, login TEXT NOT NULL,"
"  lead_id {{int64}} NOT NULL REFERENCES leads(id), password_hash TEXT NOT NULL, form_id {{int64}},"
"  created_at {{int64}} NOT NULL, updated_at {{int64}} NOT NULL);"
"CREATE UNIQUE INDEX portal_logins_login ON portal_logins(login);"
"CREATE INDEX portal_logins_lead ON portal_logins(lead_id);"}}},
{17, "quotes, customers, services, invoices and their number series", {
/* Quotes belong to a lead; a conversion makes a customer (linked both ways with its lead), its
 * services (from the quotes' lines) and one invoice or proforma. Lines are JSON text; money is
 * integer cents, tax rates basis points. number_series holds the last number given per series and
 * year: a conversion takes the next one inside its own transaction, so numbers have no gaps. */
{.sql =
"CREATE TABLE quotes(id {{id}}, version {{int64}} NOT NULL DEFAULT 1, lead_id {{int64}} NOT NULL REFERENCES leads(id),"
"  status TEXT NOT NULL DEFAULT 'new', currency TEXT NOT NULL, lines TEXT NOT NULL DEFAULT '[]',"
"  subtotal_cents {{int64}} NOT NULL DEFAULT 0, tax_cents {{int64}} NOT NULL DEFAULT 0, total_cents {{int64}} NOT NULL DEFAULT 0,"
"  one_time_cents {{int64}} NOT NULL DEFAULT 0, monthly_cents {{int64}} NOT NULL DEFAULT 0, notes TEXT,"
"  valid_until {{int64}} NOT NULL, sent_at {{int64}}, decided_at {{int64}}, created_at {{int64}} NOT NULL,"
"  created_by {{int64}}, updated_at {{int64}} NOT NULL);"
"CREATE INDEX quotes_lead ON quotes(lead_id, id);"
"CREATE TABLE customers(id {{id}}, version {{int64}} NOT NULL DEFAULT 1, lead_id {{int64}} REFERENCES leads(id),"
"  full_name TEXT NOT NULL, company TEXT, login TEXT, emails TEXT NOT NULL DEFAULT '[]', phones TEXT NOT NULL DEFAULT '[]',"
"  partner_id {{int64}} REFERENCES partners(id), location_id {{int64}} REFERENCES locations(id),"
"  owner_id {{int64}} REFERENCES users(id), country TEXT, region TEXT, city TEXT,"
"  email_opt_out INTEGER NOT NULL DEFAULT 0, sms_opt_out INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 1,"
"  balance_cents {{int64}} NOT NULL DEFAULT 0, currency TEXT NOT NULL, search TEXT NOT NULL DEFAULT '',"
"  created_at {{int64}} NOT NULL, created_by {{int64}}, updated_at {{int64}} NOT NULL);"
"CREATE UNIQUE INDEX customers_login ON customers(login) WHERE login IS NOT NULL;"
"CREATE INDEX customers_lead ON customers(lead_id);"
"CREATE TABLE services(id {{id}}, version {{int64}} NOT NULL DEFAULT 1, customer_id {{int64}} NOT NULL REFERENCES customers(id),"
"  quote_id {{int64}} REFERENCES quotes(id), description TEXT NOT NULL, quantity {{int64}} NOT NULL,"
"  unit_price_cents {{int64}} NOT NULL, period TEXT NOT NULL, tax_rate_bp {{int64}} NOT NULL DEFAULT 0,"
"  start_date TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'active', created_at {{int64}} NOT NULL);"
"CREATE INDEX services_customer ON services(customer_id, id);"
"CREATE TABLE number_series(series TEXT NOT NULL, year INTEGER NOT NULL, last_number {{int64}} NOT NULL,"
"  PRIMARY KEY(series, year));"
"CREATE TABLE invoices(id {{id}}, version {{int64}} NOT NULL DEFAULT 1, customer_id {{int64}} NOT NULL REFERENCES customers(id),"
"  lead_id {{int64}} REFERENCES leads(id), kind TEXT NOT NULL, series TEXT NOT NULL, year INTEGER NOT NULL,"
"  seq {{int64}} NOT NULL, number TEXT NOT NULL, status TEXT NOT NULL, currency TEXT NOT NULL, lines TEXT NOT NULL,"
"  subtotal_cents {{int64}} NOT NULL, tax_cents {{int64}} NOT NULL, total_cents {{int64}} NOT NULL,"
"  issued_at {{int64}} NOT NULL, due_at {{int64}}, paid_at {{int64}}, proforma_id {{int64}} REFERENCES invoices(id),"
"  invoice_id {{int64}} REFERENCES invoices(id), created_at {{int64}} NOT NULL, updated_at {{int64}} NOT NULL,"
"  UNIQUE(series, year, seq));"
"CREATE INDEX invoices_customer ON invoices(customer_id, id);"
"ALTER TABLE leads ADD COLUMN customer_id {{int64}} REFERENCES customers(id);"}}},
{18, "related leads, duplicates and merge", {
/* Exact lookups for related leads and duplicates (store/related.c): one row per key of a lead,
 * 'e:' + e-mail, 'p:' + phone in E.164, 'c:' + company normalised (trimmed, runs of white space
 * made one space, ASCII letters lower-cased), written by the applier with the lead (deleted leads
 * have none). One B-tree ordered by key (WITHOUT ROWID on SQLite), so a lookup is one seek and a
 * create pays one insert per key. merged_into: the lead a merged lead went into; outcome merged. */
EACH(
"CREATE TABLE lead_keys(value TEXT NOT NULL, lead_id INTEGER NOT NULL, PRIMARY KEY(value, lead_id)) WITHOUT ROWID;"
"INSERT OR IGNORE INTO lead_keys(value, lead_id) SELECT 'e:' || j.value, l.id FROM leads l, json_each(l.emails) j"
"  WHERE l.deleted_at IS NULL AND j.type = 'text';"
"INSERT OR IGNORE INTO lead_keys(value, lead_id) SELECT 'p:' || j.value, l.id FROM leads l, json_each(l.phones) j"
"  WHERE l.deleted_at IS NULL AND j.type = 'text';"
"INSERT OR IGNORE INTO lead_keys(value, lead_id) SELECT 'c:' || k, id FROM (SELECT id, lower(replace(replace(replace(replace("
"  trim(replace(replace(replace(company, char(9), ' '), char(10), ' '), char(13), ' ')), '  ', ' '), '  ', ' '), '  ', ' '), '  ', ' ')) AS k"
"  FROM leads WHERE deleted_at IS NULL AND company IS NOT NULL) WHERE k <> '';",
"CREATE TABLE lead_keys(value TEXT NOT NULL, lead_id BIGINT NOT NULL, PRIMARY KEY(value, lead_id));"
"INSERT INTO lead_keys(value, lead_id) SELECT DISTINCT 'e:' || e, id FROM leads, jsonb_array_elements_text(emails::jsonb) e"
"  WHERE deleted_at IS NULL ON CONFLICT DO NOTHING;"
"INSERT INTO lead_keys(value, lead_id) SELECT DISTINCT 'p:' || p, id FROM leads, jsonb_array_elements_text(phones::jsonb) p"
"  WHERE deleted_at IS NULL ON CONFLICT DO NOTHING;"
"INSERT INTO lead_keys(value, lead_id) SELECT DISTINCT 'c:' || k, id FROM (SELECT id, translate(trim(regexp_replace(company,"
"  '[[:space:]]+', ' ', 'g')), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') AS k"
"  FROM leads WHERE deleted_at IS NULL AND company IS NOT NULL) x WHERE k <> '' ON CONFLICT DO NOTHING;"
),
{.sql =
"ALTER TABLE leads ADD COLUMN merged_into {{int64}};"
"INSERT INTO outcomes(key, name, kind) VALUES ('merged', 'Merged into another lead', 'neutral') ON CONFLICT(key) DO NOTHING;"
}}},
{19, "reports: stays in stages and losses of leads", {
/* Kept by the change hook of store/reports_flow.c in the transaction of each change: one row per
 * stay of a lead in a stage (left_at NULL while it is there; a close ends it, a reopen starts
 * one) and one per time a lead was lost (when it was reopened, when it was won after). The
 * funnel reads the spells of the leads created in a range, win-back the losses in a range.
 * Filled from the timeline: stage_changed events give the stays (the first from the created
 * time in the stage the first move left, or the lead's stage), closed events the losses;
 * close/reopen cycles before this version are not split into stays. */
{.sql =
"CREATE TABLE lead_stage_spells(id {{id}}, lead_id {{int64}} NOT NULL, stage_id {{int64}} NOT NULL,"
"  entered_at {{int64}} NOT NULL, left_at {{int64}}, lead_created_at {{int64}} NOT NULL);"
"CREATE INDEX lead_stage_spells_lead ON lead_stage_spells(lead_id, entered_at);"
"CREATE INDEX lead_stage_spells_cohort ON lead_stage_spells(lead_created_at);"
"CREATE TABLE lead_losses(id {{id}}, lead_id {{int64}} NOT NULL, reason_id {{int64}}, lost_at {{int64}} NOT NULL,"
"  reopened_at {{int64}}, won_at {{int64}});"
"CREATE INDEX lead_losses_lead ON lead_losses(lead_id);"
"CREATE INDEX lead_losses_at ON lead_losses(lost_at);"
"CREATE TABLE lp_tmp_moves(id {{int64}} PRIMARY KEY, lead_id {{int64}} NOT NULL, at {{int64}} NOT NULL, f {{int64}}, t {{int64}});"
"CREATE TABLE lp_tmp_closes(id {{int64}} PRIMARY KEY, lead_id {{int64}} NOT NULL, at {{int64}} NOT NULL, kind TEXT, reason_id {{int64}});"},
EACH(
"INSERT INTO lp_tmp_moves SELECT id, lead_id, at, CAST(json_extract(data, '$.from') AS INTEGER), CAST(json_extract(data, '$.to') AS INTEGER)"
"  FROM events WHERE kind = 'stage_changed' AND lead_id IS NOT NULL;"
"INSERT INTO lp_tmp_closes SELECT id, lead_id, at, json_extract(data, '$.kind'), CAST(json_extract(data, '$.reason_id') AS INTEGER)"
"  FROM events WHERE kind = 'closed' AND lead_id IS NOT NULL;",
"INSERT INTO lp_tmp_moves SELECT id, lead_id, at, (data::json->>'from')::bigint, (data::json->>'to')::bigint"
"  FROM events WHERE kind = 'stage_changed' AND lead_id IS NOT NULL;"
"INSERT INTO lp_tmp_closes SELECT id, lead_id, at, data::json->>'kind', (data::json->>'reason_id')::bigint"
"  FROM events WHERE kind = 'closed' AND lead_id IS NOT NULL;"),
{.sql =
"CREATE INDEX lp_tmp_moves_lead ON lp_tmp_moves(lead_id, id);"
"INSERT INTO lead_stage_spells(lead_id, stage_id, entered_at, left_at, lead_created_at)"
"  SELECT l.id, COALESCE(fm.f, l.stage_id), l.created_at,"
"    COALESCE(fm.at, CASE WHEN l.status = 'closed' THEN l.closed_at END), l.created_at"
"  FROM leads l LEFT JOIN (SELECT lead_id, MIN(id) AS id FROM lp_tmp_moves GROUP BY lead_id) m ON m.lead_id = l.id"
"  LEFT JOIN lp_tmp_moves fm ON fm.id = m.id"
"  WHERE l.deleted_at IS NULL AND COALESCE(fm.f, l.stage_id) IS NOT NULL;"
"INSERT INTO lead_stage_spells(lead_id, stage_id, entered_at, left_at, lead_created_at)"
"  SELECT x.lead_id, x.t, x.at, COALESCE(x.next_at, CASE WHEN x.status = 'closed' THEN x.closed_at END), x.created_at"
"  FROM (SELECT mv.lead_id, mv.t, mv.at, l.status, l.closed_at, l.created_at,"
"    LEAD(mv.at) OVER (PARTITION BY mv.lead_id ORDER BY mv.id) AS next_at"
"    FROM lp_tmp_moves mv JOIN leads l ON l.id = mv.lead_id WHERE l.deleted_at IS NULL) x WHERE x.t IS NOT NULL;"
"INSERT INTO lead_losses(lead_id, reason_id, lost_at, reopened_at, won_at)"
"  SELECT c.lead_id, c.reason_id, c.at,"
"    (SELECT MIN(e.at) FROM events e WHERE e.lead_id = c.lead_id AND e.kind = 'reopened' AND e.id > c.id),"
"    (SELECT MIN(w.at) FROM lp_tmp_closes w WHERE w.lead_id = c.lead_id AND w.kind = 'won' AND w.id > c.id)"
"  FROM lp_tmp_closes c JOIN leads l ON l.id = c.lead_id WHERE c.kind = 'lost' AND l.deleted_at IS NULL;"
"INSERT INTO lead_losses(lead_id, reason_id, lost_at)"
"  SELECT l.id, l.lost_reason_id, l.closed_at FROM leads l JOIN outcomes o ON o.key = l.outcome"
"  WHERE l.status = 'closed' AND o.kind = 'lost' AND l.deleted_at IS NULL AND l.closed_at IS NOT NULL"
"  AND NOT EXISTS (SELECT 1 FROM lp_tmp_closes c WHERE c.lead_id = l.id);"
"DROP TABLE lp_tmp_moves; DROP TABLE lp_tmp_closes;"}}},
{20, "report counters", {
/* Counts are kept, not scanned (store/reports.h): one row per dimension, date kind, period (a UTC
 * day, or a block of 32 days), dimension value, owner, lost reason and outcome, kept by the
 * applier's change hook in the same transaction as every change; filled here from the leads.
 * The key starts with the period, so the rows one change writes (every dimension of a day) sit
 * together on a few pages: dimension first made a close dirty ~30 pages and cost 60% of the
 * close throughput. */
EACH(
"CREATE TABLE report_counts(dim INTEGER NOT NULL, kind INTEGER NOT NULL, grain INTEGER NOT NULL, period INTEGER NOT NULL,"
"  key TEXT NOT NULL, owner_id INTEGER NOT NULL, reason_id INTEGER NOT NULL, outcome TEXT NOT NULL,"
"  n INTEGER NOT NULL, value_cents INTEGER NOT NULL,"
"  PRIMARY KEY(grain, kind, period, dim, key, owner_id, reason_id, outcome)) WITHOUT ROWID;",
"CREATE TABLE report_counts(dim INTEGER NOT NULL, kind INTEGER NOT NULL, grain INTEGER NOT NULL, period BIGINT NOT NULL,"
"  key TEXT NOT NULL, owner_id BIGINT NOT NULL, reason_id BIGINT NOT NULL, outcome TEXT NOT NULL,"
"  n BIGINT NOT NULL, value_cents BIGINT NOT NULL,"
"  PRIMARY KEY(grain, kind, period, dim, key, owner_id, reason_id, outcome));"),
{.sql = "INSERT INTO report_counts(dim, kind, grain, period, key, owner_id, reason_id, outcome, n, value_cents)"
        " SELECT * FROM (" LP_REPORT_RECOMPUTE_SQL ") r;"}}},
{21, "scoring: rules, the win model, a lead's win probability", {
/* store/scoring.c: the admin's scoring rules (one row, versioned), the naive Bayes model trained
 * from the closed history by the `scoring` job (the newest row is the one in use), and on each
 * lead its estimate written by that job: win_bp in basis points (0..10000; -1: no estimate, so
 * the column stays NOT NULL and the list sorts on it through a plain index on both engines) and
 * win_factors, the top features as JSON. Score and win sorts read these indexes. */
{.sql =
"CREATE TABLE scoring_rules(id {{int64}} PRIMARY KEY, version {{int64}} NOT NULL DEFAULT 1, rules TEXT NOT NULL,"
"  updated_at {{int64}}, updated_by {{int64}});"
"INSERT INTO scoring_rules(id, version, rules) VALUES (1, 1, '{\"enabled\":false}');"
"CREATE TABLE win_models(id {{id}}, trained_at {{int64}} NOT NULL, closed_count {{int64}} NOT NULL, model TEXT NOT NULL);"
"ALTER TABLE leads ADD COLUMN win_bp {{int64}} NOT NULL DEFAULT -1;"
"ALTER TABLE leads ADD COLUMN win_factors TEXT;"
"CREATE INDEX leads_status_score ON leads(status, score, id) WHERE deleted_at IS NULL;"
"CREATE INDEX leads_owner_status_score ON leads(owner_id, status, score, id) WHERE deleted_at IS NULL;"
"CREATE INDEX leads_status_win ON leads(status, win_bp, id) WHERE deleted_at IS NULL;"
"CREATE INDEX leads_owner_status_win ON leads(owner_id, status, win_bp, id) WHERE deleted_at IS NULL;"}}},
{22, "pipeline board", {
/* The board's figures are kept, not scanned (store/board.c): open leads by owner, stage, source
 * and currency (0 / '' for none), kept by a change hook in the same transaction as every change;
 * filled here from the leads. The two indexes give each column's first cards as an index range
 * (all owners, or one owner). */
EACH(
"CREATE TABLE board_counts(owner_id INTEGER NOT NULL, stage_id INTEGER NOT NULL, source_id INTEGER NOT NULL,"
"  currency TEXT NOT NULL, n INTEGER NOT NULL, value_cents INTEGER NOT NULL,"
"  PRIMARY KEY(owner_id, stage_id, source_id, currency)) WITHOUT ROWID;",
"CREATE TABLE board_counts(owner_id BIGINT NOT NULL, stage_id BIGINT NOT NULL, source_id BIGINT NOT NULL,"
"  currency TEXT NOT NULL, n BIGINT NOT NULL, value_cents BIGINT NOT NULL,"
"  PRIMARY KEY(owner_id, stage_id, source_id, currency));"),
{.sql =
"INSERT INTO board_counts(owner_id, stage_id, source_id, currency, n, value_cents)"
"  SELECT COALESCE(owner_id, 0), COALESCE(stage_id, 0), COALESCE(source_id, 0), COALESCE(currency, ''), count(*),"
"    COALESCE(SUM(value_cents), 0) FROM leads WHERE status = 'open' AND deleted_at IS NULL"
"  GROUP BY COALESCE(owner_id, 0), COALESCE(stage_id, 0), COALESCE(source_id, 0), COALESCE(currency, '');"
"CREATE INDEX leads_board_stage ON leads(stage_id, status, created_at, id) WHERE deleted_at IS NULL;"
"CREATE INDEX leads_board_owner_stage ON leads(owner_id, stage_id, status, created_at, id) WHERE deleted_at IS NULL;"}}},
{23, "support tickets, customers' keys, message attachments, the quote e-mail template", {
/* Tickets (store/tickets.c) belong to a lead, a customer or both (a customer's ticket also names
 * its lead, so it is on the lead's timeline); their comments are rows of their own. customer_keys
 * is lead_keys for customers (store/related.c: 'e:' e-mail, 'p:' E.164 phone, 'c:' company), so a
 * lead's related customers are exact seeks too. A message may carry attachments (a quote's PDF),
 * kept as base64 text so both engines store them alike; the delivery job attaches them. */
{.sql =
"CREATE TABLE tickets(id {{id}}, version {{int64}} NOT NULL DEFAULT 1, lead_id {{int64}} REFERENCES leads(id),"
"  customer_id {{int64}} REFERENCES customers(id), subject TEXT NOT NULL, body TEXT, priority TEXT NOT NULL DEFAULT 'normal',"
"  status TEXT NOT NULL DEFAULT 'open', requester TEXT, assignee_id {{int64}} REFERENCES users(id),"
"  comments INTEGER NOT NULL DEFAULT 0, search TEXT NOT NULL DEFAULT '', created_at {{int64}} NOT NULL,"
"  created_by {{int64}} REFERENCES users(id), updated_at {{int64}} NOT NULL, closed_at {{int64}},"
"  closed_by {{int64}} REFERENCES users(id));"
"CREATE INDEX tickets_lead ON tickets(lead_id, id);"
"CREATE INDEX tickets_customer ON tickets(customer_id, id);"
"CREATE INDEX tickets_status ON tickets(status, id);"
"CREATE TABLE ticket_comments(id {{id}}, ticket_id {{int64}} NOT NULL REFERENCES tickets(id), body TEXT NOT NULL,"
"  author_id {{int64}} REFERENCES users(id), created_at {{int64}} NOT NULL);"
"CREATE INDEX ticket_comments_ticket ON ticket_comments(ticket_id, id);"
"CREATE TABLE message_attachments(id {{id}}, message_id {{int64}} NOT NULL REFERENCES messages(id),"
"  filename TEXT NOT NULL, content_type TEXT NOT NULL, size {{int64}} NOT NULL, data TEXT NOT NULL);"
"CREATE INDEX message_attachments_message ON message_attachments(message_id);"
"INSERT INTO templates(name, channel, kind, subject, body, created_at, updated_at) VALUES"
" ('Quote', 'email', 'quote', 'Your quote [[quote.number]] from [[company.name]]', 'Hello [[lead.first_name]],\n\n"
"Please find our quote [[quote.number]] attached: [[quote.total]] in all, valid until [[quote.valid_until]].\n\n"
"Reply to this message with any question, or to accept it.\n\n[[user.name]]\n[[company.name]]', 0, 0);"
"UPDATE templates SET subject = replace(replace(subject, '[[', '{' || '{'), ']]', '}}'),"
"  body = replace(replace(body, '[[', '{' || '{'), ']]', '}}') WHERE kind = 'quote';"},
EACH(
"CREATE TABLE customer_keys(value TEXT NOT NULL, customer_id INTEGER NOT NULL, PRIMARY KEY(value, customer_id)) WITHOUT ROWID;"
"INSERT OR IGNORE INTO customer_keys(value, customer_id) SELECT 'e:' || j.value, c.id FROM customers c, json_each(c.emails) j"
"  WHERE j.type = 'text';"
"INSERT OR IGNORE INTO customer_keys(value, customer_id) SELECT 'p:' || j.value, c.id FROM customers c, json_each(c.phones) j"
"  WHERE j.type = 'text';"
"INSERT OR IGNORE INTO customer_keys(value, customer_id) SELECT 'c:' || k, id FROM (SELECT id, lower(replace(replace(replace(replace("
"  trim(replace(replace(replace(company, char(9), ' '), char(10), ' '), char(13), ' ')), '  ', ' '), '  ', ' '), '  ', ' '), '  ', ' ')) AS k"
"  FROM customers WHERE company IS NOT NULL) WHERE k <> '';",
"CREATE TABLE customer_keys(value TEXT NOT NULL, customer_id BIGINT NOT NULL, PRIMARY KEY(value, customer_id));"
"INSERT INTO customer_keys(value, customer_id) SELECT DISTINCT 'e:' || e, id FROM customers, jsonb_array_elements_text(emails::jsonb) e"
"  ON CONFLICT DO NOTHING;"
"INSERT INTO customer_keys(value, customer_id) SELECT DISTINCT 'p:' || p, id FROM customers, jsonb_array_elements_text(phones::jsonb) p"
"  ON CONFLICT DO NOTHING;"
"INSERT INTO customer_keys(value, customer_id) SELECT DISTINCT 'c:' || k, id FROM (SELECT id, translate(trim(regexp_replace(company,"
"  '[[:space:]]+', ' ', 'g')), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') AS k"
"  FROM customers WHERE company IS NOT NULL) x WHERE k <> '' ON CONFLICT DO NOTHING;"
)}},
{24, "CSV uploads for imports", {
/* A CSV file sent for an import (store/imports.c): kept on disk in the server's spool directory
 * (`file`, written by the server on `node`, its host name), never in the database; the row says
 * what the upload found (size, data rows, the header as a JSON array) and where it stands:
 * uploaded (waiting for a start, until expires_at), importing (job_id runs it), done, removed. */
{.sql =
"CREATE TABLE import_uploads(id {{id}}, created_by {{int64}} NOT NULL, created_at {{int64}} NOT NULL,"
"  expires_at {{int64}} NOT NULL, file TEXT NOT NULL, node TEXT NOT NULL, size {{int64}} NOT NULL,"
"  rows {{int64}} NOT NULL, header TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'uploaded', job_id {{int64}},"
"  updated_at {{int64}} NOT NULL);"
"CREATE INDEX import_uploads_status ON import_uploads(status, expires_at);"}}},
{25, "mail to users (the weekly digest)", {
/* E-mail to a user of leadpath rather than to a lead (store/usermail.c): the weekly digest. The
 * messages table belongs to leads' conversations (lead and thread required, shown on timelines),
 * so these have their own outbox rows, delivered by a `user_mail` job over the same SMTP sending
 * as messages. One row per kind, slot (the week) and user: offering a slot twice queues nothing. */
{.sql =
"CREATE TABLE user_mails(id {{id}}, user_id {{int64}} NOT NULL REFERENCES users(id), kind TEXT NOT NULL,"
"  slot TEXT NOT NULL, to_addr TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, html TEXT,"
"  status TEXT NOT NULL, error TEXT, message_id TEXT, created_at {{int64}} NOT NULL, sent_at {{int64}});"
"CREATE UNIQUE INDEX user_mails_slot ON user_mails(kind, slot, user_id);"}}},
};
int lp_schema_version(void) { return migrations[sizeof migrations / sizeof *migrations - 1].version; }

typedef struct { const migration *m; int64_t now; } mctx;

static lp_code apply_one(lp_db *db, void *p, lp_err *err) {
  mctx *c = p;
  /* Another process may have applied it while we waited for the write lock. */
  lp_stmt *st = lp_db_prep(db, "SELECT 1 FROM schema_migrations WHERE version = $1", err);
  if (!st) return err->code;
  lp_bind_int(st, 1, c->m->version);
  int rc = lp_step(st, err);
  lp_stmt_done(st);
  if (rc < 0) return err->code;
  if (rc == 1) return LP_OK;
  for (size_t i = 0; i < sizeof c->m->steps / sizeof *c->m->steps; i++) {
    const step *s = &c->m->steps[i];
    lp_code code = s->sql ? lp_db_ddl(db, s->sql, err) : lp_db_ddl_each(db, s->sqlite, s->pg, err);
    if (code != LP_OK) return code;
  }
  st = lp_db_prep(db, "INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)", err);
  if (!st) return err->code;
  lp_bind_int(st, 1, c->m->version);
  lp_bind_text(st, 2, c->m->name);
  lp_bind_int(st, 3, c->now);
  rc = lp_step(st, err);
  lp_stmt_done(st);
  return rc < 0 ? err->code : LP_OK;
}

static lp_code migrate_locked(lp_store *s, lp_db *db, int version, int64_t now, int *applied, lp_err *err);

/* Several servers may migrate at once: they take turns (lp_db_schema_lock), and each finds what
 * the others applied. */
lp_code lp_migrate(lp_store *s, int64_t now, int *applied, lp_err *err) {
  return lp_migrate_to(s, lp_schema_version(), now, applied, err);
}

lp_code lp_migrate_to(lp_store *s, int version, int64_t now, int *applied, lp_err *err) {
  lp_db *db = lp_store_reader(s, err);
  if (!db) return err->code;
  lp_code rc = lp_db_schema_lock(db, err);
  if (rc != LP_OK) return rc;
  rc = migrate_locked(s, db, version, now, applied, err);
  lp_db_schema_unlock(db);
  return rc;
}

static lp_code migrate_locked(lp_store *s, lp_db *db, int version, int64_t now, int *applied, lp_err *err) {
  lp_code rc = lp_db_ddl(db, "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY,"
                             " name TEXT NOT NULL, applied_at {{int64}} NOT NULL)", err);
  if (rc != LP_OK) return rc;
  int have = 0;
  lp_stmt *st = lp_db_prep(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", err);
  if (!st) return err->code;
  if (lp_step(st, err) == 1) have = (int)lp_col_int(st, 0);
  lp_stmt_done(st);
  if (applied) *applied = 0;
  for (size_t i = 0; i < sizeof migrations / sizeof *migrations; i++) {
    if (migrations[i].version <= have || migrations[i].version > version) continue;
    mctx c = {&migrations[i], now};
    rc = lp_store_write_direct(s, apply_one, &c, err);
    if (rc != LP_OK) return rc;
    if (applied) (*applied)++;
  }
  return LP_OK;
}

int64_t lp_migrations_applied(lp_db *db, lp_err *err) {
  return lp_query_int(db, "SELECT count(*) FROM schema_migrations", NULL, -1, err);
}
