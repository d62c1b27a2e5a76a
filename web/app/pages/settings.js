// pages/settings.js — the configurable lists: stages (order, is_sale, waiting, guidance), outcomes,
// lost reasons, sources, locations, partners, groups (api/lists.js); the age rule and defaults
// (api/settings.js); message templates (pages/templates.js). Admins also see Messaging
// (pages/messaging.js), Webhooks (pages/webhooks.js) and Forms (pages/forms.js).
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, useSlaDays, Link, Input, Select, Textarea, Check, ErrorBox, Spinner, FieldError, optionsOf } from '../ui.js';
import { conflictOr, isConflict } from '../conflict.js';
import { useLoader, humanize } from '../util.js';
import { WebhooksSettings } from './webhooks.js';
import { TemplatesSettings } from './templates.js';
import { MessagingSettings } from './messaging.js';
import { UsersSettings } from './users.js';
import { RolesSettings } from './roles.js';
import { CompanySettings } from './company.js';

// Admin screens (each reads for everyone, changes for admins; see docs/admin.md).
const ADMIN = { users: ['Users', UsersSettings], roles: ['Roles & policies', RolesSettings], company: ['Company', CompanySettings] };
import { FormsSettings } from './forms.js';

// Each list: its API name (api/lists.js), its key in the app's reference lists, and the fields
// edited here. A select's options may come from the server's /meta (optionsFrom).
const LISTS = {
  stages: { title: 'Stages', path: 'stages', ref: 'stages', one: 'stage', ordered: true,
    fields: [{ key: 'name', label: 'Name', type: 'text' }, { key: 'is_sale', label: 'Counts as a sale', type: 'bool' },
      { key: 'waiting', label: 'Waiting (age does not count)', type: 'bool' }, { key: 'guidance', label: 'Guidance', type: 'textarea', wide: true }] },
  outcomes: { title: 'Outcomes', path: 'outcomes', ref: 'outcomes', one: 'outcome', idKey: 'key',
    fields: [{ key: 'key', label: 'Key', type: 'text', createOnly: true }, { key: 'name', label: 'Name', type: 'text' },
      { key: 'kind', label: 'Kind', type: 'select', optionsFrom: 'outcome_kinds' }] },
  'lost-reasons': { title: 'Lost reasons', path: 'lost-reasons', ref: 'lostReasons', one: 'lost reason',
    fields: [{ key: 'name', label: 'Name', type: 'text' }, { key: 'active', label: 'Active', type: 'bool', def: true },
      { key: 'counts_in_reports', label: 'Counts in reports', type: 'bool', def: true },
      { key: 'follow_up_days', label: 'Follow-up after (days)', type: 'number' },
      { key: 'group_id', label: 'Add to group', type: 'ref', ref: 'groups' }] },
  sources: { title: 'Sources', path: 'sources', ref: 'sources', one: 'source', fields: [{ key: 'name', label: 'Name', type: 'text' }, { key: 'active', label: 'Active', type: 'bool', def: true }] },
  locations: { title: 'Locations', path: 'locations', ref: 'locations', one: 'location', fields: [{ key: 'name', label: 'Name', type: 'text' }, { key: 'active', label: 'Active', type: 'bool', def: true }] },
  partners: { title: 'Partners', path: 'partners', ref: 'partners', one: 'partner', fields: [{ key: 'name', label: 'Name', type: 'text' }, { key: 'active', label: 'Active', type: 'bool', def: true }] },
  groups: { title: 'Groups', path: 'groups', ref: 'groups', one: 'group', fields: [{ key: 'name', label: 'Name', type: 'text' }, { key: 'active', label: 'Active', type: 'bool', def: true }] },
};

const rowId = (cfg, it) => (cfg.idKey ? it[cfg.idKey] : it.id !== undefined && it.id !== null ? it.id : it.key);

// A select's choices: its own, or a list of names from /meta shown capitalised.
function choices(f, meta) {
  if (f.options) return f.options;
  return ((meta && meta[f.optionsFrom]) || []).map((v) => ({ value: v, label: humanize(v) }));
}

