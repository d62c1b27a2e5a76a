// pages/board.js — the pipeline board (/board): open leads as cards in stage columns, each column
// with its count and value from the server (GET /leads/board: kept figures, not a count of the
// cards shown) and "Show more" paging through the leads list. A card dragged to another stage
// moves it through the ordinary stage move (PATCH stage_id, the planner's rules); dropped on an
// outcome under "Close as" it opens the close dialog with that outcome (reason, mandatory fields,
// approval: the dialog and the server decide). Every card has a "Move to…" menu, the keyboard's
// way to do the same. Filters as in the leads list: owner, source, search (kept in the address).
import { html, useEffect, useRef, useState } from '/vendor/htm-preact.mjs';
import * as api from '../api/index.js';
import { useApp, useCan, peopleOf, navigate, useLocation, Input, Select, ErrorBox, Notice, Link, Menu, nameOf, optionsOf } from '../ui.js';
import { CloseDialog } from '../components/close-dialog.js';
import { conflictMessage, isConflict } from '../conflict.js';
import { money, plural, useDebounced, fmtDate } from '../util.js';

const KEYS = ['owner', 'source', 'q'];
const PAGE = 20;

function readFilters(search) {
  const p = new URLSearchParams(search);
  const f = {};
  for (const k of KEYS) if (p.get(k)) f[k] = p.get(k);
  return f;
}
function writeFilters(f, replace) {
  const p = new URLSearchParams();
  for (const k of KEYS) if (f[k]) p.set(k, f[k]);
  const s = p.toString();
  navigate('/board' + (s ? '?' + s : ''), { replace });
}

// A column's value: each currency's sum ("€1,200.00 · $300.00"); leads without a currency count in the company's.
function valueText(col, currency) {
  const vs = (col.values || []).filter((v) => v.value_cents);
  if (!vs.length) return money(0, currency);
  const by = {};
  for (const v of vs) { const c = v.currency || currency || 'EUR'; by[c] = (by[c] || 0) + v.value_cents; }
  return Object.entries(by).map(([c, n]) => money(n, c)).join(' · ');
}

function Filters({ filters, set }) {
  const { refs, user } = useApp();
  const can = useCan();
  const people = peopleOf(refs.users, can);
  const [q, setQ] = useState(filters.q || '');
  const dq = useDebounced(q, 250);
  useEffect(() => { if ((filters.q || '') !== dq) set({ ...filters, q: dq }, true); }, [dq]);
  return html`<form class="filters card" role="search" aria-label="Filter the board" onSubmit=${(e) => e.preventDefault()}>
    <div class="filters-main">
      <${Input} id="board-search" type="search" label="Search" value=${q} onInput=${setQ} class="grow"
        placeholder="Name, company, email, phone, request…" autocomplete="off" />
      ${people.length > 1 ? html`<${Select} label="Owner" value=${filters.owner || 'me'} onChange=${(v) => set({ ...filters, owner: v })}
        options=${[{ value: 'me', label: 'Me' }, { value: 'any', label: can.view === 'all' ? 'Anyone' : 'Anyone I may see' },
          ...optionsOf(people.filter((p) => p.id !== user.id))]} />` : null}
      <${Select} label="Source" value=${filters.source || ''} empty="Any" onChange=${(v) => set({ ...filters, source: v })}
        options=${optionsOf(refs.sources)} />
    </div>
  </form>`;
}

