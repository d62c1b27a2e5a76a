// pages/leads.js — the leads list: every API filter, search-as-you-type, sort, cursor paging,
// row selection with bulk actions, CSV export and import, and the new-lead dialog.
import { html, useEffect, useLayoutEffect, useRef, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, useSlaDays, slaText, navigate, useLocation, Input, Select, ErrorBox, Notice, Dialog,
  optionsOf, useCan, peopleOf, Link } from '../ui.js';
import { LeadsTable } from '../components/leads-table.js';
import { BulkCloseDialog } from '../components/bulk-close.js';
import { ImportDialog } from '../components/import-dialog.js';
import { useDebounced, dayToIso, plural } from '../util.js';

const FILTER_KEYS = ['status', 'owner', 'stage', 'source', 'location', 'partner', 'outcome', 'group',
  'created_from', 'created_to', 'closed_from', 'closed_to', 'sla', 'needs_reply', 'q', 'sort',
  // what a report drills down to (pages/reports.js): kept in the address and sent to the server
  'lost_reason', 'outcome_kind', 'team', 'sold_from', 'sold_to', 'in_reports', 'service', 'country',
  // and the flow reports (pages/reports-flow.js): ever in a stage, lost in a range with a reason
  'reached_stage', 'lost_from', 'lost_to', 'loss_reason'];
const SORTS = [
  { value: '-created_at', label: 'Newest first' }, { value: 'created_at', label: 'Oldest first' },
  { value: '-updated_at', label: 'Recently updated' }, { value: 'updated_at', label: 'Least recently updated' },
  { value: '-score', label: 'Highest score' }, { value: 'score', label: 'Lowest score' },
  { value: '-win_probability', label: 'Most likely to win' }, { value: 'win_probability', label: 'Least likely to win' }, { value: 'full_name', label: 'Name A–Z' },
  { value: '-last_contacted_at', label: 'Recently contacted' }, { value: 'last_contacted_at', label: 'Longest without contact' },
  { value: '-closed_at', label: 'Recently closed' }, { value: 'closed_at', label: 'Closed longest ago' },
];
// The order a list has when none is chosen: the server's (most recently closed first for the
// closed view, newest first otherwise).
const defaultSort = (f) => (f.status === 'closed' ? '-closed_at' : '-created_at');

function readFilters(search) {
  const p = new URLSearchParams(search);
  const f = {};
  for (const k of FILTER_KEYS) if (p.get(k)) f[k] = p.get(k);
  return f;
}
function writeFilters(f, replace) {
  const p = new URLSearchParams();
  for (const k of FILTER_KEYS) if (f[k]) p.set(k, f[k]);
  const s = p.toString();
  navigate('/leads' + (s ? '?' + s : ''), { replace });
}
/* The leads the list shows (every page of them), as CSV: the export with the same filters. */
function exportHref(f) {
  const q = apiQuery(f);
  delete q.sort;
  return api.leads.exportUrl(q);
}
function apiQuery(f) {
  const q = { ...f };
  // a day typed in the form is the local day; a full time (a report's drill-down) goes as it is
  for (const k of ['created_from', 'closed_from']) if (q[k] && q[k].length === 10) q[k] = dayToIso(q[k]);
  for (const k of ['created_to', 'closed_to']) if (q[k] && q[k].length === 10) q[k] = dayToIso(q[k], true);
  if (!q.status) q.status = 'open';
  if (!q.owner) q.owner = 'me';
  return q;
}

// The age rule's choices, worded with the settings' days.
function slaOptions(days) {
  const known = days.warn !== null;
  return [{ value: 'ok', label: known ? `On time (≤ ${days.warn} days)` : slaText('ok', days) },
    { value: 'warning', label: known ? `Warning (over ${days.warn} days)` : slaText('warning', days) },
    { value: 'breached', label: known ? `Breached (over ${days.breach} days)` : slaText('breached', days) }];
}

