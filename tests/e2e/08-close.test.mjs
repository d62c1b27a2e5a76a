// 08-close: moving leads — stage moves (is_sale sets sold_at, lead stays open), closing with
// every option (tasks, follow-up, groups, defaults per outcome kind), dry_run previews that
// change nothing, 409 on closing twice, reopen, and the transitions list.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startWorld, expectStatus, expectError, items, byName, soft, isoNow, DAY, FILE_TIMEOUT_MS, walk,
} from './lib.mjs';

let w;
let admin;
let agent;
const ref = {};
before(async () => {
  w = await startWorld();
  ({ admin, agent } = w.users);
  const list = (path) => soft(`GET ${path}`, async () => items(await admin.c.get(path))).then((x) => x || []);
  const stages = await list('/api/v1/stages');
  for (const n of ['New', 'Contacted', 'Quoted', 'Sold']) ref[n] = byName(stages, n);
  ref.stages = stages;
  ref.outcomes = await list('/api/v1/outcomes');
  const reasons = await list('/api/v1/lost-reasons');
  ref.price = byName(reasons, 'Price');
  ref.other = byName(reasons, 'Other');
  ref.live = byName(await list('/api/v1/groups'), 'Live Leads');
  ref.vip = await soft('POST group', async () => expectStatus(await admin.c.post('/api/v1/groups', { name: 'VIP Newsletter' }), 201));
});
after(async () => { if (w) await w.srv.stop(); });

// A fresh lead owned by the agent, with one overdue and one future task.
async function fixture(name) {
  const lead = expectStatus(await admin.c.post('/api/v1/leads', { full_name: name, owner_id: agent.id }), 201, 'create lead');
  const overdue = expectStatus(await admin.c.post(`/api/v1/leads/${lead.id}/tasks`,
    { type: 'call', title: 'Overdue call', due_at: isoNow(-2 * DAY) }), 201, 'overdue task');
  const future = expectStatus(await admin.c.post(`/api/v1/leads/${lead.id}/tasks`,
    { type: 'call', title: 'Future call', due_at: isoNow(5 * DAY) }), 201, 'future task');
  return { lead, overdue, future };
}
const tasksOf = async (leadId) => walk(admin.c, `/api/v1/tasks?lead=${leadId}&status=all&assignee=any`, 500);
const statusOf = async (leadId) => Object.fromEntries((await tasksOf(leadId)).map((t) => [t.id, t.status]));
const timeline = async (leadId) => walk(admin.c, `/api/v1/leads/${leadId}/timeline`, 500);
const kinds = async (leadId) => (await timeline(leadId)).map((e) => e.kind);
const lead = async (id) => expectStatus(await admin.c.get(`/api/v1/leads/${id}`), 200, 'GET lead');
const close = (id, body, c = admin.c) => c.post(`/api/v1/leads/${id}/close`, body);

describe('stage moves', { timeout: FILE_TIMEOUT_MS }, () => {
  it('PATCH {stage_id} moves the lead, bumps version and records stage_changed {from, to}', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Stage Mover' }), 201);
    assert.equal(l.stage_id, ref.New.id);
    const p = expectStatus(await agent.c.patch(`/api/v1/leads/${l.id}`, { stage_id: ref.Contacted.id }), 200);
    assert.equal(p.stage_id, ref.Contacted.id);
    assert.equal(p.version, 2);
    assert.equal(p.status, 'open');
    assert.equal(p.sold_at, null, 'not a sale stage');
    const ev = (await timeline(l.id)).filter((e) => e.kind === 'stage_changed');
    assert.equal(ev.length, 1);
    assert.equal(ev[0].data.from, ref.New.id);
    assert.equal(ev[0].data.to, ref.Contacted.id);
    assert.equal(ev[0].actor_id, agent.id);
  });

  it('moving to an is_sale stage sets sold_at and the lead stays open', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Sale Maker' }), 201);
    const p = expectStatus(await agent.c.patch(`/api/v1/leads/${l.id}`, { stage_id: ref.Sold.id }), 200);
    assert.equal(p.stage_id, ref.Sold.id);
    assert.equal(p.status, 'open', 'a sale does not close the lead');
    assert.ok(p.sold_at, 'sold_at is set');
    assert.ok(Math.abs(Date.parse(p.sold_at) - Date.now()) < 120_000, 'sold_at is now');
    assert.equal(p.outcome, null);
    const ev = (await timeline(l.id)).filter((e) => e.kind === 'stage_changed');
    assert.equal(ev.at(-1).data.to, ref.Sold.id);
  });

  it('an unknown stage_id answers 422 fields.stage_id and changes nothing', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Stage Typo' }), 201);
    const e = expectError(await agent.c.patch(`/api/v1/leads/${l.id}`, { stage_id: 999999 }), 422, 'validation_failed');
    assert.ok('stage_id' in e.fields);
    const g = await lead(l.id);
    assert.equal(g.stage_id, ref.New.id);
    assert.equal(g.version, 1);
  });
});

