// 37-phones: phone numbers as people write them. A local number ("07700 900123") is read with the
// lead's country, else the company's default_country, and stored in E.164; a number impossible for
// its country is refused; leads show their phones formatted for reading; a search for a phone in
// any format (spaces, leading 0, +, digits alone) finds the lead.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, expectStatus, expectError, items } from './lib.mjs';

let w;
before(async () => { w = await startWorld(); });
after(async () => { if (w) await w.srv.stop(); });

describe('phones', () => {
  it('a local number needs a country: the lead\'s, else the company default', async () => {
    const { admin, agent } = w.users;
    const e = expectError(await agent.c.post('/api/v1/leads', { full_name: 'No Country', phones: ['07700 900123'] }), 422, 'validation_failed');
    assert.ok(e.fields && Object.keys(e.fields).some((k) => k.startsWith('phones')), JSON.stringify(e.fields));
    const withCountry = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Own Country', country: 'GB', phones: ['07700 900124'] }), 201);
    assert.deepEqual(withCountry.phones, ['+447700900124']);
    expectStatus(await admin.c.patch('/api/v1/settings', { default_country: 'GB' }), 200);
    const lead = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Paula Phone', phones: ['07700 900123', '020 7946 0958'] }), 201);
    assert.deepEqual(lead.phones, ['+447700900123', '+442079460958']);
    assert.deepEqual(lead.phones_display, ['+44 7700 900123', '+44 20 7946 0958']);
    const got = expectStatus(await agent.c.get(`/api/v1/leads/${lead.id}`), 200);
    assert.deepEqual(got.phones_display, ['+44 7700 900123', '+44 20 7946 0958']);
    const listed = items(await agent.c.get('/api/v1/leads?limit=100')).find((l) => l.id === lead.id);
    assert.deepEqual(listed.phones_display, ['+44 7700 900123', '+44 20 7946 0958'], 'the list shows them the same way');
    // A US lead reads its local numbers as American, whatever the company default.
    const us = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Sam States', country: 'US', phones: ['(415) 555-2671'] }), 201);
    assert.deepEqual(us.phones, ['+14155552671']);
    assert.deepEqual(us.phones_display, ['+1 415-555-2671']);
  });

  it('a number impossible for its country is refused and nothing is stored', async () => {
    const { agent } = w.users;
    const before = items(await agent.c.get('/api/v1/leads?limit=200')).length;
    for (const bad of ['+33 1 23 45 67 8', '+44 7700', '0800 FLOWERS', '+999 1234 5678', '(015) 555-2671']) {
      expectError(await agent.c.post('/api/v1/leads', { full_name: 'Bad Number', country: bad.startsWith('(') ? 'US' : undefined, phones: [bad] }), 422, 'validation_failed', bad);
    }
    assert.equal(items(await agent.c.get('/api/v1/leads?limit=200')).length, before);
  });

  it('a search for a phone in any format finds the lead', async () => {
    const { agent } = w.users;
    for (const q of ['07700 900123', '07700900123', '+44 7700 900123', '+447700900123', '447700900123', '+44 (0)7700 900123', '0044 7700 900123']) {
      const found = items(await agent.c.get(`/api/v1/leads?q=${encodeURIComponent(q)}&limit=10`));
      assert.deepEqual(found.map((l) => l.full_name), ['Paula Phone'], `search ${q}`);
    }
  });
});
