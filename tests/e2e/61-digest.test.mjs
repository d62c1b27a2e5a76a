// 61-digest: the weekly digest e-mail to managers and admins (docs/reports.md, "Weekly digest").
// Leads with history in the last 7 days and the 7 before; the digest's figures are checked against
// a model computed here from the leads we made, per recipient's view (a manager: the team; an
// admin: everyone). The e-mails go to the loopback SMTP server: one per manager and admin, none to
// an agent, names escaped in the HTML part, a link to each report under public_url. The week's
// slot is sent once: two servers on the database, a restart an hour later (LEADPATH_TIME_OFFSET);
// a week later it goes out again.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, startServer, login, client, expectStatus, expectError, sleep, until, FILE_TIMEOUT_MS } from './lib.mjs';
import { startSmtp } from './mailservers.mjs';

const DAYMS = 86_400_000;
const today = Math.floor(Date.now() / DAYMS);  // the UTC day number
const dayStr = (d) => new Date(d * DAYMS).toISOString().slice(0, 10);
const at = (d, hh = '10:00:00') => `${dayStr(d)}T${hh}Z`;

/** The text/plain and text/html parts of a raw MIME message, decoded (quoted-printable or base64). */
function parts(raw) {
  const out = {};
  const m = /boundary="?([^";\r\n]+)"?/i.exec(raw);
  const chunks = m ? raw.split(`--${m[1]}`) : [raw];
  for (const c of chunks) {
    const i = c.indexOf('\r\n\r\n');
    if (i < 0) continue;
    const head = c.slice(0, i), body = c.slice(i + 4);
    const type = /content-type:\s*text\/(plain|html)/i.exec(head);
    if (!type) continue;
    const enc = (/content-transfer-encoding:\s*([\w-]+)/i.exec(head) || [])[1]?.toLowerCase();
    let text;
    if (enc === 'base64') text = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    else if (enc === 'quoted-printable') {
      const bytes = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
      text = Buffer.from(bytes, 'latin1').toString('utf8');
    } else text = body;
    out[type[1].toLowerCase()] = text.replace(/\r\n/g, '\n');
  }
  return out;
}

const header = (raw, name) => (new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(raw) || [])[1];