describe('closing', { timeout: FILE_TIMEOUT_MS }, () => {
  it('outcome lost without reason_id answers 422 fields.reason_id and changes nothing', async () => {
    const { lead: l } = await fixture('No Reason Given');
    const tBefore = await statusOf(l.id);
    const tlBefore = await timeline(l.id);
    const e = expectError(await close(l.id, { outcome: 'lost', notes: 'forgot the reason' }), 422, 'validation_failed');
    assert.ok(e.fields && 'reason_id' in e.fields, JSON.stringify(e.fields));
    const g = await lead(l.id);
    assert.equal(g.status, 'open');
    assert.equal(g.outcome, null);
    assert.equal(g.version, l.version);
    assert.deepEqual(g.groups, l.groups, 'no group joined');
    assert.deepEqual(await statusOf(l.id), tBefore, 'tasks unchanged');
    assert.deepEqual(await timeline(l.id), tlBefore, 'timeline unchanged');
    // Also for another outcome of kind lost.
    const e2 = expectError(await close(l.id, { outcome: 'abandoned' }), 422, 'validation_failed');
    assert.ok('reason_id' in e2.fields);
  });

  it('an unknown outcome, an unknown reason or a bad tasks option answer 422 naming the field', async () => {
    const { lead: l } = await fixture('Bad Close Params');
    assert.ok('outcome' in expectError(await close(l.id, { outcome: 'vanished' }), 422, 'validation_failed').fields);
    assert.ok('outcome' in expectError(await close(l.id, {}), 422, 'validation_failed').fields);
    assert.ok('reason_id' in expectError(await close(l.id, { outcome: 'lost', reason_id: 999999 }), 422, 'validation_failed').fields);
    assert.ok('tasks' in expectError(await close(l.id, { outcome: 'treated', tasks: 'burn_all' }), 422, 'validation_failed').fields);
    assert.equal((await lead(l.id)).status, 'open');
  });

  it('close lost: 200 with the closed lead; default tasks complete_overdue; default group Live Leads; timeline closed + group_added', async () => {
    const { lead: l, overdue, future } = await fixture('Lost Default');
    const r = await close(l.id, { outcome: 'lost', reason_id: ref.price.id, notes: 'Too expensive' });
    const c = expectStatus(r, 200, 'close');
    assert.equal(c.id, l.id);
    assert.equal(c.status, 'closed');
    assert.equal(c.outcome, 'lost');
    assert.equal(c.lost_reason_id, ref.price.id);
    assert.equal(c.close_notes, 'Too expensive');
    assert.equal(c.closed_by, admin.id);
    assert.ok(Math.abs(Date.parse(c.closed_at) - Date.now()) < 120_000, 'closed_at is now');
    assert.ok(c.version > l.version, 'version bumped');
    assert.ok(c.groups.includes(ref.live.id), 'joined Live Leads by default');
    const ts = await statusOf(l.id);
    assert.equal(ts[overdue.id], 'done', 'overdue task completed');
    assert.equal(ts[future.id], 'open', 'future task kept');
    const done = (await tasksOf(l.id)).find((t) => t.id === overdue.id);
    assert.ok(done.completed_at, 'completed_at set');
    assert.equal(done.completed_by, admin.id);
    const tl = await timeline(l.id);
    const closed = tl.find((e) => e.kind === 'closed');
    assert.ok(closed, 'timeline has closed');
    assert.equal(closed.data.outcome, 'lost');
    assert.equal(closed.data.reason_id, ref.price.id);
    assert.equal(closed.data.notes, 'Too expensive');
    assert.equal(closed.actor_id, admin.id);
    assert.ok(tl.some((e) => e.kind === 'group_added'), 'timeline has group_added');
    assert.ok(tl.some((e) => e.kind === 'task_done'), 'timeline has task_done for the completed task');
    assert.deepEqual(await lead(l.id), c, 'GET answers what close answered');
  });

  it('closing a closed lead answers 409 conflict and changes nothing', async () => {
    const { lead: l } = await fixture('Closed Twice');
    const c = expectStatus(await close(l.id, { outcome: 'treated', notes: 'first' }), 200);
    expectError(await close(l.id, { outcome: 'won', notes: 'second' }), 409, 'conflict');
    const g = await lead(l.id);
    assert.equal(g.outcome, 'treated');
    assert.equal(g.close_notes, 'first');
    assert.equal(g.version, c.version);
  });

  it('two parallel closes: one 200, the other 409 (or 412); one closed event, one follow-up', async () => {
    for (let round = 0; round < 3; round++) {
      const { lead: l } = await fixture(`Parallel Close ${round}`);
      const body = { outcome: 'lost', reason_id: ref.price.id, follow_up: { due_at: isoNow(10 * DAY) } };
      const rs = await Promise.all([close(l.id, body), close(l.id, { ...body, notes: 'second' })]);
      const st = rs.map((r) => r.status).sort();
      assert.equal(st[0], 200, `one close succeeds: ${st}`);
      assert.ok([409, 412].includes(st[1]), `the other is refused: ${st}`);
      expectError(rs.find((r) => r.status !== 200), st[1], null);
      const tl = await timeline(l.id);
      assert.equal(tl.filter((e) => e.kind === 'closed').length, 1, 'one closed event');
      const fu = (await tasksOf(l.id)).filter((t) => t.type === 'closed_lost_follow_up');
      assert.equal(fu.length, 1, 'one follow-up task');
    }
  });

  it('close won: default tasks cancel_future (future cancelled, overdue kept), no default group', async () => {
    const { lead: l, overdue, future } = await fixture('Won Default');
    const c = expectStatus(await close(l.id, { outcome: 'won' }), 200);
    assert.equal(c.outcome, 'won');
    assert.equal(c.lost_reason_id, null);
    assert.ok(!c.groups.includes(ref.live.id), 'won does not join the close-lost group');
    const ts = await statusOf(l.id);
    assert.equal(ts[future.id], 'cancelled', 'future task cancelled');
    assert.equal(ts[overdue.id], 'open', 'overdue task kept');
    assert.ok((await kinds(l.id)).includes('task_cancelled'));
  });

  it('close with a neutral outcome: default tasks keep', async () => {
    const { lead: l, overdue, future } = await fixture('Neutral Default');
    expectStatus(await close(l.id, { outcome: 'passed_to_distribution' }), 200);
    const ts = await statusOf(l.id);
    assert.equal(ts[overdue.id], 'open');
    assert.equal(ts[future.id], 'open');
  });

  it('defaults follow the outcome kind: abandoned (kind lost) completes overdue tasks and joins Live Leads', async () => {
    const { lead: l, overdue, future } = await fixture('Abandoned Default');
    const c = expectStatus(await close(l.id, { outcome: 'abandoned', reason_id: ref.other.id }), 200);
    assert.ok(c.groups.includes(ref.live.id));
    const ts = await statusOf(l.id);
    assert.equal(ts[overdue.id], 'done');
    assert.equal(ts[future.id], 'open');
  });

  for (const [mode, wantOverdue, wantFuture] of [
    ['complete_overdue', 'done', 'open'],
    ['complete_all', 'done', 'done'],
    ['cancel_future', 'open', 'cancelled'],
    ['keep', 'open', 'open'],
  ]) {
    it(`tasks: "${mode}" → overdue ${wantOverdue}, future ${wantFuture}`, async () => {
      const { lead: l, overdue, future } = await fixture(`Tasks ${mode}`);
      expectStatus(await close(l.id, { outcome: 'treated', tasks: mode }), 200);
      const ts = await statusOf(l.id);
      assert.equal(ts[overdue.id], wantOverdue, 'overdue task');
      assert.equal(ts[future.id], wantFuture, 'future task');
    });
  }

  it('explicit tasks option overrides the kind default (lost with keep leaves the overdue task open)', async () => {
    const { lead: l, overdue } = await fixture('Lost Keep');
    expectStatus(await close(l.id, { outcome: 'lost', reason_id: ref.price.id, tasks: 'keep' }), 200);
    assert.equal((await statusOf(l.id))[overdue.id], 'open');
  });

  it('follow_up on lost: a closed_lost_follow_up task assigned to the owner, due as asked', async () => {
    const { lead: l } = await fixture('Lost Follow');
    const due = isoNow(30 * DAY);
    const before = (await tasksOf(l.id)).map((t) => t.id);
    expectStatus(await close(l.id, { outcome: 'lost', reason_id: ref.price.id, follow_up: { due_at: due, notes: 'Try again next quarter' } }), 200);
    const fresh = (await tasksOf(l.id)).filter((t) => !before.includes(t.id));
    assert.equal(fresh.length, 1, 'one follow-up task created');
    const t = fresh[0];
    assert.equal(t.type, 'closed_lost_follow_up');
    assert.equal(t.assignee_id, agent.id, "assigned to the lead's owner, not the closer");
    assert.equal(t.due_at, due);
    assert.equal(t.status, 'open');
    assert.equal(t.notes, 'Try again next quarter');
    assert.equal(t.lead_id, l.id);
    const mine = (await walk(agent.c, '/api/v1/tasks', 500)).map((x) => x.id);
    assert.ok(mine.includes(t.id), "in the owner's default task list");
    assert.ok((await kinds(l.id)).includes('task_created'));
  });

  it('follow_up on won or neutral: type post_sale_follow_up; an explicit type is kept', async () => {
    const { lead: l } = await fixture('Won Follow');
    const before = (await tasksOf(l.id)).map((t) => t.id);
    expectStatus(await close(l.id, { outcome: 'won', follow_up: { due_at: isoNow(7 * DAY) } }), 200);
    const fresh = (await tasksOf(l.id)).filter((t) => !before.includes(t.id));
    assert.equal(fresh.length, 1);
    assert.equal(fresh[0].type, 'post_sale_follow_up');
    assert.equal(fresh[0].assignee_id, agent.id);

    const { lead: n } = await fixture('Neutral Follow');
    const b2 = (await tasksOf(n.id)).map((t) => t.id);
    expectStatus(await close(n.id, { outcome: 'treated', follow_up: { due_at: isoNow(7 * DAY), type: 'check_in' } }), 200);
    const f2 = (await tasksOf(n.id)).filter((t) => !b2.includes(t.id));
    assert.equal(f2.length, 1);
    assert.equal(f2[0].type, 'check_in');
  });

  it('explicit groups are joined (for lost and for neutral outcomes)', async () => {
    const { lead: l } = await fixture('Grouped Neutral');
    const c = expectStatus(await close(l.id, { outcome: 'treated', groups: [ref.vip.id] }), 200);
    assert.deepEqual(c.groups, [ref.vip.id]);
    const { lead: m } = await fixture('Grouped Lost');
    const d = expectStatus(await close(m.id, { outcome: 'lost', reason_id: ref.price.id, groups: [ref.vip.id] }), 200);
    assert.ok(d.groups.includes(ref.vip.id));
    const members = (await walk(admin.c, `/api/v1/leads?owner=any&status=all&group=${ref.vip.id}`, 500)).map((x) => x.id);
    assert.deepEqual(members.sort((a, b) => a - b), [l.id, m.id].sort((a, b) => a - b));
    const e = expectError(await close((await fixture('Bad Group')).lead.id, { outcome: 'treated', groups: [999999] }), 422, 'validation_failed');
    assert.ok('groups' in e.fields);
  });

  it("a lost reason's follow_up_days and group_id bring a default follow-up and group", async () => {
    const g = expectStatus(await admin.c.post('/api/v1/groups', { name: 'Reason Nurture' }), 201);
    const reason = expectStatus(await admin.c.post('/api/v1/lost-reasons',
      { name: 'E2E Not Now', counts_in_reports: true, follow_up_days: 30, group_id: g.id }), 201);
    const { lead: l } = await fixture('Reason Defaults');
    const before = (await tasksOf(l.id)).map((t) => t.id);
    const c = expectStatus(await close(l.id, { outcome: 'lost', reason_id: reason.id }), 200);
    assert.ok(c.groups.includes(g.id), `joined the reason's group: ${JSON.stringify(c.groups)}`);
    const fresh = (await tasksOf(l.id)).filter((t) => !before.includes(t.id));
    assert.equal(fresh.length, 1, 'a follow-up task from the reason');
    assert.equal(fresh[0].type, 'closed_lost_follow_up');
    assert.equal(fresh[0].assignee_id, agent.id);
    const days = (Date.parse(fresh[0].due_at) - Date.now()) / DAY;
    assert.ok(days > 29 && days < 31, `due in 30 days, got ${days.toFixed(2)}`);
  });

  it('the default close-lost group follows settings', async () => {
    const s = expectStatus(await admin.c.get('/api/v1/settings'), 200);
    const key = Object.keys(s).find((k) => /group/i.test(k) && s[k] === ref.live.id);
    assert.ok(key, `a top-level settings key holds the default close-lost group: ${JSON.stringify(s)}`);
    const g = expectStatus(await admin.c.post('/api/v1/groups', { name: 'Cold Leads' }), 201);
    expectStatus(await admin.c.patch('/api/v1/settings', { [key]: g.id }), 200);
    try {
      const { lead: l } = await fixture('Settings Group');
      const c = expectStatus(await close(l.id, { outcome: 'lost', reason_id: ref.price.id }), 200);
      assert.ok(c.groups.includes(g.id), 'joined the configured group');
      assert.ok(!c.groups.includes(ref.live.id), 'not the old default');
    } finally {
      expectStatus(await admin.c.patch('/api/v1/settings', { [key]: ref.live.id }), 200);
    }
  });

  it('an agent closes its own lead; closed_by is the agent', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Agent Closes' }), 201);
    const c = expectStatus(await close(l.id, { outcome: 'won', notes: 'signed' }, agent.c), 200);
    assert.equal(c.closed_by, agent.id);
  });
});

