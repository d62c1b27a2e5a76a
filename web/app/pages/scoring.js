// pages/scoring.js — Settings › Scoring: the rules behind each lead's score (points per source,
// per stage, per filled field, for a message from the lead within N days, per age bucket), read
// by everyone and saved by admins (If-Match; a 412 reloads them), and the win model in use (when
// it was trained, on how many closed leads) with "Retrain now". api/scoring.js; docs/scoring.md.
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, Check, ErrorBox, Spinner } from '../ui.js';
import { conflictOr, isConflict } from '../conflict.js';
import { fmtDateTime, useLoader } from '../util.js';

const FIELDS = [
  ['email', 'E-mail'], ['phone', 'Phone'], ['company', 'Company'], ['value_cents', 'Value'], ['service', 'Service'],
  ['country', 'Country'], ['city', 'City'], ['location', 'Location'], ['request', 'Request'], ['owner', 'Owner'],
];

const pointsOf = (list) => Object.fromEntries((list || []).map((e) => [e.id ?? e.field, String(e.points)]));
const draftOf = (r) => ({
  enabled: !!r.enabled, sources: pointsOf(r.sources), stages: pointsOf(r.stages), fields: pointsOf(r.fields),
  recentDays: String(r.recent_activity.days), recentPoints: String(r.recent_activity.points),
  age: (r.age || []).map((b) => ({ max: b.max_days === null ? '' : String(b.max_days), points: String(b.points) })),
});
const num = (s) => (s === '' || s === undefined ? 0 : Number(s));
const listOf = (m, key) => Object.entries(m).filter(([, v]) => v !== '' && Number(v) !== 0)
  .map(([k, v]) => ({ [key]: key === 'id' ? Number(k) : k, points: Number(v) }));
const bodyOf = (d) => ({
  enabled: d.enabled, sources: listOf(d.sources, 'id'), stages: listOf(d.stages, 'id'), fields: listOf(d.fields, 'field'),
  recent_activity: { days: num(d.recentDays), points: num(d.recentPoints) },
  age: d.age.map((b) => ({ max_days: b.max === '' ? null : Number(b.max), points: num(b.points) })),
});

function PointsTable({ caption, rows, values, onChange, disabled }) {
  return html`<table><caption class="sr-only">${caption}</caption>
    <thead><tr><th scope="col">${caption}</th><th scope="col">Points</th></tr></thead>
    <tbody>${rows.map(([k, name]) => html`<tr><td>${name}</td><td>
      <input type="number" min="-1000" max="1000" step="1" aria-label=${`Points for ${caption.toLowerCase()} ${name}`} disabled=${disabled}
        value=${values[k] ?? ''} onInput=${(e) => onChange({ ...values, [k]: e.currentTarget.value })} /></td></tr>`)}</tbody></table>`;
}

function ModelCard({ admin }) {
  const [m, reload] = useLoader(() => api.scoring.model(), []);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState('');
  const [error, setError] = useState(null);
  const retrain = async () => {
    setBusy(true); setError(null); setMsg('');
    try {
      const j = await api.scoring.run();
      for (let i = 0; i < 60; i++) {
        const s = await api.jobs.read(j.job_id);
        if (s.status === 'done' || s.status === 'failed') { setMsg(s.status === 'done' ? 'Retrained.' : `The run failed: ${s.last_error}`); break; }
        await new Promise((r) => setTimeout(r, 500));
      }
      reload();
    } catch (err) { setError(err); }
    setBusy(false);
  };
  return html`<section class="card" aria-labelledby="model-h">
    <h3 id="model-h">Win probability</h3>
    <p class="hint">Learned from your closed leads (won against lost) by source, location, service, country and owner; retrained every day and when the closed leads grow by 10%.</p>
    ${m.loading && !m.data ? html`<${Spinner} />` : m.data ? html`<p class="model-summary">${m.data.trained
      ? `Trained ${fmtDateTime(m.data.trained_at)} on ${m.data.won + m.data.lost} closed leads (${m.data.won} won, ${m.data.lost} lost).`
      : 'Not trained yet: it needs at least 10 closed leads, some won and some lost.'}</p>` : null}
    <${ErrorBox} error=${m.error || error} />
    ${admin ? html`<div class="actions">${msg ? html`<span class="saved" role="status">${msg}</span>` : null}
      <button class="btn" type="button" disabled=${busy} onClick=${retrain}>Retrain now</button></div>` : null}
  </section>`;
}

