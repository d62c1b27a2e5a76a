// util.js — formatting (dates in the user's time zone via Intl), small helpers and hooks.
import { useEffect, useRef, useState } from '/vendor/htm-preact.mjs';

const dateTimeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const relFmt = typeof Intl.RelativeTimeFormat === 'function' ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;
export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function parseDate(v) {
  if (!v) return null;
  // timestamps are RFC 3339 strings; a number is taken as Unix seconds (or milliseconds if huge)
  const d = typeof v === 'number' ? new Date(v < 1e12 ? v * 1000 : v) : new Date(v);
  return isNaN(d) ? null : d;
}
export function fmtDateTime(v) { const d = parseDate(v); return d ? dateTimeFmt.format(d) : ''; }
export function fmtDate(v) { const d = parseDate(v); return d ? dateFmt.format(d) : ''; }
export function fmtRelative(v, now = Date.now()) {
  const d = parseDate(v);
  if (!d || !relFmt) return fmtDateTime(v);
  const diff = (d.getTime() - now) / 1000;
  const abs = Math.abs(diff);
  if (abs < 60) return relFmt.format(Math.round(diff), 'second');
  if (abs < 3600) return relFmt.format(Math.round(diff / 60), 'minute');
  if (abs < 86400) return relFmt.format(Math.round(diff / 3600), 'hour');
  return relFmt.format(Math.round(diff / 86400), 'day');
}

const pad = (n) => String(n).padStart(2, '0');
// ISO (UTC) -> value for <input type="datetime-local"> in the user's zone.
export function toLocalInput(v) {
  const d = parseDate(v);
  if (!d) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
// <input type="datetime-local"> value (user's zone) -> RFC 3339 UTC.
export function fromLocalInput(s) {
  if (!s) return null;
  const d = new Date(s);
  return isNaN(d) ? null : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
// <input type="date"> value -> start (or end) of that day in the user's zone, as RFC 3339 UTC.
export function dayToIso(s, endOfDay = false) {
  if (!s) return '';
  const d = new Date(s + (endOfDay ? 'T23:59:59' : 'T00:00:00'));
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
