-- fill-pg.sql — bulk loader for benchmarks: puts N leads straight into a leadpath PostgreSQL
-- database, in SQL (INSERT ... SELECT FROM generate_series). The PostgreSQL twin of bench/fill.c.
--
--   psql "$URL" -v n=1000000 -f bench/fill-pg.sql            (all steps, one session)
--
-- or in three steps, the middle one in P sessions at once (bench/run-pg.sh does this; the
-- generated tsvector of leads_fts is ~85% of the work and parallelises well):
--   psql "$URL" -v n=N -v step=prep -f bench/fill-pg.sql
--   psql "$URL" -v step=load -v part=K -v parts=P -f bench/fill-pg.sql   for K = 0..P-1, together
--   psql "$URL" -v step=finish -f bench/fill-pg.sql
--
-- The database must already have the schema (`leadpath migrate`) and its users (`leadpath user
-- add`); every active non-admin user becomes a lead owner, the first admin is the closer/creator
-- of last resort. Leads get ids after the highest one present. Per lead it writes what fill.c
-- writes (and the server's create path writes, minus the `created` timeline event):
--   - a leads row: owner at random, stage 1-5 (35/25/15/17/8%), source 1-8, ~60% open (90% of
--     the last 60 days, 58% before), created_at spread over the last two years in id order,
--     emails/phones as JSON text arrays (85% one e-mail, else 60% two, else none; 75% one phone,
--     else 30% two), closed history (outcome, lost reason, close notes, closed_at, closed_by),
--     sold_at for the sale stage, waiting_since for the waiting stage, stage_entered_at;
--   - one lead_contacts row per e-mail and phone;
--   - the kept summaries (finish step): lead_keys, lead_stage_spells, lead_losses, board_counts;
--     report_counts by `leadpath reports rebuild` afterwards (run-pg.sh). Not the win model: the
--     server's first scoring run (at start, hourly) estimates every open lead, so measure after it;
--   - a leads_fts row (rowid = lead id, body built like index_lead(): full_name, company,
--     request, close notes, city, service, then the e-mails, the phones and each phone without
--     its '+', one per line). The tsv column is GENERATED, PostgreSQL computes it.
-- The draws go to an UNLOGGED table bench_fill (dropped at the end), so that several sessions
-- can load from it. Speed: foreign-key triggers off (session_replication_role = replica; every
-- reference is valid by construction); the secondary indexes of the three bulk tables are
-- dropped and recreated from their own pg_indexes definitions, so the schema ends up exactly as
-- migrate made it. The identity sequence of leads is moved past the new ids. Then ANALYZE.
-- Random but repeatable: setseed(0.42) (the load runs without parallel workers).
\set ON_ERROR_STOP on
\if :{?n}
\else
  \set n 1000000
\endif
\if :{?step}
\else
  \set step all
\endif
\if :{?part}
\else
  \set part 0
\endif
\if :{?parts}
\else
  \set parts 1
\endif
\timing off
SET client_min_messages = warning;
SET session_replication_role = replica;
SET maintenance_work_mem = '1GB';
SET work_mem = '256MB';
SET max_parallel_workers_per_gather = 0;
SET synchronous_commit = off;
SELECT :'step' IN ('all', 'prep') AS do_prep, :'step' IN ('all', 'load') AS do_load,
       :'step' IN ('all', 'finish') AS do_finish \gset

\if :do_prep
SELECT array_agg(u.id ORDER BY u.id)::text AS owners, count(*) AS nowners
  FROM users u JOIN roles r ON r.id = u.role_id WHERE u.active = 1 AND r.name <> 'admin' \gset
SELECT COALESCE((SELECT min(u.id) FROM users u JOIN roles r ON r.id = u.role_id WHERE r.name = 'admin'),
                (:'owners'::bigint[])[1]) AS admin \gset
SELECT COALESCE(max(id), 0) AS base FROM leads \gset
SELECT extract(epoch FROM now())::bigint AS now \gset
\echo fill-pg: :n leads over :nowners owners after id :base

BEGIN;
SELECT setseed(0.42);
DROP TABLE IF EXISTS bench_fill_idx, bench_fill;
CREATE TABLE bench_fill_idx(started timestamptz, indexname text, indexdef text);
INSERT INTO bench_fill_idx(started) VALUES (clock_timestamp());

-- The secondary indexes of the bulk tables: kept, dropped, recreated after the load.
INSERT INTO bench_fill_idx(indexname, indexdef)
  SELECT i.indexname, i.indexdef FROM pg_indexes i
   WHERE i.schemaname = 'public' AND i.tablename IN ('leads', 'lead_contacts', 'leads_fts')
     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname);
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexname FROM bench_fill_idx WHERE indexname IS NOT NULL LOOP EXECUTE format('DROP INDEX %I', r.indexname); END LOOP;
END $$;

