// 42-contract-conversations.test.mjs — api/openapi.yaml says what the server does, for
// Conversations: every route the server serves is documented and not marked planned, and a thread,
// a message, a template, an inbound answer and the settings come back with exactly the keys
// (and types) the document lists. The schemas are read from api/openapi.yaml itself, so a change
// on either side that the other does not follow fails here instead of drifting silently.
//
// No YAML library is installed for the e2e tests, so the document is read with a small line
// reader that relies on the layout openapi.yaml keeps: paths at two spaces, their methods at four;
// schemas under `components: schemas:` at four spaces, `required: [...]` in flow style and one
// property per line (or a property block) at eight.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startWorld, expectError, expectStatus, items, u, request } from './lib.mjs';

const DOC = readFileSync(join(ROOT, 'api', 'openapi.yaml'), 'utf8');
const LINES = DOC.split('\n');
const SECRET = 'contract-inbound-secret-0042';

// ---- a reader for the layout of openapi.yaml ----------------------------------------------

const norm = (p) => p.replace(/\{[^}]+\}/g, '{}');

/** path -> method -> {planned} for every operation under `paths:`. */
function operations() {
  const ops = new Map();
  let path = null, method = null, inPaths = false;
  for (const l of LINES) {
    if (/^paths:\s*$/.test(l)) { inPaths = true; continue; }
    if (inPaths && /^\S/.test(l)) break;
    if (!inPaths) continue;
    let m;
    if ((m = l.match(/^ {2}(\/\S*):\s*$/))) { path = norm(m[1]); ops.set(path, ops.get(path) || new Map()); method = null; continue; }
    if ((m = l.match(/^ {4}(get|post|patch|put|delete):\s*$/)) && path) { method = m[1].toUpperCase(); ops.get(path).set(method, { planned: false }); continue; }
    if (method && /^ {6}x-leadpath-status:\s*planned\s*$/.test(l)) ops.get(path).get(method).planned = true;
  }
  return ops;
}

/** The lines of components.schemas[name] (its body, without the name line). */
function schemaLines(name) {
  const start = LINES.findIndex((l) => /^ {2}schemas:\s*$/.test(l));
  assert.ok(start > 0, 'openapi.yaml has components.schemas');
  const at = LINES.findIndex((l, i) => i > start && l === `    ${name}:`);
  assert.ok(at > 0, `schema ${name} is in openapi.yaml`);
  const body = [];
  for (let i = at + 1; i < LINES.length; i++) {
    if (LINES[i].trim() && !/^ {5,}/.test(LINES[i])) break;
    body.push(LINES[i]);
  }
  return body;
}

