// 10-timeline-events: a lead's timeline (created, updated with old → new, stage_changed, comment,
// task_created, task_done, closed, reopened, group_added) and the global events feed with cursors.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorld, expectStatus, expectError, items, byName, soft, isoNow, DAY, FILE_TIMEOUT_MS, walk,
} from './lib.mjs';

let w;
let admin;
let agent;
const ref = {};
before(async () => {
  w = await startWorld();
  ({ admin, agent } = w.users);
  const list = (path) => soft(`GET ${path}`, async () => items(await admin.c.get(path))).then((x) => x || []);
  const stages = await list('/api/v1/stages');
  ref.New = byName(stages, 'New');
  ref.Quoted = byName(stages, 'Quoted');
  ref.price = byName(await list('/api/v1/lost-reasons'), 'Price');
  ref.live = byName(await list('/api/v1/groups'), 'Live Leads');
});
after(async () => { if (w) await w.srv.stop(); });

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const timeline = async (c, id) => walk(c, `/api/v1/leads/${id}/timeline`, 500);

/** Read the whole events feed from `after` (null = the start); returns {items, cursor}. */
async function feed(c, after, limit = 100) {
  const all = [];
  let cursor = after;
  for (let i = 0; i < 500; i++) {
    const r = await c.get(`/api/v1/events?limit=${limit}${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`);
    const b = expectStatus(r, 200, 'events');
    assert.ok(Array.isArray(b.items), 'events items');
    assert.ok('next_cursor' in b && b.next_cursor !== null && b.next_cursor !== undefined, 'next_cursor always present');
    all.push(...b.items);
    if (b.items.length === 0) return { items: all, cursor: b.next_cursor };
    assert.notEqual(b.next_cursor, cursor, 'cursor advances when items were returned');
    cursor = b.next_cursor;
  }
  throw new Error('feed did not end');
}

