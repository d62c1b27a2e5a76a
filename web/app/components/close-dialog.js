// components/close-dialog.js — the Close dialog: outcome, lost reason (required for kind lost),
// notes, what happens to open tasks, follow-up, contact groups; the server's dry_run plan is
// shown in words before the user can confirm. Its form (useCloseForm, CloseFields) and words
// (planWords, taskWords, followWords) are shared with the bulk close (components/bulk-close.js).
// With `call` (an open call task) it is the "Finish call" step: what happened on the call (the
// form's notes), and whether the lead is still pending, won or lost — the same close form, preview,
// rules and policies when it is won or lost; the task is completed first, then the lead closed.
import { html, useEffect, useMemo, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, Input, Select, Textarea, Check, ErrorBox, Dialog, FieldError, nameOf } from '../ui.js';
import { conflictMessage, conflictOr, isConflict } from '../conflict.js';
import { fmtDateTime, toLocalInput, fromLocalInput, humanize, plural, listWords, addDays, useDebounced } from '../util.js';

const LABELS = { reason_id: 'lost reason', lost_reason_id: 'lost reason', notes: 'notes', follow_up: 'follow-up', outcome: 'outcome' };
export const fieldLabel = (m) => LABELS[m] || humanize(m);

// The group a lead closed as lost joins by default: the settings' (0: none).
export const defaultLostGroup = (settings) => (settings && settings.close_lost_default_group_id) || null;

function at9(days) { const d = addDays(new Date(), days); d.setHours(9, 0, 0, 0); return toLocalInput(d.toISOString()); }

// How the server's follow-up types read (never the raw key).
const FOLLOW_WORDS = { closed_lost_follow_up: 'a follow-up after the loss', post_sale_follow_up: 'an after-sale follow-up', follow_up: 'a follow-up' };
export const followWords = (type) => FOLLOW_WORDS[type] || (type ? humanize(type).toLowerCase() : 'a follow-up');
// A task of a plan: the server names it ({id, title, due_at}); older answers gave ids only.
export function taskWords(t, tasks = []) {
  if (t && typeof t === 'object') return `“${t.title || humanize(t.type || 'task')}”${t.due_at ? ` (due ${fmtDateTime(t.due_at)})` : ''}`;
  const x = tasks.find((y) => y.id === t);
  return x ? `“${x.title || humanize(x.type)}”` : `task #${t}`;
}
const groupName = (g, refs) => (g && typeof g === 'object' ? g.name : nameOf(refs.groups, g));

// The preview in words. outcome: the outcome chosen in the form (the plan's lead may not carry it
// while a mandatory field is missing), reason: the chosen lost reason id or ''.
export function planWords(plan, { refs, tasks = [], lead, outcome, reason }) {
  const out = [];
  const l = plan.lead || {};
  const key = l.outcome || outcome;
  const o = (refs.outcomes || []).find((x) => x.key === key);
  const oname = o ? o.name : key ? humanize(key) : null;
  const rid = l.lost_reason_id || reason;
  if (!oname) out.push('Choose an outcome to see what closing will do.');
  else if (o && o.kind === 'lost' && !rid) out.push(`${lead.full_name} will be closed as ${oname} once a lost reason is chosen.`);
  else out.push(`${lead.full_name} will be closed as ${oname}${rid ? ` (reason: ${nameOf(refs.lostReasons, rid)})` : ''}.`);
  const done = plan.tasks_completed || [], cancelled = plan.tasks_cancelled || [];
  if (done.length) out.push(`${plural(done.length, 'task')} will be marked done: ${listWords(done.map((t) => taskWords(t, tasks)))}.`);
  if (cancelled.length) out.push(`${plural(cancelled.length, 'task')} will be cancelled: ${listWords(cancelled.map((t) => taskWords(t, tasks)))}.`);
  if (!done.length && !cancelled.length) out.push('No tasks will change.');
  const f = plan.follow_up;
  if (f) {
    const who = f.assignee_id ? nameOf(refs.users, f.assignee_id) : 'the owner';
    out.push(`A follow-up task${f.title ? ` “${f.title}”` : ''} (${followWords(f.type)}) will be created for ${who}, due ${fmtDateTime(f.due_at)}.`);
  } else out.push('No follow-up will be scheduled.');
  const groups = plan.groups || [];
  if (groups.length) out.push(`The lead will be added to ${groups.length === 1 ? 'the group' : 'the groups'} ${listWords(groups.map((g) => groupName(g, refs)))}.`);
  const threads = plan.threads_closed || [];
  if (threads.length) out.push(`${plural(threads.length, 'open conversation')} will be ended.`);
  const msgs = plan.messages || [];
  if (msgs.length) out.push(`${plural(msgs.length, 'message')} will be sent to the lead${msgs[0] && msgs[0].channel ? ' by ' + listWords([...new Set(msgs.map((m) => m.channel).filter(Boolean))]) : ''}.`);
  else out.push('Nothing will be sent to the lead.');
  const notes = plan.notifications || [];
  if (notes.length) {
    const who = [...new Set(notes.map((n) => n.user_id ?? n.recipient_id ?? n.to).filter((x) => x !== undefined))].map((u) => nameOf(refs.users, u));
    out.push(`${plural(notes.length, 'notification')} will be sent${who.length ? ' to ' + listWords(who) : ''}.`);
  }
  return out;
}

