// 48-outbox-crash: the outbox after a kill -9 in the middle of delivery. A batch of emails is
// queued (by the server without job workers), then the server is started with workers and
// SIGKILLed while they are sending them to a real SMTP server on loopback, and restarted on the
// same database (its clock a few minutes on, so the dead workers' leases have run out, as they
// would in real time). Every queued message is then delivered and
// recorded `sent`; each arrives under its own Message-ID, and one that went out in the instant of
// the kill (accepted by the mail server, not yet recorded) goes out again with the same
// Message-ID, so mail systems take it as the same message: never lost, never two different mails.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, addUser, login, client, expectStatus, items, until, sleep, FILE_TIMEOUT_MS, SANITIZED } from './lib.mjs';
import { startSmtp } from './mailservers.mjs';

const N = SANITIZED ? 120 : 300;

describe('the outbox survives a kill -9 mid-delivery', { timeout: FILE_TIMEOUT_MS }, () => {
  let srv, smtp, c, lead, thread;
  before(async () => {
    smtp = await startSmtp();
    // no job workers while the batch is queued: delivery (hundreds a second) would otherwise keep
    // pace with the queueing and be over before the kill
    srv = await startServer({ keepDir: true, args: ['--workers', '0'] });
    await addUser(srv, { email: 'admin@outbox.test', name: 'Olive Admin', role: 'admin' });
    c = client(srv, (await login(srv, 'admin@outbox.test')).token);
  });
  after(async () => {
    await srv?.stop();
    await smtp?.stop();
  });

  it(`${N} queued emails are each delivered, under one Message-ID each, across a kill -9`, async () => {
    // Queue them while sending is not set up yet (no smtp_host: a job finding that fails the
    // message, so set it up first but point it at the server only once all are queued).
    lead = expectStatus(await c.post('/api/v1/leads', { full_name: 'Quinn Queue', emails: ['quinn@outbox.test'] }), 201);
    expectStatus(await c.patch('/api/v1/settings', { smtp_host: '127.0.0.1', smtp_port: smtp.port, smtp_tls: 'none',
      mail_from: 'sales@outbox.test', inbound_domain: 'in.outbox.test' }), 200);
    const ids = [];
    for (let i = 0; i < N; i += 1) {
      const r = expectStatus(await c.post(`/api/v1/leads/${lead.id}/messages`,
        { channel: 'email', subject: `Offer ${i}`, body: `Offer number ${i}` }), 202, `queue ${i}`);
      ids.push(r.id);
      thread = r.thread_id;
    }
    // the same database with workers; kill while they are part-way through the batch
    await srv.stop();
    srv = await startServer({ dir: srv.dir, keepDir: true });
    await until('some delivered', async () => smtp.messages().length >= Math.min(10, N / 4), 30_000);
    srv.proc.kill('SIGKILL');
    const ex = await srv.exited;
    assert.equal(ex.signal, 'SIGKILL');
    const atKill = smtp.messages().length;
    assert.ok(atKill < N, `the kill came mid-queue (${atKill} of ${N} delivered)`);

    srv = await startServer({ dir: srv.dir, keepDir: true, env: { LEADPATH_TIME_OFFSET: '600' } });
    c = client(srv, (await login(srv, 'admin@outbox.test')).token);
    let msgs = [];
    await until('every message sent', async () => {
      msgs = items(await c.get(`/api/v1/threads/${thread}/messages`));
      return msgs.length === N && msgs.every((m) => m.status === 'sent');
    }, SANITIZED ? 90_000 : 60_000);
    await sleep(300);  // a last delivery's bytes reach the sink's files
    const got = smtp.messages().map((m) => (/^Message-ID: <([^>]+)>\r?$/mi.exec(m.text) || [])[1]);
    assert.ok(got.every(Boolean), 'every mail has a Message-ID');
    const recorded = new Set(msgs.map((m) => m.message_id));
    assert.equal(recorded.size, N, 'each message recorded with its own Message-ID');
    const received = new Set(got);
    assert.equal(received.size, N, `each message arrived (${received.size} distinct of ${N})`);
    for (const id of received) assert.ok(recorded.has(id), `a mail nobody queued: ${id}`);
    // A repeat is only ever the same message again (the instant of the kill), and only a few.
    const repeats = got.length - received.size;
    assert.ok(repeats <= 8, `${repeats} repeats`);
    // each Message-ID carries its own message's text (References name earlier ones: read the header)
    const byId = new Map();
    smtp.messages().forEach((x, i) => byId.set(got[i], x));
    for (const m of msgs) {
      const mail = byId.get(m.message_id);
      assert.ok(mail && mail.text.includes(m.body), `the mail of ${m.subject}`);
    }
  });
});