function FieldControl({ f, value, set, error, refs, idp }) {
  const { meta } = useApp();
  const id = idp + '-' + f.key;
  if (f.type === 'bool') return html`<div class="field"><${Check} id=${id} label=${f.label} checked=${!!value} onChange=${set} /><${FieldError} error=${error} /></div>`;
  if (f.type === 'textarea') return html`<${Textarea} id=${id} label=${f.label} value=${value} onInput=${set} rows="2" error=${error} class=${f.wide ? 'wide' : ''} />`;
  if (f.type === 'select') return html`<${Select} id=${id} label=${f.label} value=${value} options=${choices(f, meta)} onChange=${set} error=${error} />`;
  if (f.type === 'ref') return html`<${Select} id=${id} label=${f.label} value=${value ?? ''} empty="—" options=${optionsOf(refs[f.ref])} onChange=${set} error=${error} />`;
  return html`<${Input} id=${id} label=${f.label} type=${f.type === 'number' ? 'number' : 'text'} value=${value ?? ''} onInput=${set} error=${error} />`;
}

function encode(cfg, draft, creating) {
  const out = {};
  for (const f of cfg.fields) {
    if (f.createOnly && !creating) continue;
    let v = draft[f.key];
    if (f.type === 'number' || f.type === 'ref') v = v === '' || v === null || v === undefined ? null : Number(v);
    else if (f.type === 'bool') v = !!v;
    else if (typeof v === 'string') v = v.trim();
    if (creating && (v === null || v === '')) continue;
    out[f.key] = v;
  }
  return out;
}

function Row({ cfg, item, idx, count, onSaved, onMove, listKey }) {
  const { refs } = useApp();
  const [draft, setDraft] = useState(item);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState('');
  useEffect(() => setDraft(item), [item]);
  const dirty = cfg.fields.some((f) => !f.createOnly && JSON.stringify(draft[f.key] ?? null) !== JSON.stringify(item[f.key] ?? null));
  const save = async (e) => {
    e.preventDefault(); setBusy(true); setError(null); setMsg('');
    try {
      await api.lists.update(cfg.path, rowId(cfg, item), encode(cfg, draft, false), item.version);
      setMsg('Saved.'); onSaved();
    } catch (err) {
      setError(conflictOr(err, cfg.one, 'Reload the list to see their version; your edits are still in the form.'));
    }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  const idp = `${listKey}-${rowId(cfg, item)}`;
  return html`<li class="set-row card" data-row=${rowId(cfg, item)}>
    <form onSubmit=${save} aria-label=${`${humanize(cfg.one)} ${item.name || item.key}`}>
      ${cfg.ordered ? html`<div class="order">
        <span class="pos" aria-hidden="true">${idx + 1}</span>
        <button type="button" class="icon-btn" aria-label=${`Move ${item.name} up`} disabled=${idx === 0 || busy} onClick=${() => onMove(idx, -1)}>▲</button>
        <button type="button" class="icon-btn" aria-label=${`Move ${item.name} down`} disabled=${idx === count - 1 || busy} onClick=${() => onMove(idx, 1)}>▼</button>
      </div>` : null}
      <div class="set-fields">
        ${cfg.fields.map((f) => f.createOnly ? html`<div class="field"><span class="label">${f.label}</span><code>${item[f.key]}</code></div>`
          : html`<${FieldControl} f=${f} value=${draft[f.key]} set=${(v) => setDraft({ ...draft, [f.key]: v })} error=${fe[f.key]} refs=${refs} idp=${idp} />`)}
      </div>
      <div class="set-actions">
        <button class="btn btn-primary btn-small" type="submit" disabled=${!dirty || busy}>Save</button>
        ${dirty ? html`<button class="btn btn-ghost btn-small" type="button" onClick=${() => { setDraft(item); setError(null); }}>Undo</button>` : null}
        ${msg && !dirty ? html`<span class="saved" role="status">${msg}</span>` : null}
      </div>
      <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null} />
    </form>
  </li>`;
}

function AddForm({ cfg, onSaved, listKey }) {
  const { refs, meta } = useApp();
  const lastChoice = (f) => { const c = choices(f, meta); return c.length ? c[c.length - 1].value : ''; };
  const blank = () => Object.fromEntries(cfg.fields.map((f) => [f.key, f.def ?? (f.type === 'bool' ? false : f.type === 'select' ? lastChoice(f) : '')]));
  const [draft, setDraft] = useState(blank);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { setDraft(blank()); setError(null); }, [listKey]);
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null);
    try {
      const body = encode(cfg, draft, true);
      if (cfg.ordered) body.position = (refs[cfg.ref] || []).reduce((m, x) => Math.max(m, x.position || 0), 0) + 1;
      await api.lists.create(cfg.path, body, `${listKey}-${Date.now()}`);
      setDraft(blank()); onSaved();
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  return html`<form class="card add-form" onSubmit=${submit} aria-label=${'Add a ' + cfg.one}>
    <h2>Add a ${cfg.one}</h2>
    <div class="set-fields">${cfg.fields.map((f) => html`<${FieldControl} f=${f} value=${draft[f.key]} set=${(v) => setDraft({ ...draft, [f.key]: v })}
      error=${fe[f.key]} refs=${refs} idp=${'new-' + listKey} />`)}</div>
    <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null} />
    <div class="actions"><button class="btn btn-primary" type="submit" disabled=${busy || !String(draft.name || '').trim()}>Add ${cfg.one}</button></div>
  </form>`;
}