// The close form's state and the request body it makes, shared by the single close and the bulk
// close (components/bulk-close.js). initialOutcome: an outcome chosen before the dialog opened
// (a card dropped on a closing column of the board).
export function useCloseForm(open, initialOutcome) {
  const { refs, settings } = useApp();
  const outcomes = refs.outcomes || [];
  const [outcome, setOutcome] = useState('');
  const [reason, setReason] = useState('');
  const [notes, setNotes] = useState('');
  const [overdueDone, setOverdueDone] = useState(false);
  const [allDone, setAllDone] = useState(false);
  const [other, setOther] = useState('keep');
  const [followUp, setFollowUp] = useState(false);
  const [followAt, setFollowAt] = useState(at9(30));
  const [followNotes, setFollowNotes] = useState('');
  const [groups, setGroups] = useState(new Set());
  const [notify, setNotify] = useState(false);
  const o = outcomes.find((x) => x.key === outcome);
  const kind = o ? o.kind : null;
  const reasons = (refs.lostReasons || []).filter((r) => r.active !== false);
  const pickOutcome = (k) => {
    setOutcome(k);
    const kd = (outcomes.find((x) => x.key === k) || {}).kind;
    setOverdueDone(kd === 'lost'); setAllDone(false); setOther(kd === 'won' ? 'cancel_future' : 'keep');
    const g = kd === 'lost' ? defaultLostGroup(settings) : null;
    setGroups(new Set(g ? [g] : []));
    if (kd !== 'lost') setReason('');
    setFollowUp(kd === 'lost' ? followUp : false);
  };
  useEffect(() => {
    if (!open) return;
    setOutcome(''); setReason(''); setNotes(''); setFollowUp(false); setFollowNotes('');
    setGroups(new Set()); setOverdueDone(false); setAllDone(false); setOther('keep'); setNotify(false);
    if (initialOutcome) pickOutcome(initialOutcome);
  }, [open, initialOutcome]);
  const pickReason = (v) => {
    setReason(v);
    const r = reasons.find((x) => String(x.id) === String(v));
    if (r && r.follow_up_days) { setFollowUp(true); setFollowAt(at9(r.follow_up_days)); }
    if (r && r.group_id) setGroups((s) => new Set([...s, r.group_id]));
  };
  const tasksMode = allDone ? 'complete_all' : overdueDone ? 'complete_overdue' : other;
  const body = useMemo(() => {
    if (!outcome) return null;
    const b = { outcome, notes: notes.trim() || undefined, tasks: tasksMode, groups: [...groups], notify_lead: notify };
    if (reason) b.reason_id = Number(reason);
    // null asks for no follow-up at all (a lost reason's follow_up_days would otherwise bring one);
    // the server gives the follow-up the type that fits the outcome
    b.follow_up = followUp && followAt ? { due_at: fromLocalInput(followAt), notes: followNotes.trim() || undefined } : null;
    return b;
  }, [outcome, notes, tasksMode, groups, notify, reason, followUp, followAt, followNotes]);
  const toggleGroup = (id, on) => setGroups((s) => { const n = new Set(s); on ? n.add(id) : n.delete(id); return n; });
  return { outcome, pickOutcome, reason, pickReason, reasons, kind, notes, setNotes, overdueDone, setOverdueDone, allDone, setAllDone,
    other, setOther, followUp, setFollowUp, followAt, setFollowAt, followNotes, setFollowNotes, groups, toggleGroup, notify, setNotify,
    body, reasonMissing: kind === 'lost' && !reason };
}

