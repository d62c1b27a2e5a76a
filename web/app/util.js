// util.js — formatting (dates in the user's time zone via Intl: the company's, else the browser's),
// small helpers and hooks.
import { useEffect, useRef, useState } from '/vendor/htm-preact.mjs';

// Times are shown in the user's time zone: the company's `time_zone` setting when it has one
// (setTimeZone, from main.js once the settings are read), else the browser's.
export const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
export let timeZone = browserZone;
let dateTimeFmt, dateFmt, partsFmt;
function makeFormatters() {
  dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone });
  dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone });
  partsFmt = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
makeFormatters();
// tz: an IANA zone name ("Europe/London"); empty or unknown keeps the browser's.
export function setTimeZone(tz) {
  let z = browserZone;
  if (tz) { try { new Intl.DateTimeFormat('en-US', { timeZone: tz }); z = tz; } catch { /* not a zone this browser knows */ } }
  if (z === timeZone) return;
  timeZone = z;
  makeFormatters();
}
const relFmt = typeof Intl.RelativeTimeFormat === 'function' ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;

// The wall clock of d in the user's zone: {year, month (1-12), day, hour, minute, second}.
function wall(d) {
  const o = {};
  for (const p of partsFmt.formatToParts(d)) if (p.type !== 'literal') o[p.type] = Number(p.value);
  if (o.hour === 24) o.hour = 0;
  return o;
}
// Milliseconds the zone is ahead of UTC at d.
function offsetAt(d) {
  const w = wall(d);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(d.getTime() / 1000) * 1000;
}
// A wall-clock time in the user's zone -> Date.
function fromWall(y, mo, d, h = 0, mi = 0, s = 0) {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s);
  let t = guess - offsetAt(new Date(guess));
  const again = guess - offsetAt(new Date(t));   // across a change of offset, the second guess is right
  if (again !== t) t = again;
  return new Date(t);
}
// The calendar day of d in the user's zone, as a day number (days since 1970-01-01).
function dayNumber(d) { const w = wall(d); return Date.UTC(w.year, w.month - 1, w.day) / 86400000; }
// Calendar days from now to v in the user's zone: 0 today, 1 tomorrow, -1 yesterday.
export function calendarDays(v, now = Date.now()) {
  const d = parseDate(v);
  return d ? dayNumber(d) - dayNumber(new Date(now)) : null;
}

export function parseDate(v) {
  if (!v) return null;
  // timestamps are RFC 3339 strings; a number is taken as Unix seconds (or milliseconds if huge)
  const d = typeof v === 'number' ? new Date(v < 1e12 ? v * 1000 : v) : new Date(v);
  return isNaN(d) ? null : d;
}
export function fmtDateTime(v) { const d = parseDate(v); return d ? dateTimeFmt.format(d) : ''; }
export function fmtDate(v) { const d = parseDate(v); return d ? dateFmt.format(d) : ''; }
// Relative words: minutes and hours within today, else calendar days in the user's zone —
// "tomorrow" only for the next calendar day, "in 2 days" for the one after.
export function fmtRelative(v, now = Date.now()) {
  const d = parseDate(v);
  if (!d || !relFmt) return fmtDateTime(v);
  const diff = (d.getTime() - now) / 1000;
  const abs = Math.abs(diff);
  if (abs < 60) return relFmt.format(Math.round(diff), 'second');
  if (abs < 3600) return relFmt.format(Math.round(diff / 60), 'minute');
  const days = calendarDays(d, now);
  if (days === 0) return relFmt.format(Math.round(diff / 3600), 'hour');
  return relFmt.format(days, 'day');
}
// The relative words with the date itself beside them: "tomorrow · 8 Dec 2026, 09:00".
export function fmtWhen(v, now = Date.now()) {
  const d = parseDate(v);
  return d ? `${fmtRelative(d, now)} · ${fmtDateTime(d)}` : '';
}

const pad = (n) => String(n).padStart(2, '0');
// ISO (UTC) -> value for <input type="datetime-local"> in the user's zone.
export function toLocalInput(v) {
  const d = parseDate(v);
  if (!d) return '';
  const w = wall(d);
  return `${w.year}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}
// <input type="datetime-local"> value (user's zone) -> RFC 3339 UTC.
export function fromLocalInput(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(s || '');
  if (!m) return null;
  const d = fromWall(+m[1], +m[2], +m[3], +m[4], +m[5], +(m[6] || 0));
  return isNaN(d) ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
// <input type="date"> value -> start (or end) of that day in the user's zone, as RFC 3339 UTC.
export function dayToIso(s, endOfDay = false) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  if (!m) return '';
  const d = endOfDay ? fromWall(+m[1], +m[2], +m[3], 23, 59, 59) : fromWall(+m[1], +m[2], +m[3]);
  return isNaN(d) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
export function addDays(date, days) { const d = new Date(date); d.setDate(d.getDate() + days); return d; }

export function money(cents, currency) {
  if (cents === null || cents === undefined || cents === '') return '';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency || 'EUR' }).format(cents / 100);
  } catch { return (cents / 100).toFixed(2) + ' ' + (currency || ''); }
}

export function humanize(s) {
  if (!s) return '';
  const t = String(s).replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

export function plural(n, one, many) { return `${n} ${n === 1 ? one : (many || one + 's')}`; }

export function listWords(arr) {
  if (!arr.length) return '';
  if (arr.length === 1) return arr[0];
  return arr.slice(0, -1).join(', ') + ' and ' + arr[arr.length - 1];
}

export function useDebounced(value, ms) {
  const [v, setV] = useState(value);
  useEffect(() => { const t = setTimeout(() => setV(value), ms); return () => clearTimeout(t); }, [value, ms]);
  return v;
}

// Runs an async loader when deps change; ignores answers that arrive after newer ones.
export function useLoader(fn, deps) {
  const [state, setState] = useState({ loading: true, data: null, error: null });
  const seq = useRef(0);
  const reload = () => {
    const my = ++seq.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    return Promise.resolve().then(fn).then(
      (data) => { if (my === seq.current) setState({ loading: false, data, error: null }); return data; },
      (error) => { if (my === seq.current) setState((s) => ({ loading: false, data: s.data, error })); });
  };
  useEffect(() => { reload(); }, deps);
  return [state, reload, (data) => setState({ loading: false, data, error: null })];
}

let idSeq = 0;
export function uid(prefix = 'id') { idSeq += 1; return `${prefix}-${idSeq}`; }
export function useId(prefix) { const r = useRef(null); if (!r.current) r.current = uid(prefix); return r.current; }
