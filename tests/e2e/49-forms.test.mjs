// 49-forms.test.mjs — web forms: an admin makes a form (key, kind, source, owner, fields,
// thank-you text or redirect) and gets its embeddable snippet; a submission (JSON or a plain
// form post) makes a lead with the form's source and owner; an e-mail or phone of an OPEN lead
// adds the submission to that lead as an inbound message instead (no duplicate); a CLOSED lead
// with that e-mail is left alone and a new lead is made; the public gate shared with the chat
// (origins, rate limit, size cap) and the honeypot; bad input changes nothing; a portal sign-up
// stores a login (hashed password) that POST /public/v1/portal/session accepts, and a second
// sign-up with that e-mail is 409; every change of a form and each login writes its audit event.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { startWorld, startServer, expectError, expectStatus, items, u, request, FILE_TIMEOUT_MS } from './lib.mjs';

const SITE = 'https://www.fibre-and-co.test';
const want = (r, status, what) => { expectStatus(r, status, what); return r; };
const formBody = (o) => new URLSearchParams(o).toString();

describe('web forms', { timeout: FILE_TIMEOUT_MS }, () => {
  let w, admin, agent, side, sources;
  const extra = [];
  before(async () => {
    w = await startWorld({ keepDir: true });
    admin = w.users.admin.c;
    agent = w.users.agent.c;
    want(await admin.patch('/api/v1/settings', { chat_origins: [SITE], inbound_owner_id: w.users.manager.id }), 200);
    sources = items(await admin.get('/api/v1/sources'));
    // refusals go to a second server on the same database: its own rate-limit buckets
    side = await startServer({ db: w.srv.db });
    extra.push(side);
  });
  after(async () => {
    for (const s of extra) await s.stop().catch(() => {});
    await w?.srv.stop().catch(() => {});
    if (w) rmSync(w.srv.dir, { recursive: true, force: true });
  });
  const pub = (srv, path, body, headers = {}) => request(srv, 'POST', path, { body, headers });
  const post = (srv, path, fields, headers = {}) => request(srv, 'POST', path, {
    raw: formBody(fields), contentType: 'application/x-www-form-urlencoded', headers });
  const leadsWith = async (q) => items(await admin.get(`/api/v1/leads?owner=any&status=all&q=${encodeURIComponent(q)}`));
  const events = async () => items(await admin.get('/api/v1/events?limit=1000'));
  const formCount = async () => items(await admin.get('/api/v1/forms')).length;

  let lf;   // a lead form: source Referral, owner the agent
  it('an admin makes a form; others may not; bad input changes nothing', async () => {
    const referral = sources.find((s) => s.name === 'Referral').id;
    const r = want(await admin.post('/api/v1/forms', {
      name: 'Contact <us> & "co"', source_id: referral, owner_id: w.users.agent.id,
      fields: ['email', { name: 'phone', label: 'Mobile' }, { name: 'company' }, { name: 'request', label: 'How can we help?', required: true }],
      thank_you: 'Thanks, <b>we</b> will call you.',
    }), 201, 'create');
    lf = r.body;
    assert.match(lf.key, /^[0-9a-f]{24}$/, 'an unguessable key by default');
    assert.equal(lf.kind, 'lead');
    assert.equal(lf.active, true);
    assert.equal(lf.version, 1);
    assert.equal(lf.submit_path, `/public/v1/forms/${lf.key}`);
    assert.deepEqual(lf.fields.map((f) => [f.name, f.label, f.required]), [
      ['full_name', 'Full name', true], ['email', 'Email', false], ['phone', 'Mobile', false],
      ['company', 'Company', false], ['request', 'How can we help?', true]]);
    assert.equal(lf.source_id, referral);
    assert.equal(lf.owner_id, w.users.agent.id);

    // defaults: the Web form source, no owner, the usual fields
    const d = want(await admin.post('/api/v1/forms', { name: 'Defaults', key: `defaults-${u()}` }), 201).body;
    assert.equal(d.source_id, sources.find((s) => s.name === 'Web form').id);
    assert.equal(d.owner_id, null);
    assert.deepEqual(d.fields.map((f) => f.name), ['full_name', 'email', 'phone', 'request']);

    expectError(await agent.post('/api/v1/forms', { name: 'Mine' }), 403, 'forbidden');
    expectError(await agent.get('/api/v1/forms'), 403, 'forbidden');
    const n = await formCount();
    const evBefore = (await events()).length;
    for (const [body, field] of [[{}, 'name'], [{ name: 'X', key: 'Bad Key!' }, 'key'], [{ name: 'X', kind: 'survey' }, 'kind'],
      [{ name: 'X', fields: ['password'] }, 'fields'], [{ name: 'X', fields: ['email', 'email'] }, 'fields'],
      [{ name: 'X', redirect_url: 'javascript:alert(1)' }, 'redirect_url'], [{ name: 'X', source_id: 999999 }, 'source_id'],
      [{ name: 'X', owner_id: 'me' }, 'owner_id'], [{ name: 'X', active: 'yes' }, 'active']]) {
      const e = expectError(await admin.post('/api/v1/forms', body), 422, 'validation_failed', JSON.stringify(body));
      assert.ok(e.fields[field], `${JSON.stringify(body)} names ${field}: ${JSON.stringify(e.fields)}`);
    }
    expectError(await admin.post('/api/v1/forms', { name: 'Dup', key: d.key }), 409, 'conflict');
    assert.equal(await formCount(), n, 'no refused form was stored');
    assert.equal((await events()).length, evBefore, 'no event for a refused form');

    const created = (await events()).filter((e) => e.kind === 'form_created' && e.entity === 'form' && e.entity_id === lf.id);
    assert.equal(created.length, 1, 'form_created event');
    assert.equal(created[0].actor_id, w.users.admin.id);
    assert.equal(created[0].data.name, 'Contact <us> & "co"');
  });

  it('changes a form with If-Match, with an audit event; a stale version is 412', async () => {
    const stale = lf.version;
    const r = want(await admin.patch(`/api/v1/forms/${lf.id}`, { redirect_url: null, thank_you: 'Thanks, <b>we</b> will call you soon.' },
      { headers: { 'If-Match': String(stale) } }), 200);
    assert.equal(r.body.version, stale + 1);
    expectError(await admin.patch(`/api/v1/forms/${lf.id}`, { name: 'Lost update' }, { headers: { 'If-Match': String(stale) } }), 412, 'version_mismatch');
    assert.equal((await admin.get(`/api/v1/forms/${lf.id}`)).body.name, 'Contact <us> & "co"', 'a refused change changed nothing');
    const ev = (await events()).filter((e) => e.kind === 'form_updated' && e.entity_id === lf.id);
    assert.equal(ev.length, 1);
    assert.deepEqual(ev[0].data.changes.thank_you, { old: 'Thanks, <b>we</b> will call you.', new: 'Thanks, <b>we</b> will call you soon.' });
    lf = r.body;
  });

  it('gives an embeddable snippet: a plain escaped <form> with the honeypot', async () => {
    const s = want(await admin.get(`/api/v1/forms/${lf.id}/snippet`), 200).body;
    assert.equal(s.action, `${w.srv.base}/public/v1/forms/${lf.key}`, 'posts to leadpath (the address it was asked at without public_url)');
    assert.match(s.html, new RegExp(`<form class="leadpath-form" action="${s.action.replace(/[.]/g, '\\.')}" method="post"`));
    assert.ok(s.html.includes('Contact &lt;us&gt; &amp; &quot;co&quot;'), 'the name is escaped');
    assert.ok(!s.html.includes('<us>'), 'nothing unescaped');
    for (const name of ['full_name', 'email', 'phone', 'company', 'request']) assert.ok(s.html.includes(`name="${name}"`), name);
    assert.ok(s.html.includes('>Mobile</label>'), 'the label chosen for phone');
    assert.match(s.html, /<textarea[^>]*name="request"[^>]*required/);
    assert.match(s.html, /name="website"[^>]*tabindex="-1"/, 'the honeypot field');
    assert.ok(!/<script/i.test(s.html), 'works without JavaScript');
    expectError(await agent.get(`/api/v1/forms/${lf.id}/snippet`), 403, 'forbidden');
    // with public_url set, the snippet posts there
    want(await admin.patch('/api/v1/settings', { public_url: 'https://crm.example.test/' }), 200);
    assert.equal((await admin.get(`/api/v1/forms/${lf.id}/snippet`)).body.action, `https://crm.example.test/public/v1/forms/${lf.key}`);
    want(await admin.patch('/api/v1/settings', { public_url: '' }), 200);
    const meta = (await admin.get('/api/v1/meta')).body;
    assert.deepEqual(meta.form_fields.map((f) => f.name), ['full_name', 'email', 'phone', 'company', 'country', 'region', 'city', 'service', 'request']);
  });

  it('a submission makes a lead with the form\'s source and owner', async () => {
    const email = `nora.${u()}@example.com`;
    const r = want(await pub(w.srv, `/public/v1/forms/${lf.key}`, { full_name: 'Nora <i>New</i>', email, company: 'Nordic AS',
      request: 'Fibre for our office', owner_id: w.users.admin.id, notes: 'ignored', score: 99 }, { Origin: SITE }), 201);
    assert.deepEqual(r.body, { status: 'received', thank_you: 'Thanks, <b>we</b> will call you soon.', redirect_url: null });
    assert.equal(r.headers['access-control-allow-origin'], SITE);
    assert.ok(!('lead_id' in r.body), 'the public answer does not reveal the lead');
    const found = await leadsWith(email);
    assert.equal(found.length, 1);
    const lead = found[0];
    assert.equal(lead.full_name, 'Nora <i>New</i>');
    assert.equal(lead.company, 'Nordic AS');
    assert.equal(lead.request, 'Fibre for our office');
    assert.equal(lead.source_id, lf.source_id);
    assert.equal(lead.owner_id, w.users.agent.id, 'the form\'s owner, not the submitted one');
    assert.equal(lead.score, 0, 'a field the form does not ask for is ignored');
    assert.equal(lead.notes, null);
    const tl = items(await admin.get(`/api/v1/leads/${lead.id}/timeline`));
    const created = tl.find((e) => e.kind === 'created');
    assert.equal(created.data.via.form_id, lf.id, 'the created event names the form');
    assert.equal(created.data.via.form_key, lf.key);
  });

  it('a plain form post gets an escaped thank-you page, or a redirect', async () => {
    const email = `pia.${u()}@example.com`;
    const r = want(await post(w.srv, `/public/v1/forms/${lf.key}`, { full_name: 'Pia Post', email, request: 'Call me\nplease' }, { Origin: SITE }), 200);
    assert.match(r.headers['content-type'], /^text\/html/);
    assert.ok(r.text.includes('Thanks, &lt;b&gt;we&lt;/b&gt; will call you soon.'), 'the thank-you text, escaped');
    assert.ok(!r.text.includes('<b>we'), 'nothing unescaped');
    assert.equal((await leadsWith(email)).length, 1);
    assert.equal((await leadsWith(email))[0].request, 'Call me\nplease');

    // a refusal is a page too, naming what to correct, with the error's status
    const bad = await post(w.srv, `/public/v1/forms/${lf.key}`, { full_name: '', email: 'not-an-email', request: 'x' });
    assert.equal(bad.status, 422);
    assert.match(bad.headers['content-type'], /^text\/html/);
    assert.match(bad.text, /Full name: required/);
    assert.match(bad.text, /Email: not an email address/);

    const v = lf.version;
    expectError(await admin.patch(`/api/v1/forms/${lf.id}`, { redirect_url: 'https://www.fibre-and-co.test/thanks?x=1&y=<2>' },
      { headers: { 'If-Match': String(v) } }), 422, 'validation_failed');
    lf = want(await admin.patch(`/api/v1/forms/${lf.id}`, { redirect_url: 'https://www.fibre-and-co.test/thanks?x=1&y=2' },
      { headers: { 'If-Match': String(v) } }), 200).body;
    const rd = want(await post(w.srv, `/public/v1/forms/${lf.key}`, { full_name: 'Rita Redirect', email: `rita.${u()}@example.com`, request: 'r' }, { Origin: SITE }), 303);
    assert.equal(rd.headers.location, 'https://www.fibre-and-co.test/thanks?x=1&y=2');
    // asking for JSON in Accept gets JSON, also from a form post
    const js = want(await request(w.srv, 'POST', `/public/v1/forms/${lf.key}`, { raw: formBody({ full_name: 'Jo Json', request: 'j' }),
      contentType: 'application/x-www-form-urlencoded', headers: { Accept: 'application/json' } }), 201);
    assert.equal(js.body.redirect_url, 'https://www.fibre-and-co.test/thanks?x=1&y=2');
  });

  it('an e-mail or phone of an OPEN lead adds the submission to it as an inbound message, no duplicate', async () => {
    const email = `olga.${u()}@example.com`;
    const existing = want(await agent.post('/api/v1/leads', { full_name: 'Olga Open', emails: [email] }), 201).body;
    want(await pub(w.srv, `/public/v1/forms/${lf.key}`, { full_name: 'Olga O.', email: email.toUpperCase(), request: 'Any news on my quote?' }), 201);
    const found = await leadsWith(email);
    assert.deepEqual(found.map((l) => l.id), [existing.id], 'no second lead');
    const threads = items(await agent.get(`/api/v1/leads/${existing.id}/threads`));
    assert.equal(threads.length, 1);
    assert.equal(threads[0].channel, 'email');
    assert.equal(threads[0].subject, 'Web form: Contact <us> & "co"');
    const msgs = items(await agent.get(`/api/v1/threads/${threads[0].id}/messages`));
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].direction, 'in');
    assert.equal(msgs[0].matched_by, 'form_email', 'the matching rule is recorded');
    assert.equal(msgs[0].from, email);
    assert.match(msgs[0].body, /How can we help\?: Any news on my quote\?/);
    assert.match(msgs[0].body, /Full name: Olga O\./);
    const lead = (await agent.get(`/api/v1/leads/${existing.id}`)).body;
    assert.equal(lead.full_name, 'Olga Open', 'the lead itself is not overwritten');
    assert.equal(lead.needs_reply, true);
    assert.ok(lead.last_contacted_at);
    const mi = items(await agent.get(`/api/v1/leads/${existing.id}/timeline`)).find((e) => e.kind === 'message_in');
    assert.equal(mi.data.matched_by, 'form_email', 'the timeline says how it was matched');
    assert.match(msgs[0].body, /^Sent with the web form "Contact <us> & "co""\./, 'and which form brought it');

    // a second submission joins the same open thread
    want(await pub(w.srv, `/public/v1/forms/${lf.key}`, { full_name: 'Olga', email, request: 'Hello again' }), 201);
    assert.equal(items(await agent.get(`/api/v1/threads/${threads[0].id}/messages`)).length, 2);

    // by phone (E.164): an SMS-channel message, form_phone
    const phoneLead = want(await agent.post('/api/v1/leads', { full_name: 'Pete Phone', phones: ['+14155550199'] }), 201).body;
    want(await pub(w.srv, `/public/v1/forms/${lf.key}`, { full_name: 'Pete', phone: '+1 (415) 555-0199', request: 'Call me back' }), 201);
    assert.equal((await leadsWith('+14155550199')).length, 1, 'no second lead by phone');
    const pt = items(await agent.get(`/api/v1/leads/${phoneLead.id}/threads`));
    assert.deepEqual(pt.map((t) => t.channel), ['sms']);
    const pm = items(await agent.get(`/api/v1/threads/${pt[0].id}/messages`));
    assert.equal(pm[0].matched_by, 'form_phone');
    assert.equal(pm[0].from, '+14155550199');
  });

  it('a CLOSED lead with that e-mail is left alone: the submission makes a new lead', async () => {
    const email = `carl.${u()}@example.com`;
    const old = want(await agent.post('/api/v1/leads', { full_name: 'Carl Closed', emails: [email] }), 201).body;
    const reasons = items(await admin.get('/api/v1/lost-reasons'));
    const closed = want(await agent.post(`/api/v1/leads/${old.id}/close`, { outcome: 'lost', reason_id: reasons[0].id }), 200).body;
    want(await pub(w.srv, `/public/v1/forms/${lf.key}`, { full_name: 'Carl Again', email, request: 'Back for more' }), 201);
    const found = await leadsWith(email);
    assert.equal(found.length, 2, 'a new lead beside the closed one');
    const fresh = found.find((l) => l.id !== old.id);
    assert.equal(fresh.status, 'open');
    assert.equal(fresh.full_name, 'Carl Again');
    const after = (await admin.get(`/api/v1/leads/${old.id}`)).body;
    assert.equal(after.version, closed.version, 'the closed lead is unchanged');
    assert.equal(after.status, 'closed');
    assert.deepEqual(items(await admin.get(`/api/v1/leads/${old.id}/threads`)), []);
  });

  it('the public gate: honeypot, origin, size, media type, bad input and unknown keys change nothing', async () => {
    const count = async () => (await admin.get('/api/v1/leads?owner=any&status=all&total=1&limit=1')).body.total;
    const n = await count();
    const key = lf.key;
    // honeypot: thanked like anyone, nothing stored
    const bot = want(await pub(side, `/public/v1/forms/${key}`, { full_name: 'Bot', email: `bot.${u()}@spam.test`, request: 'buy', website: 'http://spam.test' }), 201);
    assert.equal(bot.body.status, 'received');
    const botPage = want(await post(side, `/public/v1/forms/${key}`, { full_name: 'Bot', request: 'b', website: 'x' }), 200);
    assert.match(botPage.text, /Thank you/);
    // an origin not in chat_origins: 403 before anything is stored, no CORS header
    const evil = expectError(await pub(side, `/public/v1/forms/${key}`, { full_name: 'Eve', request: 'e' }, { Origin: 'https://evil.test' }), 403, 'forbidden');
    assert.ok(evil);
    const ev2 = await post(side, `/public/v1/forms/${key}`, { full_name: 'Eve', request: 'e' }, { Origin: 'https://evil.test' });
    assert.equal(ev2.status, 403);
    assert.equal(ev2.headers['access-control-allow-origin'], undefined);
    const pre = await request(side, 'OPTIONS', `/public/v1/forms/${key}`, { headers: { Origin: SITE, 'Access-Control-Request-Method': 'POST' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], SITE);
    // size cap
    expectError(await pub(side, `/public/v1/forms/${key}`, { full_name: 'Big', request: 'x'.repeat(20000) }), 413, 'too_large');
    // media type, malformed bodies
    expectError(await request(side, 'POST', `/public/v1/forms/${key}`, { raw: 'full_name=x', contentType: 'text/plain' }), 415, 'unsupported_media_type');
    expectError(await request(side, 'POST', `/public/v1/forms/${key}`, { raw: '{"full_name":', contentType: 'application/json' }), 400, 'bad_request');
    // bad values: 422 naming them
    let e = expectError(await pub(side, `/public/v1/forms/${key}`, { email: 'nope', phone: 'abc', request: 'x' }), 422, 'validation_failed');
    assert.deepEqual(Object.keys(e.fields).sort(), ['email', 'full_name', 'phone']);
    e = expectError(await pub(side, `/public/v1/forms/${key}`, { full_name: 'No request' }), 422, 'validation_failed');
    assert.deepEqual(Object.keys(e.fields), ['request'], 'the form makes request required');
    e = expectError(await pub(side, `/public/v1/forms/${key}`, { full_name: ['x'], request: 'x' }), 422, 'validation_failed');
    assert.ok(e.fields.full_name);
    expectError(await pub(side, `/public/v1/forms/${key}`, { full_name: 'x'.repeat(201), request: 'x' }), 422, 'validation_failed');
    expectError(await pub(side, '/public/v1/forms/no-such-form', { full_name: 'N', request: 'n' }), 404, 'not_found');
    assert.equal(await count(), n, 'nothing was stored by any of these');
  });

  it('an inactive or deleted form takes nothing', async () => {
    const f = want(await admin.post('/api/v1/forms', { name: 'Short-lived', key: `short-${u()}` }), 201).body;
    want(await pub(side, `/public/v1/forms/${f.key}`, { full_name: 'First', email: `first.${u()}@example.com` }), 201);
    const off = want(await admin.patch(`/api/v1/forms/${f.id}`, { active: false }), 200).body;
    expectError(await pub(side, `/public/v1/forms/${f.key}`, { full_name: 'Late' }), 404, 'not_found');
    expectError(await admin.del(`/api/v1/forms/${f.id}`, { headers: { 'If-Match': String(off.version - 1) } }), 412, 'version_mismatch');
    want(await admin.del(`/api/v1/forms/${f.id}`, { headers: { 'If-Match': String(off.version) } }), 204);
    expectError(await admin.get(`/api/v1/forms/${f.id}`), 404, 'not_found');
    const del = (await events()).filter((x) => x.kind === 'form_deleted' && x.entity_id === f.id);
    assert.equal(del.length, 1);
    assert.equal(del[0].data.key, f.key);
    const upd = (await events()).filter((x) => x.kind === 'form_updated' && x.entity_id === f.id);
    assert.deepEqual(upd[0].data.changes.active, { old: true, new: false });
  });

  it('a portal sign-up stores a login (hashed), which the portal accepts; a second one is 409', async () => {
    const pf = want(await admin.post('/api/v1/forms', { name: 'Customer portal', kind: 'portal_signup', key: `portal-${u()}`, fields: ['phone'] }), 201).body;
    assert.deepEqual(pf.fields.map((f) => [f.name, f.required]), [['full_name', true], ['email', true], ['phone', false]],
      'a portal sign-up always asks for the e-mail');
    const snip = (await admin.get(`/api/v1/forms/${pf.id}/snippet`)).body.html;
    assert.match(snip, /name="password" type="password"[^>]*minlength="8"[^>]*autocomplete="new-password"[^>]*required/);
    const email = `paula.${u()}@example.com`;
    const secret = `Sesame-${u()}-pw`;
    const n = (await leadsWith(email)).length;
    let e = expectError(await pub(side, `/public/v1/forms/${pf.key}`, { full_name: 'Paula Portal', email }), 422, 'validation_failed');
    assert.ok(e.fields.password);
    e = expectError(await pub(side, `/public/v1/forms/${pf.key}`, { full_name: 'Paula Portal', email, password: 'short' }), 422, 'validation_failed');
    assert.ok(e.fields.password);
    assert.equal((await leadsWith(email)).length, n, 'a refused sign-up stores nothing');
    want(await pub(side, `/public/v1/forms/${pf.key}`, { full_name: 'Paula Portal', email, password: secret }), 201);
    const lead = (await leadsWith(email))[0];
    assert.ok(lead, 'the sign-up made a lead');
    const tl = items(await admin.get(`/api/v1/leads/${lead.id}/timeline`));
    const made = tl.find((x) => x.kind === 'portal_login_created');
    assert.ok(made, 'portal_login_created on the lead\'s timeline');
    assert.equal(made.data.login, email);
    assert.equal(made.data.form_id, pf.id);
    const all = JSON.stringify(await events());
    assert.ok(!all.includes(secret), 'the password is in no event');
    if (w.srv.db.startsWith('sqlite:')) {
      const raw = readFileSync(w.srv.dbPath).toString('latin1') + readFileSync(`${w.srv.dbPath}-wal`).toString('latin1');
      assert.ok(!raw.includes(secret), 'the password is nowhere in the database files');
      assert.ok(raw.includes('$argon2id$'), 'an Argon2id hash is stored');
    }

    // the same login again (also as a plain form post): 409, clearly worded, nothing stored
    e = expectError(await pub(side, `/public/v1/forms/${pf.key}`, { full_name: 'Paula Again', email: email.toUpperCase(), password: 'another-pw-1' }), 409, 'conflict');
    assert.match(e.message, /already a portal login/);
    const page = await post(side, `/public/v1/forms/${pf.key}`, { full_name: 'Paula Again', email, password: 'another-pw-1' });
    assert.equal(page.status, 409);
    assert.match(page.text, /already a portal login/);
    assert.equal((await leadsWith(email)).length, 1);

    // the portal checks the login
    const ok = want(await pub(side, '/public/v1/portal/session', { login: email.toUpperCase(), password: secret }), 200).body;
    assert.deepEqual([ok.login, ok.lead_id], [email, lead.id]);
    expectError(await pub(side, '/public/v1/portal/session', { login: email, password: 'wrong-password' }), 401, 'unauthorized');
    expectError(await pub(side, '/public/v1/portal/session', { login: `nobody.${u()}@example.com`, password: secret }), 401, 'unauthorized');
    expectError(await pub(side, '/public/v1/portal/session', { login: email }), 422, 'validation_failed');

    // a sign-up whose e-mail belongs to an open lead: the login goes to that lead
    const known = `kim.${u()}@example.com`;
    const kl = want(await agent.post('/api/v1/leads', { full_name: 'Kim Known', emails: [known] }), 201).body;
    want(await pub(side, `/public/v1/forms/${pf.key}`, { full_name: 'Kim', email: known, password: 'kims-password' }), 201);
    assert.equal((await leadsWith(known)).length, 1);
    assert.equal(want(await pub(side, '/public/v1/portal/session', { login: known, password: 'kims-password' }), 200).body.lead_id, kl.id);
  });

  it('past the burst one address is rate-limited (429), shared with the chat', async () => {
    const fresh = await startServer({ db: w.srv.db });
    extra.push(fresh);
    let limited = null;
    for (let i = 0; i < 60 && !limited; i++) {
      const r = await pub(fresh, `/public/v1/forms/${lf.key}`, { request: 'no name' });
      if (r.status === 429) limited = r;
      else assert.equal(r.status, 422);
    }
    assert.ok(limited, 'rate limited within 60 quick calls');
    expectError(limited, 429, 'rate_limited');
    assert.ok(limited.headers['retry-after']);
    // the chat shares the bucket
    expectError(await pub(fresh, '/public/v1/chat', { name: 'C', message: 'hi' }), 429, 'rate_limited');
  });
});