describe('dry run', { timeout: FILE_TIMEOUT_MS }, () => {
  const PLAN_KEYS = ['lead', 'tasks_completed', 'tasks_cancelled', 'follow_up', 'groups', 'threads_closed',
    'messages', 'notifications', 'approval_required', 'missing', 'events'];

  it('dry_run=1 on lost answers the plan and changes nothing (lead open, tasks and timeline unchanged)', async () => {
    const { lead: l, overdue, future } = await fixture('Dry Lost');
    const tBefore = await statusOf(l.id);
    const tlBefore = await timeline(l.id);
    const due = isoNow(30 * DAY);
    const r = await admin.c.post(`/api/v1/leads/${l.id}/close?dry_run=1`, {
      outcome: 'lost', reason_id: ref.price.id, notes: 'preview', follow_up: { due_at: due } });
    const b = expectStatus(r, 200, 'dry run');
    assert.equal(b.dry_run, true);
    const p = b.plan;
    for (const k of PLAN_KEYS) assert.ok(k in p, `plan.${k}`);
    assert.deepEqual(p.tasks_completed.map((t) => t.id), [overdue.id], 'would complete the overdue task');
    assert.equal(p.tasks_completed[0].title, overdue.title, 'named by its title');
    assert.equal(p.tasks_completed[0].due_at, overdue.due_at);
    assert.deepEqual(p.tasks_cancelled, []);
    assert.ok(!p.tasks_completed.some((t) => t.id === future.id));
    assert.ok(p.follow_up && typeof p.follow_up === 'object', 'a follow-up is planned');
    assert.equal(p.follow_up.type, 'closed_lost_follow_up');
    assert.equal(p.follow_up.assignee_id ?? agent.id, agent.id);
    assert.equal(p.follow_up.due_at, due, 'the planned follow-up is due as asked (RFC 3339)');
    assert.deepEqual(p.groups, [{ id: ref.live.id, name: 'Live Leads' }], 'would join Live Leads, named');
    assert.equal(p.approval_required, false);
    assert.deepEqual(p.missing, []);
    assert.ok(Array.isArray(p.events) && p.events.includes('closed'), `events include closed: ${JSON.stringify(p.events)}`);
    assert.ok(p.events.includes('group_added'));
    assert.equal(p.lead.status, 'closed', 'the planned lead is closed');
    assert.equal(p.lead.outcome, 'lost');

    const g = await lead(l.id);
    assert.equal(g.status, 'open', 'still open');
    assert.equal(g.outcome, null);
    assert.equal(g.version, l.version);
    assert.deepEqual(g.groups, l.groups);
    assert.deepEqual(await statusOf(l.id), tBefore, 'tasks unchanged, no follow-up created');
    assert.deepEqual(await timeline(l.id), tlBefore, 'timeline unchanged');

    // The real close does what the plan said.
    expectStatus(await close(l.id, { outcome: 'lost', reason_id: ref.price.id, notes: 'preview', follow_up: { due_at: isoNow(30 * DAY) } }), 200);
    assert.equal((await statusOf(l.id))[overdue.id], 'done');
  });

  it('dry_run=1 on won previews the cancelled future tasks; no follow-up when none is asked', async () => {
    const { lead: l, future } = await fixture('Dry Won');
    const b = expectStatus(await admin.c.post(`/api/v1/leads/${l.id}/close?dry_run=1`, { outcome: 'won' }), 200);
    assert.deepEqual(b.plan.tasks_cancelled.map((t) => t.id), [future.id]);
    assert.deepEqual(b.plan.tasks_completed, []);
    assert.equal(b.plan.follow_up, null);
    assert.deepEqual(b.plan.groups, []);
    assert.equal((await statusOf(l.id))[future.id], 'open', 'not really cancelled');
    assert.equal((await lead(l.id)).status, 'open');
  });

  it('dry_run=1 for lost without a reason shows reason_id as missing (or 422) and changes nothing', async () => {
    const { lead: l } = await fixture('Dry Missing');
    const r = await admin.c.post(`/api/v1/leads/${l.id}/close?dry_run=1`, { outcome: 'lost' });
    assert.ok([200, 422].includes(r.status), `got ${r.status}`);
    if (r.status === 200) assert.ok(r.body.plan.missing.includes('reason_id'), JSON.stringify(r.body.plan.missing));
    else assert.ok('reason_id' in expectError(r, 422, 'validation_failed').fields);
    const g = await lead(l.id);
    assert.equal(g.status, 'open');
    assert.equal(g.version, l.version);
  });

  it('dry_run=1 on a closed lead answers 409 like the real close', async () => {
    const { lead: l } = await fixture('Dry Closed');
    expectStatus(await close(l.id, { outcome: 'treated' }), 200);
    expectError(await admin.c.post(`/api/v1/leads/${l.id}/close?dry_run=1`, { outcome: 'won' }), 409, 'conflict');
  });
});

