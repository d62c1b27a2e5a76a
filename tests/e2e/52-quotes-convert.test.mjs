// 52-quotes-convert: quotes on a lead (lines, tax and totals computed by the server, statuses
// new → sent → accepted | declined, validity, the accepted stage), conversion to a customer with
// an invoice or a proforma (dry run, one transaction, the role's `convert` policy, read-only
// contact fields afterwards), invoice numbers without gaps (also under concurrent conversions
// and, on PostgreSQL, from two servers), the invoice as JSON, PDF (read back with pdftotext) and
// a printable page, finalizing a paid proforma, and customers (search, visibility, PATCH).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startWorld, startServer, login, client, expectStatus, expectError, items, byName, walk, FILE_TIMEOUT_MS, DAY, isoNow, runCli,
} from './lib.mjs';

let w;
let admin;
let agent;
let manager;
let other;
const ref = {};
const YEAR = new Date().getUTCFullYear();

before(async () => {
  w = await startWorld();
  ({ admin, agent, manager, other } = w.users);
  ref.stages = items(await admin.c.get('/api/v1/stages'));
  ref.quoted = byName(ref.stages, 'Quoted');
  ref.roles = items(await admin.c.get('/api/v1/roles'));
  ref.partner = expectStatus(await admin.c.post('/api/v1/partners', { name: 'Reseller One' }), 201);
  expectStatus(await admin.c.patch('/api/v1/settings', {
    currency: 'USD', quote_valid_days: 10, quote_accepted_stage_id: ref.quoted.id, invoice_due_days: 7,
    company_name: 'Acme Fibre Ltd',
  }), 200, 'settings');
});
after(async () => { if (w) await w.srv.stop(); });

const LINES = [
  { description: 'Installation', quantity: 3, unit_price_cents: 333, period: 'one_time', tax_rate: 20 },
  { description: 'Fibre 1 Gbit/s', quantity: 1, unit_price_cents: 1005, period: 'monthly', tax_rate: 5.5 },
];
const timeline = async (id) => walk(admin.c, `/api/v1/leads/${id}/timeline`, 500);
const kinds = async (id) => (await timeline(id)).map((e) => e.kind);
let n = 0;
async function newLead(extra = {}, c = agent.c) {
  n += 1;
  return expectStatus(await c.post('/api/v1/leads', {
    full_name: `Carla Customer ${n}`, company: `Carla Co ${n}`, emails: [`carla${n}@example.com`], phones: ['+14155550100'],
    partner_id: ref.partner.id, city: 'Lyon', country: 'FR', email_opt_out: true, ...extra,
  }), 201, 'lead');
}
const newQuote = async (leadId, lines = LINES, c = agent.c) =>
  expectStatus(await c.post(`/api/v1/leads/${leadId}/quotes`, { lines }), 201, 'quote');

