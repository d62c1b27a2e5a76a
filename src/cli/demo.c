/* demo.c — `serve --demo`: fills an empty database with a realistic team and a few hundred
 * leads, through the same library calls the API uses (so the data obeys every rule). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "core/record.h"
#include "store/leads.h"
#include "store/lists.h"
#include "store/rows.h"
#include "store/tasks.h"
#include "store/users.h"
#include "util/timefmt.h"

#define DEMO_LEADS 300
#define WORKERS 6

static const char *first[] = {"Amelia", "Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Leo", "Sofia", "Arthur",
                              "Lucia", "Mateo", "Hannah", "Jonas", "Chloe", "Ethan", "Priya", "Ravi", "Yuki", "Kenji",
                              "Fatima", "Omar", "Elena", "Marco", "Ingrid", "Lars", "Zoe", "Samuel", "Grace", "Daniel"};
static const char *last[] = {"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
                             "Wright", "Garcia", "Rossi", "Müller", "Schmidt", "Dubois", "Novak", "Kowalski", "Hansen",
                             "Silva", "Murphy", "O'Brien", "Nakamura", "Khan", "Ahmed", "Costa", "Fischer", "Berg"};
static const char *companies[] = {"Northwind Roofing", "Bluebell Dental", "Harbour Cafe", "Summit Logistics", "Greenleaf Gardens",
                                  "Atlas Fitness", "Copperfield Legal", "Brightside Solar", "Maple & Co", "Riverbank Vets", NULL, NULL, NULL};
static const char *services[] = {"Solar panels", "Roof repair", "Kitchen fitting", "Heat pump", "Window cleaning", "Boiler service"};
static const char *requests[] = {
  "Would like a quote for the work before the end of the month.",
  "Saw your advert, please call me back in the evening.",
  "Comparing three suppliers; price and lead time matter most.",
  "Need someone to look at it this week if possible.",
  "Interested but want to know about financing options.",
  "Moving house in spring, planning ahead."};
static const char *lost_outcomes[] = {"lost", "abandoned"};
static const char *other_outcomes[] = {"won", "converted", "treated", "completed", "passed_to_distribution"};

typedef struct {
  lp_store *s;
  int64_t now;
  lp_actor agents[3], admin, manager;
  int worker, failed;
} demo_ctx;

static unsigned rnd(unsigned *st) { *st = *st * 1103515245u + 12345u; return (*st >> 8) & 0xffffff; }

static void one_lead(demo_ctx *d, int i, unsigned *st) {
  lp_err err = LP_ERR_INIT;
  const lp_actor *owner = &d->agents[rnd(st) % 3];
  if (rnd(st) % 10 == 0) owner = &d->manager;
  const char *fn = first[rnd(st) % (sizeof first / sizeof *first)];
  const char *ln = last[rnd(st) % (sizeof last / sizeof *last)];
  char name[120], email[200], phone[40];
  snprintf(name, sizeof name, "%s %s", fn, ln);
  snprintf(email, sizeof email, "%c%s.%d@example.com", fn[0] | 0x20, "lead", i);
  snprintf(phone, sizeof phone, "+4477009%05u", rnd(st) % 100000);
  int closed = rnd(st) % 100 < 40;
  int64_t age_days = closed ? 10 + rnd(st) % 200 : rnd(st) % 45;
  int64_t created = d->now - age_days * 86400 - rnd(st) % 86400;
  char created_s[LP_TIME_LEN], closed_s[LP_TIME_LEN];
  lp_time_format(created, created_s);
  json_t *in = json_pack("{s:s, s:[s], s:[s], s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:i}",
                         "full_name", name, "emails", email, "phones", phone, "country", "GB", "service",
                         services[rnd(st) % 6], "request", requests[rnd(st) % 6], "owner_id", (json_int_t)owner->id,
                         "source_id", (json_int_t)(1 + rnd(st) % 8), "stage_id", (json_int_t)(1 + rnd(st) % 4),
                         "value_cents", (json_int_t)(50000 + rnd(st) % 2000000), "currency", "GBP", "created_at", created_s,
                         "score", (int)(rnd(st) % 100));
  const char *co = companies[rnd(st) % (sizeof companies / sizeof *companies)];
  if (co) json_object_set_new(in, "company", json_string(co));
  if (closed) {
    int lost = rnd(st) % 100 < 55;
    int64_t closed_at = created + (1 + rnd(st) % (age_days > 1 ? age_days - 1 : 1)) * 86400;
    lp_time_format(closed_at, closed_s);
    json_object_set_new(in, "status", json_string("closed"));
    json_object_set_new(in, "closed_at", json_string(closed_s));
    json_object_set_new(in, "outcome", json_string(lost ? lost_outcomes[rnd(st) % 2] : other_outcomes[rnd(st) % 5]));
    if (lost) json_object_set_new(in, "lost_reason_id", json_integer(1 + rnd(st) % 8));
    json_object_set_new(in, "close_notes", json_string(lost ? "Went quiet after the quote." : "Happy customer."));
  }
  json_t *cols = NULL;
  json_t *lead = NULL;
  if (lp_rec_input(&lp_rt_lead, in, 1, 1, NULL, &cols, &err) == LP_OK)
    lead = lp_lead_create(d->s, &d->admin, cols, d->now, &err);
  json_decref(in);
  json_decref(cols);
  if (!lead) {
    fprintf(stderr, "demo: lead %d: %s\n", i, err.message);
    d->failed = 1;
    lp_err_release(&err);
    return;
  }
  int64_t id = json_integer_value(json_object_get(lead, "id"));
  json_decref(lead);
  if (!closed) {
    char due[LP_TIME_LEN];
    lp_time_format(d->now + ((int64_t)(rnd(st) % 13) - 5) * 86400 + 3600, due);
    json_t *t = json_pack("{s:s, s:s, s:s}", "type", "call", "title", rnd(st) % 2 ? "Call back about the quote" : "Check in after site visit", "due_at", due);
    json_t *tc = NULL;
    if (lp_rec_input(&lp_rt_task, t, 1, 0, NULL, &tc, &err) == LP_OK) json_decref(lp_task_create(d->s, owner, id, tc, d->now, &err));
    json_decref(t);
    json_decref(tc);
  }
  if (rnd(st) % 3 == 0) {
    json_t *o = NULL;
    lp_comment_add(d->s, owner, id, rnd(st) % 2 ? "Spoke on the phone; sending details by email." : "Left a voicemail.",
                   rnd(st) % 2 ? "phone" : "note", rnd(st) % 2 ? "blue" : "green", d->now, &o, &err);
    json_decref(o);
  }
  lp_err_release(&err);
}

static void *worker(void *p) {
  demo_ctx *d = p;
  unsigned st = 12345u + (unsigned)d->worker * 7919u;
  for (int i = d->worker; i < DEMO_LEADS; i += WORKERS) one_lead(d, i, &st);
  return NULL;
}

int lp_demo_fill(lp_store *s, int64_t now) {
  static const struct { const char *email, *name, *role, *manager, *pw; } users[] = {
    {"admin@demo.leadpath.test", "Alex Admin", "admin", NULL, "demo-admin-2026"},
    {"manager@demo.leadpath.test", "Morgan Manager", "manager", NULL, "demo-manager-2026"},
    {"agent@demo.leadpath.test", "Avery Agent", "agent", "manager@demo.leadpath.test", "demo-agent-2026"},
    {"sam@demo.leadpath.test", "Sam Seller", "agent", "manager@demo.leadpath.test", "demo-agent-2026"},
    {"jo@demo.leadpath.test", "Jo Closer", "agent", "manager@demo.leadpath.test", "demo-agent-2026"}};
  int64_t ids[5];
  lp_err err = LP_ERR_INIT;
  for (int i = 0; i < 5; i++) {
    if (lp_user_add(s, users[i].email, users[i].name, users[i].role, users[i].manager, users[i].pw, now, &ids[i], &err) != LP_OK) {
      fprintf(stderr, "demo: cannot add %s: %s\n", users[i].email, err.message);
      lp_err_release(&err);
      return -1;
    }
  }
  lp_db *db = lp_store_reader(s, &err);
  if (!db) return -1;
  demo_ctx base = {s, now, {{0}}, {0}, {0}, 0, 0};
  lp_actor_load(db, ids[0], &base.admin, &err);
  lp_actor_load(db, ids[1], &base.manager, &err);
  for (int i = 0; i < 3; i++) lp_actor_load(db, ids[2 + i], &base.agents[i], &err);
  pthread_t th[WORKERS];
  demo_ctx ctx[WORKERS];
  for (int w = 0; w < WORKERS; w++) {
    ctx[w] = base;
    ctx[w].worker = w;
    pthread_create(&th[w], NULL, worker, &ctx[w]);
  }
  int failed = 0;
  for (int w = 0; w < WORKERS; w++) { pthread_join(th[w], NULL); failed |= ctx[w].failed; }
  lp_err_release(&err);
  if (failed) return -1;
  printf("Demo data: %d leads. Log in at the address below with:\n", DEMO_LEADS);
  for (int i = 0; i < 5; i++) printf("  %-28s %-18s (%s)\n", users[i].email, users[i].pw, users[i].role);
  return 0;
}
