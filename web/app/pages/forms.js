// pages/forms.js — Settings › Forms (admins): web forms for the company's site. List, create and
// edit a form (name, key, kind lead / portal sign-up, source, owner, the lead fields it asks for
// with their labels and whether they are required, thank-you text or redirect, active), a
// preview of what a visitor sees, and the embeddable HTML snippet with a copy button. Through
// api/forms.js; the fields a form may ask for come from GET /meta (form_fields). The snippet is
// shown as text (never inserted as HTML here); the preview is built from the draft with Preact.
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, Input, Select, Textarea, Check, ErrorBox, Spinner, FieldError, Dialog, optionsOf, nameOf } from '../ui.js';
import { conflictOr } from '../conflict.js';
import { useLoader } from '../util.js';

const KINDS = [{ value: 'lead', label: 'Web-to-lead' }, { value: 'portal_signup', label: 'Customer-portal sign-up' }];
const kindLabel = (k) => (KINDS.find((x) => x.value === k) || { label: k }).label;

// The draft: every catalogue field with ask/label/required, in the form's order first.
function draftOf(form, catalogue) {
  const chosen = form ? form.fields : [{ name: 'full_name', required: true }, { name: 'email' }, { name: 'phone' }, { name: 'request' }];
  const byName = Object.fromEntries(catalogue.map((c) => [c.name, c]));
  const order = [...chosen.map((f) => f.name).filter((n) => byName[n]), ...catalogue.map((c) => c.name).filter((n) => !chosen.some((f) => f.name === n))];
  const fields = order.map((n) => {
    const f = chosen.find((x) => x.name === n);
    return { name: n, ask: !!f || n === 'full_name', label: (f && f.label) || byName[n].label, required: n === 'full_name' || !!(f && f.required), def: byName[n].label, type: byName[n].type };
  });
  return { name: form ? form.name : '', key: form ? form.key : '', kind: form ? form.kind : 'lead',
    source_id: form && form.source_id ? String(form.source_id) : '', owner_id: form && form.owner_id ? String(form.owner_id) : '',
    thank_you: (form && form.thank_you) || '', redirect_url: (form && form.redirect_url) || '', active: form ? !!form.active : true, fields };
}

function bodyOf(d, creating) {
  const body = {
    name: d.name.trim(), kind: d.kind,
    source_id: d.source_id ? Number(d.source_id) : null, owner_id: d.owner_id ? Number(d.owner_id) : null,
    fields: d.fields.filter((f) => f.ask).map((f) => ({ name: f.name, label: f.label.trim() || f.def, required: !!f.required })),
    thank_you: d.thank_you.trim() || null, redirect_url: d.redirect_url.trim() || null, active: !!d.active,
  };
  if (d.key.trim() || !creating) body.key = d.key.trim();
  return body;
}

// What a visitor sees, from the draft (labels as text nodes; nothing here is sent anywhere).
export function Preview({ d, idp }) {
  const asked = d.fields.filter((f) => f.ask || (d.kind === 'portal_signup' && f.name === 'email'));
  return html`<div class="form-preview" aria-label="Preview of the form">
    <p class="hint">Preview: the snippet shows these fields in this order.</p>
    <form onSubmit=${(e) => e.preventDefault()} class="preview-form">
      ${asked.map((f) => html`<p key=${f.name}><label for=${idp + '-pv-' + f.name}>${f.label || f.def}${f.required || f.name === 'full_name' || (d.kind === 'portal_signup' && f.name === 'email') ? ' *' : ''}</label><br />
        ${f.type === 'textarea' ? html`<textarea id=${idp + '-pv-' + f.name} rows="3" disabled></textarea>` : html`<input id=${idp + '-pv-' + f.name} type=${f.type} disabled />`}</p>`)}
      ${d.kind === 'portal_signup' ? html`<p><label for=${idp + '-pv-password'}>Choose a password (at least 8 characters) *</label><br /><input id=${idp + '-pv-password'} type="password" disabled /></p>` : null}
      <p><button type="submit" class="btn" disabled>${d.kind === 'portal_signup' ? 'Sign up' : 'Send'}</button></p>
    </form>
  </div>`;
}