-- Step 1: the random draws, one row per lead.
CREATE TEMP TABLE g ON COMMIT DROP AS
SELECT :base + k AS id,
       least(:now, :now - 730 * 86400 + (730 * 86400::bigint * (k - 1)) / :n + floor(random() * 600)::bigint) AS created,
       (ARRAY['Amelia','Oliver','Isla','George','Ava','Noah','Mia','Leo','Sofia','Arthur','Lucia','Mateo','Hannah',
              'Jonas','Chloe','Ethan','Priya','Ravi','Yuki','Kenji','Fatima','Omar','Elena','Marco','Ingrid','Lars',
              'Zoe','Samuel','Grace','Daniel','Aisha','Tomás','Freya','Hugo','Nina','Felix','Maya','Oscar','Lena',
              'Ibrahim'])[1 + floor(random() * 40)::int] AS fn,
       (ARRAY['Smith','Jones','Taylor','Brown','Williams','Wilson','Johnson','Davies','Patel','Wright','Garcia',
              'Rossi','Müller','Schmidt','Dubois','Novak','Kowalski','Hansen','Silva','Murphy','O''Brien','Nakamura',
              'Khan','Ahmed','Costa','Fischer','Berg','Evans','Thomas','Roberts','Walker','Hughes'])[1 + floor(random() * 32)::int] AS ln,
       CASE WHEN random() < 0.85 THEN 1 WHEN random() < 0.60 THEN 2 ELSE 0 END AS nemail,
       CASE WHEN random() < 0.75 THEN 1 WHEN random() < 0.30 THEN 2 ELSE 0 END AS nphone,
       (ARRAY['example.com','example.org','mail.example.net','example.co.uk'])[1 + floor(random() * 4)::int] AS dom1,
       (ARRAY['example.com','example.org','mail.example.net','example.co.uk'])[1 + floor(random() * 4)::int] AS dom2,
       '+447700' || lpad(floor(random() * 1000000)::int::text, 6, '0') AS ph1,
       '+447700' || lpad(floor(random() * 1000000)::int::text, 6, '0') AS ph2,
       (:'owners'::bigint[])[1 + floor(random() * :nowners)::int] AS owner,
       CASE WHEN random() < 0.55 THEN
         (ARRAY['Northwind Roofing','Bluebell Dental','Harbour Cafe','Summit Logistics','Greenleaf Gardens',
                'Atlas Fitness','Copperfield Legal','Brightside Solar','Maple & Co','Riverbank Vets','Oakridge Builders',
                'Pinecrest Hotels','Silverline Taxis','Kestrel Accountants','Lighthouse Bakery'])[1 + floor(random() * 15)::int]
       END AS company,
       (ARRAY['London','Leeds','Bristol','Manchester','Glasgow','Cardiff','York','Brighton','Norwich','Belfast'])[1 + floor(random() * 10)::int] AS city,
       (ARRAY['Solar panels','Roof repair','Kitchen fitting','Heat pump','Window cleaning','Boiler service',
              'Loft conversion','Driveway'])[1 + floor(random() * 8)::int] AS service,
       (ARRAY['Would like a quote for the work before the end of the month.',
              'Saw your advert, please call me back in the evening.',
              'Comparing three suppliers; price and lead time matter most.',
              'Need someone to look at it this week if possible.',
              'Interested but want to know about financing options.',
              'Moving house in spring, planning ahead.',
              'Referred by a neighbour who was happy with your work.',
              'Please send a brochure and a rough price by email.'])[1 + floor(random() * 8)::int] AS request,
       1 + floor(random() * 8)::int AS source,
       random() AS r_open,
       random() AS r_stage,
       floor(random() * 86400 * 3)::bigint AS stage_delay,
       random() AS r_upd,
       floor(random() * 7)::int AS oc,
       1 + floor(random() * 8)::int AS reason,
       random() < 0.5 AS happy,
       random() AS r_close,
       50000 + floor(random() * 2000000)::bigint AS value_cents,
       floor(random() * 100)::int AS score,
       (random() < 0.03)::int AS eopt,
       (random() < 0.02)::int AS sopt,
       random() < 0.70 AS by_owner
  FROM generate_series(1, :n) AS k;

