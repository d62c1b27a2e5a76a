// 24-sweeps: the periodic sweep's notifications, each sent once. A lead open longer than
// sla_breach_days notifies its owner (`sla_breached`); a close waiting for approval longer than
// approval_escalation_hours goes up to the approver's manager, or every admin (`approval_escalated`).
// Time is moved on by restarting the server on the same database with LEADPATH_TIME_OFFSET.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startWorld, startServer, login, client, expectStatus, items, byName, sleep, until, FILE_TIMEOUT_MS } from './lib.mjs';

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const DAY = 86_400_000;
let w, later;
after(async () => {
  if (later) await later.stop().catch(() => {});
  if (w) { await w.srv.stop().catch(() => {}); rmSync(w.srv.dir, { recursive: true, force: true }); }
});

describe('SLA breach and approval escalation sweeps', { timeout: FILE_TIMEOUT_MS }, () => {
  it('notify once each, only for what is overdue, when the time has come', async () => {
    w = await startWorld({ keepDir: true, args: ['--sweep-seconds', '1'] });
    const { admin, manager, agent } = w.users;
    const now = Date.now();
    // 30 days less an hour old: breaches within the next day
    const soon = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Nearly Late', owner_id: agent.id, created_at: iso(now - 30 * DAY + 3_600_000) }), 201);
    const closed = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Done In Time', owner_id: agent.id, created_at: iso(now - 30 * DAY + 3_600_000) }), 201);
    expectStatus(await admin.c.post(`/api/v1/leads/${closed.id}/close`, { outcome: 'won' }), 200);
    const fresh = expectStatus(await admin.c.post('/api/v1/leads', { full_name: 'Brand New', owner_id: agent.id }), 201);
    // agents must ask before closing as lost
    const roles = items(await admin.c.get('/api/v1/roles'));
    expectStatus(await admin.c.patch(`/api/v1/roles/${byName(roles, 'agent').id}`, { policy: { close_lost: 'request' } }), 200);
    const reason = byName(items(await admin.c.get('/api/v1/lost-reasons')), 'Price').id;
    const asked = expectStatus(await agent.c.post(`/api/v1/leads/${fresh.id}/close`, { outcome: 'lost', reason_id: reason }), 202);
    assert.equal(asked.approval.status, 'pending');
    await sleep(2500);  // two sweeps now: nothing is due yet
    const kinds = async (c) => items(await c.get('/api/v1/notifications')).map((n) => n.kind);
    assert.ok(!(await kinds(agent.c)).includes('sla_breached'));
    assert.ok(!(await kinds(admin.c)).includes('approval_escalated'));
    await w.srv.stop();

    // 25 hours later
    later = await startServer({ db: w.srv.db, args: ['--sweep-seconds', '1'], env: { LEADPATH_TIME_OFFSET: String(25 * 3600) } });
    const agentL = client(later, (await login(later, agent.email)).token);
    const adminL = client(later, (await login(later, admin.email)).token);
    const managerL = client(later, (await login(later, manager.email)).token);
    const breached = await until('the SLA notification', async () => {
      const n = items(await agentL.get('/api/v1/notifications')).filter((x) => x.kind === 'sla_breached');
      return n.length ? n : null;
    });
    const esc = await until('the escalation', async () => {
      const n = items(await adminL.get('/api/v1/notifications')).filter((x) => x.kind === 'approval_escalated');
      return n.length ? n : null;
    });
    await sleep(2500);  // more sweeps: nothing twice
    const sla = items(await agentL.get('/api/v1/notifications')).filter((x) => x.kind === 'sla_breached');
    assert.deepEqual(sla.map((n) => n.lead_id), [soon.id], 'only the open lead past 30 days, once');
    assert.equal(breached[0].data.breach_days, 30);
    const escAll = items(await adminL.get('/api/v1/notifications')).filter((x) => x.kind === 'approval_escalated');
    assert.equal(escAll.length, 1);
    assert.equal(esc[0].lead_id, fresh.id);
    assert.equal(esc[0].data.approval_id, asked.approval.id);
    assert.equal(esc[0].data.action, 'close');
    // the approver (the agent's manager) has no manager, so it went to the admins, not back to them
    assert.ok(!items(await managerL.get('/api/v1/notifications')).some((x) => x.kind === 'approval_escalated'));
    // switching escalation off is a setting
    const s = expectStatus(await adminL.patch('/api/v1/settings', { approval_escalation_hours: 0 }), 200);
    assert.equal(s.approval_escalation_hours, 0);
  });
});
