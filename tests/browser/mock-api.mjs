// mock-api.mjs — a small in-memory stand-in for the leadpath server, for working on the web UI
// before (or without) a built binary: `node tests/browser/mock-api.mjs [port]`, or
// LEADPATH_MOCK=1 for the browser tests. It serves web/ like the binary does (vendor.txt, SPA
// fallback, the same Content-Security-Policy) and a subset of /api/v1 as API.md describes it.
// It is not the contract: the real server is. Log in as admin@example.com / password123.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png' };

function assets() {
  const map = new Map();
  const walk = (dir) => {
    for (const f of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, f.name);
      if (f.isDirectory()) walk(full);
      else if (f.name !== 'vendor.txt' && !f.name.startsWith('.')) map.set('/' + path.relative(path.join(root, 'web'), full).split(path.sep).join('/'), full);
    }
  };
  walk(path.join(root, 'web'));
  const vt = path.join(root, 'web', 'vendor.txt');
  if (fs.existsSync(vt)) for (const line of fs.readFileSync(vt, 'utf8').split('\n')) {
    const l = line.trim(); if (!l || l.startsWith('#')) continue;
    const [url, p] = l.split(/\s+/); map.set(url, path.join(root, p));
  }
  return map;
}

// GET /api/v1/meta as the server answers it (src/http/routes/meta.c, from lib/core/record.c).
const field = (name, type, more = {}) => ({ name, type, editable: true, required: false, nullable: true, ...more });
const META = {
  lead_fields: [field('full_name', 'text', { required: true, nullable: false, max_length: 200 }), field('company', 'text', { max_length: 200 }),
    field('login', 'text', { max_length: 200 }), field('emails', 'emails', { nullable: false, max_items: 20 }),
    field('phones', 'phones', { nullable: false, max_items: 20 }), field('partner_id', 'ref', { ref: 'partners' }),
    field('location_id', 'ref', { ref: 'locations' }), field('owner_id', 'ref', { ref: 'users' }),
    field('stage_id', 'ref', { nullable: false, ref: 'stages' }), field('source_id', 'ref', { ref: 'sources' }),
    field('country', 'country'), field('region', 'text', { max_length: 200 }), field('city', 'text', { max_length: 200 }),
    field('service', 'text', { max_length: 200 }), field('request', 'text', { max_length: 20000 }), field('notes', 'text', { max_length: 20000 }),
    field('value_cents', 'integer'), field('currency', 'currency'), field('score', 'integer', { nullable: false }),
    field('last_contacted_at', 'time'), field('email_opt_out', 'boolean', { nullable: false }), field('sms_opt_out', 'boolean', { nullable: false }),
    field('status', 'enum', { editable: false, nullable: false, values: ['open', 'closed'] }), field('outcome', 'text', { editable: false, max_length: 64 }),
    field('lost_reason_id', 'ref', { editable: false, ref: 'lost-reasons' }), field('close_notes', 'text', { editable: false, max_length: 20000 }),
    field('closed_at', 'time', { editable: false }), field('closed_by', 'ref', { editable: false, ref: 'users' }),
    field('sold_at', 'time', { editable: false }), field('review_requested_at', 'time', { editable: false }),
    field('created_at', 'time', { editable: false, nullable: false }), field('updated_at', 'time', { editable: false })],
  task_types: ['call', 'email', 'meeting', 'follow_up', 'to_do', 'closed_lost_follow_up', 'post_sale_follow_up'],
  outcome_kinds: ['won', 'lost', 'neutral'],
};

const now = () => new Date();
const iso = (d) => new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');
const days = (n) => new Date(Date.now() + n * 86400000);