describe('weekly digest', { timeout: FILE_TIMEOUT_MS * 2 }, () => {
  let w, smtp, other;
  const made = [];
  let reason;

  before(async () => {
    smtp = await startSmtp();
    w = await startWorld({ keepDir: true, args: ['--sweep-seconds', '1'] });
    const { admin, manager } = w.users;
    expectStatus(await admin.c.patch('/api/v1/settings', {
      smtp_host: '127.0.0.1', smtp_port: smtp.port, smtp_tls: 'none', mail_from: 'crm@leadpath.test',
      public_url: 'https://crm.example.com/', company_name: 'Fibre & <Co>', digest_weekday: 0,
    }), 200);
    expectStatus(await admin.c.patch(`/api/v1/users/${manager.id}`, { name: 'Max <b>Manager</b> & "Co"' }), 200);
    reason = expectStatus(await admin.c.post('/api/v1/lost-reasons', { name: 'Too <dear> & slow' }), 201);
    const { agent, agent2 } = w.users;
    const o = w.users.other;
    const mk = async (body) => { const l = expectStatus(await admin.c.post('/api/v1/leads', body), 201); made.push(l); return l; };
    // this week (days -7 .. -1) and the week before (-14 .. -8); owners in the manager's team and outside it
    await mk({ full_name: 'D1', owner_id: agent.id, created_at: at(today - 2) });
    await mk({ full_name: 'D2', owner_id: agent2.id, created_at: at(today - 7, '00:00:00') });
    await mk({ full_name: 'D3', owner_id: o.id, created_at: at(today - 3) });
    await mk({ full_name: 'D4', owner_id: agent.id, created_at: at(today - 10), status: 'closed', outcome: 'won', closed_at: at(today - 1, '23:59:59'), value_cents: 12345 });
    await mk({ full_name: 'D5', owner_id: o.id, created_at: at(today - 9), status: 'closed', outcome: 'won', closed_at: at(today - 4), value_cents: 500 });
    await mk({ full_name: 'D6', owner_id: agent2.id, created_at: at(today - 12), status: 'closed', outcome: 'lost', lost_reason_id: reason.id, closed_at: at(today - 5) });
    await mk({ full_name: 'D7', owner_id: agent.id, created_at: at(today - 13), status: 'closed', outcome: 'won', closed_at: at(today - 11), value_cents: 700 });
    await mk({ full_name: 'D8', owner_id: agent.id, created_at: at(today - 14, '00:00:01') });
    await mk({ full_name: 'D9', owner_id: agent2.id, created_at: at(today - 45) });  // open, past the breach age
    await mk({ full_name: 'D10', owner_id: o.id, created_at: at(today - 60) });     // open, past it, outside the team
    await mk({ full_name: 'D11', owner_id: agent.id, created_at: at(today - 1), status: 'closed', outcome: 'lost', lost_reason_id: reason.id, closed_at: at(today) });  // today: not in the week
  });

  after(async () => {
    await other?.stop().catch(() => {});
    await w?.srv.stop();
    await smtp?.stop();
  });

  /** The model: figures over the leads we made, for owners in `owners` (null: all). */
  function model(owners) {
    const mine = made.filter((l) => !owners || owners.includes(l.owner_id));
    const day = (t) => Math.floor(Date.parse(t) / DAYMS);
    const inWeek = (t, k) => t && day(t) >= today - 7 * k && day(t) <= today - 7 * k + 6;
    const week = (k) => {
      const won = mine.filter((l) => l.outcome === 'won' && inWeek(l.closed_at, 1 + k));
      const lost = mine.filter((l) => l.outcome === 'lost' && inWeek(l.closed_at, 1 + k));
      return {
        new: mine.filter((l) => inWeek(l.created_at, 1 + k)).length, won: won.length, lost: lost.length,
        win_rate: won.length + lost.length ? won.length / (won.length + lost.length) : null,
        value_won_cents: won.reduce((s, l) => s + (l.value_cents ?? 0), 0),
      };
    };
    const cur = week(0);
    const lostNow = mine.filter((l) => l.outcome === 'lost' && inWeek(l.closed_at, 1)).length;
    return {
      from: dayStr(today - 7), to: dayStr(today - 1), ...cur, previous: week(1),
      open_over_breach: mine.filter((l) => l.status === 'open' && (Date.now() - Date.parse(l.created_at)) / DAYMS > 30).length,
      breach_days: 30, lost_reasons: lostNow ? [{ name: 'Too <dear> & slow', count: lostNow }] : [],
    };
  }

  it('validates its settings', async () => {
    const { admin } = w.users;
    expectError(await admin.c.patch('/api/v1/settings', { digest_hour: 24 }), 422, 'validation_failed');
    expectError(await admin.c.patch('/api/v1/settings', { digest_weekday: 8 }), 422, 'validation_failed');
    expectError(await admin.c.patch('/api/v1/settings', { digest_weekday: '1' }), 422, 'validation_failed');
    const s = expectStatus(await admin.c.get('/api/v1/settings'), 200);
    assert.equal(s.digest_weekday, 0);
  });

  it('previews the figures of the caller\'s view, escaped, with links', async () => {
    const { admin, manager, agent } = w.users;
    const team = [manager.id, agent.id, w.users.agent2.id];
    const pm = expectStatus(await manager.c.post('/api/v1/reports/digest/preview'), 200);
    assert.deepEqual(pm.figures, model(team));
    const pa = expectStatus(await admin.c.post('/api/v1/reports/digest/preview'), 200);
    assert.deepEqual(pa.figures, model(null));
    assert.notDeepEqual(pm.figures, pa.figures, 'the manager sees the team only');
    assert.match(pm.text, /^New leads: 3 \(previous 7 days: 4\)$/m);
    assert.match(pm.text, /^Won: 1 \(previous 7 days: 1\)$/m);
    assert.match(pm.text, /^Win rate: 50% \(previous 7 days: 100%\)$/m);
    assert.match(pm.text, /^Value won: 123\.45 EUR \(previous 7 days: 7\.00 EUR\)$/m);
    assert.match(pm.text, /^Open leads over 30 days: 1$/m);
    assert.match(pm.text, /^ {2}Too <dear> & slow: 1$/m);
    assert.match(pm.text, /^ {2}Aging and SLA: https:\/\/crm\.example\.com\/reports\/aging$/m);
    assert.match(pm.html, /Max &lt;b&gt;Manager&lt;\/b&gt; &amp; &quot;Co&quot;/);
    assert.match(pm.html, /Too &lt;dear&gt; &amp; slow/);
    assert.doesNotMatch(pm.html, /<b>Manager|<dear>/);
    for (const p of ['/reports', '/reports/aging', '/reports/funnel', '/reports/win-back']) {
      assert.ok(pm.html.includes(`href="https://crm.example.com${p}"`), p);
    }
    assert.match(pm.subject, /^Fibre & <Co> weekly digest .*: 3 new, 1 won$/);
    expectError(await agent.c.post('/api/v1/reports/digest/preview'), 403, 'forbidden');
    expectError(await agent.c.post('/api/v1/reports/digest/send'), 403, 'forbidden');
    expectError(await manager.c.post('/api/v1/reports/digest/send'), 403, 'forbidden');
  });

  it('sends the week\'s digest once per manager and admin, whoever offers it', async () => {
    const { admin, manager } = w.users;
    const now = new Date();
    const iso = ((now.getUTCDay() + 6) % 7) + 1;
    expectStatus(await admin.c.patch('/api/v1/settings', { digest_weekday: iso, digest_hour: now.getUTCHours() }), 200);
    // a second server on the same database, an hour later (the same week's slot)
    other = await startServer({ db: w.srv.db, args: ['--sweep-seconds', '1'], env: { LEADPATH_TIME_OFFSET: '3600' } });
    const mails = await smtp.waitFor(2, 20_000);
    await sleep(3000);  // more sweeps on both servers: nothing twice
    const all = smtp.messages();
    assert.equal(all.length, 2, 'one e-mail per manager and admin');
    const to = all.map((m) => m.rcptTos[0]).sort();
    assert.deepEqual(to, [admin.email, manager.email].sort(), 'no agent gets one');
    const pm = expectStatus(await manager.c.post('/api/v1/reports/digest/preview'), 200);
    const mm = mails.find((m) => m.rcptTos[0] === manager.email);
    const p = parts(mm.text);
    assert.equal(p.plain.trimEnd(), pm.text.trimEnd(), 'the text part is the preview\'s');
    assert.equal(p.html.trimEnd(), pm.html.trimEnd(), 'the HTML part is the preview\'s');
    assert.match(header(mm.text, 'Auto-Submitted'), /auto-generated/);
    await other.stop();
    other = null;
  });

  it('sends again the next week, and now on demand', async () => {
    const { admin } = w.users;
    await w.srv.stop();
    w.srv = await startServer({ db: w.srv.db, args: ['--sweep-seconds', '1'], env: { LEADPATH_TIME_OFFSET: String(7 * 86400) } });
    await smtp.waitFor(4, 20_000);
    await sleep(2000);
    assert.equal(smtp.messages().length, 4);
    const c = client(w.srv, (await login(w.srv, admin.email)).token);
    const r = expectStatus(await c.post('/api/v1/reports/digest/send'), 200);
    assert.equal(r.queued, 2);
    await until('the digests sent now arrive', async () => smtp.messages().length === 6);
  });
});