// Age rule (SLA) and the default close-lost group (api/settings.js).
function GeneralSettings() {
  const { refs, settings, reloadSettings } = useApp();
  const init = () => ({ warn: String(settings.sla_warning_days ?? ''), breach: String(settings.sla_breach_days ?? ''),
    group: settings.close_lost_default_group_id || '' });
  const [f, setF] = useState(init);
  const [error, setError] = useState(null);
  const [msg, setMsg] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => setF(init()), [settings]);
  const fe = (error && error.fields) || {};
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null); setMsg('');
    try {
      await api.settings.update({ sla_warning_days: Number(f.warn), sla_breach_days: Number(f.breach),
        close_lost_default_group_id: f.group === '' ? 0 : Number(f.group) });
      setMsg('Saved.'); reloadSettings();
    } catch (err) {
      setError(conflictOr(err, 'settings', 'They are reloaded: save again.'));
      if (isConflict(err)) reloadSettings();
    }
    setBusy(false);
  };
  return html`<form class="card" onSubmit=${submit} aria-label="General settings">
    <div class="set-fields">
      <${Input} type="number" min="0" label="Warn after (days open)" value=${f.warn} onInput=${(v) => setF({ ...f, warn: v })} error=${fe.sla_warning_days} />
      <${Input} type="number" min="0" label="Breach after (days open)" value=${f.breach} onInput=${(v) => setF({ ...f, breach: v })} error=${fe.sla_breach_days} />
      <${Select} label="Group for leads closed as lost" value=${f.group} empty="None" options=${optionsOf(refs.groups)} onChange=${(v) => setF({ ...f, group: v })} error=${fe.close_lost_default_group_id} />
    </div>
    <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null} />
    <div class="actions">${msg ? html`<span class="saved" role="status">${msg}</span>` : null}<button class="btn btn-primary" type="submit" disabled=${busy}>Save settings</button></div>
  </form>`;
}

