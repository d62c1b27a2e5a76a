// 02-auth: login, me, logout, bearer tokens, the session cookie with X-CSRF-Token, 401s and
// the login rate limit (10 failures per email per minute → 429).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, addUser, login, request, client, expectStatus, expectError, items, PASSWORD, FILE_TIMEOUT_MS,
} from './lib.mjs';

let srv;
let adminId;
let agentId;
before(async () => {
  srv = await startServer();
  adminId = await addUser(srv, { email: 'root@e2e.test', name: 'Root Admin', role: 'admin' });
  agentId = await addUser(srv, { email: 'ann@e2e.test', name: 'Ann Agent', role: 'agent', manager: 'root@e2e.test' });
  await addUser(srv, { email: 'limited@e2e.test', name: 'Lim', role: 'agent' });
  await addUser(srv, { email: 'bystander@e2e.test', name: 'By', role: 'agent' });
});
after(async () => { if (srv) await srv.stop(); });

const leadCount = async (token) => {
  const r = await request(srv, 'GET', '/api/v1/leads?owner=any&status=all&total=1', { token });
  expectStatus(r, 200, 'count leads');
  return r.body.total;
};

describe('auth', { timeout: FILE_TIMEOUT_MS }, () => {
  it('login answers token, csrf_token and the user, and sets an HttpOnly SameSite=Lax session cookie', async () => {
    const r = await request(srv, 'POST', '/api/v1/auth/login', { body: { email: 'ann@e2e.test', password: PASSWORD } });
    expectStatus(r, 200, 'login');
    assert.equal(typeof r.body.token, 'string');
    assert.ok(r.body.token.length >= 16, 'token is long enough to be unguessable');
    assert.equal(typeof r.body.csrf_token, 'string');
    assert.ok(r.body.csrf_token.length >= 16);
    const u = r.body.user;
    assert.equal(u.id, agentId);
    assert.equal(u.email, 'ann@e2e.test');
    assert.equal(u.name, 'Ann Agent');
    assert.equal(u.role, 'agent');
    assert.equal(u.manager_id, adminId);
    assert.equal(u.active, true);
    assert.ok(!('password' in u) && !('password_hash' in u), 'no password material in the user');
    const sc = [].concat(r.headers['set-cookie'] || []).find((c) => c.startsWith('leadpath_session='));
    assert.ok(sc, 'Set-Cookie leadpath_session');
    assert.match(sc, /;\s*HttpOnly/i);
    assert.match(sc, /;\s*SameSite=Lax/i);
    assert.match(sc, /;\s*Path=\//i);
    assert.ok(sc.split(';')[0].length > 'leadpath_session='.length + 8, 'cookie has a value');
  });

  it('wrong password, unknown email and missing fields answer 401 (or 422 for missing) with the error shape', async () => {
    expectError(await request(srv, 'POST', '/api/v1/auth/login', { body: { email: 'root@e2e.test', password: 'wrong-password' } }),
      401, 'unauthorized', 'wrong password');
    expectError(await request(srv, 'POST', '/api/v1/auth/login', { body: { email: 'nobody@e2e.test', password: PASSWORD } }),
      401, 'unauthorized', 'unknown email');
    const r = await request(srv, 'POST', '/api/v1/auth/login', { body: { email: 'root@e2e.test' } });
    assert.ok([400, 401, 422].includes(r.status), `missing password: got ${r.status}`);
    expectError(r, r.status, null, 'missing password');
  });

  it('GET /me with a bearer token answers the user and a csrf_token', async () => {
    const l = await login(srv, 'root@e2e.test');
    const r = await request(srv, 'GET', '/api/v1/me', { token: l.token });
    const b = expectStatus(r, 200);
    assert.equal(b.user.id, adminId);
    assert.equal(b.user.role, 'admin');
    assert.equal(b.user.email, 'root@e2e.test');
    assert.equal(typeof b.csrf_token, 'string');
  });

  it('requests without credentials, with a bad bearer token or a bad cookie answer 401', async () => {
    expectError(await request(srv, 'GET', '/api/v1/me'), 401, 'unauthorized', 'no credentials /me');
    expectError(await request(srv, 'GET', '/api/v1/leads'), 401, 'unauthorized', 'no credentials /leads');
    expectError(await request(srv, 'POST', '/api/v1/leads', { body: { full_name: 'X' } }), 401, 'unauthorized', 'anon create');
    expectError(await request(srv, 'GET', '/api/v1/me', { token: 'not-a-real-token' }), 401, 'unauthorized', 'bad bearer');
    expectError(await request(srv, 'GET', '/api/v1/me', { cookie: 'leadpath_session=forged' }), 401, 'unauthorized', 'bad cookie');
  });

  it('the session cookie authenticates reads; writes need the matching X-CSRF-Token (403 without, nothing created)', async () => {
    const l = await login(srv, 'ann@e2e.test');
    const admin = await login(srv, 'root@e2e.test');
    const me = await request(srv, 'GET', '/api/v1/me', { cookie: l.cookie });
    expectStatus(me, 200, 'cookie GET /me');
    assert.equal(me.body.user.id, agentId);
    assert.equal(me.body.csrf_token, l.csrf, '/me answers the same csrf_token as login');

    const before = await leadCount(admin.token);
    const noCsrf = await request(srv, 'POST', '/api/v1/leads', { cookie: l.cookie, body: { full_name: 'Csrf Missing' } });
    expectError(noCsrf, 403, 'forbidden', 'cookie write without X-CSRF-Token');
    const wrong = await request(srv, 'POST', '/api/v1/leads', { cookie: l.cookie, csrf: 'x' + l.csrf, body: { full_name: 'Csrf Wrong' } });
    expectError(wrong, 403, 'forbidden', 'cookie write with a wrong X-CSRF-Token');
    const other = await request(srv, 'POST', '/api/v1/leads', { cookie: l.cookie, csrf: admin.csrf, body: { full_name: 'Csrf Other' } });
    expectError(other, 403, 'forbidden', "cookie write with another session's X-CSRF-Token");
    assert.equal(await leadCount(admin.token), before, 'refused writes created nothing');

    const ok = await request(srv, 'POST', '/api/v1/leads', { cookie: l.cookie, csrf: l.csrf, body: { full_name: 'Csrf Fine' } });
    const lead = expectStatus(ok, 201, 'cookie write with X-CSRF-Token');
    assert.equal(lead.owner_id, agentId, 'the cookie user is the creator/owner');
    assert.equal(await leadCount(admin.token), before + 1);

    // PATCH and close by cookie need the token too; refused ones change nothing.
    expectError(await request(srv, 'PATCH', `/api/v1/leads/${lead.id}`, { cookie: l.cookie, body: { city: 'Forged' } }),
      403, 'forbidden', 'cookie PATCH without csrf');
    expectError(await request(srv, 'POST', `/api/v1/leads/${lead.id}/close`, { cookie: l.cookie, body: { outcome: 'treated' } }),
      403, 'forbidden', 'cookie close without csrf');
    const still = expectStatus(await request(srv, 'GET', `/api/v1/leads/${lead.id}`, { cookie: l.cookie }), 200);
    assert.equal(still.city ?? null, null);
    assert.equal(still.status, 'open');
    const p = await request(srv, 'PATCH', `/api/v1/leads/${lead.id}`, { cookie: l.cookie, csrf: l.csrf, body: { city: 'Real' } });
    assert.equal(expectStatus(p, 200, 'cookie PATCH with csrf').city, 'Real');
  });

  it('bearer-authenticated writes need no CSRF token', async () => {
    const l = await login(srv, 'ann@e2e.test');
    const r = await request(srv, 'POST', '/api/v1/leads', { token: l.token, body: { full_name: 'Bearer Write' } });
    expectStatus(r, 201);
  });

  it('logout ends the session: the token and the cookie answer 401 afterwards, other sessions live on', async () => {
    const a = await login(srv, 'ann@e2e.test');
    const b = await login(srv, 'ann@e2e.test');
    assert.notEqual(a.token, b.token, 'each login is its own session');
    const out = await request(srv, 'POST', '/api/v1/auth/logout', { token: a.token });
    assert.ok([200, 204].includes(out.status), `logout: ${out.status} ${out.text}`);
    expectError(await request(srv, 'GET', '/api/v1/me', { token: a.token }), 401, 'unauthorized', 'token after logout');
    expectError(await request(srv, 'GET', '/api/v1/me', { cookie: a.cookie }), 401, 'unauthorized', 'cookie after logout');
    expectStatus(await request(srv, 'GET', '/api/v1/me', { token: b.token }), 200, 'the other session still works');
  });

  it('logout by cookie needs the CSRF token and clears the cookie', async () => {
    const a = await login(srv, 'ann@e2e.test');
    expectError(await request(srv, 'POST', '/api/v1/auth/logout', { cookie: a.cookie }), 403, 'forbidden', 'cookie logout without csrf');
    expectStatus(await request(srv, 'GET', '/api/v1/me', { cookie: a.cookie }), 200, 'still logged in');
    const out = await request(srv, 'POST', '/api/v1/auth/logout', { cookie: a.cookie, csrf: a.csrf });
    assert.ok([200, 204].includes(out.status), `logout: ${out.status} ${out.text}`);
    const sc = [].concat(out.headers['set-cookie'] || []).find((c) => c.startsWith('leadpath_session='));
    assert.ok(sc, 'logout sets the cookie again to clear it');
    assert.ok(/Max-Age=0|Expires=Thu, 01 Jan 1970|leadpath_session=;/i.test(sc), `cookie cleared: ${sc}`);
    expectError(await request(srv, 'GET', '/api/v1/me', { cookie: a.cookie }), 401, 'unauthorized');
  });

  it('after 10 failed logins for one email in a minute the next attempt answers 429, even with the right password; other emails are unaffected', async () => {
    for (let i = 1; i <= 10; i++) {
      const r = await request(srv, 'POST', '/api/v1/auth/login', { body: { email: 'limited@e2e.test', password: `wrong-${i}-password` } });
      expectError(r, 401, 'unauthorized', `failure ${i} is a plain 401`);
    }
    expectError(await request(srv, 'POST', '/api/v1/auth/login', { body: { email: 'limited@e2e.test', password: 'wrong-11-password' } }),
      429, 'rate_limited', '11th failure');
    expectError(await request(srv, 'POST', '/api/v1/auth/login', { body: { email: 'limited@e2e.test', password: PASSWORD } }),
      429, 'rate_limited', 'right password while limited');
    const other = await request(srv, 'POST', '/api/v1/auth/login', { body: { email: 'bystander@e2e.test', password: PASSWORD } });
    expectStatus(other, 200, 'another email logs in');
  });

  it('an authenticated user reads lists (sanity for the token)', async () => {
    const l = await login(srv, 'root@e2e.test');
    items(await client(srv, l.token).get('/api/v1/leads'), 'admin lists leads');
  });
});
