// 50-harden-http: request targets that do not belong in a URL (issue 15, item 1). libmicrohttpd
// decodes %XX before the server sees the path, so an encoded NUL used to cut it: /leads/5%00xyz
// was served as lead 5, /healthz%00junk answered 200. Such targets answer 400 in the error shape,
// and a target over 8 KiB answers 414 in the error shape (not the HTTP layer's HTML page).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startWorld, request, expectStatus, expectError, FILE_TIMEOUT_MS } from './lib.mjs';

let w;
let admin;
let lead;
before(async () => {
  w = await startWorld();
  admin = w.users.admin;
  lead = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Nul Byte' }), 201);
});
after(async () => { if (w) await w.srv.stop(); });

/** Sends a raw request line (bytes as given, nothing escaped) and answers {status, body}. */
function rawGet(srv, target, token) {
  return new Promise((res, rej) => {
    const s = net.connect(srv.port, '127.0.0.1');
    const chunks = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', rej);
    s.on('end', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const status = Number((text.match(/^HTTP\/1\.1 (\d+)/) || [])[1]);
      const body = text.split('\r\n\r\n').slice(1).join('\r\n\r\n');
      let json = null;
      try { json = JSON.parse(body); } catch { /* not JSON */ }
      res({ status, body: json, text: body });
    });
    s.end(Buffer.concat([Buffer.from('GET '), Buffer.from(target, 'latin1'),
      Buffer.from(` HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`)]));
  });
}

describe('request targets', { timeout: FILE_TIMEOUT_MS }, () => {
  it('an encoded NUL in the path answers 400 in the error shape, never the record or the list', async () => {
    for (const p of [`/api/v1/leads/${lead.id}%00xyz`, '/api/v1/leads/%00', '/healthz%00junk', '/api/v1/me%00',
      `/api/v1/leads/${lead.id}%0A`, '/api/v1/leads%1F', '/api/v1/leads%7f']) {
      const r = await admin.c.get(p);
      expectError(r, 400, 'bad_request', p);
      assert.ok(!('id' in (r.body || {})) && !('items' in (r.body || {})), `${p} must not answer data`);
    }
  });

  it('an encoded NUL in the query answers 400; other encoded bytes still work', async () => {
    expectError(await admin.c.get('/api/v1/leads?q=a%00b'), 400, 'bad_request', 'NUL in q');
    expectError(await admin.c.get('/api/v1/leads?st%00atus=all'), 400, 'bad_request', 'NUL in a key');
    expectStatus(await admin.c.get(`/api/v1/leads/${lead.id}`), 200, 'plain path');
    expectStatus(await admin.c.get('/api/v1/leads?owner=any&q=Nul%20Byte'), 200, 'an encoded space');
  });

  it('a raw control byte in the path answers 400', async () => {
    const r = await rawGet(w.srv, `/api/v1/leads/${lead.id}\x01`, admin.token);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body?.error?.code, 'bad_request', r.text);
  });

  it('a target longer than 8 KiB answers 414 with the error body', async () => {
    const r = await request(w.srv, 'GET', `/api/v1/leads?q=${'a'.repeat(9000)}`, { token: admin.token });
    expectError(r, 414, 'too_large', '9 KB query');
    expectStatus(await admin.c.get(`/api/v1/leads?owner=any&q=${'a'.repeat(100)}`), 200, 'a short query');
  });
});
