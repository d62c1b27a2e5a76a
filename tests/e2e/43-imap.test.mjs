// 43-imap.test.mjs — incoming e-mail from an IMAP mailbox leadpath polls (a real dovecot on
// loopback): a lead's reply to a message leadpath sent lands on its thread, a stranger's mail
// makes a new lead; through an outage of the IMAP server nothing is lost and, after it, nothing
// is fetched twice (the messages here carry no Message-ID, so a second fetch would be a second
// message); the mailbox is left as it was (no message marked read, deleted or moved).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { startWorld, expectStatus, items, until, u, sleep } from './lib.mjs';
import { startSmtp, startImap } from './mailservers.mjs';

describe('IMAP polling', () => {
  let w, smtp, imap, admin, agent;
  const USER = 'agent';
  before(async () => {
    smtp = await startSmtp();
    imap = await startImap({ users: { [USER]: 'imap-secret-1' } });
    w = await startWorld();   // polling follows imap_poll_seconds alone
    admin = w.users.admin.c;
    agent = w.users.agent.c;
    const s = await admin.patch('/api/v1/settings', {
      smtp_host: '127.0.0.1', smtp_port: smtp.port, smtp_tls: 'none', mail_from: 'sales@leadpath.test',
      inbound_domain: 'in.leadpath.test',
      imap_url: `${imap.url}/INBOX`, imap_username: USER, imap_password: 'imap-secret-1', imap_poll_seconds: 1,
    });
    expectStatus(s, 200, 'settings');
    assert.equal(s.body.imap_password, undefined, 'the password is never read back');
    assert.equal(s.body.imap_password_set, true);
  });
  after(async () => {
    await w?.srv.stop();
    await smtp?.stop();
    await imap?.stop();
  });

  const threadMessages = async (threadId, c = agent) => items(await c.get(`/api/v1/threads/${threadId}/messages`));
  const leadsFrom = async (email) => items(await admin.get(`/api/v1/leads?q=${encodeURIComponent(email)}&limit=50`))
    .filter((l) => (l.emails ?? []).includes(email));
  // names of the INBOX's message files (new/ and cur/), flags included
  const mailboxFiles = () => ['new', 'cur'].flatMap((d) => {
    try { return readdirSync(`${imap.dir}/home/${USER}/Maildir/${d}`).map((f) => `${d}/${f}`); } catch { return []; }
  });

  let lead, threadId, replyTo;
  it('a reply in the mailbox lands on its thread; a stranger\'s mail makes a new lead', async () => {
    const r = await agent.post('/api/v1/leads', { full_name: `Ana ${u()}`, emails: [`ana.${u()}@example.com`], country: 'US' });
    expectStatus(r, 201, 'lead');
    lead = r.body;
    const before = smtp.messages().length;
    const s = await agent.post(`/api/v1/leads/${lead.id}/messages`, { channel: 'email', subject: 'Your quote', body: 'Here it is.' });
    expectStatus(s, 202, 'send');
    threadId = s.body.thread_id;
    const sent = (await smtp.waitFor(before + 1)).at(-1);
    replyTo = /^Reply-To: (\S+)\r?$/m.exec(sent.text)[1];

    const stranger = `new.${u()}@example.org`;
    imap.deliver(USER, [`From: Ana <${lead.emails[0]}>`, `To: ${replyTo}`, 'Subject: Re: Your quote',
      'Date: Mon, 07 Dec 2026 10:00:00 +0000', '', 'Looks good, when can you start?', ''].join('\r\n'));
    imap.deliver(USER, [`From: Bo Newman <${stranger}>`, 'To: sales@leadpath.test', 'Subject: Fibre at my office?',
      `Message-ID: <first-${u()}@example.org>`, 'Date: Mon, 07 Dec 2026 10:01:00 +0000', '', 'Do you serve 94110?', ''].join('\r\n'));

    await until('the reply on its thread', async () => (await threadMessages(threadId)).some((m) => m.direction === 'in'), 20_000);
    const msgs = await threadMessages(threadId);
    const inbound = msgs.filter((m) => m.direction === 'in');
    assert.equal(inbound.length, 1);
    assert.equal(inbound[0].matched_by, 'reply_token');
    assert.match(inbound[0].body, /when can you start\?/);

    await until('the stranger as a new lead', async () => (await leadsFrom(stranger)).length > 0, 20_000);
    const made = await leadsFrom(stranger);
    assert.equal(made.length, 1, 'one new lead');
    const th = items(await admin.get(`/api/v1/leads/${made[0].id}/threads`));
    assert.equal(th.length, 1);
    const got = await threadMessages(th[0].id, admin);
    assert.equal(got.length, 1);
    assert.match(got[0].body, /Do you serve 94110\?/);

    // left as it was: both messages still there, none marked read (maildir flag S), none deleted (T)
    await sleep(1500);   // a poll or two more
    const files = mailboxFiles();
    assert.equal(files.length, 2, files.join(' '));
    for (const f of files) assert.doesNotMatch(f, /:2,[A-Z]*[ST]/, `flags of ${f}`);
    assert.equal((await threadMessages(threadId)).filter((m) => m.direction === 'in').length, 1, 'fetched once');
  });

  it('through an outage of the IMAP server nothing is lost or fetched twice', async () => {
    assert.ok(threadId, 'the first test ran');
    await imap.halt();
    imap.deliver(USER, [`From: Ana <${lead.emails[0]}>`, `To: ${replyTo}`, 'Subject: Re: Your quote',
      'Date: Mon, 07 Dec 2026 11:00:00 +0000', '', 'Sent while your mail server was down.', ''].join('\r\n'));
    await sleep(2500);   // polls fail meanwhile
    assert.equal((await threadMessages(threadId)).filter((m) => m.direction === 'in').length, 1, 'nothing while down');
    await imap.restart();
    await until('the message after the outage', async () =>
      (await threadMessages(threadId)).some((m) => /while your mail server was down/.test(m.body ?? '')), 30_000);
    await sleep(3000);   // more polls: none fetches anything again
    const inbound = (await threadMessages(threadId)).filter((m) => m.direction === 'in');
    assert.deepEqual(inbound.map((m) => m.body.trim()), ['Looks good, when can you start?', 'Sent while your mail server was down.']);
    assert.equal(mailboxFiles().length, 3);
  });
});