function Filters({ filters, set }) {
  const { refs, user } = useApp();
  // the owner filter offers only the people whose leads the caller may see (the server's /me)
  const can = useCan();
  const people = peopleOf(refs.users, can);
  const days = useSlaDays();
  const [q, setQ] = useState(filters.q || '');
  const dq = useDebounced(q, 250);
  const [more, setMore] = useState(() => FILTER_KEYS.slice(2, 14).some((k) => filters[k] && k !== 'sla' && k !== 'needs_reply'));
  useEffect(() => { if ((filters.q || '') !== dq) set({ ...filters, q: dq }, true); }, [dq]);
  useEffect(() => { if ((filters.q || '') !== q && document.activeElement?.id !== 'lead-search') setQ(filters.q || ''); }, [filters.q]);
  const DEFAULTS = { status: 'open', owner: 'me', sort: defaultSort(filters) };
  const sel = (key, label, options, empty = 'Any') => html`<${Select} label=${label} value=${filters[key] || DEFAULTS[key] || ''} empty=${empty}
    options=${options} onChange=${(v) => set({ ...filters, [key]: v })} />`;
  const date = (key, label) => html`<${Input} type="date" label=${label} value=${(filters[key] || '').slice(0, 10)} onInput=${(v) => set({ ...filters, [key]: v })} />`;
  const activeCount = FILTER_KEYS.filter((k) => filters[k] && !['q', 'sort', 'status', 'owner'].includes(k)).length;
  return html`<form class="filters card" role="search" onSubmit=${(e) => e.preventDefault()} aria-label="Filter leads">
    <div class="filters-main">
      <${Input} id="lead-search" type="search" label="Search" value=${q} onInput=${setQ} class="grow"
        placeholder="Name, company, email, phone, request…" autocomplete="off" />
      <${Select} label="Status" value=${filters.status || 'open'} onChange=${(v) => set({ ...filters, status: v,
        sort: filters.sort && /closed_at$/.test(filters.sort) && v !== 'closed' ? undefined : filters.sort })}
        options=${[{ value: 'open', label: 'Open' }, { value: 'closed', label: 'Closed' }, { value: 'all', label: 'All' }]} />
      ${people.length > 1 ? sel('owner', 'Owner', [{ value: 'me', label: 'Me' }, { value: 'any', label: can.view === 'all' ? 'Anyone' : 'Anyone I may see' },
        ...optionsOf(people.filter((p) => p.id !== user.id))], null) : null}
      ${sel('sort', 'Sort', SORTS, null)}
      <button type="button" class="btn btn-ghost filters-toggle" aria-expanded=${more ? 'true' : 'false'} aria-controls="more-filters"
        onClick=${() => setMore(!more)}>${more ? 'Fewer filters' : 'More filters'}${activeCount ? ` (${activeCount})` : ''}</button>
    </div>
    ${more ? html`<div class="filters-more" id="more-filters">
      ${sel('stage', 'Stage', optionsOf(refs.stages))}
      ${sel('source', 'Source', optionsOf(refs.sources))}
      ${sel('location', 'Location', optionsOf(refs.locations))}
      ${sel('partner', 'Partner', optionsOf(refs.partners))}
      ${sel('outcome', 'Outcome', (refs.outcomes || []).map((o) => ({ value: o.key, label: o.name })))}
      ${sel('group', 'Group', optionsOf(refs.groups))}
      ${sel('sla', 'Age rule', slaOptions(days))}
      ${sel('needs_reply', 'Replies', [{ value: '1', label: 'Needs a reply' }, { value: '0', label: 'Answered' }])}
      ${date('created_from', 'Created from')}${date('created_to', 'Created to')}
      ${date('closed_from', 'Closed from')}${date('closed_to', 'Closed to')}
      <div class="field field-end"><button type="button" class="btn btn-ghost" onClick=${() => { setQ(''); set({}); }}>Clear filters</button></div>
    </div>` : null}
  </form>`;
}