describe('reopen and transitions', { timeout: FILE_TIMEOUT_MS }, () => {
  it('reopen opens a closed lead again; the outcome history stays in the timeline', async () => {
    const { lead: l } = await fixture('Reopen Me');
    expectStatus(await close(l.id, { outcome: 'lost', reason_id: ref.price.id, notes: 'gone' }), 200);
    const r = expectStatus(await admin.c.post(`/api/v1/leads/${l.id}/reopen`, { notes: 'came back' }), 200, 'reopen');
    assert.equal(r.status, 'open');
    assert.equal(r.outcome, null);
    assert.equal(r.closed_at, null);
    const tl = await timeline(l.id);
    const closedEv = tl.find((e) => e.kind === 'closed');
    const reopenedEv = tl.find((e) => e.kind === 'reopened');
    assert.ok(closedEv && reopenedEv, 'closed and reopened both in the timeline');
    assert.ok(reopenedEv.id > closedEv.id, 'reopened recorded after closed');
    assert.equal(closedEv.data.outcome, 'lost', 'the old outcome stays in the timeline');
    const listed = (await walk(agent.c, '/api/v1/leads', 500)).map((x) => x.id);
    assert.ok(listed.includes(l.id), "back in the owner's open list");
    // It can be closed again.
    const again = expectStatus(await close(l.id, { outcome: 'won' }), 200);
    assert.equal(again.outcome, 'won');
  });

  it('reopening an open lead answers 409 conflict', async () => {
    const { lead: l } = await fixture('Reopen Open');
    expectError(await admin.c.post(`/api/v1/leads/${l.id}/reopen`, { notes: 'x' }), 409, 'conflict');
  });

  it('transitions of an open lead: the stages, every outcome (lost needs reason_id), no reopen', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Where Next' }), 201);
    const t = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}/transitions`), 200, 'transitions').items;
    assert.ok(Array.isArray(t) && t.length > 0, 'transitions items');
    for (const it2 of t) {
      assert.ok(['stage', 'close', 'reopen'].includes(it2.kind), `kind ${it2.kind}`);
      assert.equal(typeof it2.allowed, 'boolean');
      assert.equal(typeof it2.approval_required, 'boolean');
      assert.ok(Array.isArray(it2.missing));
    }
    const stageIds = t.filter((x) => x.kind === 'stage').map((x) => x.stage_id);
    for (const s of ref.stages) if (s.id !== l.stage_id) assert.ok(stageIds.includes(s.id), `stage ${s.name} offered`);
    const closes = Object.fromEntries(t.filter((x) => x.kind === 'close').map((x) => [x.outcome, x]));
    for (const o of ref.outcomes) assert.ok(closes[o.key], `close as ${o.key} offered`);
    assert.equal(closes.won.allowed, true);
    assert.equal(closes.won.approval_required, false);
    assert.ok(closes.lost.missing.includes('reason_id'), `lost is missing reason_id: ${JSON.stringify(closes.lost)}`);
    assert.deepEqual(closes.won.missing, []);
    const reopen = t.find((x) => x.kind === 'reopen');
    assert.ok(!reopen || reopen.allowed === false, 'an open lead cannot be reopened');
  });

  it('transitions agree with dry runs: for each outcome the same missing fields and approval', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Agreeable' }), 201);
    const t = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}/transitions`), 200).items;
    for (const item of t.filter((x) => x.kind === 'close' && x.allowed)) {
      const r = await agent.c.post(`/api/v1/leads/${l.id}/close?dry_run=1`, { outcome: item.outcome });
      if (r.status === 422) {
        assert.deepEqual(Object.keys(expectError(r, 422, 'validation_failed').fields).sort(), [...item.missing].sort(), item.outcome);
      } else if (r.status === 202) {
        assert.equal(item.approval_required, true, `${item.outcome}: 202 only when approval is required`);
      } else {
        const b = expectStatus(r, 200, `dry run ${item.outcome}`);
        assert.deepEqual([...b.plan.missing].sort(), [...item.missing].sort(), `${item.outcome}: missing`);
        assert.equal(b.plan.approval_required, item.approval_required, `${item.outcome}: approval_required`);
      }
    }
    assert.equal((await lead(l.id)).status, 'open');
  });

  it('a move the transitions list refuses is refused by the API too (stage move on a closed lead)', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Closed Mover' }), 201);
    const c = expectStatus(await close(l.id, { outcome: 'won' }, agent.c), 200);
    const t = expectStatus(await agent.c.get(`/api/v1/leads/${l.id}/transitions`), 200).items;
    const move = t.find((x) => x.kind === 'stage' && x.stage_id === ref.Quoted.id);
    const r = await agent.c.patch(`/api/v1/leads/${l.id}`, { stage_id: ref.Quoted.id });
    if (move && move.allowed) {
      expectStatus(r, 200, 'transitions said allowed');
    } else {
      assert.ok([403, 409, 422].includes(r.status), `transitions said not allowed; PATCH answered ${r.status}`);
      expectError(r, r.status, null);
      const g = await lead(l.id);
      assert.equal(g.stage_id, c.stage_id, 'stage unchanged');
      assert.equal(g.version, c.version);
    }
  });

  it('reopen with a stale If-Match answers 412 and the lead stays closed', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Stale Reopen' }), 201);
    const c = expectStatus(await close(l.id, { outcome: 'treated' }, agent.c), 200);
    expectError(await agent.c.post(`/api/v1/leads/${l.id}/reopen`, { notes: 'x' }, { headers: { 'If-Match': String(c.version - 1) } }),
      412, 'version_mismatch');
    assert.equal((await lead(l.id)).status, 'closed');
    expectStatus(await agent.c.post(`/api/v1/leads/${l.id}/reopen`, { notes: 'x' }, { headers: { 'If-Match': String(c.version) } }), 200);
  });

  it('transitions of a closed lead: reopen allowed, no close allowed', async () => {
    const l = expectStatus(await agent.c.post('/api/v1/leads', { full_name: 'Closed Where' }), 201);
    expectStatus(await close(l.id, { outcome: 'treated' }, agent.c), 200);
    const r = await agent.c.get(`/api/v1/leads/${l.id}/transitions`);
    const t = expectStatus(r, 200).items;
    assert.ok(Array.isArray(t));
    const reopen = t.find((x) => x.kind === 'reopen');
    assert.ok(reopen && reopen.allowed === true, 'reopen allowed');
    assert.ok(!t.some((x) => x.kind === 'close' && x.allowed), 'no close allowed on a closed lead');
  });
});