const flowList = (s) => s.split(',').map((x) => x.trim().replace(/^["']|["']$/g, '')).filter(Boolean);

/** The JSON types a schema allows, as typeof-style names ('integer', 'string', 'null', ...). */
function typesOf(text) {
  const ref = text.match(/\$ref:\s*'#\/components\/schemas\/(\w+)'/);
  if (ref) return schemaTypes(ref[1]);
  const t = text.match(/type:\s*\[([^\]]*)\]/) || text.match(/type:\s*"?(\w+)"?/);
  return t ? flowList(t[1]) : [];
}

function schemaTypes(name) {
  const body = schemaLines(name);
  const own = body.find((l) => /^ {6}type:/.test(l));
  return own ? typesOf(own) : [];
}

/** {required: [...], props: {name: {types, enum}}} of an object schema. */
function objectSchema(name) {
  const body = schemaLines(name);
  const req = body.find((l) => /^ {6}required:\s*\[/.test(l));
  const out = { required: req ? flowList(req.match(/\[(.*)\]/)[1]) : [], props: {} };
  const pi = body.findIndex((l) => /^ {6}properties:\s*$/.test(l));
  assert.ok(pi >= 0, `schema ${name} lists properties`);
  for (let i = pi + 1; i < body.length && (!body[i].trim() || /^ {8}/.test(body[i])); i++) {
    const m = body[i].match(/^ {8}(\w+):\s*(.*)$/);
    if (!m) continue;
    let text = m[2];
    for (let j = i + 1; j < body.length && (!body[j].trim() || /^ {10}/.test(body[j])); j++) text += `\n${body[j]}`;
    const en = text.match(/enum:\s*\[([^\]]*)\]/);
    out.props[m[1]] = { types: typesOf(text), enum: en ? flowList(en[1]) : null, text };
  }
  return out;
}

function jsonType(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The answer has every required key, no key the schema does not list, and each value's type
 * (and enum value) is one the schema allows. */
function assertShape(obj, name, what = name) {
  const s = objectSchema(name);
  assert.ok(obj && typeof obj === 'object' && !Array.isArray(obj), `${what} is an object`);
  for (const k of s.required) assert.ok(k in obj, `${what}: documented key ${k} is answered`);
  for (const [k, v] of Object.entries(obj)) {
    const p = s.props[k];
    assert.ok(p, `${what}: key ${k} is documented in ${name}`);
    const t = jsonType(v);
    const ok = p.types.includes(t) || (t === 'integer' && p.types.includes('number'));
    assert.ok(ok, `${what}.${k}: ${JSON.stringify(v)} is ${t}, documented ${p.types.join('|') || '(no type)'}`);
    if (p.enum && v !== null) assert.ok(p.enum.includes(v), `${what}.${k}: ${v} is one of ${p.enum.join(', ')}`);
    if (t === 'string' && /Timestamp|date-time/.test(p.text)) assert.match(v, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, `${what}.${k} is RFC 3339 UTC`);
  }
  return s;
}

// ---- the server's own route table ---------------------------------------------------------

/** [method, path] of every route in src/http/routes.c, the LIST(...) macro expanded. */
function servedRoutes() {
  const src = readFileSync(join(ROOT, 'src', 'http', 'routes.c'), 'utf8');
  const out = [];
  for (const m of src.matchAll(/^\s*\{"(GET|POST|PATCH|PUT|DELETE)",\s*"(\/[^"]*)",/gm)) out.push([m[1], norm(m[2])]);
  // #define LIST(path, name) lines: {"GET", "/api/v1/" path "/{key}", ...
  const macro = [...src.matchAll(/\{"(GET|POST|PATCH|PUT|DELETE)",\s*"(\/[^"]*)"\s+path\s*(?:"([^"]*)")?\s*,/g)];
  assert.ok(macro.length > 0, 'read the LIST macro of routes.c');
  for (const l of src.matchAll(/^\s*LIST\("([^"]+)"/gm))
    for (const [, method, head, tail] of macro) out.push([method, norm(`${head}${l[1]}${tail || ''}`)]);
  return out;
}

describe('the contract (api/openapi.yaml) agrees with the server: Conversations', () => {
  let w, admin, manager, agent;
  before(async () => {
    w = await startWorld();
    admin = w.users.admin.c;
    manager = w.users.manager.c;
    agent = w.users.agent.c;
    // No SMTP server or gateway is set up: messages stay queued or fail, which is what a
    // stored message looks like either way.
    expectStatus(await admin.patch('/api/v1/settings', {
      inbound_secret: SECRET, mail_from: 'sales@contract.test', inbound_domain: 'in.contract.test',
      company_name: 'Contract & Co', smtp_password: 'never-read-back', sms_token: 'nor-this', review_request_days: 30,
    }), 200, 'settings');
  });
  after(async () => { await w?.srv.stop(); });

  const newLead = async () => {
    const r = await agent.post('/api/v1/leads', { full_name: `Cora ${u()}`, emails: [`cora.${u()}@example.com`],
      phones: ['+1 415 555 0142'], country: 'US', request: 'A quote for fibre' });
    expectStatus(r, 201, 'create lead');
    return r.body;
  };
  const inbound = (path, body) => request(w.srv, 'POST', path, { body, headers: { 'X-Leadpath-Inbound-Secret': SECRET } });

  it('the server serves the document in the repository', async () => {
    const r = await admin.get('/api/v1/openapi.yaml');
    expectStatus(r, 200);
    assert.equal(r.text, DOC, 'GET /api/v1/openapi.yaml is api/openapi.yaml as built');
  });

  it('every route the server serves is documented, and none of them is marked planned', () => {
    const ops = operations();
    const routes = servedRoutes();
    assert.ok(routes.length > 40, `read the route table (${routes.length} routes)`);
    const missing = [], planned = [];
    for (const [method, path] of routes) {
      const op = ops.get(path)?.get(method);
      if (!op) missing.push(`${method} ${path}`);
      else if (op.planned) planned.push(`${method} ${path}`);
    }
    assert.deepEqual(missing, [], 'served but not in openapi.yaml');
    assert.deepEqual(planned, [], 'served but marked x-leadpath-status: planned');
    // ... and the other way round: what the document promises as served is served (the
    // document itself is the one path dispatch.c answers outside the route table).
    const served = new Set(routes.map(([m, p]) => `${m} ${p}`));
    const promised = [];
    for (const [path, methods] of ops)
      for (const [method, op] of methods)
        if (!op.planned && !served.has(`${method} ${path}`) && path !== '/api/v1/openapi.yaml') promised.push(`${method} ${path}`);
    assert.deepEqual(promised, [], 'documented as served (not planned) but not in the route table');
    for (const [m, p] of [['POST', '/public/v1/forms/{}'], ['POST', '/public/v1/portal/session'], ['GET', '/api/v1/forms/{}/snippet']])
      assert.equal(ops.get(p)?.get(m)?.planned, false, `${m} ${p} is documented and served`);
  });

  it('a sent message, its thread and the thread\'s messages have the documented shapes', async () => {
    const lead = await newLead();
    const r = await agent.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'email', subject: 'Your quote', body: 'Hello Cora' });
    expectStatus(r, 202, 'a send answers 202, as documented');
    const m = r.body;
    assertShape(m, 'Message', 'sent message');
    assert.equal(m.direction, 'out');
    assert.equal(m.status, 'queued');
    assert.equal(m.to, lead.emails[0]);
    assert.equal(m.created_by, w.users.agent.id);

    const threads = items(await agent.get(`/api/v1/leads/${lead.id}/threads`), 'threads');
    assert.equal(threads.length, 1);
    const t = threads[0];
    assertShape(t, 'Thread', 'thread');
    assert.equal(t.id, m.thread_id);
    assert.equal(t.status, 'open');
    assert.equal(t.subject, 'Your quote');
    const list = await agent.get(`/api/v1/threads/${t.id}/messages`);
    expectStatus(list, 200);
    assert.equal(list.body.next_cursor, null, 'documented: every message at once, next_cursor null');
    for (const x of list.body.items) assertShape(x, 'Message', 'listed message');

    const closed = await agent.post(`/api/v1/threads/${t.id}/close`, { notify_lead: true });
    expectStatus(closed, 200);
    assertShape(closed.body, 'Thread', 'closed thread');
    assert.equal(closed.body.status, 'closed');
    assert.equal(closed.body.closed_by, w.users.agent.id);
    const notice = items(await agent.get(`/api/v1/threads/${t.id}/messages`)).find((x) => x.kind === 'close_notification');
    assert.ok(notice, 'notify_lead queued the closing notification on the email thread');
    assertShape(notice, 'Message', 'closing notification');
    expectError(await agent.post(`/api/v1/leads/${lead.id}/messages`, { thread_id: t.id, body: 'again' }), 409, 'conflict', 'closed thread');
  });

  it('inbound email and SMS answer the documented InboundResult variants', async () => {
    const lead = await newLead();
    const body = { from: lead.emails[0], to: 'sales@contract.test', subject: 'Question', body: 'Is it fast?', message_id: `<${u('q')}@example.com>` };
    const r = await inbound('/api/v1/inbound/email', body);
    expectStatus(r, 200, 'inbound email');
    assert.deepEqual(Object.keys(r.body).sort(), ['lead_id', 'message', 'rule', 'thread_id']);
    assert.equal(r.body.lead_id, lead.id);
    assert.ok(['address', 'new_thread'].includes(r.body.rule), r.body.rule);
    assertShape(r.body.message, 'Message', 'inbound message');
    assert.equal(r.body.message.direction, 'in');
    assert.equal(r.body.message.status, 'received');
    assert.equal(r.body.message.matched_by, r.body.rule);
    assert.equal(r.body.message.from, lead.emails[0]);

    const again = await inbound('/api/v1/inbound/email', body);
    expectStatus(again, 200, 'repeat');
    assert.deepEqual(Object.keys(again.body).sort(), ['duplicate', 'message']);
    assert.equal(again.body.duplicate, true);
    assert.equal(again.body.message.id, r.body.message.id, 'the first copy');

    const stranger = await inbound('/api/v1/inbound/sms', { from: '+14155550199', body: 'Hi, call me', message_id: u('SM') });
    expectStatus(stranger, 200, 'inbound sms');
    assert.equal(stranger.body.rule, 'new_lead');
    assertShape(stranger.body.message, 'Message', 'inbound sms');
    assert.equal(stranger.body.message.channel, 'sms');

    const wrong = await request(w.srv, 'POST', '/api/v1/inbound/sms', { body: { from: '+14155550199', body: 'x' }, headers: { 'X-Leadpath-Inbound-Secret': 'wrong' } });
    expectError(wrong, 401, 'unauthorized', 'a wrong inbound secret');
  });

  it('templates have the documented shape; saving checks placeholders and roles', async () => {
    const list = await agent.get('/api/v1/templates');
    expectStatus(list, 200);
    assert.ok(list.body.items.length >= 4, 'the seeded templates');
    for (const t of list.body.items) assertShape(t, 'Template', `template ${t.name}`);
    const input = { name: `Follow-up ${u()}`, channel: 'sms', body: 'Hi {{lead.first_name}}, {{user.first_name}} here from {{company.name}}.' };
    expectError(await agent.post('/api/v1/templates', input), 403, 'forbidden', 'agents may not save templates');
    const made = await manager.post('/api/v1/templates', input);
    expectStatus(made, 201);
    assertShape(made.body, 'Template', 'created template');
    assert.equal(made.body.kind, 'message', 'kind defaults to message');
    assert.equal(made.body.active, true);
    const bad = expectError(await manager.patch(`/api/v1/templates/${made.body.id}`, { body: 'Hi {{lead.nmae}}' }), 422, 'validation_failed');
    assert.match(bad.fields.body, /\{\{lead\.nmae\}\}/, 'the unknown placeholder is named');
    const off = await manager.patch(`/api/v1/templates/${made.body.id}`, { active: false });
    expectStatus(off, 200);
    assertShape(off.body, 'Template', 'patched template');
    assert.equal(off.body.active, false);
  });

  it('a review request answers 202 with the queued message, then 409 within review_request_days', async () => {
    const lead = await newLead();
    const r = await agent.post(`/api/v1/leads/${lead.id}/review-request`, { channel: 'email' });
    expectStatus(r, 202);
    assertShape(r.body, 'Message', 'review request');
    assert.equal(r.body.kind, 'review_request');
    const got = await agent.get(`/api/v1/leads/${lead.id}`);
    assert.ok(got.body.review_requested_at, 'review_requested_at is set');
    expectError(await agent.post(`/api/v1/leads/${lead.id}/review-request`, { channel: 'email' }), 409, 'conflict', 'asked again too soon');
  });

  it('settings answer only documented keys; secrets are write-only, answered as <key>_set', async () => {
    for (const who of [admin, agent]) {
      const r = await who.get('/api/v1/settings');
      expectStatus(r, 200);
      assertShape(r.body, 'Settings', 'settings');
      for (const k of ['smtp_password', 'imap_password', 'sms_token']) assert.equal(r.body[k], undefined, `${k} is never answered`);
      assert.equal(r.body.smtp_password_set, true);
      assert.equal(r.body.sms_token_set, true);
    }
    const patch = objectSchema('SettingsPatch');
    for (const k of ['smtp_password', 'imap_password', 'sms_token']) assert.match(patch.props[k]?.text || '', /writeOnly:\s*true/, `${k} is documented write-only`);
  });
});