function BulkBar({ ids, onDone, clear }) {
  const { refs } = useApp();
  const can = useCan();
  const [action, setAction] = useState('');
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [result, setResult] = useState('');
  // Close opens the bulk close dialog: the single close's options and a preview of the whole selection
  const [closeOpen, setCloseOpen] = useState(false);
  const needs = { set_stage: ['stage_id', 'Stage', optionsOf(refs.stages)], assign: ['owner_id', 'Owner', optionsOf(peopleOf(refs.users, can).filter((u) => u.active !== false))],
    add_to_group: ['group_id', 'Group', optionsOf(refs.groups)] }[action];
  const params = () => (needs ? { [needs[0]]: Number(value) } : {});
  const apply = async () => {
    if (action === 'delete' && !confirm(`Delete ${plural(ids.length, 'lead')}? Their history stays in the audit log.`)) return;
    setBusy(true); setError(null); setResult('');
    try {
      const r = await api.leads.bulk(ids, action, params());
      if (r.status === 202) setResult(r.data && r.data.approval ? 'Sent for approval: nothing changes until it is approved.' : 'Started as a background job; the list updates when it finishes.');
      else {
        const bad = (r.data.results || []).filter((x) => !x.ok).slice(0, 3)
          .map((x) => `#${x.id}: ${(x.error && (x.error.message || x.error.code)) || x.error || 'failed'}`);
        setResult(`${plural(r.data.succeeded ?? 0, 'lead')} updated${r.data.failed ? `, ${r.data.failed} failed (${bad.join('; ')})` : ''}.`);
      }
      clear();
      onDone();
    } catch (e) { setError(e.status === 404 && e.code === 'not_found' && /endpoint/i.test(e.message) ? { message: 'Bulk actions are not available on this server yet.' } : e); }
    setBusy(false);
  };
  const closeDialog = html`<${BulkCloseDialog} open=${closeOpen} ids=${ids} onClose=${() => { setCloseOpen(false); clear(); }} onDone=${onDone} />`;
  if (!ids.length) return html`${result ? html`<${Notice} text=${result} />` : null}${closeDialog}`;
  return html`<div class="bulkbar card" role="region" aria-label="Bulk actions">
    <strong>${plural(ids.length, 'lead')} selected</strong>
    <${Select} label="Action" value=${action} empty="Choose…" onChange=${(v) => { if (v === 'close') { setCloseOpen(true); setAction(''); } else setAction(v); setValue(''); }}
      options=${[{ value: 'set_stage', label: 'Move to stage' }, { value: 'assign', label: 'Assign owner' },
        { value: 'add_to_group', label: 'Add to group' }, { value: 'close', label: 'Close…' },
        ...(can.delete !== 'deny' ? [{ value: 'delete', label: 'Delete' }] : [])]} />
    ${needs ? html`<${Select} label=${needs[1]} value=${value} empty="Choose…" options=${needs[2]} onChange=${setValue} />` : null}
    <button type="button" class="btn btn-primary" disabled=${busy || !action || (needs && !value)} onClick=${apply}>Apply</button>
    <button type="button" class="btn btn-ghost" onClick=${clear}>Clear selection</button>
    <${ErrorBox} error=${error} />
    ${closeDialog}
  </div>`;
}

