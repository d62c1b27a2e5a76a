// 05-leads-list: GET /api/v1/leads — every filter, the sort variants, total=1 and cursor
// pagination (walk all pages: no duplicates, nothing missed, stable under ties).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorld, expectStatus, items, byName, soft, isoNow, DAY, HOUR, FILE_TIMEOUT_MS, walk, sleep,
} from './lib.mjs';

let w;
let admin;
let agent;
let agent2;
const L = {};        // the leads of the fixture, by key
const ref = {};      // sources, locations, partners, groups, stages

async function mk(c, body) {
  return expectStatus(await c.post('/api/v1/leads', body), 201, `create ${body.full_name}`);
}

before(async () => {
  w = await startWorld();
  ({ admin, agent, agent2 } = w.users);
  const post = (path, body) => soft(`POST ${path}`, async () => expectStatus(await admin.c.post(path, body), 201, `POST ${path}`));
  ref.s1 = await post('/api/v1/sources', { name: 'List Source One' });
  ref.s2 = await post('/api/v1/sources', { name: 'List Source Two' });
  ref.loc = await post('/api/v1/locations', { name: 'List Location' });
  ref.partner = await post('/api/v1/partners', { name: 'List Partner' });
  ref.group = await post('/api/v1/groups', { name: 'List Group' });
  const list = (path) => soft(`GET ${path}`, async () => items(await admin.c.get(path)));
  ref.contacted = byName((await list('/api/v1/stages')) || [], 'Contacted');
  ref.live = byName((await list('/api/v1/groups')) || [], 'Live Leads');
  ref.price = byName((await list('/api/v1/lost-reasons')) || [], 'Price');

  // Agent's open leads: A (10 days old, warning), B (new), C (60 days old, breached).
  L.a = await mk(admin.c, {
    full_name: 'Zed Alpha', owner_id: agent.id, source_id: ref.s1?.id, location_id: ref.loc?.id,
    stage_id: ref.contacted?.id, score: 10, notes: 'mentions a secretword here', created_at: isoNow(-10 * DAY),
  });
  L.b = await mk(admin.c, {
    full_name: 'Amy Beta', owner_id: agent.id, source_id: ref.s2?.id, partner_id: ref.partner?.id, score: 50,
    request: 'wants solar panels on the barn', emails: ['amy@beta.example'], phones: ['+1 415 555 0177'],
  });
  L.c = await mk(admin.c, {
    full_name: 'Mia Gamma', owner_id: agent.id, company: 'Quasar Widgets', score: 30, created_at: isoNow(-60 * DAY),
  });
  // Agent's closed leads.
  L.d = await mk(admin.c, { full_name: 'Bob Delta', owner_id: agent.id });
  L.e = await mk(admin.c, { full_name: 'Eve Epsilon', owner_id: agent.id });
  await soft('close D lost', async () => expectStatus(await admin.c.post(`/api/v1/leads/${L.d.id}/close`,
    { outcome: 'lost', reason_id: ref.price?.id }), 200, 'close D lost'));
  await soft('close E treated', async () => expectStatus(await admin.c.post(`/api/v1/leads/${L.e.id}/close`,
    { outcome: 'treated', groups: [ref.group?.id] }), 200, 'close E treated'));
  // Other owners.
  L.f = await mk(admin.c, { full_name: 'Other Owner Lead', owner_id: agent2.id });
  L.g = await mk(admin.c, { full_name: 'Admin Own Lead' });
  // Distinct updated_at order: A touched after B, C touched last.
  await sleep(1100);
  await soft('touch A', async () => expectStatus(await admin.c.patch(`/api/v1/leads/${L.a.id}`, { city: 'Touched' }), 200));
  await sleep(1100);
  await soft('touch C', async () => expectStatus(await admin.c.patch(`/api/v1/leads/${L.c.id}`, { city: 'Touched' }), 200));
});
after(async () => { if (w) await w.srv.stop(); });