// The form's fields (two columns). taskLegend: what the tasks box says about the open tasks;
// showNotes false: the notes are asked elsewhere (the call step's "What happened on the call?").
export function CloseFields({ form: f, fe, taskLegend, showNotes = true }) {
  const { refs } = useApp();
  const outcomes = refs.outcomes || [];
  return html`<div class="close-cols">
    <div>
      <${Select} label="Outcome" value=${f.outcome} empty="Choose an outcome…" onChange=${f.pickOutcome} required id="close-outcome" autofocus
        options=${outcomes.filter((x) => x.active !== false).map((x) => ({ value: x.key, label: x.name.toLowerCase() === x.kind ? x.name : `${x.name} (${x.kind})` }))} error=${fe.outcome} />
      ${f.kind === 'lost' ? html`<${Select} label="Lost reason (required)" value=${f.reason} empty="Choose a reason…" onChange=${f.pickReason} required id="close-reason"
        options=${f.reasons.map((r) => ({ value: r.id, label: r.name }))} error=${fe.reason_id || fe.lost_reason_id} />` : null}
      ${showNotes ? html`<${Textarea} label="Notes" value=${f.notes} onInput=${f.setNotes} rows="3" error=${fe.notes} id="close-notes" />` : null}
      <fieldset class="group-box"><legend>${taskLegend}</legend>
        <${Check} label="Mark overdue tasks done" checked=${f.overdueDone} id="close-overdue"
          onChange=${(v) => { f.setOverdueDone(v); if (v) f.setAllDone(false); }} />
        <${Check} label="Mark all incomplete tasks done" checked=${f.allDone} id="close-all"
          onChange=${(v) => { f.setAllDone(v); if (v) f.setOverdueDone(false); }} />
        <div class="radios" role="radiogroup" aria-label="Other open tasks">
          <span class=${'radios-label' + (f.overdueDone || f.allDone ? ' muted' : '')}>${f.overdueDone ? 'Tasks not yet due:' : 'Open tasks:'}</span>
          <label><input type="radio" name="close-other" value="keep" checked=${f.other === 'keep'} disabled=${f.allDone}
            onChange=${() => f.setOther('keep')} /> Keep</label>
          <label><input type="radio" name="close-other" value="cancel_future" checked=${f.other === 'cancel_future'} disabled=${f.allDone || f.overdueDone}
            onChange=${() => f.setOther('cancel_future')} /> Cancel future tasks</label>
        </div>
        <${FieldError} error=${fe.tasks} />
      </fieldset>
    </div>
    <div>
      <fieldset class="group-box"><legend>Follow-up</legend>
        <${Check} label="Schedule a follow-up task" checked=${f.followUp} onChange=${f.setFollowUp} id="close-follow" />
        ${f.followUp ? html`<${Input} type="datetime-local" label="Follow-up due" value=${f.followAt} onInput=${f.setFollowAt} id="close-follow-at"
          error=${fe.follow_up || fe['follow_up.due_at']} />
          <${Input} label="Follow-up notes" value=${f.followNotes} onInput=${f.setFollowNotes} />` : html`<${FieldError} error=${fe.follow_up} />`}
      </fieldset>
      <fieldset class="group-box"><legend>Add to contact groups</legend>
        ${(refs.groups || []).length ? (refs.groups || []).map((g) => html`<${Check} key=${g.id} label=${g.name} checked=${f.groups.has(g.id)}
          onChange=${(v) => f.toggleGroup(g.id, v)} />`) : html`<p class="muted">No groups defined.</p>`}
        <${FieldError} error=${fe.groups} />
      </fieldset>
      <${Check} label="Send the closing notification on open e-mail threads" checked=${f.notify} onChange=${f.setNotify} id="close-notify" />
    </div>
  </div>`;
}