export function NewLeadDialog({ open, onClose }) {
  const { refs, user } = useApp();
  const blank = { full_name: '', company: '', email: '', phone: '', source_id: '', owner_id: user.id };
  const [f, setF] = useState(blank);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [dups, setDups] = useState(null);
  const key = useRef(String(Date.now()) + Math.random());
  useEffect(() => { if (open) { setF(blank); setError(null); setDups(null); key.current = String(Date.now()) + Math.random(); } }, [open]);
  const fe = (error && error.fields) || {};
  const submit = async (e, anyway = false) => {
    if (e) e.preventDefault();
    setBusy(true); setError(null);
    const body = { full_name: f.full_name.trim(), company: f.company || undefined,
      emails: f.email ? [f.email.trim()] : [], phones: f.phone ? [f.phone.trim()] : [],
      source_id: f.source_id ? Number(f.source_id) : undefined, owner_id: f.owner_id ? Number(f.owner_id) : undefined };
    try {
      // first ask whether an open lead has the same e-mail or phone; "Create anyway" skips that
      const lead = anyway ? await api.leads.create(body, key.current) : await api.leads.createChecked(body, key.current);
      onClose();
      navigate('/leads/' + lead.id);
    } catch (err) {
      if (err.status === 409 && err.body && err.body.duplicates) {
        setDups(err.body.duplicates);
        key.current = String(Date.now()) + Math.random();  /* the refusal used up the key */
      } else setError(err);
    }
    setBusy(false);
  };
  const up = (k) => (v) => { setF({ ...f, [k]: v }); if (k === 'email' || k === 'phone') setDups(null); };
  const same = (d) => (d.matched || []).map((m) => (m.key === 'email' ? 'e-mail ' : 'phone ') + m.value).join(', ');
  return html`<${Dialog} open=${open} title="New lead" onClose=${onClose}>
    <form onSubmit=${submit} class="form-grid" novalidate>
      <${ErrorBox} error=${error && !Object.keys(fe).length ? error : null} />
      <${Input} label="Full name" value=${f.full_name} onInput=${up('full_name')} required error=${fe.full_name} />
      <${Input} label="Company" value=${f.company} onInput=${up('company')} error=${fe.company} />
      <${Input} label="Email" type="email" value=${f.email} onInput=${up('email')} error=${fe.emails || fe['emails[0]'] || fe['emails.0']} />
      <${Input} label="Phone" type="tel" value=${f.phone} onInput=${up('phone')} error=${fe.phones || fe['phones[0]'] || fe['phones.0']} />
      <${Select} label="Source" value=${f.source_id} empty="—" options=${optionsOf(refs.sources)} onChange=${up('source_id')} error=${fe.source_id} />
      <${Select} label="Owner" value=${f.owner_id} options=${optionsOf(refs.users.length ? refs.users : [user])} onChange=${up('owner_id')} error=${fe.owner_id} />
      ${dups ? html`<div class="dup-warning" role="alert">
        <p><b>${dups.length === 1 ? 'An open lead has' : dups.length + ' open leads have'} the same details.</b> Open it instead of creating a duplicate?</p>
        <ul>${dups.map((d) => html`<li key=${d.id}>${d.visible
          ? html`<${Link} href=${'/leads/' + d.id} onClick=${onClose}>Open ${d.full_name}<//> <span class="muted small">(${d.owner_name || 'no owner'}, same ${same(d)})</span>`
          : html`Lead #${d.id} of ${d.owner_name || 'another user'} <span class="muted small">(same ${same(d)})</span>`}</li>`)}</ul>
        <button type="button" class="btn btn-ghost" disabled=${busy} onClick=${() => submit(null, true)}>Create anyway</button>
      </div>` : null}
      <div class="actions"><button type="button" class="btn btn-ghost" onClick=${onClose}>Cancel</button>
        <button class="btn btn-primary" type="submit" disabled=${busy || !f.full_name.trim() || !!dups}>Create lead</button></div>
    </form>
  <//>`;
}

