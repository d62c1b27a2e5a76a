// pages/templates.js — Settings → Templates: the message templates (api/templates.js), listed by
// kind and channel, created and changed by managers and admins. The server checks the
// placeholders when a template is saved; an unknown one ({{lead.nmae}}) is shown at its field.
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { Input, Select, Textarea, Check, ErrorBox, Spinner } from '../ui.js';
import { useLoader } from '../util.js';

const CHANNELS = [{ value: 'email', label: 'Email' }, { value: 'sms', label: 'SMS' }, { value: 'chat', label: 'Chat' }];
const KINDS = [{ value: 'message', label: 'Message (quick reply)' }, { value: 'close_notification', label: 'Closing notification' },
  { value: 'review_request', label: 'Review request' }];
const PLACEHOLDERS = '{{lead.first_name}}, {{lead.full_name}}, {{lead.request}}, {{user.name}}, {{company.name}}, …';

// A field's refusal as the server words it (kept as it is: placeholders have underscores).
const said = (fe, k) => (fe[k] ? { message: String(fe[k]).charAt(0).toUpperCase() + String(fe[k]).slice(1) } : null);

function TemplateForm({ item, onSaved, idp }) {
  const blank = { name: '', channel: 'email', kind: 'message', subject: '', body: '', active: true };
  const init = () => (item ? { ...blank, ...item, subject: item.subject || '' } : blank);
  const [d, setD] = useState(init);
  const [error, setError] = useState(null);
  const [msg, setMsg] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => setD(init()), [item]);
  const up = (k) => (v) => { setD({ ...d, [k]: v }); setMsg(''); };
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null); setMsg('');
    const body = { name: d.name.trim(), channel: d.channel, kind: d.kind, subject: d.channel === 'email' && d.subject.trim() ? d.subject : null, body: d.body };
    if (item) body.active = !!d.active;
    try {
      if (item) await api.templates.update(item.id, body); else { await api.templates.create(body); setD(blank); }
      setMsg('Saved.'); onSaved();
    } catch (err) { setError(err); }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  const label = item ? `Template ${item.name} (${item.channel}, ${item.kind.replace(/_/g, ' ')})` : 'New template';
  return html`<form class=${'card tpl-form' + (item && !item.active ? ' tpl-inactive' : '')} onSubmit=${submit} aria-label=${label} data-template-id=${item ? item.id : undefined}>
    ${item ? null : html`<h2>New template</h2>`}
    <div class="set-fields">
      <${Input} id=${idp + '-name'} label="Name" value=${d.name} onInput=${up('name')} error=${said(fe, 'name')} />
      <${Select} id=${idp + '-channel'} label="Channel" value=${d.channel} options=${CHANNELS} onChange=${up('channel')} error=${said(fe, 'channel')} />
      <${Select} id=${idp + '-kind'} label="Kind" value=${d.kind} options=${KINDS} onChange=${up('kind')} error=${said(fe, 'kind')} />
      ${item ? html`<div class="field"><${Check} id=${idp + '-active'} label="Active" checked=${!!d.active} onChange=${up('active')} /></div>` : null}
      ${d.channel === 'email' ? html`<${Input} id=${idp + '-subject'} label="Subject" value=${d.subject} onInput=${up('subject')} error=${said(fe, 'subject')} class="wide" />` : null}
      <${Textarea} id=${idp + '-body'} label="Text" value=${d.body} onInput=${up('body')} rows="5" error=${said(fe, 'body')} class="wide" />
    </div>
    <${ErrorBox} error=${error && !Object.keys(fe).length ? error : error ? 'The template was not saved: see the marked fields.' : null} />
    <div class="actions">${msg ? html`<span class="saved" role="status">${msg}</span>` : null}
      <button class="btn btn-primary" type="submit" disabled=${busy || !d.name.trim() || !d.body.trim()}>${item ? 'Save template' : 'Add template'}</button></div>
  </form>`;
}

export function TemplatesSettings() {
  const [state, reload] = useLoader(() => api.templates.list(), []);
  return html`<div class="templates-settings">
    <p class="hint">Placeholders are filled in when a message is sent: ${PLACEHOLDERS}. An unknown one is refused when the template is saved.</p>
    <${ErrorBox} error=${state.error} />
    ${state.loading && !state.data ? html`<${Spinner} />` : html`<ul class="set-list">${(state.data || []).map((t) =>
      html`<li key=${t.id}><${TemplateForm} item=${t} onSaved=${reload} idp=${'tpl-' + t.id} /></li>`)}</ul>`}
    <${TemplateForm} item=${null} onSaved=${reload} idp="tpl-new" />
  </div>`;
}
