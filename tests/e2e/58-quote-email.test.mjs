// 58-quote-email.test.mjs — a quote sent to its lead by e-mail as a PDF (docs/customers.md):
// POST /quotes/{id}/send queues the message through the outbox with the quote rendered as a PDF
// attached, marks the quote sent, and the `message` job delivers it to a real SMTP server on
// loopback (tests/e2e/mailservers.mjs); the PDF read back with pdftotext holds the lines and
// totals; the text comes from the seeded `quote` template; opt-outs, closed leads, declined and
// expired quotes and If-Match are refused and change nothing. SQLite, and PostgreSQL with
// LEADPATH_TEST_PG_URL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorld, expectStatus, expectError, items, walk, u, until, isoNow, DAY, FILE_TIMEOUT_MS } from './lib.mjs';
import { startSmtp } from './mailservers.mjs';

let w;
let smtp;
let admin;
let agent;
let other;
const tmp = mkdtempSync(join(tmpdir(), 'lp-quote-mail-'));

before(async () => {
  smtp = await startSmtp();
  w = await startWorld();
  ({ admin, agent, other } = w.users);
  expectStatus(await admin.c.patch('/api/v1/settings', {
    smtp_host: '127.0.0.1', smtp_port: smtp.port, smtp_tls: 'none', mail_from: 'sales@leadpath.test',
    currency: 'EUR', company_name: 'Acme Fibre Ltd', quote_valid_days: 30,
  }), 200, 'settings');
});
after(async () => {
  await w?.srv.stop();
  await smtp?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const LINES = [
  { description: 'Installation and router', quantity: 2, unit_price_cents: 4950, period: 'one_time', tax_rate: 20 },
  { description: 'Fibre 500 Mbit/s', quantity: 1, unit_price_cents: 2999, period: 'monthly', tax_rate: 20 },
];
const newLead = async (extra = {}) => expectStatus(await agent.c.post('/api/v1/leads', {
  full_name: `Quinn Quote ${u()}`, emails: [`quinn.${u()}@example.com`], company: 'Quinn & Daughters', ...extra,
}), 201, 'lead');
const newQuote = async (leadId) => expectStatus(await agent.c.post(`/api/v1/leads/${leadId}/quotes`, { lines: LINES }), 201, 'quote');

/** The parts of a MIME message (one level of multipart), each {headers, body}. */
function parts(raw) {
  const m = /boundary="?([^";\r\n]+)"?/i.exec(raw);
  assert.ok(m, 'a multipart message');
  return raw.split(`--${m[1]}`).slice(1, -1).map((p) => {
    const i = p.indexOf('\r\n\r\n');
    return { headers: p.slice(0, i), body: p.slice(i + 4) };
  });
}

