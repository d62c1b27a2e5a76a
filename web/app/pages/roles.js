// pages/roles.js — Settings → Roles & policies (admins change, everyone reads): every key of each
// role's policy — which leads it sees (leads.view), allow / request approval / deny for each action,
// whether managers hear of a close as lost, the fields a close as lost needs — and new roles,
// started from a copy of another (api/roles.js). A save sends only the keys that changed; the
// server refuses a bad value next to its key.
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, Input, Select, Check, ErrorBox, Spinner, Notice } from '../ui.js';
import { useLoader } from '../util.js';

const VIEW = [{ value: 'own', label: 'Their own leads' }, { value: 'team', label: 'Their team\'s leads' }, { value: 'all', label: 'All leads' }];
const PERM = [{ value: 'allow', label: 'Allow' }, { value: 'request', label: 'Ask for approval' }, { value: 'deny', label: 'Deny' }];
// The policy's actions, in the order a person thinks of them (the keys are the server's).
export const ACTIONS = [
  ['close_won', 'Close as won'], ['close_lost', 'Close as lost'], ['close_other', 'Close with another outcome'],
  ['reopen', 'Reopen a closed lead'], ['convert', 'Convert to a customer'], ['merge', 'Merge leads'], ['bulk', 'Bulk actions'], ['delete', 'Delete leads'],
];
const REQUIRED = [['reason_id', 'Lost reason (always)'], ['notes', 'Notes'], ['follow_up', 'A follow-up']];

const draftOf = (p) => ({ ...p, close_lost_required: [...new Set(['reason_id', ...(p.close_lost_required || [])])] });
const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function PolicyFields({ d, set, fe, idp, disabled }) {
  const toggleReq = (k, on) => set({ ...d, close_lost_required: on ? [...d.close_lost_required, k] : d.close_lost_required.filter((x) => x !== k) });
  return html`<div class="policy">
    <${Select} id=${idp + '-view'} label="Sees" value=${d['leads.view']} options=${VIEW} onChange=${(v) => set({ ...d, 'leads.view': v })} error=${fe['leads.view']} disabled=${disabled} />
    ${ACTIONS.map(([k, label]) => html`<${Select} id=${idp + '-' + k} label=${label} value=${d[k] || 'allow'} options=${PERM}
      onChange=${(v) => set({ ...d, [k]: v })} error=${fe[k]} disabled=${disabled} />`)}
    <fieldset class="group-box"><legend>Closing as lost</legend>
      <${Check} id=${idp + '-notify'} label="Tell their manager when they close a lead as lost" checked=${!!d.notify_managers_on_close_lost}
        onChange=${(v) => set({ ...d, notify_managers_on_close_lost: v })} disabled=${disabled} />
      <p class="hint">Needs:</p>
      ${REQUIRED.map(([k, label]) => html`<${Check} id=${idp + '-req-' + k} label=${label} checked=${d.close_lost_required.includes(k)}
        disabled=${disabled || k === 'reason_id'} onChange=${(v) => toggleReq(k, v)} />`)}
      ${fe.close_lost_required ? html`<p class="field-error" role="alert">${fe.close_lost_required}</p>` : null}
    </fieldset>
  </div>`;
}

function RoleCard({ role, admin, onSaved }) {
  const [d, setD] = useState(() => draftOf(role.policy || {}));
  const [error, setError] = useState(null);
  const [msg, setMsg] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => setD(draftOf(role.policy || {})), [role]);
  const base = draftOf(role.policy || {});
  const changed = Object.fromEntries(Object.entries(d).filter(([k, v]) => !same(base[k], v)));
  const save = async (e) => {
    e.preventDefault(); setBusy(true); setError(null); setMsg('');
    try { await api.roles.update(role.id, changed); setMsg('Saved.'); onSaved(`The role ${role.name} was saved.`); }
    catch (err) { setError(err); }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  return html`<li class="card role-card" data-role=${role.name}>
    <form onSubmit=${save} aria-labelledby=${'role-h-' + role.id}>
      <h3 id=${'role-h-' + role.id}>${role.name}${role.builtin ? html` <span class="badge badge-muted">built in</span>` : null}</h3>
      <${PolicyFields} d=${d} set=${(v) => { setD(v); setMsg(''); }} fe=${fe} idp=${'role-' + role.id} disabled=${!admin} />
      <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null} />
      ${admin ? html`<div class="actions">${msg ? html`<span class="saved" role="status">${msg}</span>` : null}
        ${Object.keys(changed).length ? html`<button type="button" class="btn btn-ghost" onClick=${() => { setD(base); setError(null); }}>Undo</button>` : null}
        <button class="btn btn-primary" type="submit" disabled=${busy || !Object.keys(changed).length}>Save ${role.name}</button></div>` : null}
    </form>
  </li>`;
}

function NewRole({ roles, onSaved }) {
  const [name, setName] = useState('');
  const [from, setFrom] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null);
    try { await api.roles.create(name.trim(), null, from ? Number(from) : null); setName(''); onSaved(`The role ${name.trim()} was added: set its policy below.`); }
    catch (err) { setError(err); }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  return html`<form class="card add-form" onSubmit=${submit} aria-label="Add a role">
    <h3>Add a role</h3>
    <div class="set-fields">
      <${Input} label="Name" value=${name} onInput=${setName} error=${fe.name} />
      <${Select} label="Start from" value=${from} empty="An agent's defaults" options=${roles.map((r) => ({ value: r.id, label: r.name }))} onChange=${setFrom} error=${fe.copy_from} />
    </div>
    <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null} />
    <div class="actions"><button class="btn btn-primary" type="submit" disabled=${busy || !name.trim()}>Add role</button></div>
  </form>`;
}

export function RolesSettings() {
  const { can, reloadMe } = useApp();
  const admin = !!can.manage_users;
  const [state, reload] = useLoader(() => api.roles.list(), []);
  const [notice, setNotice] = useState('');
  // the caller's own rights may have changed: /me is asked again
  const saved = (msg) => { reload(); if (reloadMe) reloadMe(); if (typeof msg === 'string') setNotice(msg); };
  if (state.loading && !state.data) return html`<${Spinner} />`;
  const roles = state.data || [];
  return html`<div class="roles-admin">
    <p class="hint">A role's policy decides what its users see and may do. “Ask for approval” sends the action to the user's manager
      (or an admin) and the lead stays as it is until they decide.</p>
    ${admin ? null : html`<p class="notice notice-warn">Only admins may change roles.</p>`}
    <${Notice} text=${notice} />
    <${ErrorBox} error=${state.error} />
    <ul class="set-list roles">${roles.map((r) => html`<${RoleCard} key=${r.id + ':' + r.version} role=${r} admin=${admin} onSaved=${saved} />`)}</ul>
    ${admin ? html`<${NewRole} roles=${roles} onSaved=${saved} />` : null}
  </div>`;
}