export function ScoringSettings() {
  const { refs, can } = useApp();
  const admin = !!can.manage_users;
  const [state, reload] = useLoader(() => api.scoring.rules(), []);
  const [d, setD] = useState(null);
  const [error, setError] = useState(null);
  const [msg, setMsg] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => { if (state.data) setD(draftOf(state.data)); }, [state.data]);
  if (!d) return state.error ? html`<${ErrorBox} error=${state.error} />` : html`<${Spinner} />`;
  const set = (ch) => { setD({ ...d, ...ch }); setMsg(''); };
  const submit = async (e) => {
    e.preventDefault(); setBusy(true); setError(null); setMsg('');
    try {
      await api.scoring.saveRules(bodyOf(d), state.data.version);
      setMsg('Saved. Every open lead is being rescored.');
      reload();
    } catch (err) {
      setError(conflictOr(err, 'scoring rules', 'They are reloaded: make your change again.'));
      if (isConflict(err)) reload();
    }
    setBusy(false);
  };
  const fe = (error && error.fields) || {};
  const named = (list) => (list || []).map((x) => [String(x.id), x.name]);
  return html`<div class="score-rules">
    <form class="card" onSubmit=${submit} aria-label="Scoring rules">
      ${admin ? null : html`<p class="notice notice-warn">Only admins may change the scoring rules.</p>`}
      <fieldset disabled=${!admin} class="plain-fieldset">
        <${Check} id="sc-enabled" label="Score leads by these rules" checked=${d.enabled} onChange=${(v) => set({ enabled: v })}
          hint="While off, a lead's score is a plain field anyone may set." />
        <h3>Source</h3>
        <${PointsTable} caption="Source" rows=${named(refs.sources)} values=${d.sources} onChange=${(v) => set({ sources: v })} disabled=${!admin} />
        <h3>Stage</h3>
        <${PointsTable} caption="Stage" rows=${named(refs.stages)} values=${d.stages} onChange=${(v) => set({ stages: v })} disabled=${!admin} />
        <h3>Filled fields</h3>
        <${PointsTable} caption="Field" rows=${FIELDS} values=${d.fields} onChange=${(v) => set({ fields: v })} disabled=${!admin} />
        <h3>Recent activity</h3>
        <p class="field-row">
          <label for="sc-rpoints">Points for a message from the lead</label>
          <input id="sc-rpoints" type="number" min="-1000" max="1000" value=${d.recentPoints} onInput=${(e) => set({ recentPoints: e.currentTarget.value })} />
          <label for="sc-rdays">within (days)</label>
          <input id="sc-rdays" type="number" min="1" max="3650" value=${d.recentDays} onInput=${(e) => set({ recentDays: e.currentTarget.value })} />
        </p>
        <h3>Age</h3>
        <p class="hint">The first bucket the lead's age fits in counts; leave “up to” empty for any age. Points may be negative.</p>
        <table><thead><tr><th scope="col">Up to (days)</th><th scope="col">Points</th><th scope="col"><span class="sr-only">Remove</span></th></tr></thead>
          <tbody>${d.age.map((b, i) => html`<tr>
            <td><input type="number" min="0" aria-label=${`Age bucket ${i + 1}: up to days`} value=${b.max}
              onInput=${(e) => set({ age: d.age.map((x, j) => (j === i ? { ...x, max: e.currentTarget.value } : x)) })} /></td>
            <td><input type="number" min="-1000" max="1000" aria-label=${`Age bucket ${i + 1}: points`} value=${b.points}
              onInput=${(e) => set({ age: d.age.map((x, j) => (j === i ? { ...x, points: e.currentTarget.value } : x)) })} /></td>
            <td><button type="button" class="btn btn-ghost" onClick=${() => set({ age: d.age.filter((_, j) => j !== i) })}>Remove</button></td>
          </tr>`)}</tbody></table>
        <button type="button" class="btn btn-ghost" onClick=${() => set({ age: [...d.age, { max: '', points: '0' }] })}>Add an age bucket</button>
        <${ErrorBox} error=${error}>${Object.keys(fe).length ? html`<ul>${Object.entries(fe).map(([k, v]) => html`<li>${k}: ${String(v)}</li>`)}</ul>` : null}<//>
        ${admin ? html`<div class="actions">${msg ? html`<span class="saved" role="status">${msg}</span>` : null}
          <button class="btn btn-primary" type="submit" disabled=${busy}>Save scoring rules</button></div>` : null}
      </fieldset>
    </form>
    <${ModelCard} admin=${admin} />
  </div>`;
}
