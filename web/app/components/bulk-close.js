// components/bulk-close.js — closing many leads with the care of a single close: the close
// dialog's form (outcome, reason, notes, tasks, follow-up, groups, notification), a preview of
// the whole selection from the server (POST /leads/bulk?dry_run=1: how many close, need approval
// or are refused and why, the tasks completed or cancelled by title, follow-ups, groups) before
// Confirm, and then the result: each lead that failed, by name and linked, with its reason.
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, Dialog, ErrorBox, Link } from '../ui.js';
import { plural, listWords, useDebounced, fmtDateTime } from '../util.js';
import { useCloseForm, CloseFields, fieldLabel } from './close-dialog.js';

const reasonText = (e) => {
  if (!e) return 'failed';
  if (e.fields && Object.keys(e.fields).length) return `missing ${listWords(Object.keys(e.fields).map(fieldLabel))}`;
  return e.message || e.code;
};
const taskList = (ts) => listWords(ts.slice(0, 5).map((t) => `“${t.title}”${t.due_at ? ` (due ${fmtDateTime(t.due_at)})` : ''}`))
  + (ts.length > 5 ? ` and ${ts.length - 5} more` : '');

// A failed or refused lead: its name linked (when the caller may see it), and why.
function LeadReason({ item, onNavigate }) {
  return html`<li>${item.full_name ? html`<${Link} href=${'/leads/' + item.id} onClick=${onNavigate}>${item.full_name}<//>` : html`Lead #${item.id}`}:
    ${' '}${reasonText(item.error)}</li>`;
}

function PreviewWords({ p, outcomeName, onNavigate }) {
  const refused = p.items.filter((x) => x.result === 'refused');
  const approval = p.items.filter((x) => x.result === 'approval');
  return html`<ul class="preview-list">
    <li><strong>${plural(p.will_close, 'lead')}</strong> of ${p.total} will be closed as ${outcomeName}.</li>
    ${p.needs_approval ? html`<li>${plural(p.needs_approval, 'lead')} will be sent for approval (your role asks for it): ${listWords(approval.slice(0, 5).map((x) => x.full_name || '#' + x.id))}${approval.length > 5 ? ` and ${approval.length - 5} more` : ''}.</li>` : null}
    ${p.tasks_completed.length ? html`<li>${plural(p.tasks_completed.length, 'task')} will be marked done: ${taskList(p.tasks_completed)}.</li>` : null}
    ${p.tasks_cancelled.length ? html`<li>${plural(p.tasks_cancelled.length, 'task')} will be cancelled: ${taskList(p.tasks_cancelled)}.</li>` : null}
    ${!p.tasks_completed.length && !p.tasks_cancelled.length ? html`<li>No tasks will change.</li>` : null}
    <li>${p.follow_ups ? `${plural(p.follow_ups, 'follow-up task')} will be created.` : 'No follow-up will be scheduled.'}</li>
    ${p.groups.map((g) => html`<li>${plural(g.leads, 'lead')} will be added to the group ${g.name}.</li>`)}
    ${p.messages ? html`<li>${plural(p.messages, 'closing notification')} will be sent to leads.</li>` : null}
    ${p.notifications ? html`<li>${plural(p.notifications, 'notification')} will be sent to colleagues.</li>` : null}
  </ul>
  ${refused.length ? html`<div class="notice notice-warn"><p><strong>${plural(refused.length, 'lead')} will not be closed:</strong></p>
    <ul class="bulk-failed">${refused.slice(0, 20).map((x) => html`<${LeadReason} key=${x.id} item=${x} onNavigate=${onNavigate} />`)}</ul>
    ${refused.length > 20 ? html`<p class="muted">…and ${refused.length - 20} more.</p>` : null}</div>` : null}`;
}

export function BulkCloseDialog({ open, ids, onClose, onDone }) {
  const { refs } = useApp();
  const f = useCloseForm(open);
  const [preview, setPreview] = useState(null);  // {key, p} | {key, error}
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [result, setResult] = useState(null);
  useEffect(() => { if (open) { setPreview(null); setError(null); setResult(null); } }, [open]);
  const key = f.body ? JSON.stringify({ ids, body: f.body }) : '';
  const dkey = useDebounced(key, 350);
  useEffect(() => {
    if (!open || !dkey || result) return;
    let live = true;
    const { ids: i, body } = JSON.parse(dkey);
    api.leads.bulkClosePreview(i, body).then((p) => { if (live) setPreview({ key: dkey, p }); },
      (e) => { if (live) setPreview({ key: dkey, error: e }); });
    return () => { live = false; };
  }, [dkey, open]);
  const cur = preview && preview.key === key ? preview : null;
  const p = cur && cur.p;
  const o = (refs.outcomes || []).find((x) => x.key === f.outcome);
  const fe = {};
  if (p && p.refused && p.refused === p.total) for (const x of p.items) for (const k of Object.keys((x.error && x.error.fields) || {})) fe[k] = 'required';
  const canConfirm = !!p && p.will_close + p.needs_approval > 0 && !f.reasonMissing && !busy;

  const confirm = async (e) => {
    e.preventDefault();
    if (!canConfirm) return;
    setBusy(true); setError(null);
    try {
      const r = await api.leads.bulk(ids, 'close', f.body);
      if (r.status === 202) setResult({ job: true });
      else setResult(r.data);
      onDone();
    } catch (err) { setError(err); }
    setBusy(false);
  };

  if (result) {
    const failed = (result.results || []).filter((x) => !x.ok);
    const waiting = (result.results || []).filter((x) => x.ok && x.approval).length;
    return html`<${Dialog} open=${open} title="Bulk close: done" onClose=${onClose}>
      <div class="bulk-result" role="status">
        ${result.job ? html`<p>Started as a background job; the list updates when it finishes.</p>` : html`
          <p><strong>${plural(result.succeeded - waiting, 'lead')} closed</strong>${waiting ? `, ${plural(waiting, 'lead')} sent for approval` : ''}${failed.length ? `, ${failed.length} failed` : ''}.</p>
          ${failed.length ? html`<p>These leads were not closed:</p>
            <ul class="bulk-failed">${failed.map((x) => html`<${LeadReason} key=${x.id} item=${x} onNavigate=${onClose} />`)}</ul>` : null}`}
      </div>
      <div class="actions"><button type="button" class="btn btn-primary" onClick=${onClose}>Done</button></div>
    <//>`;
  }
  return html`<${Dialog} open=${open} wide title=${`Close ${plural(ids.length, 'lead')}`} onClose=${onClose}>
    <form class="close-form" onSubmit=${confirm} novalidate>
      <${CloseFields} form=${f} fe=${fe} taskLegend="Open tasks of each lead" />
      <section class="preview" aria-live="polite" aria-labelledby="bulk-preview-h">
        <h3 id="bulk-preview-h">What will happen</h3>
        ${!f.outcome ? html`<p class="muted">Choose an outcome to see what closing these leads will do.</p>`
          : f.reasonMissing ? html`<p class="field-error">Choose a lost reason to see what closing these leads will do.</p>`
          : !cur ? html`<p class="muted"><span class="spinner" aria-hidden="true"></span> Working out what closing will do…</p>`
          : cur.error ? html`<p class="field-error">${cur.error.message}</p>`
          : html`<${PreviewWords} p=${p} outcomeName=${o ? o.name : f.outcome} onNavigate=${onClose} />`}
      </section>
      <${ErrorBox} error=${error} />
      <div class="actions">
        <button type="button" class="btn btn-ghost" onClick=${onClose}>Cancel</button>
        <button class="btn btn-danger" type="submit" disabled=${!canConfirm}>${p ? `Close ${plural(p.will_close + p.needs_approval, 'lead')}` : 'Confirm close'}</button>
      </div>
    </form>
  <//>`;
}