export function SettingsPage({ list }) {
  const { reloadRef, user } = useApp();
  const days = useSlaDays();
  const readOnly = user.role === 'agent';
  const isAdmin = user.role === 'admin';
  const cfg = LISTS[list];
  const [state, reload] = useLoader(async () => (cfg ? api.lists.all(cfg.path) : []), [list]);
  const [moveErr, setMoveErr] = useState(null);
  const saved = () => { reload(); if (cfg) reloadRef(cfg.ref); };
  const move = async (idx, dir) => {
    const items = state.data;
    const a = items[idx], b = items[idx + dir];
    setMoveErr(null);
    try {
      // positions may collide or be missing: renumber the two by their place in the list
      const pa = b.position ?? idx + dir, pb = a.position ?? idx;
      const na = pa === pb ? idx + dir + 1 : pa, nb = pa === pb ? idx + 1 : pb;
      await api.lists.update(cfg.path, a.id, { position: na }, a.version);
      await api.lists.update(cfg.path, b.id, { position: nb }, b.version);
    } catch (e) { setMoveErr(conflictOr(e, cfg.one, 'The list now shows the latest order: try again.')); }
    saved();
  };
  return html`<section class="page settings">
    <div class="page-head"><h1>Settings</h1></div>
    <div class="settings-grid">
      <nav class="subnav" aria-label="Settings lists">
        ${Object.entries(LISTS).map(([k, c]) => html`<${Link} href=${'/settings/' + k}>${c.title}<//>`)}
        ${Object.entries(ADMIN).map(([k, [title]]) => html`<${Link} href=${'/settings/' + k}>${title}<//>`)}
        <${Link} href="/settings/general">Age rule & defaults<//>
        <${Link} href="/settings/templates">Templates<//>
        ${isAdmin ? html`<${Link} href="/settings/messaging">Messaging<//>` : null}
        ${isAdmin ? html`<${Link} href="/settings/webhooks">Webhooks<//>` : null}
        ${isAdmin ? html`<${Link} href="/settings/forms">Forms<//>` : null}
      </nav>
      ${ADMIN[list] ? html`<section class="settings-body" aria-labelledby="admin-h">
        <h2 class="list-title" id="admin-h">${ADMIN[list][0]}</h2>
        <${ADMIN[list][1]} />
      </section>` : list === 'forms' ? html`<section class="settings-body" aria-labelledby="forms-h">
        <h2 class="list-title" id="forms-h">Forms</h2>
        ${isAdmin ? html`<${FormsSettings} />` : html`<p class="notice notice-warn">Only admins may manage web forms.</p>`}
      </section>` : list === 'webhooks' ? html`<section class="settings-body" aria-labelledby="webhooks-h">
        <h2 class="list-title" id="webhooks-h">Webhooks</h2>
        ${isAdmin ? html`<${WebhooksSettings} />` : html`<p class="notice notice-warn">Only admins may manage webhooks.</p>`}
      </section>` : list === 'messaging' ? html`<section class="settings-body" aria-labelledby="messaging-h">
        <h2 class="list-title" id="messaging-h">Messaging</h2>
        ${isAdmin ? html`<${MessagingSettings} />` : html`<p class="notice notice-warn">Only admins may change how messages are sent.</p>`}
      </section>` : html`
      <fieldset disabled=${readOnly} class="settings-body">
        ${readOnly ? html`<p class="notice notice-warn">Only managers and admins may change these settings.</p>` : null}
        ${list === 'general' ? html`<h2 class="list-title">Age rule & defaults</h2><${GeneralSettings} />`
          : list === 'templates' ? html`<h2 class="list-title">Templates</h2><${TemplatesSettings} />` : !cfg ? html`<p>Unknown settings page.</p>` : html`
          <h2 class="list-title">${cfg.title}</h2>
          ${list === 'stages' ? html`<p class="hint">The order here is the order of the status path. “Waiting” stages do not count towards a lead's
            age${days.warn !== null ? ` (warning after ${days.warn} days, breach after ${days.breach})` : ''}.</p>` : null}
          <${ErrorBox} error=${state.error || moveErr} />
          ${state.loading && !state.data ? html`<${Spinner} />` : html`<ul class="set-list">${(state.data || []).map((it, i) =>
            html`<${Row} key=${list + ':' + rowId(cfg, it)} cfg=${cfg} item=${it} idx=${i} count=${state.data.length}
              onSaved=${saved} onMove=${move} listKey=${list} />`)}</ul>`}
          <${AddForm} cfg=${cfg} onSaved=${saved} listKey=${list} />`}
      </fieldset>`}
    </div>
  </section>`;
}
