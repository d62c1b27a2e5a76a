// mailservers.mjs — real servers on loopback for the conversation tests: an SMTP server that
// keeps what it receives (scripts/test-smtp.py on Debian's python3-aiosmtpd), an IMAP server
// (Debian's dovecot with a throwaway configuration, plain login, a Maildir the test drops mail
// into) and a fake SMS gateway in the common provider shape (form-encoded To/From/Body, basic
// auth, a JSON answer with a sid, failures on demand, status callbacks).
// Each start* gives its own server on a free port and its own temporary directory; stop() ends
// the process (or closes the HTTP server) and removes the directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, readdirSync, writeFileSync, renameSync,
  mkdirSync, chmodSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHmac } from 'node:crypto';
import net from 'node:net';
import http from 'node:http';
import { ROOT, freePort, sleep, SANITIZED } from './lib.mjs';

const START_MS = SANITIZED ? 30_000 : 15_000;
const live = new Set();
process.on('exit', () => { for (const p of live) { try { p.kill('SIGKILL'); } catch { /* gone */ } } });

/** Resolves with the child's exit; kills it with SIGTERM (SIGKILL after 5 s). */
function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) { live.delete(child); return Promise.resolve(); }
  return new Promise((res) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => { clearTimeout(t); live.delete(child); res(); });
    child.kill('SIGTERM');
  });
}

/** Waits until 127.0.0.1:port answers with a greeting starting with `greeting`. */
async function waitForGreeting(port, greeting, child, log) {
  const until = Date.now() + START_MS;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${log()}`);
    const ok = await new Promise((res) => {
      const s = net.connect(port, '127.0.0.1');
      let got = '';
      s.setTimeout(1000, () => { s.destroy(); res(false); });
      s.on('data', (d) => { got += d; if (got.includes('\n')) { s.destroy(); res(got.startsWith(greeting)); } });
      s.on('error', () => res(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`server on port ${port} did not greet in time: ${log()}`);
}

// ---- SMTP ---------------------------------------------------------------------------------

/**
 * Starts scripts/test-smtp.py. Recipients whose local part starts with "reject" get 550 5.1.1,
 * with "tempfail" 451 4.3.0. Returns {host, port, url, dir, messages(), waitFor(n), stop()}; a
 * message is {mailFrom, rcptTos, raw (Buffer), text (string)}, in the order received.
 */
export async function startSmtp() {
  const dir = mkdtempSync(join(tmpdir(), 'lp-smtp-'));
  const mail = join(dir, 'mail');
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';   // Debian's, with aiosmtpd
  const child = spawn(python, [join(ROOT, 'scripts', 'test-smtp.py'), mail, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const port = await new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`test-smtp.py did not start: ${err}`)), START_MS);
    const check = () => {
      const m = /PORT (\d+)/.exec(out);
      if (m) { clearTimeout(t); res(Number(m[1])); }
    };
    child.stdout.on('data', check);
    child.on('exit', (code) => { clearTimeout(t); rej(new Error(`test-smtp.py exited ${code}: ${err}`)); });
  });
  const messages = () => {
    if (!existsSync(mail)) return [];
    return readdirSync(mail).filter((f) => f.endsWith('.json')).sort().map((f) => {
      const meta = JSON.parse(readFileSync(join(mail, f), 'utf8'));
      const raw = readFileSync(join(mail, f.replace(/\.json$/, '.eml')));
      return { mailFrom: meta.mail_from, rcptTos: meta.rcpt_tos, raw, text: raw.toString('utf8') };
    });
  };
  return {
    host: '127.0.0.1',
    port,
    url: `smtp://127.0.0.1:${port}`,
    dir: mail,
    messages,
    /** Resolves with the messages once there are at least n (rejects after timeoutMs). */
    async waitFor(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const m = messages();
        if (m.length >= n) return m;
        if (Date.now() > until) throw new Error(`SMTP server got ${m.length} messages, waited for ${n}`);
        await sleep(50);
      }
    },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- IMAP ---------------------------------------------------------------------------------