function FormFields({ d, set, fe, idp, creating }) {
  const { refs } = useApp();
  const setField = (i, p) => set({ fields: d.fields.map((f, j) => (i === j ? { ...f, ...p } : f)) });
  return html`<div class="form-def">
    <div class="set-fields">
      <${Input} id=${idp + '-name'} label="Name" value=${d.name} onInput=${(v) => set({ name: v })} error=${fe.name} required />
      <${Input} id=${idp + '-key'} label=${creating ? 'Key (optional)' : 'Key'} value=${d.key} onInput=${(v) => set({ key: v })} error=${fe.key}
        hint=${creating ? 'Leave empty for an unguessable key, or choose a slug such as contact-us.' : 'Changing it breaks snippets already pasted.'} autocomplete="off" spellcheck="false" />
      <${Select} id=${idp + '-kind'} label="Kind" value=${d.kind} options=${KINDS} onChange=${(v) => set({ kind: v })} error=${fe.kind} />
      <${Select} id=${idp + '-source'} label="Source of its leads" value=${d.source_id} empty="Web form (default)" options=${optionsOf(refs.sources)} onChange=${(v) => set({ source_id: v })} error=${fe.source_id} />
      <${Select} id=${idp + '-owner'} label="Owner of its leads" value=${d.owner_id} empty="The inbound owner" options=${optionsOf(refs.users)} onChange=${(v) => set({ owner_id: v })} error=${fe.owner_id} />
      <div class="field field-end"><${Check} id=${idp + '-active'} label="Active (takes submissions)" checked=${d.active} onChange=${(v) => set({ active: v })} /><${FieldError} error=${fe.active} /></div>
    </div>
    <fieldset class="group-box">
      <legend>Fields it asks for</legend>
      <table class="form-fields-table">
        <thead><tr><th scope="col">Ask</th><th scope="col">Field</th><th scope="col">Label</th><th scope="col">Required</th></tr></thead>
        <tbody>${d.fields.map((f, i) => {
          const fixed = f.name === 'full_name' || (d.kind === 'portal_signup' && f.name === 'email');
          return html`<tr key=${f.name} data-field=${f.name}>
            <td><input type="checkbox" id=${idp + '-ask-' + f.name} aria-label=${'Ask for ' + f.def} checked=${f.ask || fixed} disabled=${fixed} onChange=${(e) => setField(i, { ask: e.currentTarget.checked })} /></td>
            <td><label for=${idp + '-ask-' + f.name}>${f.def}</label></td>
            <td><input type="text" aria-label=${'Label of ' + f.def} value=${f.label} maxlength="100" onInput=${(e) => setField(i, { label: e.currentTarget.value })} /></td>
            <td><input type="checkbox" aria-label=${f.def + ' is required'} checked=${f.required || fixed} disabled=${fixed || !f.ask} onChange=${(e) => setField(i, { required: e.currentTarget.checked })} /></td>
          </tr>`;
        })}</tbody>
      </table>
      <${FieldError} error=${fe.fields} />
      ${d.kind === 'portal_signup' ? html`<p class="hint">A portal sign-up always asks for the e-mail (the login) and a password; the password is stored only as a hash.</p>` : null}
    </fieldset>
    <div class="set-fields">
      <${Textarea} id=${idp + '-thanks'} label="Thank-you text" value=${d.thank_you} onInput=${(v) => set({ thank_you: v })} error=${fe.thank_you} class="wide" rows="2" />
      <${Input} id=${idp + '-redirect'} label="Or send visitors to (URL)" type="url" value=${d.redirect_url} onInput=${(v) => set({ redirect_url: v })} error=${fe.redirect_url}
        hint="Optional: after sending, the browser goes here instead of the thank-you page." class="wide" />
    </div>
  </div>`;
}

function Editor({ form, onSaved, onCancel }) {
  const { meta } = useApp();
  const catalogue = (meta && meta.form_fields) || [];
  const creating = !form;
  const idp = creating ? 'form-new' : 'form-' + form.id;
  const [d, setD] = useState(() => draftOf(form, catalogue));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { setD(draftOf(form, catalogue)); }, [form, catalogue.length]);
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null);
    try {
      const saved = creating ? await api.forms.create(bodyOf(d, true)) : await api.forms.update(form.id, bodyOf(d, false), form.version);
      if (creating) setD(draftOf(null, catalogue));
      onSaved(saved);
    } catch (err) { setError(conflictOr(err, 'form', 'Reload to see their version; your edits are still here.')); }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  return html`<form class=${'card form-editor' + (creating ? ' add-form' : '')} onSubmit=${submit} aria-label=${creating ? 'New form' : 'Edit form ' + form.name} novalidate>
    ${creating ? html`<h3>New form</h3>` : null}
    <div class="form-editor-body">
      <${FormFields} d=${d} set=${(p) => setD({ ...d, ...p })} fe=${fe} idp=${idp} creating=${creating} />
      <${Preview} d=${d} idp=${idp} />
    </div>
    <${ErrorBox} error=${error && !Object.keys(fe).length ? error : error ? 'Nothing was saved: see the marked fields.' : null} />
    <div class="actions">
      ${onCancel ? html`<button type="button" class="btn btn-ghost" onClick=${onCancel}>Cancel</button>` : null}
      <button class="btn btn-primary" type="submit" disabled=${busy}>${creating ? 'Create form' : 'Save form'}</button>
    </div>
  </form>`;
}