describe('a quote sent by e-mail as a PDF', { timeout: FILE_TIMEOUT_MS * 2 }, () => {
  it('queues the mail with the PDF through the outbox, marks the quote sent; the mail arrives with the lines and totals', async () => {
    const lead = await newLead();
    const q = await newQuote(lead.id);
    const before = smtp.messages().length;
    const r = expectStatus(await agent.c.post(`/api/v1/quotes/${q.id}/send`, {}, { headers: { 'If-Match': `"${q.version}"` } }), 202, 'send');
    assert.equal(r.quote.status, 'sent');
    assert.ok(r.quote.sent_at);
    assert.equal(r.quote.version, q.version + 1);
    assert.equal(r.message.channel, 'email');
    assert.equal(r.message.status, 'queued');
    assert.equal(r.message.to, lead.emails[0]);
    const number = `Q-${String(q.id).padStart(6, '0')}`;
    assert.equal(r.message.subject, `Your quote ${number} from Acme Fibre Ltd`, 'the seeded quote template');
    assert.match(r.message.body, /154\.79 EUR in all, valid until \d{4}-\d{2}-\d{2}/);
    // the timeline: the message and the quote, one transaction
    const ev = await walk(admin.c, `/api/v1/leads/${lead.id}/timeline`, 500);
    const sent = ev.find((e) => e.kind === 'quote_sent');
    assert.ok(sent, 'quote_sent');
    assert.equal(sent.data.message_id, r.message.id);
    assert.equal(sent.data.number, number);
    assert.equal(sent.data.again, false);
    assert.ok(ev.some((e) => e.kind === 'message_out' && e.data.message_id === r.message.id));
    // delivered by the message job, with the file
    const mails = await smtp.waitFor(before + 1);
    const mail = mails.slice(before).find((x) => x.rcptTos.includes(lead.emails[0]));
    assert.ok(mail, 'the mail reached the SMTP server');
    assert.match(mail.text, /^Content-Type: multipart\/mixed/im);
    const ps = parts(mail.text);
    const text = ps.find((p) => /text\/plain/i.test(p.headers));
    assert.ok(text && /Please find our quote/.test(text.body), 'the text part first');
    const pdf = ps.find((p) => /application\/pdf/i.test(p.headers));
    assert.ok(pdf, 'a PDF part');
    assert.match(pdf.headers, /Content-Disposition: attachment;\s*filename="?quote-Q-\d{6}\.pdf/i);
    assert.match(pdf.headers, /Content-Transfer-Encoding: base64/i);
    const bytes = Buffer.from(pdf.body.replace(/\s+/g, ''), 'base64');
    assert.equal(bytes.subarray(0, 5).toString(), '%PDF-');
    const file = join(tmp, 'quote.pdf');
    writeFileSync(file, bytes);
    const t = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    for (const s of ['QUOTE', number, 'Acme Fibre Ltd', lead.full_name, 'Installation and router', 'Fibre 500 Mbit/s',
      '99.00 EUR', '29.99 EUR', 'monthly', 'one-time', 'Valid until']) assert.ok(t.includes(s), `PDF holds ${s}:\n${t}`);
    // subtotal 99.00 + 29.99 = 128.99; tax 19.80 + 6.00 = 25.80; total 154.79
    assert.match(t, /Subtotal\s+128\.99 EUR/);
    assert.match(t, /Tax\s+25\.80 EUR/);
    assert.match(t, /Total\s+154\.79 EUR/);
    await until('the message is sent', async () => {
      const th = items(await agent.c.get(`/api/v1/leads/${lead.id}/threads`));
      const msgs = items(await agent.c.get(`/api/v1/threads/${th[0].id}/messages`));
      return msgs.find((x) => x.id === r.message.id)?.status === 'sent';
    });
  });

  it('takes the request\'s own words, may send a sent quote again, and uses the open conversation', async () => {
    const lead = await newLead();
    const q = await newQuote(lead.id);
    const a = expectStatus(await agent.c.post(`/api/v1/quotes/${q.id}/send`, { subject: 'Our offer {{quote.number}}', body: 'Dear {{lead.full_name}}, total {{quote.total}}.' }), 202);
    assert.equal(a.message.subject, `Our offer Q-${String(q.id).padStart(6, '0')}`);
    assert.equal(a.message.body, `Dear ${lead.full_name}, total 154.79 EUR.`);
    const b = expectStatus(await agent.c.post(`/api/v1/quotes/${q.id}/send`, {}), 202);
    assert.equal(b.message.thread_id, a.message.thread_id, 'the open e-mail conversation');
    const again = (await walk(admin.c, `/api/v1/leads/${lead.id}/timeline`, 500)).filter((e) => e.kind === 'quote_sent');
    assert.deepEqual(again.map((e) => e.data.again), [false, true]);
    expectError(await agent.c.post(`/api/v1/quotes/${q.id}/send`, { subject: 'Hi {{quote.nope}}' }), 422, 'validation_failed');
  });

  it('refuses what may not be sent, and changes nothing', async () => {
    const optedOut = await newLead({ email_opt_out: true });
    const q1 = await newQuote(optedOut.id);
    expectError(await agent.c.post(`/api/v1/quotes/${q1.id}/send`, {}), 422, 'validation_failed');
    const noMail = await newLead({ emails: [], phones: ['+14155550111'] });
    const q2 = await newQuote(noMail.id);
    expectError(await agent.c.post(`/api/v1/quotes/${q2.id}/send`, {}), 422, 'validation_failed');
    const lead = await newLead();
    const q3 = await newQuote(lead.id);
    expectError(await agent.c.post(`/api/v1/quotes/${q3.id}/send`, {}, { headers: { 'If-Match': '"7"' } }), 412, 'version_mismatch');
    expectError(await other.c.post(`/api/v1/quotes/${q3.id}/send`, {}), 404, 'not_found');
    expectStatus(await agent.c.patch(`/api/v1/quotes/${q3.id}`, { valid_until: isoNow(-DAY) }), 200);
    expectError(await agent.c.post(`/api/v1/quotes/${q3.id}/send`, {}), 409, 'conflict');
    const q4 = await newQuote(lead.id);
    expectStatus(await agent.c.patch(`/api/v1/quotes/${q4.id}`, { status: 'sent' }), 200);
    expectStatus(await agent.c.patch(`/api/v1/quotes/${q4.id}`, { status: 'declined' }), 200);
    expectError(await agent.c.post(`/api/v1/quotes/${q4.id}/send`, {}), 409, 'conflict');
    for (const [l, q] of [[optedOut, q1], [noMail, q2], [lead, q3]]) {
      assert.equal(expectStatus(await agent.c.get(`/api/v1/quotes/${q.id}`), 200).status, 'new', 'still new');
      assert.equal(items(await agent.c.get(`/api/v1/leads/${l.id}/threads`)).length, 0, 'no message');
    }
  });

  it('the quote template is a template kind of its own, editable like the others', async () => {
    const t = items(await admin.c.get('/api/v1/templates')).find((x) => x.kind === 'quote');
    assert.ok(t, 'seeded');
    assert.equal(t.channel, 'email');
    assert.match(t.body, /\{\{quote\.number\}\}/);
    const made = expectStatus(await admin.c.post('/api/v1/templates', { name: 'Quote (short)', channel: 'email', kind: 'quote', subject: 'Quote {{quote.number}}', body: 'Total {{quote.total}}' }), 201);
    assert.equal(made.kind, 'quote');
    expectStatus(await admin.c.patch(`/api/v1/templates/${made.id}`, { active: false }), 200);
  });
});