describe('timeline', { timeout: FILE_TIMEOUT_MS }, () => {
  let lead;
  it('a new lead has a created event by its creator', async () => {
    lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Timeline Tom', city: 'Rome', score: 5 }), 201);
    const tl = await timeline(agent.c, lead.id);
    assert.equal(tl.length, 1);
    const e = tl[0];
    assert.equal(e.kind, 'created');
    assert.equal(e.actor_id, agent.id);
    assert.equal(typeof e.id, 'number');
    assert.match(e.at, RFC3339);
    assert.ok(e.data && typeof e.data === 'object');
  });

  it('PATCH records updated with each changed field old → new (unchanged fields left out)', async () => {
    expectStatus(await agent.c.patch(`/api/v1/leads/${lead.id}`, { city: 'Milan', score: 7, full_name: 'Timeline Tom' }), 200);
    const tl = await timeline(agent.c, lead.id);
    const up = tl.filter((e) => e.kind === 'updated');
    assert.equal(up.length, 1);
    assert.deepEqual(up[0].data.changes.city, { old: 'Rome', new: 'Milan' });
    assert.deepEqual(up[0].data.changes.score, { old: 5, new: 7 });
    assert.ok(!('full_name' in up[0].data.changes), 'an unchanged field is not listed');
    assert.equal(up[0].actor_id, agent.id);
  });

  it('stage moves record stage_changed {from, to}', async () => {
    expectStatus(await agent.c.patch(`/api/v1/leads/${lead.id}`, { stage_id: ref.Quoted.id }), 200);
    const e = (await timeline(agent.c, lead.id)).find((x) => x.kind === 'stage_changed');
    assert.ok(e);
    assert.deepEqual({ from: e.data.from, to: e.data.to }, { from: ref.New.id, to: ref.Quoted.id });
  });

  it('comments: POST answers 201 and the timeline shows the comment with its icon and color', async () => {
    const r = await agent.c.post(`/api/v1/leads/${lead.id}/comments`, { body: 'Called, left a voicemail', icon: 'phone', color: '#ff8800' });
    expectStatus(r, 201, 'comment');
    const e = (await timeline(agent.c, lead.id)).find((x) => x.kind === 'comment');
    assert.ok(e, 'comment in timeline');
    assert.equal(e.data.body, 'Called, left a voicemail');
    assert.equal(e.data.icon, 'phone');
    assert.equal(e.data.color, '#ff8800');
    assert.equal(e.actor_id, agent.id);
    const bad = expectError(await agent.c.post(`/api/v1/leads/${lead.id}/comments`, { body: '' }), 422, 'validation_failed');
    assert.ok('body' in bad.fields);
  });

  it('tasks record task_created and task_done', async () => {
    const t = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/tasks`, { type: 'call', title: 'Ring', due_at: isoNow(DAY) }), 201);
    expectStatus(await agent.c.patch(`/api/v1/tasks/${t.id}`, { status: 'done' }), 200);
    const k = (await timeline(agent.c, lead.id)).map((e) => e.kind);
    assert.ok(k.includes('task_created'));
    assert.ok(k.includes('task_done'));
  });

  it('close lost records closed {outcome, reason_id, notes} and group_added; reopen records reopened', async () => {
    expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/close`, { outcome: 'lost', reason_id: ref.price.id, notes: 'budget' }), 200);
    expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/reopen`, { notes: 'second chance' }), 200);
    const tl = await timeline(agent.c, lead.id);
    const closed = tl.find((e) => e.kind === 'closed');
    assert.deepEqual({ outcome: closed.data.outcome, reason_id: closed.data.reason_id, notes: closed.data.notes },
      { outcome: 'lost', reason_id: ref.price.id, notes: 'budget' });
    const g = tl.find((e) => e.kind === 'group_added');
    assert.ok(g, 'group_added');
    assert.ok(JSON.stringify(g.data).includes(String(ref.live.id)), 'group_added names the group');
    assert.ok(tl.some((e) => e.kind === 'reopened'));
  });

  it('timeline items are unique, ordered consistently and each carries id/at/actor_id/kind/data', async () => {
    const tl = await timeline(agent.c, lead.id);
    const ids = tl.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    const asc = [...ids].sort((a, b) => a - b);
    const desc = [...asc].reverse();
    assert.ok(JSON.stringify(ids) === JSON.stringify(asc) || JSON.stringify(ids) === JSON.stringify(desc), 'ordered by id');
    for (const e of tl) {
      assert.match(e.at, RFC3339);
      assert.ok('actor_id' in e && 'data' in e && typeof e.kind === 'string');
    }
    const paged = await walk(agent.c, `/api/v1/leads/${lead.id}/timeline`, 2);
    assert.deepEqual(paged.map((e) => e.id), ids, 'paging the timeline gives the same items');
  });

  it('a deleted lead keeps no public timeline (404)', async () => {
    const l = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Deleted History' }), 201);
    expectStatus(await admin.c.del(`/api/v1/leads/${l.id}`), [200, 204]);
    expectError(await admin.c.get(`/api/v1/leads/${l.id}/timeline`), 404, 'not_found');
  });
});

describe('events feed', { timeout: FILE_TIMEOUT_MS }, () => {
  it('GET /events?after= answers the changes after the cursor, in order, with a next cursor', async () => {
    const start = await feed(admin.c, null);
    assert.ok(start.items.length > 0, 'earlier changes are in the feed');
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Feed Fiona', city: 'Oslo' }), 201);
    expectStatus(await agent.c.patch(`/api/v1/leads/${l.id}`, { city: 'Bergen' }), 200);
    expectStatus(await agent.c.post(`/api/v1/leads/${l.id}/comments`, { body: 'feed comment' }), 201);
    expectStatus(await agent.c.post(`/api/v1/leads/${l.id}/close`, { outcome: 'won' }), 200);

    const next = await feed(admin.c, start.cursor);
    const mine = next.items.filter((e) => e.lead_id === l.id);
    assert.deepEqual(mine.map((e) => e.kind).filter((k) => ['created', 'updated', 'comment', 'closed'].includes(k)),
      ['created', 'updated', 'comment', 'closed'], 'the changes in the order they happened');
    for (const e of next.items) {
      assert.equal(typeof e.id, 'number');
      assert.match(e.at, RFC3339);
      assert.ok('lead_id' in e && 'actor_id' in e && 'kind' in e && 'data' in e, 'event shape');
    }
    const up = mine.find((e) => e.kind === 'updated');
    assert.deepEqual(up.data.changes.city, { old: 'Oslo', new: 'Bergen' }, 'previous and new values');
    assert.equal(up.actor_id, agent.id);
    const ids = next.items.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'ascending ids');
    assert.ok(!start.items.some((e) => ids.includes(e.id)), 'nothing from before the cursor');

    // At the end: empty items and a cursor that still works.
    const empty = expectStatus(await admin.c.get(`/api/v1/events?after=${encodeURIComponent(next.cursor)}`), 200);
    assert.deepEqual(empty.items, []);
    assert.ok(empty.next_cursor, 'next_cursor present even when items are empty');
    expectStatus(await agent.c.patch(`/api/v1/leads/${l.id}`, { city: 'Trondheim' }), 200);
    const later = await feed(admin.c, empty.next_cursor);
    assert.equal(later.items.length, 1, 'exactly the one new change');
    assert.equal(later.items[0].lead_id, l.id);
  });

  it("a deleted lead's history stays in the events feed", async () => {
    const start = await feed(admin.c, null, 500);
    const l = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Audit Trail' }), 201);
    expectStatus(await admin.c.patch(`/api/v1/leads/${l.id}`, { city: 'Gone' }), 200);
    expectStatus(await admin.c.del(`/api/v1/leads/${l.id}`), [200, 204]);
    const all = await feed(admin.c, null, 500);
    const mine = all.items.filter((e) => e.lead_id === l.id).map((e) => e.kind);
    assert.ok(mine.includes('created') && mine.includes('updated'), `history kept after delete: ${mine}`);
    assert.ok(all.items.length > start.items.length);
  });

  it('paging the feed with a small limit gives every event exactly once, in order', async () => {
    const all = await feed(admin.c, null, 500);
    const small = await feed(admin.c, null, 3);
    assert.deepEqual(small.items.map((e) => e.id), all.items.map((e) => e.id));
  });

  it('an agent never sees events of leads it cannot see (the feed is refused with 403, or filtered)', async () => {
    const hidden = expectStatus(await w.users.other.c.post('/api/v1/leads', { full_name: 'Hidden From Agent' }), 201);
    const r = await agent.c.get('/api/v1/events?limit=500');
    if (r.status === 403) { expectError(r, 403, 'forbidden'); return; } // the feed may need a role that sees all leads
    const all = await feed(agent.c, null, 500);
    assert.ok(!all.items.some((e) => e.lead_id === hidden.id), "another agent's lead is not in my feed");
  });

  it('concurrent writes all reach the feed, in id order, none skipped by the cursor', async () => {
    const start = await feed(admin.c, null, 500);
    const leads = [];
    for (let i = 0; i < 5; i++) leads.push(expectStatus(await admin.c.post('/api/v1/leads', { full_name: `Burst ${i}` }), 201));
    const rs = await Promise.all(leads.flatMap((l) => [1, 2, 3, 4].map((n) =>
      admin.c.post(`/api/v1/leads/${l.id}/comments`, { body: `burst comment ${n}` }))));
    for (const r of rs) expectStatus(r, 201, 'parallel comment');
    const next = await feed(admin.c, start.cursor, 7);
    const comments = next.items.filter((e) => e.kind === 'comment' && leads.some((l) => l.id === e.lead_id));
    assert.equal(comments.length, 20, 'all 20 parallel comments are in the feed');
    const ids = next.items.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    assert.equal(new Set(ids).size, ids.length);
  });

  it('a poller following the feed while writes run in parallel misses nothing and sees nothing twice', async () => {
    const start = await feed(admin.c, null, 500);
    const leads = [];
    for (let i = 0; i < 4; i++) leads.push(expectStatus(await admin.c.post('/api/v1/leads', { full_name: `Poll ${i}` }), 201));
    let writing = true;
    const polled = [];
    let cursor = start.cursor;
    const poller = (async () => {
      for (;;) {
        const stillWriting = writing;
        const r = await admin.c.get(`/api/v1/events?limit=5&after=${encodeURIComponent(cursor)}`);
        const b = expectStatus(r, 200, 'poll');
        polled.push(...b.items);
        cursor = b.next_cursor;
        if (!stillWriting && b.items.length === 0) return;
      }
    })();
    const writers = [];
    for (let round = 0; round < 10; round++) {
      writers.push(...leads.map((l, i) => admin.c.post(`/api/v1/leads/${l.id}/comments`, { body: `poll ${round}-${i}` })));
      writers.push(...leads.map((l) => admin.c.patch(`/api/v1/leads/${l.id}`, { score: round + 1 })));
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const r of await Promise.all(writers)) expectStatus(r, [200, 201], 'parallel write');
    writing = false;
    await poller;
    const truth = (await feed(admin.c, start.cursor, 500)).items.map((e) => e.id);
    const got = polled.map((e) => e.id);
    assert.equal(new Set(got).size, got.length, 'the poller saw no event twice');
    assert.deepEqual([...got].sort((a, b) => a - b), [...truth].sort((a, b) => a - b), 'the poller saw every event');
    assert.ok(truth.length >= 80 + 4, `all writes are in the feed (${truth.length})`);
  });

  it('a malformed cursor answers 400 or 422', async () => {
    const r = await admin.c.get('/api/v1/events?after=%7Bgarbage');
    assert.ok([400, 422].includes(r.status), `got ${r.status}`);
    expectError(r, r.status, null);
  });
});