/** uid and gid of a system user from /etc/passwd, or null. */
function systemUser(name) {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/**
 * Starts dovecot (IMAP only, no TLS, plain login) with a throwaway configuration in a temporary
 * directory. users: {name: password}. As root, dovecot's own users run the login and mail
 * processes (dovecot refuses root for them); otherwise everything runs as the current user.
 * Returns {host, port, url, users, deliver(user, raw, folder?), halt(), restart(), stop()}; deliver
 * works while halted (the mail waits in the Maildir).
 */
export async function startImap({ users = { agent: 'imap-secret-1' } } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lp-imap-'));
  chmodSync(dir, 0o755);   // the login processes run as another user when we are root
  const port = await freePort();
  const root = process.getuid() === 0;
  const self = { uid: process.getuid(), gid: process.getgid() };
  const mailUser = root ? systemUser('dovecot') : self;
  if (!mailUser) throw new Error('dovecot user missing: install dovecot-imapd (scripts/deps.sh test)');
  // names of the current user and group (dovecot's settings want names)
  const nameOf = (file, id) => readFileSync(file, 'utf8').split('\n').find((l) => l.split(':')[2] === String(id))?.split(':')[0];
  const whoami = root ? 'dovecot' : nameOf('/etc/passwd', self.uid);
  const mygroup = root ? 'dovecot' : nameOf('/etc/group', self.gid);
  const home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(join(dir, 'passwd'), Object.entries(users).map(([u, p]) => `${u}:{PLAIN}${p}\n`).join(''));
  const conf = `# generated by tests/e2e/mailservers.mjs for one test run
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${whoami}
default_internal_group = ${mygroup}
default_login_user = ${root ? 'dovenull' : whoami}
first_valid_uid = ${mailUser.uid}
last_valid_uid = ${mailUser.uid}
first_valid_gid = ${mailUser.gid}
last_valid_gid = ${mailUser.gid}
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${mailUser.uid} gid=${mailUser.gid} home=${home}/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
`;
  writeFileSync(join(dir, 'dovecot.conf'), conf);
  const maildir = (user, folder) => join(home, user, 'Maildir', folder === 'INBOX' ? '' : `.${folder}`);
  const own = (p) => { if (root) chownSync(p, mailUser.uid, mailUser.gid); };
  for (const u of Object.keys(users)) {
    for (const p of [join(home, u), join(home, u, 'Maildir')]) { mkdirSync(p, { recursive: true }); own(p); }
    for (const sub of ['new', 'cur', 'tmp']) { const p = join(maildir(u, 'INBOX'), sub); mkdirSync(p); own(p); }
  }
  const bin = existsSync('/usr/sbin/dovecot') ? '/usr/sbin/dovecot' : 'dovecot';
  let child;
  let err = '';
  const log = () => {
    const f = join(dir, 'dovecot.log');
    return err + (existsSync(f) ? readFileSync(f, 'utf8') : '');
  };
  const launch = async () => {
    child = spawn(bin, ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    child.stdout.on('data', (d) => { err += d; });
    child.stderr.on('data', (d) => { err += d; });
    await waitForGreeting(port, '* OK', child, log);
  };
  try {
    await launch();
  } catch (e) {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let seq = 0;
  return {
    host: '127.0.0.1',
    port,
    url: `imap://127.0.0.1:${port}`,
    dir,
    users,
    log,
    /** Drops a raw RFC 5322 message (string or Buffer) into user's folder as a new, unseen message. */
    deliver(user, raw, folder = 'INBOX') {
      const base = maildir(user, folder);
      for (const sub of ['new', 'cur', 'tmp']) {
        const p = join(base, sub);
        if (!existsSync(p)) { mkdirSync(p, { recursive: true }); own(base); own(p); }
      }
      const name = `${Date.now()}.M${++seq}P${process.pid}R${randomBytes(4).toString('hex')}.test`;
      const tmp = join(base, 'tmp', name);
      writeFileSync(tmp, raw);
      own(tmp);
      renameSync(tmp, join(base, 'new', name));
    },
    /** An outage: ends dovecot but keeps its mail, port and configuration for restart(). */
    async halt() { await stopChild(child); },
    /** Starts dovecot again after halt(), on the same port and maildir. */
    async restart() { if (child.exitCode === null && child.signalCode === null) return; await launch(); },
    async stop() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- SMS gateway --------------------------------------------------------------------------

const json = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

/**
 * A fake SMS provider: POST {url}/2010-04-01/Accounts/{accountSid}/Messages.json with HTTP
 * basic auth (accountSid:authToken) and a form body To, From (or MessagingServiceSid), Body,
 * StatusCallback? answers 201 {sid: "SM…", status: "queued", to, from, body, …}; wrong
 * credentials 401, a missing To or Body 400, another path 404 — each a JSON {code, message,
 * status}. failNext(n, status) makes the next n sends answer that status (default 503).
 * sendStatus(sid, status) posts a status callback (MessageSid, MessageStatus, To, From,
 * AccountSid, ErrorCode?) to the message's StatusCallback and resolves with the answer's status.
 * Every post it makes is signed as the provider signs: X-Twilio-Signature = base64(HMAC-SHA1(
 * authToken, the URL + each parameter's name and value, sorted by name)). sendInbound(url,
 * {From, To, Body}, {signature}) posts an inbound text (with a fresh MessageSid) to url and
 * resolves with {status, body, text, sid}; signature overrides the header (null leaves it out).
 */
export function providerSignature(authToken, url, params) {
  const data = url + Object.keys(params).sort().map((k) => k + params[k]).join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

export async function startSmsGateway({ accountSid = `AC${randomBytes(16).toString('hex')}`,
  authToken = randomBytes(16).toString('hex') } = {}) {
  const messages = [];
  const requests = [];
  let failures = [];
  const path = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.method !== 'POST' || req.url !== path) {
        return json(res, 404, { code: 20404, message: `The requested resource ${req.url} was not found`, status: 404 });
      }
      const want = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
      if (req.headers.authorization !== want) {
        return json(res, 401, { code: 20003, message: 'Authenticate', status: 401 },
          { 'WWW-Authenticate': 'Basic realm="SMS gateway"' });
      }
      if (failures.length) {
        const status = failures.shift();
        return json(res, status, { code: 20500 + (status % 100), message: `Failure injected by the test (${status})`, status });
      }
      if (!String(req.headers['content-type'] || '').startsWith('application/x-www-form-urlencoded')) {
        return json(res, 400, { code: 20001, message: 'Send a form-encoded body', status: 400 });
      }
      const form = new URLSearchParams(body);
      const to = form.get('To');
      const from = form.get('From') || form.get('MessagingServiceSid');
      const text = form.get('Body');
      if (!to) return json(res, 400, { code: 21604, message: "A 'To' phone number is required.", status: 400 });
      if (!from) return json(res, 400, { code: 21603, message: "A 'From' phone number is required.", status: 400 });
      if (!text) return json(res, 400, { code: 21602, message: 'Message body is required.', status: 400 });
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const msg = { sid, to, from, body: text, statusCallback: form.get('StatusCallback'), status: 'queued',
        receivedAt: new Date() };
      messages.push(msg);
      return json(res, 201, {
        sid, account_sid: accountSid, to, from, body: text, status: 'queued', direction: 'outbound-api',
        num_segments: String(Math.max(1, Math.ceil(text.length / 153))), date_created: msg.receivedAt.toUTCString(),
        uri: `${path.replace(/\.json$/, '')}/${sid}.json`,
      });
    });
  });
  await new Promise((res) => server.listen(0, '127.0.0.1', res));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    messagesUrl: `${url}${path}`,
    accountSid,
    authToken,
    messages,
    requests,
    failNext(n, status = 503) { failures = failures.concat(Array(n).fill(status)); },
    async sendStatus(sid, status, errorCode) {
      const m = messages.find((x) => x.sid === sid);
      if (!m || !m.statusCallback) throw new Error(`no message ${sid} with a StatusCallback`);
      m.status = status;
      const form = new URLSearchParams({ MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status,
        To: m.to, From: m.from, AccountSid: accountSid, ...(errorCode ? { ErrorCode: String(errorCode) } : {}) });
      const r = await fetch(m.statusCallback, { method: 'POST', body: form,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded',
          'X-Twilio-Signature': providerSignature(authToken, m.statusCallback, Object.fromEntries(form)) } });
      await r.arrayBuffer();
      return r.status;
    },
    async sendInbound(target, fields, { signature } = {}) {
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const params = { MessageSid: sid, SmsSid: sid, AccountSid: accountSid, NumSegments: '1', ...fields };
      const sig = signature === undefined ? providerSignature(authToken, target, params) : signature;
      const r = await fetch(target, { method: 'POST', body: new URLSearchParams(params),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...(sig === null ? {} : { 'X-Twilio-Signature': sig }) } });
      const text = await r.text();
      let body;
      try { body = JSON.parse(text); } catch { body = text; }
      return { status: r.status, body, text, sid };
    },
    stop() { return new Promise((res) => { server.closeAllConnections(); server.close(() => res()); }); },
  };
}
