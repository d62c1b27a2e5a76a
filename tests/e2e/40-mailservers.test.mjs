// 40-mailservers.test.mjs — the loopback servers the conversation tests will use
// (tests/e2e/mailservers.mjs), proven with libcurl's command line as the client: the SMTP server
// keeps each message byte for byte with its envelope and refuses the test's failing addresses;
// dovecot serves mail dropped into its Maildir over IMAP with plain login; the SMS gateway takes
// form posts with basic auth, answers a sid, fails on demand and sends status callbacks.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { FILE_TIMEOUT_MS } from './lib.mjs';
import { startSmtp, startImap, startSmsGateway } from './mailservers.mjs';

const run = promisify(execFile);

/** Runs curl; resolves {code, stdout, stderr} whatever its exit code. */
async function curl(args) {
  try {
    const { stdout, stderr } = await run('curl', ['-sS', '--max-time', '20', ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (typeof e.code !== 'number') throw e;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'lp-40-'));
const file = (name, text) => { const p = join(tmp, name); writeFileSync(p, text); return p; };

// A message as a mail client would send it: encoded-word subject, quoted-printable UTF-8 body,
// and a line starting with a dot (which SMTP must stuff and unstuff).
const MESSAGE = [
  'From: Bo Berg <bo@fibre.example>',
  'To: Ana Lopez <ana@example.com>',
  'Subject: =?UTF-8?Q?Ihr_Angebot_f=C3=BCr_Glasfaser?=',
  'Message-ID: <offer-1@fibre.example>',
  'Date: Mon, 07 Dec 2026 09:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Hallo Ana,',
  '.a line that starts with a dot',
  '39,90 =E2=82=AC im Monat.',
  '',
].join('\r\n');

describe('SMTP test server', { timeout: FILE_TIMEOUT_MS }, () => {
  let smtp;
  before(async () => { smtp = await startSmtp(); });
  after(async () => { await smtp?.stop(); });

  it('keeps a message byte for byte with its envelope', async () => {
    const r = await curl([smtp.url, '--mail-from', 'bounce+x@fibre.example', '--mail-rcpt', 'ana@example.com',
      '--mail-rcpt', 'copy@example.org', '--upload-file', file('m1.eml', MESSAGE)]);
    assert.equal(r.code, 0, r.stderr);
    const [m] = await smtp.waitFor(1);
    assert.equal(m.mailFrom, 'bounce+x@fibre.example');
    assert.deepEqual(m.rcptTos, ['ana@example.com', 'copy@example.org']);
    assert.equal(m.text, MESSAGE);   // CRLF kept, the dotted line unstuffed
  });

  it('refuses the failing addresses the way real servers do, and keeps nothing', async () => {
    const rejected = await curl([smtp.url, '--mail-from', 'bo@fibre.example', '--mail-rcpt', 'reject.me@example.com',
      '--upload-file', file('m2.eml', MESSAGE)]);
    assert.equal(rejected.code, 55, 'curl: RCPT failed');
    assert.match(rejected.stderr, /550/);
    const temp = await curl([smtp.url, '--mail-from', 'bo@fibre.example', '--mail-rcpt', 'tempfail@example.com',
      '--upload-file', file('m3.eml', MESSAGE)]);
    assert.equal(temp.code, 55);
    assert.match(temp.stderr, /451/);
    assert.equal(smtp.messages().length, 1);
  });

  it('keeps messages in the order they came', async () => {
    for (const n of [2, 3]) {
      const r = await curl([smtp.url, '--mail-from', 'bo@fibre.example', '--mail-rcpt', `n${n}@example.com`,
        '--upload-file', file(`n${n}.eml`, MESSAGE.replace('offer-1@', `offer-${n}@`))]);
      assert.equal(r.code, 0, r.stderr);
    }
    const all = await smtp.waitFor(3);
    assert.deepEqual(all.map((m) => m.rcptTos[0]), ['ana@example.com', 'n2@example.com', 'n3@example.com']);
    assert.match(all[2].text, /Message-ID: <offer-3@fibre\.example>/);
  });
});

describe('IMAP test server', { timeout: FILE_TIMEOUT_MS }, () => {
  let imap;
  const user = 'agent';
  const password = 'imap-secret-9';
  before(async () => { imap = await startImap({ users: { [user]: password } }); });
  after(async () => { await imap?.stop(); });
  const imapCurl = (path, ...args) => curl(['--user', `${user}:${password}`, `${imap.url}/${path}`, ...args]);

  it('starts with an empty inbox', async () => {
    const r = await imapCurl('INBOX', '-X', 'SEARCH ALL');
    assert.equal(r.code, 0, r.stderr + imap.log());
    assert.equal(r.stdout.trim(), '* SEARCH');
  });

  it('serves a dropped message as unseen, byte for byte', async () => {
    imap.deliver(user, MESSAGE);
    const unseen = await imapCurl('INBOX', '-X', 'SEARCH UNSEEN');
    assert.equal(unseen.stdout.trim(), '* SEARCH 1');
    const body = await imapCurl('INBOX;UID=1');
    assert.equal(body.code, 0, body.stderr);
    assert.equal(body.stdout, MESSAGE);
  });

  it('remembers what was marked seen, as a poller needs', async () => {
    imap.deliver(user, MESSAGE.replace('offer-1@', 'offer-2@'));
    const seen = await imapCurl('INBOX', '-X', 'STORE 1 +FLAGS (\\Seen)');
    assert.equal(seen.code, 0, seen.stderr);
    const unseen = await imapCurl('INBOX', '-X', 'UID SEARCH UNSEEN');
    assert.equal(unseen.stdout.trim(), '* SEARCH 2');
    const second = await imapCurl('INBOX;UID=2');
    assert.match(second.stdout, /Message-ID: <offer-2@fibre\.example>/);
  });

  it('refuses a wrong password', async () => {
    const r = await curl(['--user', `${user}:wrong`, `${imap.url}/INBOX`, '-X', 'SEARCH ALL']);
    assert.equal(r.code, 67, 'curl: login denied');
  });
});

describe('SMS gateway', { timeout: FILE_TIMEOUT_MS }, () => {
  let gw;
  let receiver;
  const callbacks = [];
  before(async () => {
    gw = await startSmsGateway();
    receiver = http.createServer((req, res) => {
      let b = '';
      req.on('data', (d) => { b += d; });
      req.on('end', () => { callbacks.push({ url: req.url, form: new URLSearchParams(b) }); res.writeHead(204); res.end(); });
    });
    await new Promise((res) => receiver.listen(0, '127.0.0.1', res));
  });
  after(async () => {
    await gw?.stop();
    await new Promise((res) => receiver.close(res));
  });
  const send = (form, auth = `${gw.accountSid}:${gw.authToken}`) => curl(['-w', '\n%{http_code}', '--user', auth,
    ...Object.entries(form).flatMap(([k, v]) => ['--data-urlencode', `${k}=${v}`]), gw.messagesUrl]);
  const answer = (r) => {
    const lines = r.stdout.trimEnd().split('\n');
    return { status: Number(lines.pop()), body: JSON.parse(lines.join('\n')) };
  };

  it('accepts a form post with basic auth and answers a sid', async () => {
    const r = answer(await send({ To: '+4915112345678', From: '+4930123456', Body: 'Grüße & thanks: 50% off',
      StatusCallback: `http://127.0.0.1:${receiver.address().port}/sms/status` }));
    assert.equal(r.status, 201);
    assert.match(r.body.sid, /^SM[0-9a-f]{32}$/);
    assert.equal(r.body.status, 'queued');
    assert.equal(r.body.body, 'Grüße & thanks: 50% off');
    assert.equal(gw.messages.length, 1);
    assert.deepEqual({ to: gw.messages[0].to, from: gw.messages[0].from, body: gw.messages[0].body },
      { to: '+4915112345678', from: '+4930123456', body: 'Grüße & thanks: 50% off' });
  });

  it('refuses wrong credentials and incomplete messages, and keeps nothing', async () => {
    const bad = answer(await send({ To: '+4915112345678', From: '+4930123456', Body: 'x' }, `${gw.accountSid}:wrong`));
    assert.equal(bad.status, 401);
    assert.equal(bad.body.code, 20003);
    const noTo = answer(await send({ From: '+4930123456', Body: 'x' }));
    assert.equal(noTo.status, 400);
    assert.match(noTo.body.message, /'To'/);
    const noBody = answer(await send({ To: '+4915112345678', From: '+4930123456' }));
    assert.equal(noBody.status, 400);
    assert.equal(gw.messages.length, 1);
  });

  it('fails as often as it is told, then sends', async () => {
    gw.failNext(2, 503);
    const form = { To: '+4915112345678', From: '+4930123456', Body: 'retry me' };
    assert.equal(answer(await send(form)).status, 503);
    assert.equal(answer(await send(form)).status, 503);
    const ok = answer(await send(form));
    assert.equal(ok.status, 201);
    assert.equal(gw.messages.length, 2);
    gw.failNext(1, 429);
    assert.equal(answer(await send(form)).status, 429);
  });

  it('posts a status callback for a message', async () => {
    const status = await gw.sendStatus(gw.messages[0].sid, 'delivered');
    assert.equal(status, 204);
    assert.equal(callbacks.length, 1);
    assert.equal(callbacks[0].url, '/sms/status');
    assert.equal(callbacks[0].form.get('MessageSid'), gw.messages[0].sid);
    assert.equal(callbacks[0].form.get('MessageStatus'), 'delivered');
    assert.equal(callbacks[0].form.get('AccountSid'), gw.accountSid);
  });
});

process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
