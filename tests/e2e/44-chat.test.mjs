// 44-chat.test.mjs — the public web chat: a visitor starts a chat (a new lead from the "Chat"
// source, or the lead that has that e-mail), writes and reads with the chat's token (another
// token, or none, opens nothing); an agent answers with the ordinary messages call and the answer
// is at once `sent` and visible to the visitor; the visitor leaving closes the thread (by "lead");
// a chat idle longer than chat_idle_minutes is closed by the sweep (time moved on with
// LEADPATH_TIME_OFFSET); CORS answers only the origins in chat_origins; a filled honeypot stores
// nothing; too many calls from one address answer 429; the widget script is served.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startWorld, startServer, login, client, expectError, expectStatus, items, until, u, request, FILE_TIMEOUT_MS } from './lib.mjs';

const SITE = 'https://www.fibre-and-co.test';
/** expectStatus, answering the whole response (headers too). */
const want = (r, status, what) => { expectStatus(r, status, what); return r; };

describe('web chat', { timeout: FILE_TIMEOUT_MS }, () => {
  let w, admin, agent;
  const extra = [];
  before(async () => {
    w = await startWorld({ keepDir: true });
    admin = w.users.admin.c;
    agent = w.users.agent.c;
    want(await admin.patch('/api/v1/settings', { chat_origins: [SITE], inbound_owner_id: w.users.agent.id }), 200);
  });
  after(async () => {
    for (const s of extra) await s.stop().catch(() => {});
    await w?.srv.stop().catch(() => {});
    if (w) rmSync(w.srv.dir, { recursive: true, force: true });
  });
  const pub = (method, path, body, headers = {}) => request(w.srv, method, path, { body, headers });
  const withToken = (t, more = {}) => ({ 'X-Leadpath-Chat-Token': t, ...more });

  it('starts a chat as a new lead, messages both ways, the visitor leaves', async () => {
    const email = `visitor.${u()}@example.com`;
    const start = want(await pub('POST', '/public/v1/chat', { name: 'Vera <b>Visitor</b>', email, message: 'Do you deliver to Oslo?' },
      { Origin: SITE }), 201, 'start');
    assert.equal(start.headers['access-control-allow-origin'], SITE);
    assert.ok(Number.isInteger(start.body.chat_id));
    assert.match(start.body.token, /^[0-9a-f]{64}$/);
    const { chat_id: id, token } = start.body;

    // the lead: new, from the Chat source, owned by inbound_owner_id, with the chat thread
    const found = items(await admin.get(`/api/v1/leads?owner=any&q=${encodeURIComponent(email)}`));
    assert.equal(found.length, 1, 'one lead with that e-mail');
    const lead = found[0];
    assert.equal(lead.full_name, 'Vera <b>Visitor</b>');
    assert.equal(lead.owner_id, w.users.agent.id);
    const sources = items(await admin.get('/api/v1/sources'));
    assert.equal(lead.source_id, sources.find((s) => s.name === 'Chat').id);
    const threads = items(await agent.get(`/api/v1/leads/${lead.id}/threads`));
    assert.deepEqual(threads.map((t) => [t.id, t.channel, t.status]), [[id, 'chat', 'open']]);

    // the visitor writes again; the agent answers from the lead page (the ordinary call)
    const m2 = want(await pub('POST', `/public/v1/chat/${id}/messages`, { message: 'And to Bergen?' }, withToken(token)), 201);
    assert.equal(m2.body.from, 'visitor');
    assert.equal(m2.body.body, 'And to Bergen?');
    const ans = want(await agent.post(`/api/v1/leads/${lead.id}/messages`, { thread_id: id, body: 'Yes, both <3' }), 202, 'answer');
    assert.equal(ans.body.channel, 'chat');
    assert.equal(ans.body.status, 'sent', 'a chat answer is delivered by being stored');
    assert.ok(ans.body.sent_at);
    // no delivery job for it: the status stays sent
    const jobs = items(await admin.get('/api/v1/jobs?limit=500'));
    assert.ok(!jobs.some((j) => j.kind === 'message' && j.ref === `message:${ans.body.id}`), 'no message job for a chat answer');

    const seen = want(await pub('GET', `/public/v1/chat/${id}/messages`, undefined, withToken(token)), 200);
    assert.deepEqual(seen.body.items.map((m) => [m.from, m.body]),
      [['visitor', 'Do you deliver to Oslo?'], ['visitor', 'And to Bergen?'], ['agent', 'Yes, both <3']]);
    assert.equal(seen.body.items[2].author_name, 'Alice Agent');
    assert.equal(seen.body.items[0].author_name, null);

    // the agent's view has both directions too
    const agentView = items(await agent.get(`/api/v1/threads/${id}/messages`));
    assert.deepEqual(agentView.map((m) => [m.direction, m.status]), [['in', 'received'], ['in', 'received'], ['out', 'sent']]);

    // the visitor leaves: the thread closes, by the lead; leaving twice is fine; writing then is 409
    want(await pub('POST', `/public/v1/chat/${id}/close`, undefined, withToken(token)), 204);
    want(await request(w.srv, 'POST', `/public/v1/chat/${id}/close?token=${token}`), 204, 'again, as sendBeacon sends it');
    const closed = items(await agent.get(`/api/v1/leads/${lead.id}/threads`))[0];
    assert.equal(closed.status, 'closed');
    assert.equal(closed.closed_by, null, 'closed by the visitor, not a user');
    const tl = items(await agent.get(`/api/v1/leads/${lead.id}/timeline?limit=100`));
    const ev = tl.filter((e) => e.kind === 'thread_closed');
    assert.equal(ev.length, 1, 'one thread_closed event');
    assert.equal(ev[0].data.by, 'lead');
    assert.equal(ev[0].data.thread_id, id);
    expectError(await pub('POST', `/public/v1/chat/${id}/messages`, { message: 'hello?' }, withToken(token)), 409, 'conflict');
    expectError(await agent.post(`/api/v1/leads/${lead.id}/messages`, { thread_id: id, body: 'late' }), 409, 'conflict');
  });

  it('joins the lead that has the e-mail; a token opens only its own chat', async () => {
    const email = `known.${u()}@example.com`;
    const lead = want(await agent.post('/api/v1/leads', { full_name: 'Known Person', emails: [email] }), 201).body;
    const a = want(await pub('POST', '/public/v1/chat', { name: 'K', email: email.toUpperCase(), message: 'hi' }), 201).body;
    const b = want(await pub('POST', '/public/v1/chat', { name: 'Other', message: 'hello from b' }), 201).body;
    const threads = items(await agent.get(`/api/v1/leads/${lead.id}/threads`));
    assert.deepEqual(threads.map((t) => t.id), [a.chat_id], 'the chat joined the known lead');
    // b's token on a's chat, a wrong token, no token
    expectError(await pub('GET', `/public/v1/chat/${a.chat_id}/messages`, undefined, withToken(b.token)), 404, 'not_found');
    expectError(await pub('GET', `/public/v1/chat/${a.chat_id}/messages`, undefined, withToken('0'.repeat(64))), 404, 'not_found');
    expectError(await pub('POST', `/public/v1/chat/${a.chat_id}/messages`, { message: 'x' }, withToken(b.token)), 404, 'not_found');
    expectError(await pub('POST', `/public/v1/chat/${a.chat_id}/close`, undefined, withToken(b.token)), 404, 'not_found');
    expectError(await pub('GET', `/public/v1/chat/${a.chat_id}/messages`), 401, 'unauthorized');
    // an e-mail thread's id is no chat
    const mine = want(await pub('GET', `/public/v1/chat/${a.chat_id}/messages`, undefined, withToken(a.token)), 200);
    assert.deepEqual(mine.body.items.map((m) => m.body), ['hi']);
    assert.equal(items(await agent.get(`/api/v1/leads/${lead.id}/threads`))[0].status, 'open', 'nothing closed by a wrong token');
    // an agent cannot start a chat: it is the visitor's
    const none = want(await agent.post('/api/v1/leads', { full_name: 'No Chat' }), 201).body;
    expectError(await agent.post(`/api/v1/leads/${none.id}/messages`, { channel: 'chat', body: 'hi' }), 422, 'validation_failed');
  });

  it('refuses bad input, long messages, and a filled honeypot stores nothing', async () => {
    const count = async () => (await admin.get('/api/v1/leads?owner=any&status=all&total=1&limit=1')).body.total;
    const before = await count();
    expectError(await pub('POST', '/public/v1/chat', { email: 'a@b.test', message: 'hi' }), 422, 'validation_failed');
    expectError(await pub('POST', '/public/v1/chat', { name: 'N', email: 'not-an-email', message: 'hi' }), 422, 'validation_failed');
    expectError(await pub('POST', '/public/v1/chat', { name: 'N', message: '' }), 422, 'validation_failed');
    expectError(await pub('POST', '/public/v1/chat', { name: 'N', message: 'x'.repeat(4097) }), 422, 'validation_failed');
    expectError(await pub('POST', '/public/v1/chat', { name: 'N', message: 'x'.repeat(20000) }), 413, 'too_large');
    const bot = want(await pub('POST', '/public/v1/chat', { name: 'Bot', email: `bot.${u()}@spam.test`, message: 'buy', website: 'http://spam.test' }), 201);
    assert.ok(Number.isInteger(bot.body.chat_id) && bot.body.token, 'the bot gets a believable answer');
    expectError(await pub('GET', `/public/v1/chat/${bot.body.chat_id}/messages`, undefined, withToken(bot.body.token)), 404, 'not_found');
    assert.equal(await count(), before, 'no lead was made');
    const ok = want(await pub('POST', '/public/v1/chat', { name: 'N', message: 'x'.repeat(4096) }), 201, 'exactly 4 KB');
    assert.ok(ok.body.chat_id);
  });

  it('answers CORS only for the configured origins', async () => {
    const pre = await request(w.srv, 'OPTIONS', '/public/v1/chat', { headers: { Origin: SITE, 'Access-Control-Request-Method': 'POST' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], SITE);
    assert.match(pre.headers['access-control-allow-headers'], /X-Leadpath-Chat-Token/);
    const bad = await request(w.srv, 'OPTIONS', '/public/v1/chat', { headers: { Origin: 'https://evil.test' } });
    assert.equal(bad.status, 403);
    assert.equal(bad.headers['access-control-allow-origin'], undefined);
    const count = async () => (await admin.get('/api/v1/leads?owner=any&status=all&total=1&limit=1')).body.total;
    const before = await count();
    const refused = await pub('POST', '/public/v1/chat', { name: 'E', message: 'from elsewhere' }, { Origin: 'https://evil.test' });
    expectError(refused, 403, 'forbidden');
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    assert.equal(await count(), before, 'a refused origin stores nothing');
    expectError(await admin.patch('/api/v1/settings', { chat_origins: ['not an origin'] }), 422, 'validation_failed');
    // the widget script is served to any page
    const js = await request(w.srv, 'GET', '/public/v1/widget.js');
    assert.equal(js.status, 200);
    assert.match(js.headers['content-type'], /javascript/);
    assert.match(js.text, /sendBeacon/);
    assert.ok(!/innerHTML/.test(js.text), 'the widget renders text only');
  });

  it('closes an idle chat through the sweep, and rate-limits one address', async () => {
    const c = want(await pub('POST', '/public/v1/chat', { name: 'Idle Ivan', message: 'anyone?' }), 201).body;
    const fresh = want(await pub('POST', '/public/v1/chat', { name: 'Busy Bea', message: 'hi' }), 201).body;
    want(await admin.patch('/api/v1/settings', { chat_idle_minutes: 45 }), 200);
    await w.srv.stop();
    // 40 minutes on: not idle long enough
    const mid = await startServer({ db: w.srv.db, args: ['--sweep-seconds', '1'], env: { LEADPATH_TIME_OFFSET: String(40 * 60) } });
    extra.push(mid);
    const adminM = client(mid, (await login(mid, w.users.admin.email)).token);
    // Bea writes now (40 minutes on), so her chat is not idle later
    want(await request(mid, 'POST', `/public/v1/chat/${fresh.chat_id}/messages`, { body: { message: 'still here' }, headers: withToken(fresh.token) }), 201);
    await new Promise((r) => setTimeout(r, 2500));
    const status = async (srv, cc, id) => (await request(srv, 'GET', `/public/v1/chat/${id}/messages`, { headers: withToken(cc) })).status;
    const thread = async (c2, id) => (await c2.get(`/api/v1/threads/${id}/messages`)).status;
    assert.equal(await thread(adminM, c.chat_id), 200);
    const leadOf = async (c2, name) => items(await c2.get(`/api/v1/leads?owner=any&q=${encodeURIComponent(name)}`))[0];
    const ivan = await leadOf(adminM, 'Idle Ivan');
    assert.equal(items(await adminM.get(`/api/v1/leads/${ivan.id}/threads`))[0].status, 'open', 'not idle for 45 minutes yet');
    await mid.stop();
    // 50 minutes on: Ivan's chat idled 50 minutes, Bea's 10
    const later = await startServer({ db: w.srv.db, args: ['--sweep-seconds', '1'], env: { LEADPATH_TIME_OFFSET: String(50 * 60) } });
    extra.push(later);
    const adminL = client(later, (await login(later, w.users.admin.email)).token);
    await until('the idle chat closed', async () =>
      items(await adminL.get(`/api/v1/leads/${ivan.id}/threads`))[0].status === 'closed' || null);
    const ev = items(await adminL.get(`/api/v1/leads/${ivan.id}/timeline?limit=100`)).filter((e) => e.kind === 'thread_closed');
    assert.equal(ev.length, 1);
    assert.equal(ev[0].data.by, 'idle');
    const bea = await leadOf(adminL, 'Busy Bea');
    assert.equal(items(await adminL.get(`/api/v1/leads/${bea.id}/threads`))[0].status, 'open', 'a chat with a recent message stays open');
    assert.equal(await status(later, c.token, c.chat_id), 200, 'the visitor still reads a closed chat');

    // one address, many calls: past the burst, 429 in the error shape (a fresh server, fresh buckets)
    let limited = null;
    for (let i = 0; i < 60 && !limited; i++) {
      const r = await request(later, 'GET', `/public/v1/chat/${c.chat_id}/messages`, { headers: withToken(c.token) });
      if (r.status === 429) limited = r;
      else assert.equal(r.status, 200);
    }
    assert.ok(limited, 'rate limited within 60 quick calls');
    expectError(limited, 429, 'rate_limited');
    assert.ok(limited.headers['retry-after']);
    // the API itself is not limited by it
    want(await adminL.get('/api/v1/me'), 200);
  });
});