-- Step 2: what follows from the draws.
CREATE UNLOGGED TABLE bench_fill AS
WITH a AS (
  SELECT g.*, :now - created AS age,
         r_open < CASE WHEN :now - created < 60 * 86400 THEN 0.90 ELSE 0.58 END AS open,
         CASE WHEN r_stage < 0.35 THEN 1 WHEN r_stage < 0.60 THEN 2 WHEN r_stage < 0.75 THEN 3
              WHEN r_stage < 0.92 THEN 4 ELSE 5 END AS stage,
         lower(regexp_replace(fn, '[^A-Za-z0-9]', '', 'g')) || '.' || lower(regexp_replace(ln, '[^A-Za-z0-9]', '', 'g')) AS local
    FROM g
), b AS (
  SELECT a.*,
         CASE WHEN nemail >= 1 THEN local || id || '@' || dom1 END AS em1,
         CASE WHEN nemail >= 2 THEN local || '.work' || id || '@' || dom2 END AS em2,
         CASE WHEN nphone >= 1 THEN ph1 END AS p1,
         CASE WHEN nphone >= 2 THEN ph2 END AS p2,
         least(:now, created + CASE WHEN stage > 1 THEN stage_delay ELSE 0 END) AS stage_entered,
         created + CASE WHEN age > 0 THEN floor(r_upd * (least(age, 90 * 86400) + 1))::bigint ELSE 0 END AS upd0,
         CASE WHEN NOT open THEN (ARRAY['won','lost','converted','treated','passed_to_distribution','abandoned','completed'])[1 + oc] END AS outcome,
         CASE WHEN NOT open THEN oc IN (1, 5) END AS lost,
         CASE WHEN NOT open THEN
           least(:now, created + (1 + floor(r_close * least(greatest(age / 86400 - 1, 1), 120))::bigint) * 86400) END AS closed_at
    FROM a
)
SELECT b.*,
       CASE WHEN lost THEN reason END AS lost_reason,
       CASE WHEN lost THEN 'Went quiet after the quote.' WHEN NOT open AND happy THEN 'Happy customer.' END AS close_notes,
       least(:now, greatest(upd0, COALESCE(closed_at, upd0))) AS updated,
       CASE WHEN by_owner THEN owner ELSE :admin END AS creator
  FROM b;
COMMIT;
\endif

\if :do_load
SELECT :part = 0 AS part0 \gset
BEGIN;
\if :part0
INSERT INTO leads(id, version, full_name, company, login, emails, phones, partner_id, location_id, owner_id,
    stage_id, source_id, country, region, city, service, request, notes, value_cents, currency, score,
    last_contacted_at, email_opt_out, sms_opt_out, status, outcome, lost_reason_id, close_notes, closed_at, closed_by,
    sold_at, review_requested_at, created_at, updated_at, created_by, deleted_at, stage_entered_at, waiting_since,
    waiting_seconds)
SELECT id, 1, fn || ' ' || ln, company, NULL,
       '[' || concat_ws(',', '"' || em1 || '"', '"' || em2 || '"') || ']',
       '[' || concat_ws(',', '"' || p1 || '"', '"' || p2 || '"') || ']',
       NULL, 1, owner, stage, source, 'GB', NULL, city, service, request, NULL, value_cents, 'GBP', score,
       CASE WHEN stage > 1 THEN stage_entered END, eopt, sopt,
       CASE WHEN open THEN 'open' ELSE 'closed' END, outcome, lost_reason, close_notes, closed_at,
       CASE WHEN NOT open THEN owner END,
       CASE WHEN stage = 5 THEN stage_entered END, NULL, created, updated,
       creator, NULL, stage_entered,
       CASE WHEN open AND stage = 3 THEN stage_entered END, 0
  FROM bench_fill ORDER BY id;

INSERT INTO lead_contacts(lead_id, kind, value)
SELECT id, 'email', em1 FROM bench_fill WHERE em1 IS NOT NULL
UNION ALL SELECT id, 'email', em2 FROM bench_fill WHERE em2 IS NOT NULL
UNION ALL SELECT id, 'phone', p1 FROM bench_fill WHERE p1 IS NOT NULL
UNION ALL SELECT id, 'phone', p2 FROM bench_fill WHERE p2 IS NOT NULL;
\endif

-- The search rows: this part's share (the generated tsvector is most of the fill's CPU).
INSERT INTO leads_fts(rowid, body)
SELECT id,
       fn || ' ' || ln || E'\n' || COALESCE(company || E'\n', '') || request || E'\n' || COALESCE(close_notes || E'\n', '')
       || city || E'\n' || service || E'\n'
       || COALESCE(em1 || E'\n', '') || COALESCE(em2 || E'\n', '')
       || COALESCE(p1 || E'\n' || substr(p1, 2) || E'\n', '') || COALESCE(p2 || E'\n' || substr(p2, 2) || E'\n', '')
  FROM bench_fill WHERE id % :parts = :part ORDER BY id;
COMMIT;
\endif

