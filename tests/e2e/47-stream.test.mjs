// 47-stream.test.mjs — the live stream (GET /api/v1/stream, Server-Sent Events): an agent sees
// the events of their own leads as they happen, in order (create, message, close); never another
// agent's; a manager sees the team's leads and each user their own notifications; Last-Event-ID resumes without a gap after a disconnect; more than four streams of one
// user are refused with 429; a server with streams open still stops promptly on SIGTERM.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, u, until, addUser, login, openStream } from './lib.mjs';

describe('live stream', () => {
  let w, agent, agent2, admin;
  before(async () => {
    w = await startWorld();
    ({ agent, agent2, admin } = w.users);
  });
  after(async () => { await w?.srv.stop(); });

  const newLead = async (c) => {
    const r = await c.c.post('/api/v1/leads', { full_name: `Stream ${u()}`, emails: [`s.${u()}@example.com`], country: 'US' });
    expectStatus(r, 201, 'create lead');
    return r.body;
  };

  it('delivers the events of the agent\'s own leads in order, and none of another agent\'s', async () => {
    const s = await openStream(w.srv, agent.token);
    assert.equal(s.status, 200);
    assert.match(s.headers['content-type'], /^text\/event-stream/);
    await until('connected', () => s.comments > 0);
    const theirs = await newLead(agent2);
    const lead = await newLead(agent);
    const m = await agent.c.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'email', subject: 'Hi', body: 'Hello' });
    expectStatus(m, 202, 'send');
    const closed = await agent.c.post(`/api/v1/leads/${lead.id}/close`, { outcome: 'won', value: 10 });
    expectStatus(closed, 200, 'close');
    const tl = await agent.c.get(`/api/v1/leads/${lead.id}/timeline?limit=100`);
    expectStatus(tl, 200, 'timeline');
    const want = tl.body.items.map((e) => e.id);
    await until('every event of the lead streamed', () => want.every((id) => s.events.some((e) => e.data.id === id)));
    // (the sender's own notifications come too, with their own numbering: entity "notification")
    const evs = s.events.filter((e) => e.data.entity !== 'notification');
    const got = evs.filter((e) => e.data.lead_id === lead.id).map((e) => e.data.id);
    assert.deepEqual(got.slice(0, want.length), want, 'the lead\'s events, in id order');
    assert.equal(new Set(got).size, got.length, 'each once');
    const ids = evs.map((e) => e.data.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'ordered by event id');
    assert.ok(!s.events.some((e) => e.data.lead_id === theirs.id), 'another agent\'s lead is not streamed');
    const one = s.events.find((e) => e.data.lead_id === lead.id);
    assert.equal(one.event, one.data.kind);
    assert.deepEqual(Object.keys(one.data).sort(), ['at', 'entity', 'entity_id', 'id', 'kind', 'lead_id']);
    assert.match(one.id, /^\d+\.\d+$/);
    const kinds = s.events.filter((e) => e.data.lead_id === lead.id).map((e) => e.event);
    assert.ok(kinds.some((k) => /message/.test(k)), `a message event among ${kinds}`);
    assert.ok(kinds.some((k) => /close/.test(k)), `a close event among ${kinds}`);
    s.close();
  });

  it('a manager sees the team\'s leads; the caller\'s own notifications come as entity "notification"', async () => {
    const mgr = await openStream(w.srv, w.users.manager.token);
    const other = await openStream(w.srv, w.users.other.token);
    const mine = await openStream(w.srv, agent.token);
    await until('connected', () => [mgr, other, mine].every((s) => s.comments > 0));
    const lead = await newLead(agent);
    // no SMTP server is set up: the message fails and its sender is notified
    const m = await agent.c.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'email', subject: 'Hi', body: 'Hello' });
    expectStatus(m, 202, 'send');
    await until('the failure notification', () => mine.events.some((e) => e.data.entity === 'notification' && e.data.lead_id === lead.id));
    const n = mine.events.find((e) => e.data.entity === 'notification');
    assert.equal(n.event, 'message_failed');
    assert.equal(n.data.kind, 'message_failed');
    await until('the manager sees the agent\'s lead', () => mgr.events.some((e) => e.data.lead_id === lead.id && e.data.kind === 'message_failed'));
    assert.ok(!mgr.events.some((e) => e.data.entity === 'notification' && e.data.lead_id === lead.id), 'not the agent\'s notification');
    assert.ok(!other.events.some((e) => e.data.lead_id === lead.id), 'an agent outside the team sees nothing of it');
    for (const s of [mgr, other, mine]) s.close();
  });

  it('resumes from Last-Event-ID without gaps', async () => {
    const s1 = await openStream(w.srv, admin.token);
    await until('connected', () => s1.comments > 0);
    const a = await newLead(agent);
    await until('first event', () => s1.events.some((e) => e.data.lead_id === a.id));
    const last = s1.events[s1.events.length - 1].id;
    s1.close();
    // changes while disconnected
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await newLead(agent2));
    const s2 = await openStream(w.srv, admin.token, { 'Last-Event-ID': last });
    assert.equal(s2.status, 200);
    await until('the missed events', () => made.every((l) => s2.events.some((e) => e.data.lead_id === l.id)));
    const lastEvent = Number(last.split('.')[0]);
    const firstId = s2.events[0].data.id;
    const feed = await admin.c.get(`/api/v1/events?after=${lastEvent}&limit=1000`);
    expectStatus(feed, 200, 'events feed');
    const expected = feed.body.items.filter((e) => e.lead_id).map((e) => e.id);
    const seen = s2.events.map((e) => e.data.id).filter((id) => id <= expected[expected.length - 1]);
    assert.equal(firstId, expected[0], 'starts right after the last event seen');
    assert.deepEqual(seen, expected, 'no gap, no repeat');
    s2.close();
  });

  it('refuses a fifth stream of one user with 429', async () => {
    const email = `streams.${u()}@e2e.test`;   // a user of its own: no stream of another test counts
    await addUser(w.srv, { email, name: 'Many Streams', role: 'agent' });
    const c = await login(w.srv, email);
    const open = [];
    for (let i = 0; i < 4; i++) {
      const s = await openStream(w.srv, c.token);
      assert.equal(s.status, 200, `stream ${i + 1}`);
      open.push(s);
    }
    const fifth = await openStream(w.srv, c.token);
    assert.equal(fifth.status, 429);
    await until('the refusal body', () => fifth.ended);
    assert.equal(JSON.parse(fifth.text).error.code, 'rate_limited');
    for (const s of open) s.close();
  });

  it('a bad Last-Event-ID is a 400 in the contract\'s shape', async () => {
    const r = await openStream(w.srv, agent2.token, { 'Last-Event-ID': 'abc' });
    assert.equal(r.status, 400);
    await until('body', () => r.ended);
    assert.equal(JSON.parse(r.text).error.code, 'bad_request');
  });

  it('the server drains on SIGTERM with streams open', async () => {
    const streams = [await openStream(w.srv, agent.token), await openStream(w.srv, agent2.token)];
    await until('connected', () => streams.every((s) => s.comments > 0));
    const t0 = Date.now();
    const srv = w.srv;
    w = null;
    await srv.stop();   // throws unless the exit is clean
    assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
    await until('streams ended', () => streams.every((s) => s.ended), 3000);
  });
});