// The outcome a "Won" / "Lost" choice of the call step means: the outcome of that key, else the
// first active one of that kind.
function outcomeFor(outcomes, kind) {
  const act = outcomes.filter((o) => o.active !== false);
  return (act.find((o) => o.key === kind) || act.find((o) => o.kind === kind) || {}).key || '';
}

export function CloseDialog({ open, lead, tasks, transitions, onClose, onDone, onRefresh, initialOutcome, call = null }) {
  const { refs } = useApp();
  const f = useCloseForm(open, initialOutcome);
  const [preview, setPreview] = useState(null);     // {key, plan} | {key, error}
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [callDone, setCallDone] = useState(false);   // the call task is completed (a close may still be to do)
  useEffect(() => { if (open) { setPreview(null); setError(null); setCallDone(false); } }, [open]);
  const { body, outcome, reasonMissing } = f;
  const key = body ? JSON.stringify(body) : '';
  const dkey = useDebounced(key, 350);

  useEffect(() => {
    if (!open || !dkey) return;
    let live = true;
    api.leads.closePreview(lead.id, JSON.parse(dkey), lead.version).then(
      (plan) => { if (live) setPreview({ key: dkey, plan }); },
      (e) => { if (live) setPreview({ key: dkey, error: e }); });
    return () => { live = false; };
  }, [dkey, open, lead.version]);

  const cur = preview && preview.key === key ? preview : null;
  const plan = cur && cur.plan;
  const missing = (plan && plan.missing) || [];
  const perr = cur && cur.error;
  const fe = { ...((perr && perr.fields) || {}), ...((error && error.fields) || {}) };
  for (const m of missing) if (!fe[m]) fe[m] = 'required';
  const pending = !!call && !outcome;                // the call step with the lead staying open: no close at all
  const canConfirm = pending ? !busy : !!plan && !missing.length && !reasonMissing && !busy;
  const closeTrans = (transitions || []).find((t) => t.kind === 'close' && t.outcome === outcome);

  const confirm = async (e) => {
    e.preventDefault();
    if (!canConfirm) return;
    setBusy(true); setError(null);
    try {
      if (call && !callDone) {
        // the call first: its task done; what happened goes on the timeline (as the close's notes
        // when the lead closes, else as a comment with the call icon)
        await api.tasks.update(call.id, { status: 'done' }, call.version);
        setCallDone(true);
        const said = f.notes.trim();
        if (pending && said) await api.leads.comment(lead.id, { body: `${call.title || 'Call'}: ${said}`, icon: 'call', color: '#2563eb' });
        if (pending) { onDone({ message: 'Call completed.' }); setBusy(false); return; }
      }
      const r = await api.leads.close(lead.id, body, lead.version);
      const pre = call ? 'Call completed. ' : '';
      if (r.approval) onDone({ message: pre + 'This close needs approval: it was sent to an approver. The lead stays open until they decide.' });
      else onDone({ lead: r.lead, message: pre + 'Lead closed.' });
    } catch (err) {
      setError(conflictOr(err, 'lead', 'The latest version is loaded: check the preview, then confirm again.'));
      if (isConflict(err) && onRefresh) onRefresh();
    }
    setBusy(false);
  };
  const openTasks = tasks.filter((t) => t.status === 'open');
  const overdueCount = openTasks.filter((t) => t.due_at && new Date(t.due_at) < new Date()).length;

  const callKind = f.kind || 'pending';
  const choose = (k) => f.pickOutcome(k === 'pending' ? '' : outcomeFor(refs.outcomes || [], k));
  const taskLegend = `Open tasks (${openTasks.length}, ${overdueCount} overdue)`;
  const verb = (plan && plan.approval_required ? 'request approval' : 'close');
  const submitLabel = pending ? 'Complete call' : call && !callDone ? 'Complete call and ' + verb : verb === 'close' ? 'Confirm close' : 'Request approval';
  return html`<${Dialog} open=${open} wide title=${call ? `Finish call: ${call.title || 'Call'}` : 'Close ' + lead.full_name} onClose=${onClose}>
    <form class="close-form" onSubmit=${confirm} novalidate>
      ${call ? html`<div class="call-step">
        <${Textarea} label="What happened on the call?" value=${f.notes} onInput=${f.setNotes} rows="3" error=${fe.notes} id="call-notes" autofocus
          placeholder="Who you spoke to, what they said, what comes next" />
        ${lead.status === 'open' ? html`<fieldset class="group-box call-outcome"><legend>${lead.full_name} is now</legend>
          <div class="radios">
            ${[['pending', 'Still pending (stays open)'], ['won', 'Won'], ['lost', 'Lost']].map(([k, label]) => html`<label key=${k}>
              <input type="radio" name="call-outcome" value=${k} checked=${callKind === k} disabled=${busy || (callDone && k === 'pending')}
                onChange=${() => choose(k)} /> ${label}</label>`)}
          </div>
          ${f.outcome ? html`<p class="hint">Closing works as in the Close dialog: the same rules, the preview below and your role's policy.</p>` : null}
        </fieldset>` : null}
        ${callDone ? html`<p class="notice notice-ok" role="status">The call is recorded as done; the lead is not closed yet. Confirm to try the close again.</p>` : null}
      </div>` : null}
      ${pending ? null : html`<${CloseFields} form=${f} fe=${fe} taskLegend=${taskLegend} showNotes=${!call} />`}
      ${pending ? null : html`<section class="preview" aria-live="polite" aria-labelledby="preview-h">
        <h3 id="preview-h">What will happen</h3>
        ${!outcome ? html`<p class="muted">Choose an outcome to see what closing will do.</p>`
          : !cur ? html`<p class="muted"><span class="spinner" aria-hidden="true"></span> Working out what closing will do…</p>`
          : perr && !plan ? html`<p class="field-error">${isConflict(perr) ? conflictMessage('lead') : perr.message}</p>
            ${isConflict(perr) && onRefresh ? html`<button type="button" class="btn btn-small" onClick=${onRefresh}>Load the latest version</button>` : null}`
          : html`<ul class="preview-list">${planWords(plan, { refs, tasks, lead, outcome, reason: f.reason }).map((s) => html`<li>${s}</li>`)}</ul>
            ${plan.approval_required || (closeTrans && closeTrans.approval_required) ? html`<p class="notice notice-warn">This close needs approval: confirming sends it to an approver and the lead stays open until they decide.</p>` : null}
            ${missing.length ? html`<p class="field-error" role="alert">Before closing, fill in: ${listWords(missing.map((m) => LABELS[m] || humanize(m)))}.</p>` : null}`}
        ${reasonMissing ? html`<p class="field-error">A lost reason is required for this outcome.</p>` : null}
      </section>`}
      <${ErrorBox} error=${error && !Object.keys(error.fields || {}).length ? error : null} />
      <div class="actions">
        <button type="button" class="btn btn-ghost" onClick=${onClose}>Cancel</button>
        <button class=${pending ? 'btn btn-primary' : 'btn btn-danger'} type="submit" disabled=${!canConfirm}>${submitLabel}</button>
      </div>
    </form>
  <//>`;
}