function Card({ lead, stages, outcomes, onMove, onClose, dragging, setDragging }) {
  const { refs, settings } = useApp();
  const others = stages.filter((s) => s.id !== lead.stage_id);
  return html`<li class=${'bcard' + (dragging === lead.id ? ' bcard-dragging' : '')} draggable="true" data-lead=${lead.id}
      onDragStart=${(e) => { e.dataTransfer.setData('text/plain', String(lead.id)); e.dataTransfer.effectAllowed = 'move'; setDragging(lead.id); }}
      onDragEnd=${() => setDragging(null)}>
    <${Link} href=${'/leads/' + lead.id} class="bcard-name">${lead.full_name}<//>
    ${lead.company ? html`<div class="bcard-company">${lead.company}</div>` : null}
    <div class="bcard-meta">
      ${lead.value_cents ? html`<span class="bcard-value">${money(lead.value_cents, lead.currency || settings.currency)}</span>` : null}
      <span>${nameOf(refs.users, lead.owner_id, 'No owner')}</span>
      <span title=${'Created ' + fmtDate(lead.created_at)}>${plural(lead.age_days ?? 0, 'day')}</span>
    </div>
    <${Menu} label=${html`Move<span class="sr-only"> ${lead.full_name}</span> to…`} items=${[
      ...others.map((s) => ({ label: s.name, onSelect: () => onMove(lead, s) })),
      ...outcomes.map((o) => ({ label: `Close as ${o.name}…`, onSelect: () => onClose(lead, o.key) })),
    ]} />
  </li>`;
}

function Column({ col, filters, cards, more, onMoreLoaded, drop, children }) {
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState(false);
  const { settings } = useApp();
  const loadMore = async () => {
    setBusy(true);
    try {
      const r = await api.leads.list({ ...filters, owner: filters.owner || 'me', status: 'open', stage: col.stage_id, cursor: more, limit: PAGE });
      onMoreLoaded(col.stage_id, r.items || [], r.next_cursor || null);
    } finally { setBusy(false); }
  };
  const hid = `col-h-${col.stage_id}`;
  return html`<section class=${'bcol' + (over ? ' bcol-over' : '')} aria-labelledby=${hid} data-stage=${col.stage_id}
      onDragOver=${(e) => { e.preventDefault(); setOver(true); }} onDragLeave=${() => setOver(false)}
      onDrop=${(e) => { e.preventDefault(); setOver(false); drop(Number(e.dataTransfer.getData('text/plain')), col); }}>
    <header class="bcol-head">
      <h2 id=${hid}>${col.name}</h2>
      <p class="bcol-figures"><span class="bcol-count">${plural(col.count, 'lead')}</span> · <span class="bcol-value">${valueText(col, settings.currency)}</span></p>
    </header>
    <ul class="bcards" aria-label=${`Leads in ${col.name}`}>${children}</ul>
    ${cards < col.count && more ? html`<button type="button" class="btn btn-small bcol-more" disabled=${busy} onClick=${loadMore}>
      Show more (${col.count - cards} not shown)</button>` : null}
  </section>`;
}