describe('quotes', { timeout: FILE_TIMEOUT_MS }, () => {
  it('computes line figures, tax (half away from zero per line) and totals; currency and validity from settings', async () => {
    const lead = await newLead();
    const before = Date.now();
    const q = await newQuote(lead.id);
    assert.equal(q.status, 'new');
    assert.equal(q.currency, 'USD');
    assert.equal(q.lead_id, lead.id);
    assert.equal(q.version, 1);
    // 3 × 3.33 = 9.99, tax 20% = 1.998 → 2.00; 10.05 at 5.5% = 0.55275 → 0.55
    assert.deepEqual(q.lines.map((l) => [l.subtotal_cents, l.tax_cents, l.total_cents]), [[999, 200, 1199], [1005, 55, 1060]]);
    assert.equal(q.lines[1].tax_rate, 5.5);
    assert.equal(q.lines[0].tax_rate, 20);
    assert.equal(q.subtotal_cents, 2004);
    assert.equal(q.tax_cents, 255);
    assert.equal(q.total_cents, 2259);
    assert.equal(q.one_time_cents, 1199);
    assert.equal(q.monthly_cents, 1060);
    const days = (Date.parse(q.valid_until) - before) / DAY;
    assert.ok(days > 9.99 && days < 10.01, `valid for 10 days, got ${days}`);
    assert.equal(q.expired, false);
    const list = items(await agent.c.get(`/api/v1/leads/${lead.id}/quotes`));
    assert.deepEqual(list.map((x) => x.id), [q.id]);
    const ev = (await timeline(lead.id)).find((e) => e.kind === 'quote_created');
    assert.ok(ev, 'quote_created on the timeline');
    assert.equal(ev.data.quote_id, q.id);
    assert.equal(ev.data.total_cents, 2259);
  });

  it('refuses bad lines with every field named, and quotes on someone else\'s lead', async () => {
    const lead = await newLead();
    const r = await agent.c.post(`/api/v1/leads/${lead.id}/quotes`, { lines: [
      { description: '', unit_price_cents: 100 },
      { description: 'x', quantity: 0, unit_price_cents: 1.5, period: 'weekly', tax_rate: 12.345 },
    ] });
    const e = expectError(r, 422, 'validation_failed');
    for (const f of ['lines[0].description', 'lines[1].quantity', 'lines[1].unit_price_cents', 'lines[1].period', 'lines[1].tax_rate'])
      assert.ok(e.fields[f], `field ${f} named: ${JSON.stringify(e.fields)}`);
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/quotes`, { lines: [] }), 422, 'validation_failed');
    expectError(await other.c.post(`/api/v1/leads/${lead.id}/quotes`, { lines: LINES }), 404, 'not_found');
    assert.equal(items(await agent.c.get(`/api/v1/leads/${lead.id}/quotes`)).length, 0, 'nothing made');
  });

  it('edits while new (totals again, version, If-Match); moves new → sent → accepted, refusing other moves', async () => {
    const lead = await newLead();
    const q = await newQuote(lead.id);
    const e = expectStatus(await agent.c.patch(`/api/v1/quotes/${q.id}`, { lines: [LINES[0]], notes: 'Only the install' },
      { headers: { 'If-Match': '1' } }), 200);
    assert.equal(e.version, 2);
    assert.equal(e.total_cents, 1199);
    assert.equal(e.notes, 'Only the install');
    expectError(await agent.c.patch(`/api/v1/quotes/${q.id}`, { notes: 'x' }, { headers: { 'If-Match': '1' } }), 412, 'version_mismatch');
    expectError(await agent.c.patch(`/api/v1/quotes/${q.id}`, { status: 'accepted' }), 409, 'conflict');
    expectError(await agent.c.patch(`/api/v1/quotes/${q.id}`, { status: 'won' }), 422, 'validation_failed');
    const s = expectStatus(await agent.c.patch(`/api/v1/quotes/${q.id}`, { status: 'sent' }), 200);
    assert.equal(s.status, 'sent');
    assert.ok(s.sent_at);
    expectError(await agent.c.patch(`/api/v1/quotes/${q.id}`, { lines: LINES }), 409, 'conflict');
    assert.notEqual((await agent.c.get(`/api/v1/leads/${lead.id}`)).body.stage_id, ref.quoted.id);
    const a = expectStatus(await agent.c.patch(`/api/v1/quotes/${q.id}`, { status: 'accepted' }), 200);
    assert.equal(a.status, 'accepted');
    assert.ok(a.decided_at);
    expectError(await agent.c.patch(`/api/v1/quotes/${q.id}`, { status: 'declined' }), 409, 'conflict');
    // accepting moved the lead to the configured stage, through the planner (stage_changed)
    const l = expectStatus(await agent.c.get(`/api/v1/leads/${lead.id}`), 200);
    assert.equal(l.stage_id, ref.quoted.id);
    const k = await kinds(lead.id);
    for (const kind of ['quote_created', 'quote_updated', 'quote_sent', 'quote_accepted', 'stage_changed']) assert.ok(k.includes(kind), kind);
  });

  it('an expired quote cannot be accepted; a sent quote can be declined', async () => {
    const lead = await newLead();
    const q = await newQuote(lead.id);
    expectStatus(await agent.c.patch(`/api/v1/quotes/${q.id}`, { valid_until: isoNow(-DAY) }), 200);
    const s = expectStatus(await agent.c.patch(`/api/v1/quotes/${q.id}`, { status: 'sent' }), 200);
    assert.equal(s.expired, true);
    const r = expectError(await agent.c.patch(`/api/v1/quotes/${q.id}`, { status: 'accepted' }), 409, 'conflict');
    assert.match(r.message, /expired/);
    const q2 = await newQuote(lead.id);
    expectStatus(await agent.c.patch(`/api/v1/quotes/${q2.id}`, { status: 'sent' }), 200);
    assert.equal(expectStatus(await agent.c.patch(`/api/v1/quotes/${q2.id}`, { status: 'declined' }), 200).status, 'declined');
  });
});

// Everything a conversion writes, counted through the API.
const customerCount = async () => (await walk(admin.c, '/api/v1/customers', 500)).length;

describe('conversion', { timeout: FILE_TIMEOUT_MS }, () => {
  it('dry run previews the customer, services and invoice and changes nothing', async () => {
    const lead = await newLead();
    const q = await newQuote(lead.id);
    const before = await customerCount();
    const r = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/convert?dry_run=1`, { quote_ids: [q.id], mode: 'active_invoice' }), 200);
    assert.equal(r.dry_run, true);
    assert.equal(r.plan.customer.full_name, lead.full_name);
    assert.deepEqual(r.plan.customer.emails, lead.emails);
    assert.equal(r.plan.services.length, 2);
    assert.equal(r.plan.invoice.kind, 'invoice');
    assert.equal(r.plan.invoice.total_cents, 2259);
    assert.match(r.plan.invoice.number_preview, new RegExp(`^INV-${YEAR}-\\d{6}$`));
    assert.equal(r.plan.lead.status, 'closed');
    assert.equal(r.plan.lead.outcome, 'converted');
    const l = expectStatus(await agent.c.get(`/api/v1/leads/${lead.id}`), 200);
    assert.equal(l.status, 'open');
    assert.equal(l.version, lead.version);
    assert.equal(await customerCount(), before);
  });

  it('active_invoice: the customer takes the lead\'s details and consent, services come from the quote, the invoice is owed', async () => {
    const lead = await newLead({ login: 'carla.portal' });
    const q = await newQuote(lead.id);
    const r = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { quote_ids: [q.id], mode: 'active_invoice' }), 201);
    const { customer, services, invoice } = r;
    assert.equal(customer.full_name, lead.full_name);
    assert.equal(customer.company, lead.company);
    assert.deepEqual(customer.emails, lead.emails);
    assert.deepEqual(customer.phones, lead.phones);
    assert.equal(customer.login, 'carla.portal');
    assert.equal(customer.email_opt_out, true, 'consent kept');
    assert.equal(customer.sms_opt_out, false);
    assert.equal(customer.owner_id, agent.id);
    assert.equal(customer.partner_id, ref.partner.id);
    assert.equal(customer.city, 'Lyon');
    assert.equal(customer.country, 'FR');
    assert.equal(customer.lead_id, lead.id);
    assert.equal(customer.active, true);
    assert.equal(customer.balance_cents, 2259);
    assert.equal(customer.history_url, `/api/v1/leads/${lead.id}/timeline`);
    assert.deepEqual(services.map((s) => [s.description, s.period, s.quote_id]), [['Installation', 'one_time', q.id], ['Fibre 1 Gbit/s', 'monthly', q.id]]);
    assert.equal(invoice.kind, 'invoice');
    assert.equal(invoice.status, 'issued');
    assert.match(invoice.number, new RegExp(`^INV-${YEAR}-\\d{6}$`));
    assert.equal(invoice.total_cents, 2259);
    assert.equal(invoice.tax_cents, 255);
    assert.equal(invoice.currency, 'USD');
    assert.equal((Date.parse(invoice.due_at) - Date.parse(invoice.issued_at)) / DAY, 7);
    assert.equal(r.lead.status, 'closed');
    assert.equal(r.lead.outcome, 'converted');
    assert.equal(r.lead.customer_id, customer.id);
    const ev = await timeline(lead.id);
    const k = ev.map((e) => e.kind);
    for (const kind of ['closed', 'converted', 'customer_created', 'invoice_issued']) assert.ok(k.includes(kind), kind);
    const conv = ev.find((e) => e.kind === 'converted');
    assert.equal(conv.data.customer_id, customer.id);
    assert.equal(conv.data.invoice_number, invoice.number);
    assert.deepEqual(conv.data.quote_ids, [q.id]);
    // once is enough; the contact fields are read-only now, other fields are not
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { quote_ids: [q.id], mode: 'active_invoice' }), 409, 'conflict');
    const ro = expectError(await agent.c.patch(`/api/v1/leads/${lead.id}`, { full_name: 'Someone Else', phones: ['+14155550199'] }), 409, 'conflict');
    assert.match(ro.message, /converted/);
    assert.ok(ro.fields.full_name && ro.fields.phones);
    assert.equal(expectStatus(await agent.c.patch(`/api/v1/leads/${lead.id}`, { notes: 'Happy customer' }), 200).notes, 'Happy customer');
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/reopen`, {}), 409, 'conflict');
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/quotes`, { lines: LINES }), 409, 'conflict');
  });

  it('inactive_proforma with edited services: no balance until paid; finalize makes the invoice and activates the customer', async () => {
    const lead = await newLead();
    const q = await newQuote(lead.id);
    const r = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, {
      quote_ids: [q.id], mode: 'inactive_proforma',
      services: [{ description: 'Fibre 500 Mbit/s', quantity: 2, unit_price_cents: 2500, period: 'monthly', tax_rate: 10, start_date: '2027-01-01', quote_id: q.id }],
    }), 201);
    assert.equal(r.customer.active, false);
    assert.equal(r.customer.balance_cents, 0);
    assert.equal(r.services.length, 1);
    assert.equal(r.services[0].start_date, '2027-01-01');
    assert.equal(r.services[0].unit_price_cents, 2500);
    assert.equal(r.invoice.kind, 'proforma');
    assert.match(r.invoice.number, new RegExp(`^PRO-${YEAR}-\\d{6}$`));
    assert.equal(r.invoice.total_cents, 5500);
    expectError(await agent.c.post(`/api/v1/invoices/${r.invoice.id}/finalize`, {}, { headers: { 'If-Match': '7' } }), 412, 'version_mismatch');
    const f = expectStatus(await agent.c.post(`/api/v1/invoices/${r.invoice.id}/finalize`, { paid_at: isoNow(-3600_000) }), 201);
    assert.equal(f.kind, 'invoice');
    assert.equal(f.status, 'paid');
    assert.match(f.number, new RegExp(`^INV-${YEAR}-\\d{6}$`));
    assert.equal(f.proforma_id, r.invoice.id);
    assert.equal(f.total_cents, 5500);
    const pro = expectStatus(await agent.c.get(`/api/v1/invoices/${r.invoice.id}`), 200);
    assert.equal(pro.status, 'paid');
    assert.equal(pro.invoice_id, f.id);
    const c = expectStatus(await agent.c.get(`/api/v1/customers/${r.customer.id}`), 200);
    assert.equal(c.active, true);
    assert.equal(c.balance_cents, 0, 'paid: nothing owed');
    assert.deepEqual(c.invoices.map((i) => i.id), [r.invoice.id, f.id]);
    expectError(await agent.c.post(`/api/v1/invoices/${r.invoice.id}/finalize`, {}), 409, 'conflict');
    expectError(await agent.c.post(`/api/v1/invoices/${f.id}/finalize`, {}), 409, 'conflict');
    const k = await kinds(lead.id);
    assert.ok(k.includes('proforma_finalized') && k.includes('customer_activated'));
  });

  it('refuses bad requests and changes nothing', async () => {
    const lead = await newLead();
    const q = await newQuote(lead.id);
    const elsewhere = await newQuote((await newLead()).id);
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { quote_ids: [q.id], mode: 'free' }), 422, 'validation_failed');
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { quote_ids: [q.id] }), 422, 'validation_failed');
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { quote_ids: [elsewhere.id], mode: 'active_invoice' }), 422, 'validation_failed');
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { quote_ids: [], mode: 'active_invoice' }), 422, 'validation_failed');
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { quote_ids: [q.id, q.id], mode: 'active_invoice' }), 422, 'validation_failed');
    const bad = expectError(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, {
      quote_ids: [q.id], mode: 'active_invoice', services: [{ description: 'x', unit_price_cents: 10, start_date: '2027-13-01' }],
    }), 422, 'validation_failed');
    assert.ok(bad.fields['services[0].start_date']);
    expectStatus(await agent.c.patch(`/api/v1/quotes/${q.id}`, { status: 'sent' }), 200);
    expectStatus(await agent.c.patch(`/api/v1/quotes/${q.id}`, { status: 'declined' }), 200);
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { quote_ids: [q.id], mode: 'active_invoice' }), 422, 'validation_failed');
    expectError(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { quote_ids: [q.id], mode: 'active_invoice' },
      { headers: { 'If-Match': '99' } }), 412, 'version_mismatch');
    const l = expectStatus(await agent.c.get(`/api/v1/leads/${lead.id}`), 200);
    assert.equal(l.status, 'open');
    assert.equal(l.customer_id, null);
  });

  it('a conversion that fails halfway (the portal login belongs to a customer already) leaves nothing and gives its number back', async () => {
    const a = await newLead({ login: 'shared.login' });
    const first = expectStatus(await agent.c.post(`/api/v1/leads/${a.id}/convert`, { quote_ids: [(await newQuote(a.id)).id], mode: 'active_invoice' }), 201);
    const b = await newLead({ login: 'shared.login' });
    const qb = await newQuote(b.id);
    const openTask = expectStatus(await agent.c.post(`/api/v1/leads/${b.id}/tasks`, { type: 'call', title: 'Call', due_at: isoNow(2 * DAY) }), 201);
    const before = await customerCount();
    const bBefore = expectStatus(await agent.c.get(`/api/v1/leads/${b.id}`), 200);
    const r = expectError(await agent.c.post(`/api/v1/leads/${b.id}/convert`, { quote_ids: [qb.id], mode: 'active_invoice' }), 409, 'conflict');
    assert.match(r.message, /login/);
    const bAfter = expectStatus(await agent.c.get(`/api/v1/leads/${b.id}`), 200);
    assert.deepEqual(bAfter, bBefore, 'the lead is as it was (open, same version)');
    assert.equal(await customerCount(), before, 'no customer');
    const k = await kinds(b.id);
    assert.ok(!k.includes('closed') && !k.includes('converted') && !k.includes('invoice_issued'), k.join(','));
    const t = expectStatus(await agent.c.get(`/api/v1/tasks/${openTask.id}`), 200);
    assert.equal(t.status, 'open', 'the task the close would have cancelled is still open');
    // the number the failed conversion took is given back: the next one follows the first without a gap
    const next = expectStatus(await agent.c.post(`/api/v1/leads/${(await newLead()).id}/convert`, { quote_ids: [], mode: 'active_invoice',
      services: [{ description: 'Setup', unit_price_cents: 100 }] }), 201);
    const seq = (x) => Number(x.split('-')[2]);
    assert.equal(seq(next.invoice.number), seq(first.invoice.number) + 1);
  });

  it('the role policy convert: deny → 403, request → 202 and an approval that carries the conversion out', async () => {
    const role = ref.roles.find((x) => x.name === 'agent');
    const lead = await newLead();
    const q = await newQuote(lead.id);
    try {
      expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { convert: 'deny' } }), 200);
      expectError(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { quote_ids: [q.id], mode: 'active_invoice' }), 403, 'forbidden');
      expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { convert: 'request' } }), 200);
      const r = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { quote_ids: [q.id], mode: 'active_invoice' }), 202);
      assert.equal(r.approval.action, 'convert');
      assert.equal(r.approval.status, 'pending');
      assert.equal(expectStatus(await agent.c.get(`/api/v1/leads/${lead.id}`), 200).status, 'open');
      expectStatus(await manager.c.post(`/api/v1/approvals/${r.approval.id}/approve`, {}), 200);
      const l = expectStatus(await agent.c.get(`/api/v1/leads/${lead.id}`), 200);
      assert.equal(l.outcome, 'converted');
      assert.ok(l.customer_id);
      const c = expectStatus(await agent.c.get(`/api/v1/customers/${l.customer_id}`), 200);
      assert.equal(c.services.length, 2);
      assert.equal(c.invoices.length, 1);
    } finally {
      expectStatus(await admin.c.patch(`/api/v1/roles/${role.id}`, { policy: { convert: 'allow' } }), 200);
    }
  });

  it('concurrent conversions take distinct numbers without gaps', async () => {
    const leads = [];
    for (let i = 0; i < 8; i++) leads.push(await newLead({}, admin.c));
    const rs = await Promise.all(leads.map((l) => admin.c.post(`/api/v1/leads/${l.id}/convert`, { mode: 'active_invoice',
      services: [{ description: `Line ${l.id}`, unit_price_cents: 1000 }] })));
    const seqs = rs.map((r) => Number(expectStatus(r, 201).invoice.number.split('-')[2])).sort((a, b) => a - b);
    for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `contiguous: ${seqs}`);
  });

  it('two servers on one PostgreSQL number without gaps or repeats', { skip: !process.env.LEADPATH_TEST_PG_URL }, async () => {
    const srv2 = await startServer({ db: w.srv.db });
    try {
      const s2 = await login(srv2, admin.email);
      const c2 = client(srv2, s2.token);
      const leads = [];
      for (let i = 0; i < 10; i++) leads.push(await newLead({}, admin.c));
      const rs = await Promise.all(leads.map((l, i) => (i % 2 ? c2 : admin.c).post(`/api/v1/leads/${l.id}/convert`, { mode: 'active_invoice',
        services: [{ description: 'Two servers', unit_price_cents: 1000 }] })));
      const seqs = rs.map((r) => Number(expectStatus(r, 201).invoice.number.split('-')[2])).sort((a, b) => a - b);
      for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `contiguous: ${seqs}`);
    } finally {
      await srv2.stop();
    }
  });
});