export function createState() {
  const s = { seq: 100, users: [{ id: 1, email: 'admin@example.com', name: 'Ada Admin', role: 'admin', active: true, password: 'password123' },
    { id: 2, email: 'bo@example.com', name: 'Bo Agent', role: 'agent', active: true, password: 'password123' }],
  sessions: new Map(),
  stages: [['New', 'Call within one working day. Confirm what they need.'], ['Contacted', 'Agree on the next step and a date.'],
    ['Waiting for more information', 'Time here does not count against the SLA.'], ['Quoted', 'Follow up on the quote within 3 days.'], ['Sold', '']]
    .map(([name, guidance], i) => ({ id: i + 1, version: 1, name, position: i + 1, is_sale: name === 'Sold', waiting: name.startsWith('Waiting'), guidance })),
  outcomes: [['won', 'Won', 'won'], ['lost', 'Lost', 'lost'], ['converted', 'Converted', 'won'], ['treated', 'Treated', 'neutral'],
    ['passed_to_distribution', 'Passed to distribution', 'neutral'], ['abandoned', 'Abandoned', 'lost'], ['completed', 'Completed', 'neutral']]
    .map(([key, name, kind], i) => ({ id: i + 1, version: 1, key, name, kind })),
  'lost-reasons': ['Price', 'Went with a competitor', 'No response', 'Spam'].map((name, i) => ({ id: i + 1, version: 1, name, active: true,
    counts_in_reports: name !== 'Spam', follow_up_days: name === 'Price' ? 90 : null, group_id: null })),
  sources: ['Website', 'Phone', 'Referral', 'Trade fair'].map((name, i) => ({ id: i + 1, version: 1, name, active: true })),
  locations: ['Berlin', 'Hamburg', 'Munich'].map((name, i) => ({ id: i + 1, version: 1, name, active: true })),
  partners: ['Acme Partners', 'Northwind'].map((name, i) => ({ id: i + 1, version: 1, name, active: true })),
  groups: ['Live Leads', 'Newsletter', 'Win-back'].map((name, i) => ({ id: i + 1, version: 1, name, active: true })),
  settings: { sla_warning_days: 5, sla_breach_days: 30, close_lost_default_group_id: 1, follow_up_window_days: 3, approval_escalation_hours: 24,
    business_hours: { days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00', time_zone: 'UTC' }, inbound_secret: '' },
  leads: [], tasks: [], timeline: [], notifications: [], webhooks: [], threads: [], messages: [],
  templates: [['Quick reply: your request', 'email', 'message', 'Your request', 'Hello {{lead.first_name}},\n\nYou wrote:\n\n{{lead.request}}\n\n{{user.name}}'],
    ['Quick reply: your request', 'sms', 'message', null, 'Hi {{lead.first_name}}, {{user.first_name}} will call you shortly.'],
    ['Closing notification', 'email', 'close_notification', 'Thank you, {{lead.first_name}}', 'We have closed your enquiry.'],
    ['Review request', 'email', 'review_request', 'How did we do?', 'Please tell us how we did.']]
    .map(([name, channel, kind, subject, body], i) => ({ id: i + 1, version: 1, name, channel, kind, subject, body, active: true })) };
  const names = ['Maria Keller', 'Jonas Weber', 'Lea Schmidt', 'Paul Fischer', 'Emma Wagner', 'Noah Becker', 'Mia Hoffmann', 'Ben Schulz',
    'Sofia Koch', 'Luis Richter', 'Hanna Klein', 'Elias Wolf', 'Lina Neumann', 'Felix Schwarz', 'Clara Zimmermann'];
  names.forEach((n, i) => {
    const created = days(-(i * 3 + 1));
    s.leads.push(lead(s, { id: i + 1, full_name: n, company: ['Keller GmbH', 'Weber & Söhne', '', 'Fischer Bau', 'Wagner IT'][i % 5] || null,
      emails: [n.toLowerCase().replace(' ', '.') + '@example.com'], phones: ['+4930123456' + String(i).padStart(2, '0')],
      owner_id: i % 4 === 3 ? 2 : 1, stage_id: (i % 4) + 1, source_id: (i % 4) + 1, location_id: (i % 3) + 1, created_at: iso(created),
      request: 'Interested in a quote for ' + ['solar panels', 'a heat pump', 'roof insulation'][i % 3] + '.' }));
  });
  s.tasks.push({ id: 1, version: 1, lead_id: 1, type: 'call', title: 'Call back about the quote', due_at: iso(days(-2)), assignee_id: 1, status: 'open', notes: null });
  s.tasks.push({ id: 2, version: 1, lead_id: 1, type: 'email', title: 'Send brochure', due_at: iso(days(4)), assignee_id: 1, status: 'open', notes: null });
  s.tasks.push({ id: 3, version: 1, lead_id: 2, type: 'meeting', title: 'Site visit', due_at: iso(days(1)), assignee_id: 1, status: 'open', notes: null });
  s.notifications.push({ id: 1, user_id: 1, kind: 'task_due', lead_id: s.leads[0].id, data: { task_id: 1, title: 'Call back about the quote', due_at: iso(days(-2)) },
    created_at: iso(days(-2)), read_at: null });
  s.notifications.push({ id: 2, user_id: 1, kind: 'sla_breached', lead_id: s.leads[12].id, data: { full_name: s.leads[12].full_name, breach_days: 30 },
    created_at: iso(days(-1)), read_at: null });
  return s;
}
function lead(s, f) {
  const l = { id: ++s.seq, version: 1, full_name: '', company: null, login: null, emails: [], phones: [], partner_id: null, location_id: null,
    owner_id: 1, stage_id: 1, source_id: null, country: null, region: null, city: null, service: null, request: null, value_cents: null,
    currency: 'EUR', score: 0, last_contacted_at: null, email_opt_out: false, sms_opt_out: false, status: 'open', outcome: null,
    lost_reason_id: null, close_notes: null, closed_at: null, closed_by: null, sold_at: null, review_requested_at: null,
    created_at: iso(now()), updated_at: iso(now()), groups: [], ...f };
  return derive(l, s);
}
function derive(l, s) {
  const end = l.closed_at ? new Date(l.closed_at) : now();
  l.age_days = Math.floor((end - new Date(l.created_at)) / 86400000);
  l.sla = l.age_days >= s.settings.sla_breach_days ? 'breached' : l.age_days >= s.settings.sla_warning_days ? 'warning' : 'ok';
  return l;
}
function event(s, leadId, actor, kind, data) { s.timeline.push({ id: ++s.seq, lead_id: leadId, at: iso(now()), actor_id: actor, kind, data }); }

function err(res, status, code, message, fields) { send(res, status, { error: { code, message, ...(fields ? { fields } : {}) } }); }
function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}
function page(items, q) {
  const limit = Math.min(Number(q.get('limit') || 50), 500);
  const off = Number(q.get('cursor') || 0);
  const slice = items.slice(off, off + limit);
  return { items: slice, next_cursor: off + limit < items.length ? String(off + limit) : null, total: q.get('total') ? items.length : undefined };
}

// Conversations, as far as the screens need them: sending queues a message on the open thread
// of its channel (or a new one); nothing is delivered. Refusals as the server words them.
const PLACEHOLDERS = /^(lead\.(id|full_name|first_name|company|email|phone|request|service|city|region|country|notes|value_cents|currency|outcome)|user\.(id|name|first_name|email)|company\.(name|email|phone|website|address))$/;
function mockSend(s, l, me, body) {
  const tpl = body.template_id ? s.templates.find((t) => t.id === body.template_id) : body.kind ? s.templates.find((t) => t.kind === body.kind && t.channel === body.channel) : null;
  let thread = body.thread_id ? s.threads.find((t) => t.id === body.thread_id && t.lead_id === l.id) : null;
  const channel = thread ? thread.channel : body.channel || (tpl && tpl.channel);
  if (thread && thread.status === 'closed') return { error: [409, 'conflict', 'This conversation is closed; start a new one to write to the lead'] };
  if (l[channel + '_opt_out']) return { error: [422, 'validation_failed', 'The lead cannot be written to.', { channel: channel === 'email' ? 'the lead opted out of email' : 'the lead opted out of SMS' }] };
  const to = channel === 'email' ? l.emails[0] : l.phones[0];
  if (!to) return { error: [422, 'validation_failed', 'The lead cannot be written to.', { channel: channel === 'email' ? 'the lead has no email address' : 'the lead has no phone number' }] };
  const fill = (t) => t && t.replace(/\{\{\s*(\w+)\.(\w+)\s*\}\}/g, (_, sc, f) => (sc === 'lead' ? (f === 'first_name' ? l.full_name.split(' ')[0] : l[f]) : sc === 'user' ? (f === 'first_name' ? me.name.split(' ')[0] : me[f]) : '') || '');
  if (!thread && !body.new_thread) thread = s.threads.slice().reverse().find((t) => t.lead_id === l.id && t.channel === channel && t.status === 'open');
  const at = iso(now());
  if (!thread) {
    thread = { id: ++s.seq, version: 1, lead_id: l.id, channel, status: 'open', subject: body.subject || (tpl && fill(tpl.subject)) || null, opened_at: at, closed_at: null, closed_by: null, last_message_at: at, opened_by: me.id };
    s.threads.push(thread);
  }
  const message = { id: ++s.seq, thread_id: thread.id, lead_id: l.id, direction: 'out', channel, status: 'queued', error: null,
    subject: channel === 'email' ? body.subject || (tpl && fill(tpl.subject)) || thread.subject : null, body: body.body || (tpl && fill(tpl.body)) || '',
    from: null, to, message_id: null, matched_by: null, kind: body.kind || null, created_at: at, sent_at: null, delivered_at: null, created_by: me.id };
  s.messages.push(message);
  thread.last_message_at = at;
  Object.assign(l, { last_contacted_at: at }, body.kind === 'review_request' ? { review_requested_at: at } : {});
  return { message };
}

function planClose(s, l, body, user) {
  const o = s.outcomes.find((x) => x.key === body.outcome);
  if (!o) return { error: [422, 'validation_failed', 'Unknown outcome.', { outcome: 'unknown' }] };
  const missing = [];
  if (o.kind === 'lost' && !body.reason_id) missing.push('reason_id');
  const mode = body.tasks || (o.kind === 'lost' ? 'complete_overdue' : o.kind === 'won' ? 'cancel_future' : 'keep');
  const open = s.tasks.filter((t) => t.lead_id === l.id && t.status === 'open');
  const overdue = open.filter((t) => new Date(t.due_at) < now());
  const done = mode === 'complete_all' ? open : mode === 'complete_overdue' ? overdue : [];
  const cancelled = mode === 'cancel_future' ? open.filter((t) => new Date(t.due_at) >= now()) : [];
  const groups = body.groups !== undefined ? body.groups : (o.kind === 'lost' && s.settings.close_lost_default_group_id ? [s.settings.close_lost_default_group_id] : []);
  const fu = body.follow_up ? { type: body.follow_up.type || (o.kind === 'lost' ? 'closed_lost_follow_up' : 'post_sale_follow_up'), due_at: body.follow_up.due_at,
    assignee_id: l.owner_id, title: 'Follow up', notes: body.follow_up.notes || null } : null;
  return { o, plan: { lead: { ...l, status: 'closed', outcome: o.key, lost_reason_id: body.reason_id || null, close_notes: body.notes || null },
    tasks_completed: done.map((t) => t.id), tasks_cancelled: cancelled.map((t) => t.id), follow_up: fu, groups, threads_closed: [],
    messages: [], notifications: [], approval_required: false, missing, events: ['closed'] } };
}

// proxy: "http://127.0.0.1:8080" forwards /api, /public and /healthz to a running leadpath
// while web/ is served from disk, so UI edits show without rebuilding the binary.
export function startMock({ port = 0, host = '127.0.0.1', proxy = null } = {}) {
  const s = createState();
  const files = assets();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    res.setHeader('Content-Security-Policy', CSP);
    if (proxy && (p.startsWith('/api/') || p.startsWith('/public/') || p === '/healthz')) {
      const target = new URL(req.url, proxy);
      const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on('error', (e) => err(res, 502, 'internal', 'proxy: ' + e.message));
      req.pipe(up);
      return;
    }
    if (p === '/healthz') return send(res, 200, { ok: true });
    if (!p.startsWith('/api/')) {
      const f = files.get(p) || files.get('/index.html');
      const type = TYPES[path.extname(f)] || 'application/octet-stream';
      res.writeHead(200, { 'Content-Type': type });
      return res.end(fs.readFileSync(f));
    }
    let body = null;
    const chunks = [];
    for await (const c of req) chunks.push(c);
    if (chunks.length) { try { body = JSON.parse(Buffer.concat(chunks).toString()); } catch { return err(res, 400, 'bad_request', 'Malformed JSON.'); } }
    const q = url.searchParams;
    const api = p.slice('/api/v1'.length);
    const cookie = (req.headers.cookie || '').split(/;\s*/).find((c) => c.startsWith('leadpath_session='));
    const bearer = (req.headers.authorization || '').replace(/^Bearer /, '');
    const sess = (bearer && s.sessions.get(bearer)) || (cookie && s.sessions.get(cookie.split('=')[1]));
    if (api === '/auth/login' && req.method === 'POST') {
      const u = s.users.find((x) => x.email === (body && body.email) && x.password === body.password);
      if (!u) return err(res, 401, 'unauthorized', 'Wrong email or password.');
      const token = crypto.randomBytes(16).toString('hex'), csrf = crypto.randomBytes(16).toString('hex');
      s.sessions.set(token, { user: u, csrf });
      const { password, ...pub } = u;
      return send(res, 200, { token, csrf_token: csrf, user: pub }, { 'Set-Cookie': `leadpath_session=${token}; HttpOnly; SameSite=Lax; Path=/` });
    }
    if (!sess) return err(res, 401, 'unauthorized', 'Sign in first.');
    if (!bearer && req.method !== 'GET' && req.headers['x-csrf-token'] !== sess.csrf) return err(res, 403, 'forbidden', 'Missing or wrong CSRF token.');
    const me = sess.user;
    const { password, ...mePub } = me;
    let m;
    await new Promise((r) => setTimeout(r, 15));
    if (api === '/me') return send(res, 200, { user: mePub, csrf_token: sess.csrf });
    if (api === '/auth/logout') { s.sessions.delete(cookie.split('=')[1]); return send(res, 204); }
    if (api === '/users') return send(res, 200, page(s.users.map(({ password: _, ...u }) => u), q));
    if (api === '/settings' && req.method === 'PATCH') {
      const next = { ...s.settings, ...body };
      if (next.sla_breach_days <= next.sla_warning_days) return err(res, 422, 'validation_failed', 'Some fields are not valid.', { sla_breach_days: 'must be more than sla_warning_days' });
      Object.assign(s.settings, body); return send(res, 200, s.settings);
    }
    if (api === '/meta') return send(res, 200, META);
    if (api === '/settings') return send(res, 200, s.settings);
    if (api === '/dashboard') {
      const mine = s.leads.filter((l) => l.owner_id === me.id && l.status === 'open').map((l) => derive(l, s));
      const tasks = s.tasks.filter((t) => t.assignee_id === me.id && t.status === 'open');
      return send(res, 200, { open_leads: mine.length, follow_ups: tasks.filter((t) => Math.abs(new Date(t.due_at) - now()) < 3 * 86400000).length,
        overdue: tasks.filter((t) => new Date(t.due_at) < now()).length, sla_warning: mine.filter((l) => l.sla === 'warning').length,
        sla_breached: mine.filter((l) => l.sla === 'breached').length, pending_approvals: 0,
        unread_notifications: s.notifications.filter((n) => n.user_id === me.id && !n.read_at).length });
    }
    if ((m = api.match(/^\/(stages|outcomes|lost-reasons|sources|locations|partners|groups)(?:\/([\w-]+))?$/))) {
      const list = s[m[1]];
      if (!m[2] && req.method === 'GET') return send(res, 200, page(list, q));
      if (!m[2] && req.method === 'POST') {
        if (!body.name) return err(res, 422, 'validation_failed', 'Name is required.', { name: 'required' });
        const it = { id: ++s.seq, version: 1, ...body }; list.push(it); return send(res, 201, it);
      }
      const it = list.find((x) => String(x.id) === m[2] || x.key === m[2]);
      if (!it) return err(res, 404, 'not_found', 'Not found.');
      if (req.method === 'PATCH') {
        if (req.headers['if-match'] && Number(req.headers['if-match']) !== it.version) return err(res, 412, 'version_mismatch', 'Changed by someone else.');
        Object.assign(it, body, { version: it.version + 1 }); return send(res, 200, it);
      }
      return send(res, 200, it);
    }
    if (api === '/leads' && req.method === 'GET') {
      let items = s.leads.filter((l) => !l.deleted).map((l) => derive(l, s));
      const st = q.get('status') || 'open';
      if (st !== 'all') items = items.filter((l) => l.status === st);
      const owner = q.get('owner') || 'me';
      if (owner === 'me') items = items.filter((l) => l.owner_id === me.id);
      else if (owner !== 'any') items = items.filter((l) => String(l.owner_id) === owner);
      for (const [k, f] of [['stage', 'stage_id'], ['source', 'source_id'], ['location', 'location_id'], ['partner', 'partner_id'], ['outcome', 'outcome'], ['sla', 'sla']])
        if (q.get(k)) items = items.filter((l) => String(l[f]) === q.get(k));
      if (q.get('group')) items = items.filter((l) => l.groups.map(String).includes(q.get('group')));
      if (q.get('q')) { const t = q.get('q').toLowerCase(); items = items.filter((l) => JSON.stringify([l.full_name, l.company, l.emails, l.phones, l.request]).toLowerCase().includes(t)); }
      if (q.get('created_from')) items = items.filter((l) => l.created_at >= q.get('created_from'));
      if (q.get('created_to')) items = items.filter((l) => l.created_at <= q.get('created_to'));
      const sort = q.get('sort') || '-created_at';
      const key = sort.replace('-', ''), dir = sort.startsWith('-') ? -1 : 1;
      items.sort((a, b) => (a[key] > b[key] ? 1 : a[key] < b[key] ? -1 : 0) * dir);
      return send(res, 200, page(items, q));
    }
    if (api === '/leads' && req.method === 'POST') {
      if (!body.full_name) return err(res, 422, 'validation_failed', 'Full name is required.', { full_name: 'required' });
      const l = lead(s, { ...body, owner_id: body.owner_id || me.id }); s.leads.push(l); event(s, l.id, me.id, 'created', {});
      return send(res, 201, l);
    }
    if (api === '/leads/bulk') {
      const results = body.ids.map((id) => { const l = s.leads.find((x) => x.id === id); if (!l) return { id, ok: false, error: 'not_found' };
        if (body.action === 'set_stage') l.stage_id = body.params.stage_id; if (body.action === 'assign') l.owner_id = body.params.owner_id;
        if (body.action === 'delete') l.deleted = true; if (body.action === 'add_to_group') l.groups.push(body.params.group_id); l.version++; return { id, ok: true }; });
      return send(res, 200, { succeeded: results.length, failed: 0, results });
    }
    if ((m = api.match(/^\/leads\/(\d+)(\/[\w-]+)?$/))) {
      const l = s.leads.find((x) => x.id === Number(m[1]) && !x.deleted);
      if (!l) return err(res, 404, 'not_found', 'No such lead.');
      derive(l, s);
      const sub = m[2] || '';
      const stale = req.headers['if-match'] && Number(req.headers['if-match']) !== l.version;
      if (!sub && req.method === 'GET') return send(res, 200, l);
      if (!sub && req.method === 'PATCH') {
        if (!req.headers['if-match']) return err(res, 428, 'bad_request', 'If-Match is required.');
        if (stale) return err(res, 412, 'version_mismatch', 'This lead was changed by someone else.');
        if ('full_name' in body && !body.full_name) return err(res, 422, 'validation_failed', 'Full name is required.', { full_name: 'required' });
        const bad = (body.emails || []).findIndex((e) => !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e));
        if (bad >= 0) return err(res, 422, 'validation_failed', 'An e-mail address is not valid.', { [`emails[${bad}]`]: 'invalid' });
        const changes = {};
        for (const [k, v] of Object.entries(body)) if (JSON.stringify(l[k]) !== JSON.stringify(v)) changes[k] = { old: l[k], new: v };
        if (changes.stage_id) event(s, l.id, me.id, 'stage_changed', { from: changes.stage_id.old, to: changes.stage_id.new });
        delete changes.stage_id;
        if (Object.keys(changes).length) event(s, l.id, me.id, 'updated', { changes });
        Object.assign(l, body, { version: l.version + 1, updated_at: iso(now()) });
        return send(res, 200, derive(l, s));
      }
      if (!sub && req.method === 'DELETE') { l.deleted = true; return send(res, 204); }
      if (sub === '/transitions') return send(res, 200, { items: [...s.stages.map((st) => ({ kind: 'stage', stage_id: st.id, allowed: l.status === 'open', approval_required: false, missing: [] })),
        ...s.outcomes.map((o) => ({ kind: 'close', outcome: o.key, allowed: l.status === 'open', approval_required: false, missing: o.kind === 'lost' ? ['reason_id'] : [] })),
        { kind: 'reopen', allowed: l.status === 'closed', approval_required: false, missing: [] }] });
      // related leads (docs/merge.md): the stand-in matches by e-mail only; merging is the real server's
      if (sub === '/related') return send(res, 200, { lead_id: l.id, customers: [], truncated: false,
        items: s.leads.filter((x) => x.id !== l.id && !x.deleted && (x.emails || []).some((e) => (l.emails || []).includes(e)))
          .map((x) => ({ id: x.id, full_name: x.full_name, status: x.status, outcome: x.outcome || null, owner_id: x.owner_id,
            created_at: x.created_at, closed_at: x.closed_at || null, matched: [{ key: 'email', value: (x.emails || []).find((e) => (l.emails || []).includes(e)) }] })) });
      // tickets (docs/tickets.md): the stand-in has none; opening one is the real server's
      if (sub === '/tickets' && req.method === 'GET') return send(res, 200, { items: [], next_cursor: null });
      if (sub === '/timeline') return send(res, 200, page(s.timeline.filter((e) => e.lead_id === l.id).slice().reverse(), q));
      if (sub === '/comments') { event(s, l.id, me.id, 'comment', { body: body.body, icon: body.icon, color: body.color }); return send(res, 201, s.timeline[s.timeline.length - 1]); }
      if (sub === '/tasks' && req.method === 'POST') {
        if (!body.due_at) return err(res, 422, 'validation_failed', 'A due date is required.', { due_at: 'required' });
        const t = { id: ++s.seq, version: 1, lead_id: l.id, status: 'open', assignee_id: me.id, ...body }; s.tasks.push(t);
        event(s, l.id, me.id, 'task_created', { task_id: t.id, title: t.title, due_at: t.due_at }); return send(res, 201, t);
      }
      if (sub === '/close') {
        if (l.status === 'closed') return err(res, 409, 'conflict', 'This lead is already closed.');
        if (stale) return err(res, 412, 'version_mismatch', 'This lead was changed by someone else.');
        const r = planClose(s, l, body, me);
        if (r.error) return err(res, ...r.error);
        if (q.get('dry_run')) return send(res, 200, { dry_run: true, plan: r.plan });
        if (r.plan.missing.length) return err(res, 422, 'validation_failed', 'Fill in the missing fields.', Object.fromEntries(r.plan.missing.map((k) => [k, 'required'])));
        for (const t of s.tasks) { if (r.plan.tasks_completed.includes(t.id)) { t.status = 'done'; t.version++; } if (r.plan.tasks_cancelled.includes(t.id)) { t.status = 'cancelled'; t.version++; } }
        if (r.plan.follow_up) s.tasks.push({ id: ++s.seq, version: 1, lead_id: l.id, status: 'open', ...r.plan.follow_up });
        Object.assign(l, { status: 'closed', outcome: r.o.key, lost_reason_id: body.reason_id || null, close_notes: body.notes || null, closed_at: iso(now()), closed_by: me.id,
          groups: [...new Set([...l.groups, ...r.plan.groups])], version: l.version + 1 });
        event(s, l.id, me.id, 'closed', { outcome: l.outcome, reason_id: l.lost_reason_id, notes: l.close_notes });
        return send(res, 200, derive(l, s));
      }
      if (sub === '/threads') return send(res, 200, { items: s.threads.filter((t) => t.lead_id === l.id).slice().reverse(), next_cursor: null });
      if (sub === '/messages' || sub === '/review-request') {
        const r = mockSend(s, l, me, sub === '/review-request' ? { channel: (body && body.channel) || 'email', kind: 'review_request' } : body || {});
        return r.error ? err(res, ...r.error) : send(res, 202, r.message);
      }
      if (sub === '/reopen') {
        if (l.status !== 'closed') return err(res, 409, 'conflict', 'This lead is open.');
        Object.assign(l, { status: 'open', outcome: null, closed_at: null, closed_by: null, lost_reason_id: null, version: l.version + 1 });
        event(s, l.id, me.id, 'reopened', { notes: body && body.notes }); return send(res, 200, derive(l, s));
      }
    }
    if ((m = api.match(/^\/threads\/(\d+)\/(messages|close)$/))) {
      const t = s.threads.find((x) => x.id === Number(m[1]));
      if (!t) return err(res, 404, 'not_found', 'No such conversation.');
      if (m[2] === 'messages') return send(res, 200, { items: s.messages.filter((x) => x.thread_id === t.id), next_cursor: null });
      if (t.status === 'closed') return err(res, 409, 'conflict', 'This conversation is closed already');
      Object.assign(t, { status: 'closed', closed_at: iso(now()), closed_by: me.id });
      return send(res, 200, t);
    }
    if (api === '/templates' || (m = api.match(/^\/templates\/(\d+)$/))) {
      if (req.method === 'GET') return send(res, 200, { items: s.templates, next_cursor: null });
      const bad = {};
      for (const k of ['subject', 'body']) {
        const unknown = [...String((body && body[k]) || '').matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].map((x) => x[1]).filter((x) => !PLACEHOLDERS.test(x));
        if (unknown.length) bad[k] = unknown.map((x) => `unknown placeholder {{${x}}}`).join(', ');
      }
      if (Object.keys(bad).length) return err(res, 422, 'validation_failed', 'A template uses unknown placeholders.', bad);
      if (req.method === 'POST') { const t = { id: ++s.seq, version: 1, kind: 'message', subject: null, active: true, ...body }; s.templates.push(t); return send(res, 201, t); }
      const t = s.templates.find((x) => x.id === Number(m[1]));
      if (!t) return err(res, 404, 'not_found', 'No such template.');
      Object.assign(t, body, { version: t.version + 1 });
      return send(res, 200, t);
    }
    if (api === '/tasks') {
      let items = s.tasks.slice();
      const a = q.get('assignee') || 'me', st = q.get('status') || 'open';
      if (a === 'me') items = items.filter((t) => t.assignee_id === me.id); else if (a !== 'any') items = items.filter((t) => String(t.assignee_id) === a);
      if (st !== 'all') items = items.filter((t) => t.status === st);
      if (q.get('lead')) items = items.filter((t) => String(t.lead_id) === q.get('lead'));
      if (q.get('due_from')) items = items.filter((t) => t.due_at >= q.get('due_from'));
      if (q.get('due_to')) items = items.filter((t) => t.due_at <= q.get('due_to'));
      return send(res, 200, page(items, q));
    }
    if ((m = api.match(/^\/tasks\/(\d+)$/))) {
      const t = s.tasks.find((x) => x.id === Number(m[1]));
      if (!t) return err(res, 404, 'not_found', 'No such task.');
      if (req.headers['if-match'] && Number(req.headers['if-match']) !== t.version) return err(res, 412, 'version_mismatch', 'Changed by someone else.');
      Object.assign(t, body, { version: t.version + 1 });
      if (body.status === 'done') event(s, t.lead_id, me.id, 'task_done', { task_id: t.id, title: t.title });
      if (body.status === 'cancelled') event(s, t.lead_id, me.id, 'task_cancelled', { task_id: t.id, title: t.title });
      return send(res, 200, t);
    }
    if (api === '/notifications') {
      const mineN = s.notifications.filter((n) => n.user_id === me.id && (q.get('unread') !== '1' || !n.read_at));
      return send(res, 200, { items: mineN.slice().reverse().slice(0, 200).map((n) => ({ ...n, read: !!n.read_at })), next_cursor: null });
    }
    if ((m = api.match(/^\/notifications\/(\d+|read-all)(\/read)?$/)) && req.method === 'POST') {
      for (const n of s.notifications) if (n.user_id === me.id && !n.read_at && (m[1] === 'read-all' || n.id === Number(m[1]))) n.read_at = iso(now());
      return send(res, 200, { ok: true });
    }
    if (api.startsWith('/webhooks')) {
      if (me.role !== 'admin') return err(res, 403, 'forbidden', 'Only an admin may manage webhooks');
      const check = (b, creating) => {
        const f = {};
        if (b.url !== undefined ? !/^https?:\/\/[^/\s]+/.test(String(b.url)) : creating) f.url = 'must be an http:// or https:// URL';
        if (b.events !== undefined && (!Array.isArray(b.events) || !b.events.length || b.events.some((k) => k !== '*' && !/^[a-z_]{1,40}$/.test(k)))) f.events = 'must be a list of event kinds (such as "created", "closed") or ["*"]';
        if (b.secret !== undefined && b.secret !== null && (String(b.secret).length < 16 || String(b.secret).length > 200)) f.secret = 'must be 16 to 200 characters';
        return Object.keys(f).length ? f : null;
      };
      const pub = ({ secret: _, ...h }) => h;
      if (api === '/webhooks' && req.method === 'GET') return send(res, 200, { items: s.webhooks.map(pub), next_cursor: null });
      if (api === '/webhooks' && req.method === 'POST') {
        const f = check(body || {}, true);
        if (f) return err(res, 422, 'validation_failed', 'Some fields are not valid.', f);
        const h = { id: ++s.seq, url: body.url, events: body.events && !body.events.includes('*') ? body.events : ['*'], active: body.active !== false,
          secret: body.secret || crypto.randomBytes(32).toString('hex'), created_at: iso(now()), updated_at: iso(now()), version: 1 };
        s.webhooks.push(h);
        return send(res, 201, h);
      }
      const h = (m = api.match(/^\/webhooks\/(\d+)/)) && s.webhooks.find((x) => x.id === Number(m[1]));
      if (!h) return err(res, 404, 'not_found', 'No such webhook.');
      if (api.endsWith('/deliveries')) return send(res, 200, { items: [], next_cursor: null });
      const im = req.headers['if-match'];
      if (im && Number(String(im).replace(/"/g, '')) !== h.version) return err(res, 412, 'version_mismatch', 'Changed by someone else.');
      if (req.method === 'DELETE') { s.webhooks.splice(s.webhooks.indexOf(h), 1); return send(res, 204); }
      if (req.method === 'PATCH') {
        const f = check(body || {}, false);
        if (f) return err(res, 422, 'validation_failed', 'Some fields are not valid.', f);
        Object.assign(h, body, { version: h.version + 1, updated_at: iso(now()) });
        if (body.events && body.events.includes('*')) h.events = ['*'];
      }
      return send(res, 200, pub(h));
    }
    return err(res, 404, 'not_found', 'No such route in the mock.');
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve({ server, state: s, port: server.address().port })));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const proxy = process.argv[3] || null;
  const { port } = await startMock({ port: Number(process.argv[2] || 8090), proxy });
  console.log(proxy ? `web/ from disk at http://127.0.0.1:${port}/, API proxied to ${proxy}` : `mock leadpath at http://127.0.0.1:${port}/ (admin@example.com / password123)`);
}