\if :do_finish
SELECT clock_timestamp() AS t1 \gset
SELECT started AS t0 FROM bench_fill_idx WHERE indexname IS NULL \gset
BEGIN;
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT indexdef FROM bench_fill_idx WHERE indexdef IS NOT NULL LOOP EXECUTE r.indexdef; END LOOP;
END $$;
SELECT setval(pg_get_serial_sequence('leads', 'id'), (SELECT max(id) FROM leads)) \gset
-- The kept summaries the applier writes with each lead (as bench/fill.c; report_counts is left to
-- `leadpath reports rebuild`, which bench/run-pg.sh runs next): the exact keys (store/related.c),
-- the stay in the lead's stage and the loss (store/reports_flow.c, a create's hook), the board's
-- counts of open leads (store/board.c, migration 22's query over every lead).
INSERT INTO lead_keys(value, lead_id)
SELECT 'e:' || em1, id FROM bench_fill WHERE em1 IS NOT NULL
UNION ALL SELECT 'e:' || em2, id FROM bench_fill WHERE em2 IS NOT NULL
UNION ALL SELECT 'p:' || p1, id FROM bench_fill WHERE p1 IS NOT NULL
UNION ALL SELECT 'p:' || p2, id FROM bench_fill WHERE p2 IS NOT NULL
UNION ALL SELECT 'c:' || translate(trim(regexp_replace(company, '[[:space:]]+', ' ', 'g')), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
                                   'abcdefghijklmnopqrstuvwxyz'), id FROM bench_fill WHERE company IS NOT NULL
ON CONFLICT DO NOTHING;
INSERT INTO lead_stage_spells(lead_id, stage_id, entered_at, left_at, lead_created_at)
SELECT l.id, l.stage_id, l.created_at, CASE WHEN l.status = 'closed' THEN l.closed_at END, l.created_at
  FROM leads l JOIN bench_fill b ON b.id = l.id WHERE l.stage_id IS NOT NULL ORDER BY l.id;
INSERT INTO lead_losses(lead_id, reason_id, lost_at)
SELECT l.id, l.lost_reason_id, l.closed_at FROM leads l JOIN bench_fill b ON b.id = l.id JOIN outcomes o ON o.key = l.outcome
 WHERE l.status = 'closed' AND o.kind = 'lost' AND l.closed_at IS NOT NULL ORDER BY l.id;
DELETE FROM board_counts;
INSERT INTO board_counts(owner_id, stage_id, source_id, currency, n, value_cents)
SELECT COALESCE(owner_id, 0), COALESCE(stage_id, 0), COALESCE(source_id, 0), COALESCE(currency, ''), count(*),
       COALESCE(SUM(value_cents), 0) FROM leads WHERE status = 'open' AND deleted_at IS NULL
 GROUP BY COALESCE(owner_id, 0), COALESCE(stage_id, 0), COALESCE(source_id, 0), COALESCE(currency, '');
DROP TABLE bench_fill_idx, bench_fill;
COMMIT;
SELECT clock_timestamp() AS t2 \gset
ANALYZE leads;
ANALYZE lead_contacts;
ANALYZE leads_fts;
ANALYZE lead_keys;
ANALYZE lead_stage_spells;
ANALYZE lead_losses;
SELECT clock_timestamp() AS t3 \gset

SELECT count(*) AS leads, round(100.0 * count(*) FILTER (WHERE status = 'open') / greatest(count(*), 1), 1) AS open_pct
  FROM leads \gset
SELECT count(*) AS contacts FROM lead_contacts \gset
SELECT count(*) AS fts FROM leads_fts \gset
SELECT round(extract(epoch FROM (:'t1'::timestamptz - :'t0'::timestamptz))::numeric, 1) AS rows_s,
       round(extract(epoch FROM (:'t2'::timestamptz - :'t1'::timestamptz))::numeric, 1) AS idx_s,
       round(extract(epoch FROM (:'t3'::timestamptz - :'t2'::timestamptz))::numeric, 1) AS analyze_s,
       round(extract(epoch FROM (:'t3'::timestamptz - :'t0'::timestamptz))::numeric, 1) AS total_s,
       pg_size_pretty(pg_database_size(current_database())) AS db_size,
       pg_database_size(current_database()) / 1048576 AS db_mb \gset
\echo fill-pg: :leads leads (:open_pct% open), :contacts contacts, :fts fts rows: rows+fts :rows_s s, indexes :idx_s s, analyze :analyze_s s, total :total_s s, database :db_size
\echo FILLPG total_s=:total_s rows_s=:rows_s idx_s=:idx_s analyze_s=:analyze_s leads=:leads open_pct=:open_pct contacts=:contacts fts=:fts db_mb=:db_mb
\endif