describe('invoices as documents', { timeout: FILE_TIMEOUT_MS }, () => {
  let inv;
  before(async () => {
    const lead = await newLead({ full_name: 'Zoë <b>Bold</b> & Co' });
    const r = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { mode: 'active_invoice', services: [
      { description: 'Router rental <script>alert(1)</script>', quantity: 2, unit_price_cents: 123456, period: 'monthly', tax_rate: 20 },
      { description: 'Installation', unit_price_cents: 5000 },
    ] }), 201);
    inv = r.invoice;
  });
  const pdfText = (buf) => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-pdf-'));
    try {
      writeFileSync(join(dir, 'i.pdf'), buf);
      return execFileSync('pdftotext', ['-layout', join(dir, 'i.pdf'), '-'], { encoding: 'utf8' });
    } finally { rmSync(dir, { recursive: true, force: true }); }
  };
  const get = (path, headers = {}) => fetch(`${w.srv.base}${path}`, { headers: { Authorization: `Bearer ${agent.token}`, ...headers } });

  it('JSON by default, with lines and totals', async () => {
    const j = expectStatus(await agent.c.get(`/api/v1/invoices/${inv.id}`), 200);
    assert.equal(j.number, inv.number);
    assert.equal(j.lines.length, 2);
    assert.equal(j.subtotal_cents, 251912);
    assert.equal(j.tax_cents, 49382);
    assert.equal(j.total_cents, 301294);
    assert.equal(j.pdf_url, `/api/v1/invoices/${inv.id}.pdf`);
  });

  it('a PDF with Accept: application/pdf and at .pdf, holding the number, the lines and the totals', async () => {
    for (const r of [await get(`/api/v1/invoices/${inv.id}`, { Accept: 'application/pdf' }), await get(`/api/v1/invoices/${inv.id}.pdf`)]) {
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/pdf');
      const buf = Buffer.from(await r.arrayBuffer());
      assert.equal(buf.subarray(0, 5).toString(), '%PDF-');
      const text = pdfText(buf);
      assert.match(text, new RegExp(inv.number));
      assert.match(text, /INVOICE/);
      assert.match(text, /Router rental <script>alert\(1\)<\/script>/);
      assert.match(text, /Installation/);
      assert.match(text, /1,234\.56 USD/);
      assert.match(text, /2,519\.12 USD/);
      assert.match(text, /493\.82 USD/);
      assert.match(text, /3,012\.94 USD/);
      assert.match(text, /Zoë <b>Bold<\/b> & Co/);
      assert.match(text, /Acme Fibre Ltd/);
    }
    assert.equal((await get('/api/v1/invoices/999999.pdf')).status, 404);
    assert.equal((await fetch(`${w.srv.base}/api/v1/invoices/${inv.id}.pdf`)).status, 401);
    const o = await fetch(`${w.srv.base}/api/v1/invoices/${inv.id}.pdf`, { headers: { Authorization: `Bearer ${other.token}` } });
    assert.equal(o.status, 404, 'not visible to another agent');
  });

  it('a printable HTML page with every value escaped', async () => {
    const r = await get(`/api/v1/invoices/${inv.id}/print`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    const html = await r.text();
    assert.ok(html.includes('Router rental &lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.ok(!html.includes('<script>'));
    assert.ok(html.includes('Zoë &lt;b&gt;Bold&lt;/b&gt; &amp; Co'));
    assert.ok(html.includes(inv.number));
    assert.ok(html.includes('3,012.94 USD'));
  });
});

describe('customers', { timeout: FILE_TIMEOUT_MS }, () => {
  let cust;
  let lead;
  before(async () => {
    lead = await newLead({ full_name: 'Searchable Sam', company: 'Sam Solar GmbH', emails: ['sam@solar.example'], phones: ['+14155550123'] });
    cust = expectStatus(await agent.c.post(`/api/v1/leads/${lead.id}/convert`, { mode: 'active_invoice',
      services: [{ description: 'Panel cleaning', unit_price_cents: 9900 }] }), 201).customer;
  });

  it('searches by name, company, email and phone (as written or as digits)', async () => {
    for (const q of ['searchable', 'SAM SOLAR', 'sam@solar', '+14155550123', '415 555 0123']) {
      const ids = items(await agent.c.get(`/api/v1/customers?q=${encodeURIComponent(q)}`)).map((c) => c.id);
      assert.ok(ids.includes(cust.id), `q=${q}`);
    }
    assert.deepEqual(items(await agent.c.get('/api/v1/customers?q=nobody-like-this')), []);
    assert.deepEqual(items(await agent.c.get('/api/v1/customers?q=%25')).filter((c) => c.id === cust.id), [], 'a % is literal');
  });

  it('lists pages with a cursor, and shows only what the caller may see', async () => {
    const p1 = expectStatus(await admin.c.get('/api/v1/customers?limit=2'), 200);
    assert.equal(p1.items.length, 2);
    assert.ok(p1.next_cursor);
    const p2 = expectStatus(await admin.c.get(`/api/v1/customers?limit=2&cursor=${p1.next_cursor}`), 200);
    assert.ok(p2.items.every((c) => c.id < p1.items[1].id));
    assert.ok(!items(await other.c.get('/api/v1/customers')).some((c) => c.id === cust.id));
    expectError(await other.c.get(`/api/v1/customers/${cust.id}`), 404, 'not_found');
    assert.ok(items(await manager.c.get('/api/v1/customers')).some((c) => c.id === cust.id), 'the team\'s manager sees it');
  });

  it('GET has services, invoices and the link to the lead\'s history; PATCH changes details with an event there', async () => {
    const c = expectStatus(await agent.c.get(`/api/v1/customers/${cust.id}`), 200);
    assert.equal(c.services[0].description, 'Panel cleaning');
    assert.equal(c.invoices[0].total_cents, 9900);
    assert.equal(c.history_url, `/api/v1/leads/${lead.id}/timeline`);
    const p = expectStatus(await agent.c.patch(`/api/v1/customers/${cust.id}`, { company: 'Sam Solar AG', sms_opt_out: true },
      { headers: { 'If-Match': String(c.version) } }), 200);
    assert.equal(p.company, 'Sam Solar AG');
    assert.equal(p.sms_opt_out, true);
    assert.equal(p.version, c.version + 1);
    expectError(await agent.c.patch(`/api/v1/customers/${cust.id}`, { company: 'x' }, { headers: { 'If-Match': String(c.version) } }), 412, 'version_mismatch');
    expectError(await agent.c.patch(`/api/v1/customers/${cust.id}`, { emails: ['not an email'] }), 422, 'validation_failed');
    assert.ok(items(await agent.c.get('/api/v1/customers?q=solar%20ag')).some((x) => x.id === cust.id), 'search follows the change');
    const ev = (await timeline(lead.id)).find((e) => e.kind === 'customer_updated');
    assert.ok(ev);
    assert.equal(ev.data.changes.company.new, 'Sam Solar AG');
  });
});

describe('report counters', { timeout: FILE_TIMEOUT_MS }, () => {
  it('equal the recomputed ones after every conversion above', async () => {
    const res = await runCli(['reports', 'check', '--db', w.srv.db]);
    assert.equal(res.code, 0, `reports check: ${res.stdout}${res.stderr}`);
  });
});