export function BoardPage() {
  const { refs } = useApp();
  const loc = useLocation();
  const filters = readFilters(loc.search);
  const key = JSON.stringify(filters);
  const [data, setData] = useState({ loading: true, columns: [], error: null });
  const [extra, setExtra] = useState({});   // stage_id -> {items, next} loaded with "Show more"
  const [dragging, setDragging] = useState(null);
  const [msg, setMsg] = useState(null);
  const [error, setError] = useState(null);
  const [closing, setClosing] = useState(null);  // {lead, outcome, tasks, transitions}
  const seq = useRef(0);
  // merged is the merge's own outcome (docs/merge.md), not one to close a lead with by hand
  const outcomes = (refs.outcomes || []).filter((o) => o.active !== false && o.key !== 'merged');
  const stages = (refs.stages || []).filter((s) => s.active !== false);

  const load = async () => {
    const my = ++seq.current;
    setData((d) => ({ ...d, loading: true }));
    try {
      const b = await api.leads.board({ ...filters, limit: PAGE });
      if (my !== seq.current) return;
      setData({ loading: false, columns: b.columns || [], error: null });
      setExtra({});
    } catch (e) { if (my === seq.current) setData((d) => ({ ...d, loading: false, error: e })); }
  };
  useEffect(() => { load(); }, [key]);

  const all = data.columns.flatMap((c) => [...c.items, ...((extra[c.stage_id] || {}).items || [])]);
  const find = (id) => all.find((l) => l.id === id);

  const move = async (lead, stage) => {
    if (!lead || lead.stage_id === stage.id) return;
    setError(null); setMsg(null);
    try {
      await api.leads.update(lead.id, { stage_id: stage.id }, lead.version);
      setMsg(`${lead.full_name} moved to ${stage.name}.`);
    } catch (e) {
      setError(isConflict(e) ? { message: conflictMessage('lead', 'The board now shows the latest: try the move again.') }
        : { message: `${lead.full_name} could not move to ${stage.name}: ${e.message}` });
    }
    load();
  };
  const closeAs = async (lead, outcome) => {
    setError(null); setMsg(null);
    try {
      const [tasks, transitions] = await Promise.all([
        api.tasks.listAll({ lead: lead.id, status: 'open', assignee: 'any' }).catch(() => []),
        api.leads.transitions(lead.id).catch(() => [])]);
      setClosing({ lead, outcome, tasks, transitions });
    } catch (e) { setError(e); }
  };
  const drop = (id, col) => { const l = find(id); if (l) move(l, { id: col.stage_id, name: col.name }); };
  const dropClose = (id, outcome) => { const l = find(id); if (l) closeAs(l, outcome); };
  const moreLoaded = (sid, items, next) => setExtra((x) => ({ ...x, [sid]: { items: [...((x[sid] || {}).items || []), ...items], next } }));
  const total = data.columns.reduce((n, c) => n + c.count, 0);

  return html`<section class="page page-board">
    <div class="page-head"><h1>Pipeline</h1>
      <div class="head-actions"><${Link} class="btn" href=${'/leads' + (loc.search || '')}>List view<//></div></div>
    <${Filters} filters=${filters} set=${writeFilters} />
    <${ErrorBox} error=${data.error || error} />
    ${msg ? html`<${Notice} text=${msg} />` : null}
    <p class="list-meta" aria-live="polite">${data.loading ? html`<span class="spinner" aria-hidden="true"></span> Loading…`
      : `${plural(total, 'open lead')} in ${plural(data.columns.length, 'stage')}. Drag a card to another stage, or use its “Move to…” menu.`}</p>
    ${data.columns.length ? html`<section class="bclosebar" aria-labelledby="close-h">
      <h2 id="close-h">Close as</h2>
      <p class="hint">Drop a card on an outcome to close the lead (the close dialog opens), or use its “Move to…” menu.</p>
      <ul class="bclose-targets">${outcomes.map((o) => html`<li key=${o.key} class=${'bclose bclose-' + o.kind} data-outcome=${o.key}
          onDragOver=${(e) => { e.preventDefault(); e.currentTarget.classList.add('bcol-over'); }}
          onDragLeave=${(e) => e.currentTarget.classList.remove('bcol-over')}
          onDrop=${(e) => { e.preventDefault(); e.currentTarget.classList.remove('bcol-over'); dropClose(Number(e.dataTransfer.getData('text/plain')), o.key); }}>
        ${o.name}</li>`)}</ul>
    </section>` : null}
    <div class=${'board' + (data.loading && data.columns.length ? ' dim' : '')}>
      ${data.columns.map((c) => {
        const ex = extra[c.stage_id];
        const cards = [...c.items, ...((ex && ex.items) || [])];
        return html`<${Column} key=${c.stage_id} col=${c} filters=${filters} cards=${cards.length}
            more=${ex ? ex.next : c.next_cursor} onMoreLoaded=${moreLoaded} drop=${drop}>
          ${cards.map((l) => html`<${Card} key=${l.id} lead=${l} stages=${stages} outcomes=${outcomes} onMove=${move} onClose=${closeAs}
            dragging=${dragging} setDragging=${setDragging} />`)}
        <//>`;
      })}
    </div>
    ${closing ? html`<${CloseDialog} open=${true} lead=${closing.lead} tasks=${closing.tasks} transitions=${closing.transitions}
      initialOutcome=${closing.outcome} onClose=${() => setClosing(null)}
      onDone=${(r) => { setClosing(null); setMsg(r.message); load(); }}
      onRefresh=${async () => { try { const l = await api.leads.read(closing.lead.id); setClosing({ ...closing, lead: l }); } catch (e) { setError(e); } }} />` : null}
  </section>`;
}