function Snippet({ form }) {
  const [state] = useLoader(() => api.forms.snippet(form.id), [form.id, form.version]);
  const [copied, setCopied] = useState('');
  const id = 'snippet-' + form.id;
  const copy = async () => {
    try { await navigator.clipboard.writeText(state.data.html); setCopied('Copied.'); }
    catch { const el = document.getElementById(id); if (el) { el.focus(); el.select(); } setCopied('Copying is not allowed here: the text is selected, copy it with Ctrl+C.'); }
  };
  if (state.error) return html`<${ErrorBox} error=${state.error} />`;
  if (!state.data) return html`<${Spinner} />`;
  return html`<div class="snippet">
    <label for=${id}>HTML to paste into your page (posts to <code>${state.data.action}</code>)</label>
    <textarea id=${id} class="code" rows="10" readonly value=${state.data.html}></textarea>
    <p class="hint">It works without JavaScript. The page's address (origin) must be listed under Settings › Messaging › Web chat and forms.</p>
    <div class="actions">${copied ? html`<span class="saved" role="status">${copied}</span>` : null}<button type="button" class="btn btn-small" onClick=${copy}>Copy snippet</button></div>
  </div>`;
}

function DeleteForm({ form, open, onClose, onDeleted }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true); setError(null);
    try { await api.forms.remove(form.id, form.version); onClose(); onDeleted(); }
    catch (err) { setError(conflictOr(err, 'form', 'Close this and look again.')); }
    setBusy(false);
  };
  return html`<${Dialog} open=${open} title="Delete form" onClose=${onClose}>
    <p>Delete the form <b>${form.name}</b>? Pages that embed it can no longer send it. Leads and portal logins it made stay.</p>
    <${ErrorBox} error=${error} />
    <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Keep it</button>
      <button type="button" class="btn btn-danger" disabled=${busy} onClick=${go}>Delete form</button></div>
  <//>`;
}

function FormRow({ form, onChanged }) {
  const { refs } = useApp();
  const [open, setOpen] = useState(null);   // 'edit' | 'snippet' | null
  const [deleting, setDeleting] = useState(false);
  const titleId = 'form-' + form.id + '-title';
  return html`<li class="set-row card form-row" data-form=${form.id} data-key=${form.key}>
    <div class="hook-head">
      <div class="hook-title">
        <h3 id=${titleId}>${form.name}</h3>
        <span class="badge">${kindLabel(form.kind)}</span>
        <span class=${'badge ' + (form.active ? 'sla-ok' : 'badge-paused')}>${form.active ? 'Active' : 'Inactive'}</span>
      </div>
      <p class="sub">Key <code>${form.key}</code> · source ${nameOf(refs.sources, form.source_id, '—')} · owner ${form.owner_id ? nameOf(refs.users, form.owner_id) : 'the inbound owner'}
        · ${form.fields.map((f) => f.label).join(', ')}</p>
    </div>
    <div class="hook-actions" role="group" aria-labelledby=${titleId}>
      <button type="button" class="btn btn-small" aria-expanded=${open === 'edit' ? 'true' : 'false'} onClick=${() => setOpen(open === 'edit' ? null : 'edit')}>Edit</button>
      <button type="button" class="btn btn-small" aria-expanded=${open === 'snippet' ? 'true' : 'false'} onClick=${() => setOpen(open === 'snippet' ? null : 'snippet')}>Snippet</button>
      <button type="button" class="btn btn-small btn-ghost danger-text" onClick=${() => setDeleting(true)}>Delete…</button>
    </div>
    ${open === 'edit' ? html`<${Editor} form=${form} onSaved=${() => { setOpen(null); onChanged(); }} onCancel=${() => setOpen(null)} />` : null}
    ${open === 'snippet' ? html`<${Snippet} form=${form} />` : null}
    <${DeleteForm} form=${form} open=${deleting} onClose=${() => setDeleting(false)} onDeleted=${onChanged} />
  </li>`;
}

export function FormsSettings() {
  const [state, reload] = useLoader(() => api.forms.list(), []);
  const items = (state.data && state.data.items) || [];
  return html`<div class="forms">
    <p class="hint">A form on your website makes a lead with the form's source and owner. When the e-mail or phone belongs to an open lead,
      the submission is added to that lead's conversation instead of making a duplicate.</p>
    <${ErrorBox} error=${state.error} />
    ${state.loading && !state.data ? html`<${Spinner} />` : !items.length && !state.error
      ? html`<p class="empty">No forms yet.</p>`
      : html`<ul class="set-list">${items.map((f) => html`<${FormRow} key=${f.id} form=${f} onChanged=${reload} />`)}</ul>`}
    <${Editor} onSaved=${reload} />
  </div>`;
}
