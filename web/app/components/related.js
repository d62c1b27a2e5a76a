// components/related.js — on the lead page: the Related card (leads sharing an e-mail, a phone or
// the company, with their status and what matched; existing customers sharing one, with their open tickets) and the merge dialog: pick the leads to merge
// into this one (from the related leads or a search), choose per field whose value survives
// (defaults from the server's dry run), see the preview, confirm. docs/merge.md.
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, Link, Input, ErrorBox, Spinner, Dialog, StatusBadge, nameOf } from '../ui.js';
import { conflictOr } from '../conflict.js';
import { fmtDate, humanize, plural, useDebounced, useLoader } from '../util.js';

const KEY_LABEL = { email: 'e-mail', phone: 'phone', company: 'company' };
const matchedText = (m) => (m || []).map((x) => `${KEY_LABEL[x.key] || x.key} ${x.value}`).join(', ');

export function RelatedCard({ lead, onMerge, version }) {
  const { refs } = useApp();
  const [st] = useLoader(() => api.leads.related(lead.id), [lead.id, version]);
  const items = (st.data && st.data.items) || [];
  const customers = (st.data && st.data.customers) || [];
  return html`<section class="card related-card" aria-labelledby="related-h">
    <div class="card-head"><h2 id="related-h">Related</h2>
      ${lead.merged_into ? null : html`<button type="button" class="btn btn-ghost btn-small" onClick=${() => onMerge([])}>Merge…</button>`}</div>
    ${lead.merged_into ? html`<p class="notice">Merged into <${Link} href=${'/leads/' + lead.merged_into}>lead #${lead.merged_into}<//>.</p>` : null}
    ${st.loading && !st.data ? html`<${Spinner} />` : null}
    <${ErrorBox} error=${st.error} />
    ${st.data && !items.length && !customers.length ? html`<p class="muted">No other lead or customer shares an e-mail, phone or company with this one.</p>` : null}
    ${customers.length ? html`<ul class="related-list related-customers">${customers.map((c) => html`<li key=${'c' + c.id} class="related-item related-customer">
      <div><span class="badge badge-open">Existing customer</span> <${Link} href=${'/customers/' + c.id}>${c.full_name}<//>
        ${c.active ? null : html` <span class="badge badge-paused">Inactive</span>`}</div>
      <div class="muted small">${c.company ? c.company + ' · ' : ''}${c.owner_name || nameOf(refs.users, c.owner_id, 'no owner')} · customer since ${fmtDate(c.created_at)}
        ${c.open_tickets ? ' · ' + plural(c.open_tickets, 'open ticket') : ''}</div>
      <div class="small related-why">Same ${matchedText(c.matched)}</div>
    </li>`)}</ul>` : null}
    ${items.length ? html`<ul class="related-list">${items.map((r) => html`<li key=${r.id} class="related-item">
      <div><${Link} href=${'/leads/' + r.id}>${r.full_name}<//> <${StatusBadge} lead=${r} outcomes=${refs.outcomes} /></div>
      <div class="muted small">${r.stage_name || '—'} · ${r.owner_name || nameOf(refs.users, r.owner_id, 'no owner')}
        · created ${fmtDate(r.created_at)}${r.closed_at ? ' · closed ' + fmtDate(r.closed_at) : ''}</div>
      <div class="small related-why">Same ${matchedText(r.matched)}</div>
      ${!r.merged_into && !lead.merged_into ? html`<button type="button" class="btn btn-ghost btn-small" onClick=${() => onMerge([r.id])}
        aria-label=${'Merge into this lead: ' + r.full_name}>Merge into this lead</button>` : null}
    </li>`)}</ul>` : null}
    ${st.data && st.data.truncated ? html`<p class="muted small">Showing the first ${items.length}; more leads share the company.</p>` : null}
  </section>`;
}

// The fields a merge chooses, in the order of the table (the server's list, docs/merge.md).
const MERGE_FIELDS = ['full_name', 'company', 'login', 'emails', 'phones', 'owner_id', 'stage_id', 'source_id', 'location_id',
  'partner_id', 'service', 'value_cents', 'currency', 'country', 'region', 'city', 'request', 'notes'];
const LIST = new Set(['emails', 'phones']);
const empty = (v) => v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length);

export function MergeDialog({ open, lead, preselect, onClose, onDone, showValue, fieldLabel }) {
  const app = useApp();
  const [picked, setPicked] = useState([]);          // leads (objects) to merge in
  const [choice, setChoice] = useState({});          // field -> lead id | 'all'
  const [plan, setPlan] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [q, setQ] = useState('');
  const dq = useDebounced(q, 250);
  const [rel] = useLoader(() => (open ? api.leads.related(lead.id) : Promise.resolve(null)), [open, lead.id]);
  const [found] = useLoader(() => (open && dq.trim().length > 1 ? api.leads.list({ q: dq.trim(), status: 'all', owner: 'any', limit: 10 }) : Promise.resolve(null)), [open, dq]);

  useEffect(() => {
    if (!open) return;
    setChoice({}); setPlan(null); setError(null); setQ('');
    Promise.all((preselect || []).map((id) => api.leads.read(id))).then(setPicked).catch((e) => { setPicked([]); setError(e); });
  }, [open]);

  const body = () => ({ other_ids: picked.map((p) => p.id), fields: Object.fromEntries(Object.entries(choice).filter(([, v]) => v !== 'all')),
    versions: Object.fromEntries(picked.map((p) => [p.id, p.version])) });
  // the preview follows every change of the selection and the choices
  useEffect(() => {
    if (!open || !picked.length) { setPlan(null); return; }
    let live = true;
    api.leads.mergePreview(lead.id, body(), lead.version).then((p) => { if (live) { setPlan(p); setError(null); } })
      .catch((e) => { if (live) { setPlan(null); setError(e); } });
    return () => { live = false; };
  }, [open, picked, choice]);

  const add = async (id) => {
    if (id === lead.id || picked.some((p) => p.id === id)) return;
    try { const l = await api.leads.read(id); setPicked([...picked, l]); } catch (e) { setError(e); }
  };
  const drop = (id) => { setPicked(picked.filter((p) => p.id !== id)); const c = { ...choice }; for (const k in c) if (c[k] === id) delete c[k]; setChoice(c); };
  const all = [lead, ...picked];
  const sources = (plan && plan.sources) || {};
  const chosen = (k) => choice[k] ?? sources[k] ?? lead.id;
  const go = async () => {
    setBusy(true); setError(null);
    try { const r = await api.leads.merge(lead.id, body(), lead.version); onDone(r); }
    catch (e) { setError(conflictOr(e, 'lead', 'Close this dialog; the page will show the latest version.')); }
    setBusy(false);
  };
  const candidates = [...((rel.data && rel.data.items) || []).filter((r) => !r.merged_into),
    ...(((found.data && found.data.items) || []).filter((r) => !r.merged_into))]
    .filter((r, i, arr) => r.id !== lead.id && !picked.some((p) => p.id === r.id) && arr.findIndex((x) => x.id === r.id) === i);
  const rows = MERGE_FIELDS.filter((k) => all.some((l) => !empty(l[k])));
  return html`<${Dialog} open=${open} wide title=${'Merge leads into ' + lead.full_name} onClose=${onClose}>
    <div class="merge-dialog">
      <p>${lead.full_name} stays; the leads you add are closed as <b>merged</b> and link to it. Their tasks, conversations,
        comments, tickets, groups and timeline move here.</p>
      <h3>Leads to merge in</h3>
      ${picked.length ? html`<ul class="chips merge-picked">${picked.map((p) => html`<li key=${p.id}>${p.full_name} (#${p.id})
        <button type="button" class="icon-btn" aria-label=${'Remove ' + p.full_name} onClick=${() => drop(p.id)}>✕</button></li>`)}</ul>`
        : html`<p class="muted">None yet: pick related leads below or search.</p>`}
      <${Input} label="Find a lead" value=${q} onInput=${setQ} placeholder="Name, e-mail, phone…" />
      ${candidates.length ? html`<ul class="merge-candidates">${candidates.map((r) => html`<li key=${r.id}>
        <button type="button" class="btn btn-ghost btn-small" onClick=${() => add(r.id)} aria-label=${'Add ' + r.full_name}>Add</button>
        ${' '}${r.full_name} <span class="muted small">#${r.id} · ${r.status}${r.matched ? ' · same ' + matchedText(r.matched) : ''}</span></li>`)}</ul>` : null}
      ${picked.length ? html`<h3>Which value stays</h3>
      <div class="table-wrap"><table class="merge-fields">
        <thead><tr><th scope="col">Field</th>${all.map((l) => html`<th scope="col" key=${l.id}>${l.id === lead.id ? 'This lead' : l.full_name} <span class="muted small">#${l.id}</span></th>`)}
          <th scope="col">Result</th></tr></thead>
        <tbody>${rows.map((k) => html`<tr key=${k}><th scope="row">${fieldLabel(k)}</th>
          ${all.map((l) => html`<td key=${l.id}><label class="merge-choice">
            <input type="radio" name=${'mf-' + k} checked=${chosen(k) === l.id} disabled=${empty(l[k]) && !LIST.has(k)}
              onChange=${() => setChoice({ ...choice, [k]: l.id })} aria-label=${fieldLabel(k) + ' from ' + (l.id === lead.id ? 'this lead' : l.full_name)} />
            <span>${empty(l[k]) ? html`<span class="muted">—</span>` : showValue(k, l[k], app, l)}</span></label></td>`)}
          <td>${LIST.has(k) ? html`<label class="merge-choice"><input type="radio" name=${'mf-' + k} checked=${chosen(k) === 'all'}
              onChange=${() => setChoice({ ...choice, [k]: 'all' })} aria-label=${fieldLabel(k) + ': all of them'} /><span>all</span></label>` : null}
            ${plan && plan.lead ? html`<span class="merge-result">${showValue(k, plan.lead[k], app, plan.lead)}</span>` : null}</td>
        </tr>`)}</tbody></table></div>` : null}
      ${plan ? html`<div class="merge-preview" role="status">
        <h3>Preview</h3>
        <p>Moves ${plural(plan.moved.tasks, 'task')}, ${plural(plan.moved.threads, 'conversation')} (${plural(plan.moved.messages, 'message')}),${' '}
          ${plural(plan.moved.comments, 'comment')}${plan.moved.tickets ? ', ' + plural(plan.moved.tickets, 'ticket') : ''} and ${plural(plan.moved.events, 'timeline entry', 'timeline entries')}${plan.moved.groups ? `, joins ${plural(plan.moved.groups, 'group')}` : ''}.</p>
        <ul>${(plan.others || []).map((o) => html`<li key=${o.id}><b>${o.full_name}</b>: ${o.outcome === 'merged' ? 'closed as merged' : `stays closed as ${humanize(o.outcome || '')}`}, linked to this lead</li>`)}</ul>
      </div>` : null}
      <${ErrorBox} error=${error} />
      <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Cancel</button>
        <button type="button" class="btn btn-primary" disabled=${busy || !plan || !picked.length} onClick=${go}>
          ${picked.length ? `Merge ${plural(picked.length, 'lead')}` : 'Merge'}</button></div>
    </div>
  <//>`;
}