const ids = async (c, query) => {
  const all = await walk(c, `/api/v1/leads${query ? `?${query}` : ''}`, 500);
  return all.map((l) => l.id);
};
const set = (arr) => [...arr].sort((x, y) => x - y);
const expectSet = async (c, query, keys) => {
  assert.deepEqual(set(await ids(c, query)), set(keys.map((k) => L[k].id)), `?${query} → ${keys.join(',')}`);
};
const order = async (c, query) => {
  const got = (await walk(c, `/api/v1/leads?${query}`, 500)).map((l) => l.id);
  return got.map((id) => Object.keys(L).find((k) => L[k].id === id) || `#${id}`);
};

describe('lead lists', { timeout: FILE_TIMEOUT_MS }, () => {
  it('default list is my open leads (status=open, owner=me)', async () => {
    await expectSet(agent.c, '', ['a', 'b', 'c']);
    await expectSet(admin.c, '', ['g']);
  });

  it('status=open|closed|all', async () => {
    await expectSet(agent.c, 'status=open', ['a', 'b', 'c']);
    await expectSet(agent.c, 'status=closed', ['d', 'e']);
    await expectSet(agent.c, 'status=all', ['a', 'b', 'c', 'd', 'e']);
  });

  it('owner=me|any|<id>', async () => {
    await expectSet(admin.c, 'owner=me&status=all', ['g']);
    await expectSet(admin.c, 'owner=any&status=all', ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    await expectSet(admin.c, `owner=${agent2.id}`, ['f']);
    await expectSet(admin.c, `owner=${agent.id}&status=closed`, ['d', 'e']);
  });

  it('stage, source, location, partner filters', async () => {
    await expectSet(agent.c, `stage=${ref.contacted.id}`, ['a']);
    await expectSet(agent.c, `source=${ref.s1.id}`, ['a']);
    await expectSet(agent.c, `source=${ref.s2.id}`, ['b']);
    await expectSet(agent.c, `location=${ref.loc.id}`, ['a']);
    await expectSet(agent.c, `partner=${ref.partner.id}`, ['b']);
  });

  it('outcome and group filters', async () => {
    await expectSet(agent.c, 'status=all&outcome=lost', ['d']);
    await expectSet(agent.c, 'status=all&outcome=treated', ['e']);
    await expectSet(agent.c, 'status=all&outcome=won', []);
    await expectSet(agent.c, `status=all&group=${ref.group.id}`, ['e']);
    await expectSet(agent.c, `status=all&group=${ref.live.id}`, ['d']);
  });

  it('q searches name, company, emails, phones, request and notes, case-insensitively', async () => {
    await expectSet(agent.c, 'q=Gamma', ['c']);
    await expectSet(agent.c, 'q=quasar', ['c']);
    await expectSet(agent.c, 'q=SOLAR', ['b']);
    await expectSet(agent.c, `q=${encodeURIComponent('amy@beta.example')}`, ['b']);
    await expectSet(agent.c, `q=${encodeURIComponent('+14155550177')}`, ['b']);
    await expectSet(agent.c, 'q=secretword', ['a']);
    await expectSet(agent.c, 'q=nothingmatchesthis', []);
    await expectSet(agent.c, 'q=Epsilon&status=all', ['e']);
  });

  it('created_from / created_to bound created_at', async () => {
    await expectSet(agent.c, `created_from=${isoNow(-20 * DAY)}&created_to=${isoNow(-5 * DAY)}`, ['a']);
    await expectSet(agent.c, `created_to=${isoNow(-30 * DAY)}`, ['c']);
    await expectSet(agent.c, `created_from=${isoNow(-1 * HOUR)}`, ['b']);
  });

  it('closed_from / closed_to bound closed_at', async () => {
    await expectSet(agent.c, `status=all&closed_from=${isoNow(-1 * HOUR)}`, ['d', 'e']);
    await expectSet(agent.c, `status=all&closed_from=${isoNow(-1 * HOUR)}&closed_to=${isoNow(HOUR)}`, ['d', 'e']);
    await expectSet(agent.c, `status=all&closed_to=${isoNow(-1 * DAY)}`, []);
  });

  it('sla=ok|warning|breached (warn after 5 days open, breach after 30)', async () => {
    await expectSet(agent.c, 'sla=ok', ['b']);
    await expectSet(agent.c, 'sla=warning', ['a']);
    await expectSet(agent.c, 'sla=breached', ['c']);
    const a = expectStatus(await agent.c.get(`/api/v1/leads/${L.a.id}`), 200);
    assert.equal(a.sla, 'warning');
    assert.ok(a.age_days >= 9 && a.age_days <= 11, `age_days ~10, got ${a.age_days}`);
    const c = expectStatus(await agent.c.get(`/api/v1/leads/${L.c.id}`), 200);
    assert.equal(c.sla, 'breached');
  });

  it('sort variants order the list', async () => {
    assert.deepEqual(await order(agent.c, ''), ['b', 'a', 'c'], 'default -created_at');
    assert.deepEqual(await order(agent.c, 'sort=-created_at'), ['b', 'a', 'c']);
    assert.deepEqual(await order(agent.c, 'sort=created_at'), ['c', 'a', 'b']);
    assert.deepEqual(await order(agent.c, 'sort=full_name'), ['b', 'c', 'a']);
    assert.deepEqual(await order(agent.c, 'sort=score'), ['a', 'c', 'b']);
    assert.deepEqual(await order(agent.c, 'sort=-score'), ['b', 'c', 'a']);
    assert.deepEqual(await order(agent.c, 'sort=-updated_at'), ['c', 'a', 'b']);
    assert.deepEqual(await order(agent.c, 'sort=updated_at'), ['b', 'a', 'c']);
  });

  it('total=1 adds the count of all matches, whatever the page size', async () => {
    const r = await agent.c.get('/api/v1/leads?total=1&limit=1');
    assert.equal(items(r).length, 1);
    assert.equal(r.body.total, 3);
    assert.notEqual(r.body.next_cursor, null, 'more pages remain');
    const r2 = await agent.c.get('/api/v1/leads?total=1&status=all&limit=2');
    assert.equal(r2.body.total, 5);
    const r3 = await agent.c.get('/api/v1/leads');
    assert.ok(!('total' in r3.body), 'no total unless asked');
    const last = await agent.c.get('/api/v1/leads?limit=50');
    assert.equal(last.body.next_cursor, null, 'next_cursor is null on the last page');
  });

  it('cursor pagination walks every lead exactly once, also when created_at ties and for every sort', async () => {
    const made = [];
    // Created quickly, many in the same second: order must still be total.
    for (let i = 0; i < 23; i++) {
      const name = `Page ${String.fromCharCode(65 + (i % 26))}${String(i).padStart(2, '0')}`;
      made.push((await mk(agent2.c, { full_name: name, score: i % 3 })).id);
    }
    const want = set([...made, L.f.id]);
    for (const sort of ['-created_at', 'created_at', 'full_name', 'score', '-score', 'updated_at', '-updated_at']) {
      for (const limit of [1, 4, 7]) {
        const got = (await walk(agent2.c, `/api/v1/leads?sort=${sort}`, limit)).map((l) => l.id);
        assert.equal(new Set(got).size, got.length, `no duplicates (sort=${sort}, limit=${limit})`);
        assert.deepEqual(set(got), want, `nothing missed (sort=${sort}, limit=${limit})`);
      }
    }
    const desc = await walk(agent2.c, '/api/v1/leads?sort=-created_at', 5);
    for (let i = 1; i < desc.length; i++) {
      assert.ok(Date.parse(desc[i - 1].created_at) >= Date.parse(desc[i].created_at), '-created_at is non-increasing across pages');
    }
    const byScore = await walk(agent2.c, '/api/v1/leads?sort=-score', 3);
    for (let i = 1; i < byScore.length; i++) assert.ok(byScore[i - 1].score >= byScore[i].score, '-score non-increasing');
  });

  it('a cursor stays true while leads are added and deleted between pages (no duplicates, nothing skipped)', async () => {
    const c = w.users.other.c;
    const made = [];
    for (let i = 0; i < 12; i++) made.push((await mk(c, { full_name: `Shift ${String(i).padStart(2, '0')}` })).id);
    for (const sort of ['-created_at', 'full_name']) {
      const seen = [];
      let r = await c.get(`/api/v1/leads?sort=${sort}&limit=4`);
      seen.push(...items(r).map((l) => l.id));
      // Between pages: a new lead at the head of the order, and a deletion of one already seen.
      const fresh = (await mk(c, { full_name: `AAA Head ${sort}` })).id;
      const gone = seen[0];
      expectStatus(await admin.c.del(`/api/v1/leads/${gone}`), [200, 204], 'delete between pages');
      while (r.body.next_cursor) {
        r = await c.get(`/api/v1/leads?sort=${sort}&limit=4&cursor=${encodeURIComponent(r.body.next_cursor)}`);
        seen.push(...items(r).map((l) => l.id));
      }
      assert.equal(new Set(seen).size, seen.length, `no duplicates (sort=${sort})`);
      const before = made.filter((id) => id !== gone && !seen.slice(0, 4).includes(id));
      for (const id of before) assert.ok(seen.includes(id), `lead ${id} that existed before was not skipped (sort=${sort})`);
      made.splice(made.indexOf(gone), 1);
      made.push(fresh);
    }
  });

  it('q with quotes, operators and non-ASCII text answers normally (never 500) and finds what it should', async () => {
    const c = w.users.manager.c;
    const obrien = await mk(c, { full_name: "Seán O'Brien", company: 'Ångström & Co' });
    const wild = await mk(c, { full_name: 'Wildcard Tester', request: 'needs 100% uptime (24/7) - "gold" plan' });
    for (const q of ['"', "'", '*', 'AND', 'OR NOT', '(', ')', 'a"b', "' OR 1=1 --", '%', '_', '\\', 'NEAR(', '-gold', '^x', ':', '{}']) {
      const r = await c.get(`/api/v1/leads?q=${encodeURIComponent(q)}`);
      assert.ok(r.status === 200 || r.status === 422, `q=${q}: ${r.status} ${r.text.slice(0, 200)}`);
      if (r.status === 200) assert.ok(Array.isArray(r.body.items));
    }
    const find = async (q) => (await walk(c, `/api/v1/leads?q=${encodeURIComponent(q)}`, 500)).map((l) => l.id);
    assert.deepEqual(await find("O'Brien"), [obrien.id], "q=O'Brien");
    assert.deepEqual(await find('Ångström'), [obrien.id], 'q=Ångström');
    assert.deepEqual(await find('ångström'), [obrien.id], 'q=ångström (case-insensitive beyond ASCII)');
    assert.deepEqual(await find('"gold"'), [wild.id], 'q="gold"');
    const g = expectStatus(await c.get(`/api/v1/leads/${obrien.id}`), 200);
    assert.equal(g.full_name, "Seán O'Brien", 'UTF-8 round trip');
    assert.equal(g.company, 'Ångström & Co');
  });

  it('limit defaults to 50 and caps at 500', async () => {
    for (let i = 0; i < 30; i++) await mk(admin.c, { full_name: `Bulk Filler ${i}` });
    const all = await admin.c.get('/api/v1/leads?owner=any&status=all&total=1');
    const n = all.body.total;
    assert.ok(n > 50, `fixture has more than 50 leads (${n})`);
    assert.equal(items(all).length, 50, 'default page is 50');
    const big = await admin.c.get('/api/v1/leads?owner=any&status=all&limit=10000');
    if (big.status === 200) assert.ok(big.body.items.length <= 500, 'never more than 500');
    else assert.ok([400, 422].includes(big.status), `limit over max: ${big.status}`);
  });
});