export function LeadsPage() {
  const can = useCan();
  const loc = useLocation();
  const filters = readFilters(loc.search);
  const key = JSON.stringify(filters);
  const [cursors, setCursors] = useState([null]);  // cursor of each page seen, for Previous
  const [page, setPage] = useState({ loading: true, items: [], next: null, total: null, error: null });
  const [selected, setSelected] = useState(new Set());
  const [newOpen, setNewOpen] = useState(false);
  const [importOpen, setImportOpen] = useState(false);
  const seq = useRef(0);
  const cursor = cursors[cursors.length - 1];

  const load = async () => {
    const my = ++seq.current;
    setPage((p) => ({ ...p, loading: true, error: null }));
    try {
      const r = await api.leads.list({ ...apiQuery(filters), cursor, limit: 50, total: 1 });
      if (my !== seq.current) return;
      if (!performance.getEntriesByName('lp:leads-data').length) performance.mark('lp:leads-data');
      setPage({ loading: false, items: r.items || [], next: r.next_cursor || null, total: r.total ?? null, error: null });
    } catch (e) { if (my === seq.current) setPage((p) => ({ ...p, loading: false, error: e })); }
  };
  // started from a layout effect so the request leaves before the first paint, not after it;
  // new filters go back to the first page
  const prevKey = useRef(key);
  useLayoutEffect(() => {
    if (prevKey.current !== key) {
      prevKey.current = key;
      setSelected(new Set());
      if (cursors.length > 1) { setCursors([null]); return; }
    }
    load();
  }, [key, cursor]);

  const set = (f, replace) => writeFilters(f, replace);
  const toggle = (id) => setSelected((s) => { const n = new Set(s); n.has(id) ? n.delete(id) : n.add(id); return n; });
  const toggleAll = (on) => setSelected((s) => { const n = new Set(s); page.items.forEach((l) => (on ? n.add(l.id) : n.delete(l.id))); return n; });
  const pageNo = cursors.length;
  // no selection and no bulk bar where the caller's role denies bulk actions (GET /me "can")
  const bulkOk = can.bulk !== 'deny';
  // a search that finds nothing among open leads offers to look among all of them
  const noMatch = !page.loading && !page.error && !page.items.length && !!filters.q && (filters.status || 'open') === 'open';
  return html`<section class="page">
    <div class="page-head"><h1>Leads</h1>
      <div class="head-actions">
        <a class="btn" href=${exportHref(filters)} download="leads.csv">Export CSV</a>
        <button type="button" class="btn" onClick=${() => setImportOpen(true)}>Import CSV</button>
        <button type="button" class="btn btn-primary" onClick=${() => setNewOpen(true)}>New lead</button>
      </div></div>
    <${Filters} filters=${filters} set=${set} />
    ${bulkOk ? html`<${BulkBar} ids=${[...selected]} onDone=${load} clear=${() => setSelected(new Set())} />` : null}
    <${ErrorBox} error=${page.error} />
    <div class="list-meta" aria-live="polite">
      ${page.loading ? html`<span class="spinner" aria-hidden="true"></span> Loading…` :
        page.total !== null ? plural(page.total, 'lead') + (page.total ? ` · page ${pageNo}` : '') : `Page ${pageNo}`}
    </div>
    <div class=${page.loading && page.items.length ? 'dim' : ''}>
      ${page.loading && !page.items.length ? null : html`<${LeadsTable} items=${page.items} selected=${selected} onToggle=${bulkOk ? toggle : undefined}
        onToggleAll=${toggleAll} caption=${filters.status === 'closed' ? 'Closed leads, most recently closed first' : 'Leads'}
        closedView=${filters.status === 'closed'} emptyText=${noMatch ? '' : undefined} />`}
      ${noMatch ? html`<div class="empty no-match" role="status"><p>No open lead matches “${filters.q}”.</p>
        <button type="button" class="btn" onClick=${() => set({ ...filters, status: 'all', owner: can.view === 'own' ? filters.owner : 'any' })}>Search all leads</button>
        <span class="hint"> (open and closed${can.view !== 'own' && (filters.owner || 'me') === 'me' ? ', of everyone you may see' : ''})</span></div>` : null}
    </div>
    <nav class="pager" aria-label="Pages">
      <button type="button" class="btn" disabled=${cursors.length < 2 || page.loading} onClick=${() => setCursors(cursors.slice(0, -1))}>← Previous</button>
      <button type="button" class="btn" disabled=${!page.next || page.loading} onClick=${() => setCursors([...cursors, page.next])}>Next →</button>
    </nav>
    <${NewLeadDialog} open=${newOpen} onClose=${() => setNewOpen(false)} />
    <${ImportDialog} open=${importOpen} onClose=${() => setImportOpen(false)} onDone=${load} />
  </section>`;
}
