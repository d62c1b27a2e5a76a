// components/import-dialog.js — importing leads from a CSV file (docs/import.md), in four steps
// in one dialog:
//   1. the file: chosen, then sent with its upload's progress (api.imports.upload, XMLHttpRequest
//      progress events); the server refuses a file that is not UTF-8 CSV text at once;
//   2. its columns matched to lead fields: one list per column of the file, first set to the
//      server's suggestion (suggested_mapping) — the fields offered are the server's (`fields`);
//   3. a preview of the first rows as they will be imported (columns filling one field are
//      joined as the server joins them), and what a row matching an open lead does
//      (on_duplicate: create another, update it, skip the row);
//   4. "Check all rows" (a dry run: every row through the rules, nothing written) and "Import":
//      the job's progress bar (done of total rows), then what was created, updated, skipped, and
//      the rows that failed, by line of the file.
// Closing the dialog before the import removes the uploaded file from the server.
import { html, useEffect, useRef, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { Dialog, ErrorBox } from '../ui.js';
import { plural } from '../util.js';

// The UI's own words for the fields; the list itself is the server's.
const LABELS = {
  full_name: 'Full name', company: 'Company', login: 'Login', emails: 'E-mails', phones: 'Phones',
  partner_id: 'Partner (id)', location_id: 'Location (id)', owner_id: 'Owner (id)', owner_email: 'Owner (e-mail)',
  stage_id: 'Stage (id)', source_id: 'Source (id)', country: 'Country', region: 'Region', city: 'City',
  service: 'Service', request: 'Request', notes: 'Notes', value_cents: 'Value (cents)', currency: 'Currency',
  score: 'Score', last_contacted_at: 'Last contacted', email_opt_out: 'No e-mail', sms_opt_out: 'No SMS',
  status: 'Status (history)', outcome: 'Outcome (history)', lost_reason_id: 'Lost reason (id, history)',
  close_notes: 'Close notes (history)', closed_at: 'Closed at (history)', sold_at: 'Sold at (history)',
  created_at: 'Created at (history)',
};
const label = (f) => LABELS[f] || f.replace(/_/g, ' ');
const LISTS = new Set(['emails', 'phones']);
const TEXT = new Set(['full_name', 'company', 'login', 'region', 'city', 'service', 'request', 'notes', 'close_notes']);

function size(bytes) {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

// The first rows as the import will read them: the mapped fields in order, several columns of
// one field joined (lists with "; ", text with a space, others keep the first).
function previewRows(upload, mapping) {
  const fields = [];
  for (const h of upload.headers) { const f = mapping[h]; if (f && !fields.includes(f)) fields.push(f); }
  const rows = upload.sample.map((cells) => {
    const out = {};
    upload.headers.forEach((h, i) => {
      const f = mapping[h];
      const v = (cells[i] || '').trim();
      if (!f || !v) return;
      if (out[f] === undefined) out[f] = v;
      else if (LISTS.has(f)) out[f] += '; ' + v;
      else if (TEXT.has(f)) out[f] += ' ' + v;
    });
    return out;
  });
  return { fields, rows };
}

function Progress({ label: text, value, max }) {
  const pct = max ? Math.min(100, Math.round((value / max) * 100)) : 0;
  return html`<div class="import-progress">
    <label>${text} <span class="hint">${pct}%</span>
      <progress max="100" value=${pct} aria-label=${text}>${pct}%</progress></label>
  </div>`;
}

function Result({ job }) {
  const res = job.result || {};
  const dry = job.dry_run;
  if (job.status === 'failed') return html`<${ErrorBox} error=${{ message: `The import stopped: ${job.last_error}` }} />`;
  if (job.status !== 'done') return null;
  const parts = dry
    ? [`${plural(res.would_create || 0, 'row')} would be created`, res.would_update ? `${res.would_update} would update a lead` : null,
      res.would_skip ? `${res.would_skip} would be skipped` : null]
    : [`${plural(res.created || 0, 'lead')} created`, res.updated ? `${plural(res.updated, 'lead')} updated` : null,
      res.skipped ? `${plural(res.skipped, 'row')} skipped` : null];
  return html`<div class="import-result" role="status">
    <p><strong>${parts.filter(Boolean).join(', ')}</strong>, ${plural(res.failed || 0, 'row')} failed.</p>
    ${job.errors && job.errors.length ? html`<ul class="import-errors" aria-label="Rows that failed">
      ${job.errors.slice(0, 100).map((x) => html`<li>Line ${x.line || x.row + 1} (row ${x.row}): ${x.error.fields
        ? Object.entries(x.error.fields).map(([k, v]) => `${k}: ${v}`).join('; ') : x.error.message}</li>`)}
      ${job.errors.length > 100 ? html`<li>… and ${job.errors.length - 100} more (the job lists up to 1,000)</li>` : null}
    </ul>` : null}
  </div>`;
}

export function ImportDialog({ open, onClose, onDone }) {
  const [file, setFile] = useState(null);
  const [sent, setSent] = useState(null);          // {loaded, total} while uploading
  const [upload, setUpload] = useState(null);      // the server's upload with its preview
  const [mapping, setMapping] = useState({});
  const [dup, setDup] = useState('create');
  const [job, setJob] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const imported = useRef(false);
  const abort = useRef(null);

  const reset = () => {
    setFile(null); setSent(null); setUpload(null); setMapping({}); setDup('create'); setJob(null); setError(null);
    imported.current = false;
  };
  // closing: a file uploaded but not imported is removed from the server
  const close = () => {
    if (abort.current) abort.current.abort();
    if (upload && !imported.current) api.imports.remove(upload.id).catch(() => {});
    reset();
    onClose();
  };
  useEffect(() => { if (!open) reset(); }, [open]);

  const send = async (f) => {
    setFile(f); setUpload(null); setJob(null); setError(null);
    if (!f) return;
    setBusy(true);
    setSent({ loaded: 0, total: f.size });
    const ctl = new AbortController();
    abort.current = ctl;
    try {
      const u = await api.imports.upload(f, { onProgress: setSent, signal: ctl.signal });
      setUpload(u);
      setMapping({ ...u.suggested_mapping });
    } catch (err) {
      if (err.code !== 'aborted') setError(err);
    } finally {
      abort.current = null;
      setSent(null);
      setBusy(false);
    }
  };

  const run = async (dryRun) => {
    setBusy(true); setError(null); setJob(null);
    try {
      const m = {};
      for (const h of upload.headers) m[h] = mapping[h] || null;
      const r = await api.imports.start(upload.id, { mapping: m, on_duplicate: dup, dry_run: dryRun });
      if (!dryRun) imported.current = true;
      for (;;) {
        const j = await api.jobs.read(r.job_id);
        setJob(j);
        if (j.status === 'done' || j.status === 'failed') break;
        await new Promise((res) => setTimeout(res, 400));
      }
      if (!dryRun) onDone();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };

  const pv = upload ? previewRows(upload, mapping) : null;
  const named = pv && pv.fields.includes('full_name');
  const running = job && job.status !== 'done' && job.status !== 'failed';
  const done = imported.current && job && (job.status === 'done' || job.status === 'failed');
  return html`<${Dialog} open=${open} title="Import leads from CSV" onClose=${close} wide>
    <form class="import-form" onSubmit=${(e) => { e.preventDefault(); if (upload && named && !busy) run(false); }}>
      <p class="hint">A CSV file in UTF-8 with a header line, of any size up to the server's limit (512 MB unless set
        otherwise). Several e-mails or phones in one cell are separated by <code>;</code>.</p>
      <div class="field"><label for="import-file">CSV file</label>
        <input id="import-file" type="file" accept=".csv,text/csv" disabled=${busy || done}
          onChange=${(e) => send(e.currentTarget.files[0] || null)} /></div>
      ${sent ? html`<${Progress} label=${`Uploading ${file ? file.name : ''}…`} value=${sent.loaded} max=${sent.total} />` : null}
      <${ErrorBox} error=${error} />
      ${upload ? html`
        <p>${file ? file.name : 'The file'}: ${size(upload.size)}, ${plural(upload.rows, 'row')} to import.</p>
        <fieldset class="import-mapping" disabled=${busy || done}>
          <legend>Columns of the file → lead fields</legend>
          <table class="table">
            <thead><tr><th scope="col">Column</th><th scope="col">First value</th><th scope="col">Imported as</th></tr></thead>
            <tbody>${upload.headers.map((h, i) => html`<tr>
              <th scope="row">${h}</th>
              <td class="hint">${(upload.sample[0] || [])[i] || ''}</td>
              <td><select aria-label=${`Imported as (column ${h})`} value=${mapping[h] || ''}
                  onChange=${(e) => setMapping({ ...mapping, [h]: e.currentTarget.value || null })}>
                <option value="">Not imported</option>
                ${upload.fields.map((f) => html`<option value=${f} selected=${mapping[h] === f}>${label(f)}</option>`)}
              </select></td></tr>`)}</tbody>
          </table>
          ${named ? null : html`<p class="field-error" role="alert">Choose the column with the lead's name (Full name).</p>`}
        </fieldset>
        <section aria-label="Preview of the first rows">
          <h3>The first rows as they will be imported</h3>
          ${pv.fields.length ? html`<div class="table-wrap"><table class="table import-preview">
            <thead><tr>${pv.fields.map((f) => html`<th scope="col">${label(f)}</th>`)}</tr></thead>
            <tbody>${pv.rows.map((r) => html`<tr>${pv.fields.map((f) => html`<td>${r[f] || ''}</td>`)}</tr>`)}</tbody>
          </table></div>` : html`<p class="hint">No column is imported yet.</p>`}
        </section>
        <fieldset class="import-dup" disabled=${busy || done}>
          <legend>A row with the e-mail or phone of an open lead</legend>
          ${[['create', 'Create another lead'], ['update', 'Update that lead'], ['skip', 'Skip the row']].map(([v, t]) => html`
            <label class="check"><input type="radio" name="import-dup" value=${v} checked=${dup === v}
              onChange=${() => setDup(v)} /> ${t}</label>`)}
        </fieldset>` : null}
      ${job && running ? html`<${Progress} label=${job.dry_run ? 'Checking rows…' : 'Importing rows…'} value=${job.done}
          max=${job.total || (upload && upload.rows) || 1} />
        <p class="hint" role="status">${job.done} of ${job.total || (upload && upload.rows) || '?'} rows</p>` : null}
      ${job ? html`<${Result} job=${job} />` : null}
      <div class="actions">
        <button type="button" class="btn btn-ghost" onClick=${close}>Close</button>
        ${upload && !done ? html`
          <button type="button" class="btn" disabled=${busy || !named} onClick=${() => run(true)}>Check all rows</button>
          <button type="submit" class="btn btn-primary" disabled=${busy || !named}>Import ${plural(upload.rows, 'row')}</button>` : null}
      </div>
    </form>
  </${Dialog}>`;
}
