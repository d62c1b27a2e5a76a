// pages/company.js — Settings → Company (admins): the default country (how local phone numbers
// are read), the company's time zone, the age rule's days (SLA), the follow-up window, the group
// a lead closed as lost joins, and how long a request may wait before its approver's manager (or
// the admins) hear of it, and when the weekly digest goes to managers and admins (day and hour in
// the company's time zone, or off; docs/reports.md). The server checks every value (an unknown country or time zone is
// refused next to its field); api/settings.js.
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, Input, Select, ErrorBox, optionsOf } from '../ui.js';
import { conflictOr, isConflict } from '../conflict.js';

// The IANA zones the browser knows, offered while typing (the server has the last word).
const ZONES = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];

const FIELDS = [
  { key: 'default_country', label: 'Default country', hint: 'Two letters, e.g. GB: how phone numbers without +country are read.', text: true },
  { key: 'time_zone', label: 'Time zone', hint: 'e.g. Europe/London', text: true, list: 'lp-zones' },
  { key: 'sla_warning_days', label: 'Warn after (days open)' },
  { key: 'sla_breach_days', label: 'Breach after (days open)' },
  { key: 'follow_up_window_days', label: 'Follow-ups shown (± days)' },
  { key: 'approval_escalation_hours', label: 'Escalate waiting approvals after (hours)', hint: '0: never.' },
];

// The weekly digest: ISO weekday (0: off) and hour; unset means Monday at 8 (the server's default).
const DAYS = ['Off', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'].map((label, value) => ({ value: String(value), label }));
const HOURS = Array.from({ length: 24 }, (_, h) => ({ value: String(h), label: `${String(h).padStart(2, '0')}:00` }));

const fromSettings = (s) => ({ ...Object.fromEntries(FIELDS.map((f) => [f.key, s[f.key] === null || s[f.key] === undefined ? '' : String(s[f.key])])),
  close_lost_default_group_id: s.close_lost_default_group_id ? String(s.close_lost_default_group_id) : '',
  digest_weekday: String(s.digest_weekday ?? 1), digest_hour: String(s.digest_hour ?? 8) });

export function CompanySettings() {
  const { settings, reloadSettings, refs, can } = useApp();
  const [d, setD] = useState(() => fromSettings(settings));
  const [error, setError] = useState(null);
  const [msg, setMsg] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => setD(fromSettings(settings)), [settings]);
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null); setMsg('');
    const was = fromSettings(settings);
    const out = {};
    for (const f of FIELDS) {
      if (d[f.key] === was[f.key]) continue;
      out[f.key] = f.text ? d[f.key].trim() : d[f.key] === '' ? null : Number(d[f.key]);
    }
    for (const k of ['digest_weekday', 'digest_hour']) if (d[k] !== was[k]) out[k] = Number(d[k]);
    if (d.close_lost_default_group_id !== was.close_lost_default_group_id) out.close_lost_default_group_id = d.close_lost_default_group_id ? Number(d.close_lost_default_group_id) : 0;
    try {
      if (Object.keys(out).length) await api.settings.update(out);
      setMsg(Object.keys(out).length ? 'Saved.' : 'Nothing to save.'); reloadSettings();
    } catch (err) {
      setError(conflictOr(err, 'settings', 'They are reloaded: save again.'));
      if (isConflict(err)) reloadSettings();
    }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  const admin = !!can.manage_users;
  return html`<form class="card company" onSubmit=${submit} aria-label="Company settings">
    ${admin ? null : html`<p class="notice notice-warn">Only admins may change the company settings.</p>`}
    <fieldset disabled=${!admin} class="plain-fieldset">
      <div class="set-fields">
        ${FIELDS.map((f) => html`<${Input} id=${'co-' + f.key} label=${f.label} type=${f.text ? 'text' : 'number'} min=${f.text ? undefined : '0'}
          value=${d[f.key]} onInput=${(v) => { setD({ ...d, [f.key]: v }); setMsg(''); }} hint=${f.hint} list=${f.list}
          error=${fe[f.key] ? String(fe[f.key]) : null} />`)}
        <${Select} id="co-group" label="Group for leads closed as lost" value=${d.close_lost_default_group_id} empty="None"
          options=${optionsOf(refs.groups)} onChange=${(v) => setD({ ...d, close_lost_default_group_id: v })} error=${fe.close_lost_default_group_id} />
        <${Select} id="co-digest-day" label="Weekly digest to managers" value=${d.digest_weekday} options=${DAYS}
          onChange=${(v) => { setD({ ...d, digest_weekday: v }); setMsg(''); }} error=${fe.digest_weekday} />
        <${Select} id="co-digest-hour" label="Digest hour (company clock)" value=${d.digest_hour} options=${HOURS}
          disabled=${d.digest_weekday === '0'} onChange=${(v) => { setD({ ...d, digest_hour: v }); setMsg(''); }} error=${fe.digest_hour} />
      </div>
      <datalist id="lp-zones">${ZONES.map((z) => html`<option value=${z} />`)}</datalist>
      <${ErrorBox} error=${error && !Object.keys(fe).length ? error : error ? 'Nothing was saved: see the marked fields.' : null} />
      <div class="actions">${msg ? html`<span class="saved" role="status">${msg}</span>` : null}<button class="btn btn-primary" type="submit" disabled=${busy}>Save company settings</button></div>
    </fieldset>
  </form>`;
}
