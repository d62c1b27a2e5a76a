// pages/messaging.js — Settings → Messaging (admins): how leadpath sends and receives e-mail and
// SMS, the company details templates use ({{company.*}}), and the web chat and forms (the sites
// allowed to use them, chat_origins; when an idle chat closes, chat_idle_minutes); api/settings.js. Passwords and
// tokens are write-only: the server answers only whether one is set (smtp_password_set), so
// their fields start empty, an empty field leaves the saved one alone, and "Remove" clears it.
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, Input, Select, Textarea, ErrorBox } from '../ui.js';
import { conflictOr, isConflict } from '../conflict.js';

// The settings this screen edits, in groups; secret: write-only.
const GROUPS = [
  { title: 'Sending e-mail (SMTP)', fields: [
    { key: 'smtp_host', label: 'SMTP host' }, { key: 'smtp_port', label: 'SMTP port', type: 'number' },
    { key: 'smtp_tls', label: 'Encryption', type: 'select', options: [{ value: 'none', label: 'None' }, { value: 'starttls', label: 'STARTTLS' }, { value: 'tls', label: 'TLS' }] },
    { key: 'smtp_username', label: 'SMTP user name' }, { key: 'smtp_password', label: 'SMTP password', secret: true },
    { key: 'mail_from', label: 'From address' }, { key: 'mail_from_name', label: 'From name' }] },
  { title: 'Receiving replies', fields: [
    { key: 'inbound_domain', label: 'Reply domain', hint: 'Replies go to reply+…@ this domain.' },
    { key: 'inbound_secret', label: 'Inbound secret', hint: 'Providers send it in X-Leadpath-Inbound-Secret.' }] },
  { title: 'SMS gateway', fields: [
    { key: 'sms_gateway_url', label: 'Gateway URL' }, { key: 'sms_account', label: 'Account' },
    { key: 'sms_token', label: 'Token', secret: true }, { key: 'sms_from', label: 'Sender number' },
    { key: 'public_url', label: 'Public address of leadpath', hint: 'e.g. https://crm.example.com — the provider\'s signed posts and delivery callbacks come to it.' }] },
  { title: 'Company (for templates)', fields: [
    { key: 'company_name', label: 'Company name' }, { key: 'company_email', label: 'Company e-mail' },
    { key: 'company_phone', label: 'Company phone' }, { key: 'company_website', label: 'Website' },
    { key: 'company_address', label: 'Address' },
    { key: 'review_request_days', label: 'Days between review requests', type: 'number' }] },
  { title: 'Web chat and forms', fields: [
    { key: 'chat_origins', label: 'Your website addresses (one per line)', type: 'lines',
      hint: 'e.g. https://www.example.com — only pages from these sites may use the chat widget and the web forms.' },
    { key: 'chat_idle_minutes', label: 'Close an idle chat after (minutes)', type: 'number', min: 1, placeholder: '30' }] },
];
const FIELDS = GROUPS.flatMap((g) => g.fields);

// A field's text in the form: a list (chat_origins) one item per line.
const textOf = (f, v) => (v === null || v === undefined ? '' : f.type === 'lines' ? (Array.isArray(v) ? v.join('\n') : '') : String(v));
const fromSettings = (s) => Object.fromEntries(FIELDS.map((f) => [f.key, f.secret ? '' : textOf(f, s[f.key])]));
const linesOf = (text) => [...new Set(String(text).split(/[\s,]+/).map((x) => x.trim().replace(/\/+$/, '')).filter(Boolean))];

export function MessagingSettings() {
  const { settings, reloadSettings } = useApp();
  const [d, setD] = useState(() => fromSettings(settings));
  const [forget, setForget] = useState({});
  const [error, setError] = useState(null);
  const [msg, setMsg] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => { setD(fromSettings(settings)); setForget({}); }, [settings]);
  const changes = () => {
    const out = {};
    for (const f of FIELDS) {
      const v = d[f.key];
      if (f.secret) { if (v) out[f.key] = v; else if (forget[f.key]) out[f.key] = ''; continue; }
      const was = textOf(f, settings[f.key]);
      if (v === was) continue;
      if (f.type === 'lines') { const l = linesOf(v); if (JSON.stringify(l) !== JSON.stringify(settings[f.key] || [])) out[f.key] = l; continue; }
      if (f.type === 'number' && f.min && v === '') continue;   // empty keeps the server's default
      out[f.key] = f.type === 'number' ? (v === '' ? 0 : Number(v)) : v.trim();
    }
    return out;
  };
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null); setMsg('');
    const c = changes();
    try {
      if (Object.keys(c).length) await api.settings.update(c);
      // a saved secret leaves the page at once: the field empties before the settings come back
      setD((cur) => ({ ...cur, ...Object.fromEntries(FIELDS.filter((f) => f.secret).map((f) => [f.key, ''])) }));
      setMsg(Object.keys(c).length ? 'Saved.' : 'Nothing to save.'); reloadSettings();
    } catch (err) {
      setError(conflictOr(err, 'settings', 'They are reloaded: save again.'));
      if (isConflict(err)) reloadSettings();
    }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  const control = (f) => {
    const set = (v) => { setD({ ...d, [f.key]: v }); setMsg(''); };
    const err = fe[f.key] ? { message: String(fe[f.key]) } : null;
    if (f.type === 'select') return html`<${Select} id=${'msg-' + f.key} label=${f.label} value=${d[f.key] || 'none'} options=${f.options} onChange=${set} error=${err} />`;
    if (f.secret) {
      const isSet = !!settings[f.key + '_set'] && !forget[f.key];
      return html`<div class="secret-field">
        <${Input} id=${'msg-' + f.key} type="password" autocomplete="new-password" label=${`${f.label} (${isSet ? 'set' : 'not set'})`} value=${d[f.key]} onInput=${set}
          placeholder=${isSet ? 'Leave empty to keep the saved one' : ''} error=${err} hint="Write-only: it is never shown again." />
        ${settings[f.key + '_set'] ? html`<button type="button" class="btn btn-small btn-ghost" aria-pressed=${forget[f.key] ? 'true' : 'false'}
          onClick=${() => { setForget({ ...forget, [f.key]: !forget[f.key] }); setMsg(''); }}>${forget[f.key] ? 'Keep the saved one' : `Remove the ${f.label.toLowerCase()}`}</button>` : null}
      </div>`;
    }
    if (f.type === 'lines') return html`<div class="wide"><${Textarea} id=${'msg-' + f.key} label=${f.label} value=${d[f.key]} onInput=${set} rows="3" error=${err}
      spellcheck="false" /><p class="hint">${f.hint}</p></div>`;
    return html`<${Input} id=${'msg-' + f.key} type=${f.type === 'number' ? 'number' : 'text'} min=${f.type === 'number' ? String(f.min || 0) : undefined} placeholder=${f.placeholder}
      label=${f.label} value=${d[f.key]} onInput=${set} hint=${f.hint} error=${err} />`;
  };
  return html`<form class="card messaging" onSubmit=${submit} aria-label="Messaging settings">
    ${GROUPS.map((g) => html`<fieldset class="group-box"><legend>${g.title}</legend><div class="set-fields">${g.fields.map(control)}</div></fieldset>`)}
    <${ErrorBox} error=${error && !Object.keys(fe).length ? error : error ? 'Nothing was saved: see the marked fields.' : null} />
    <div class="actions">${msg ? html`<span class="saved" role="status">${msg}</span>` : null}<button class="btn btn-primary" type="submit" disabled=${busy}>Save messaging settings</button></div>
  </form>`;
}
