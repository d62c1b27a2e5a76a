// components/chart.js — a small, accessible bar chart in SVG (no library: the page draws a
// few dozen bars, and hand-rolled SVG keeps it offline, tiny and styled by app.css).
//   <BarChart title rows series onSelect unit />
//   rows:   [{key, label, values: {seriesKey: number}}]  one bar per row, stacked by series
//   series: [{key, label, tone}]  tone names a colour of the colour-blind-safe palette in app.css
//           (.tone-blue, -green, -vermillion, -orange, -sky, -purple, -gray: Okabe–Ito)
//   onSelect(row, seriesKey|null): a click on a segment, or Enter/Space on a focused bar
// Each bar is a focusable button for the keyboard and screen readers, whose name reads its
// figures; the legend names the colours, and each segment also carries its number when it fits,
// so colour is never the only cue. The table beside the chart (the page's) is the full
// alternative. Other reports reuse it (aging, win-back); LineChart draws a trend (several series,
// one keyboard stop that arrows move through the periods); FunnelChart the stage funnel.
// On a narrow screen (a phone) the charts draw in a narrower box, so the text keeps its size.
import { html, useEffect, useRef, useState } from '/vendor/htm-preact.mjs';

const BAR_H = 26;
const GAP = 10;
const NUM_W = 56;
const NARROW = '(max-width: 640px)';

// The drawing box: 720 wide with 170 for labels; 360 with 110 on a phone.
function useBox() {
  const mq = typeof matchMedia === 'function' ? matchMedia(NARROW) : null;
  const [narrow, setNarrow] = useState(mq ? mq.matches : false);
  useEffect(() => {
    if (!mq) return undefined;
    const on = () => setNarrow(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  return narrow ? { WIDTH: 360, LABEL_W: 110, CUT: 15 } : { WIDTH: 720, LABEL_W: 170, CUT: 24 };
}
const cut = (s, n) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

function fmt(n, unit) {
  if (unit === 'percent') return `${Math.round(n * 100)}%`;
  return Number(n).toLocaleString();
}

export function Legend({ series, dashed = false }) {
  return html`<ul class="chart-legend">${series.map((s, i) => html`<li key=${s.key}>
    ${dashed ? html`<svg width="30" height="14" aria-hidden="true" focusable="false">
        <line class=${'chart-line tone-line-' + s.tone} x1="1" y1="7" x2="29" y2="7" stroke-dasharray=${DASHES[i % 4] || undefined} />
        <${Marker} i=${i} x=${15} y=${7} tone=${s.tone} /></svg>`
      : html`<svg width="14" height="14" aria-hidden="true" focusable="false"><rect class=${'tone-' + s.tone} width="14" height="14" rx="3" /></svg>`}
    ${s.label}</li>`)}</ul>`;
}

export function BarChart({ title, rows, series, onSelect, unit, empty = 'Nothing to show for this period.' }) {
  const { WIDTH, LABEL_W, CUT } = useBox();
  if (!rows.length) return html`<p class="empty">${empty}</p>`;
  const totals = rows.map((r) => series.reduce((s, x) => s + (r.values[x.key] || 0), 0));
  const max = Math.max(1, ...totals);
  const plotW = WIDTH - LABEL_W - NUM_W;
  const height = rows.length * (BAR_H + GAP) + GAP;
  const describe = (r, i) => `${r.label}: ${series.map((s) => `${fmt(r.values[s.key] || 0, unit)} ${s.label.toLowerCase()}`).join(', ')}${series.length > 1 ? `; ${fmt(totals[i], unit)} in all` : ''}`;
  const key = (e, r) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onSelect && onSelect(r, null); } };
  return html`<figure class="chart">
    <figcaption class="sr-only">${title}</figcaption>
    ${series.length > 1 ? html`<${Legend} series=${series} />` : null}
    <svg class="chart-svg" viewBox=${`0 0 ${WIDTH} ${height}`} role="group" aria-label=${title} preserveAspectRatio="xMinYMin meet">
      ${rows.map((r, i) => {
        const y = GAP + i * (BAR_H + GAP);
        let x = LABEL_W;
        const segs = series.map((s) => {
          const v = r.values[s.key] || 0;
          if (!v) return null;
          const w = Math.max(2, (v / max) * plotW);
          const seg = { s, v, x, w };
          x += w;
          return seg;
        }).filter(Boolean);
        // the button holds shapes only (its name reads the figures); the words and numbers drawn
        // beside it are hidden from assistive technology, which has the name and the table
        return html`<g key=${r.key}>
          <text aria-hidden="true" class="chart-label" x=${LABEL_W - 8} y=${y + BAR_H / 2} dominant-baseline="middle" text-anchor="end">${cut(r.label, CUT)}</text>
          <g class="chart-bar" tabindex=${onSelect ? '0' : undefined} role=${onSelect ? 'button' : 'img'}
              aria-label=${describe(r, i)} onKeyDown=${(e) => key(e, r)} data-key=${r.key}>
            <rect class="chart-track" x=${LABEL_W} y=${y} width=${plotW} height=${BAR_H} rx="4" />
            ${segs.map((g) => html`<rect key=${g.s.key} class=${'chart-seg tone-' + g.s.tone} data-series=${g.s.key}
              x=${g.x} y=${y} width=${g.w} height=${BAR_H} onClick=${() => onSelect && onSelect(r, g.s.key)} />`)}
          </g>
          <g aria-hidden="true">
            ${segs.filter((g) => g.w > 26).map((g) => html`<text key=${g.s.key} class=${'chart-num on-' + g.s.tone} x=${g.x + g.w / 2} y=${y + BAR_H / 2}
              dominant-baseline="middle" text-anchor="middle">${fmt(g.v, unit)}</text>`)}
            <text class="chart-total" x=${WIDTH - NUM_W + 6} y=${y + BAR_H / 2} dominant-baseline="middle">${fmt(totals[i], unit)}</text>
          </g>
        </g>`;
      })}
    </svg>
  </figure>`;
}

// A trend: points [{key, label, values: {seriesKey: n}}] in order, one line per series. Each
// series has its colour, its own dash and its own marker shape (circle, square, triangle,
// diamond), so colour is never the only cue. The chart is one keyboard stop: Left/Right (Home,
// End) move through the periods, each read out with all its figures; Enter or a click on a
// marker calls onSelect(point, seriesKey|null).
const DASHES = ['', '6 4', '2 4', '10 4 2 4'];
function Marker({ i, x, y, tone }) {
  const cls = 'chart-mark tone-' + tone;
  if (i % 4 === 1) return html`<rect class=${cls} x=${x - 4} y=${y - 4} width="8" height="8" />`;
  if (i % 4 === 2) return html`<path class=${cls} d=${`M${x} ${y - 5} L${x + 5} ${y + 4} L${x - 5} ${y + 4} Z`} />`;
  if (i % 4 === 3) return html`<path class=${cls} d=${`M${x} ${y - 5} L${x + 5} ${y} L${x} ${y + 5} L${x - 5} ${y} Z`} />`;
  return html`<circle class=${cls} cx=${x} cy=${y} r="4.5" />`;
}

export function LineChart({ title, points, series, onSelect, unit, empty = 'Nothing to show for this period.' }) {
  const { WIDTH } = useBox();
  const [at, setAt] = useState(points.length - 1);
  const [active, setActive] = useState(false);
  const ref = useRef(null);
  useEffect(() => { if (at > points.length - 1) setAt(Math.max(0, points.length - 1)); }, [points.length]);
  if (!points.length) return html`<p class="empty">${empty}</p>`;
  const H = 220, L = 40, R = 14, T = 12, B = 30;
  const max = Math.max(1, ...points.flatMap((p) => series.map((s) => p.values[s.key] || 0)));
  const plotW = WIDTH - L - R, plotH = H - T - B;
  const step = points.length > 1 ? plotW / (points.length - 1) : 0;
  const X = (i) => L + (points.length > 1 ? i * step : plotW / 2);
  const Y = (v) => T + plotH - (v / max) * plotH;
  const describe = (p) => `${p.label}: ${series.map((s) => `${fmt(p.values[s.key] || 0, unit)} ${s.label.toLowerCase()}`).join(', ')}`;
  const cur = Math.min(at, points.length - 1);
  const key = (e) => {
    let n = cur;
    if (e.key === 'ArrowRight' || e.key === 'ArrowUp') n = Math.min(points.length - 1, cur + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowDown') n = Math.max(0, cur - 1);
    else if (e.key === 'Home') n = 0;
    else if (e.key === 'End') n = points.length - 1;
    else if ((e.key === 'Enter' || e.key === ' ') && onSelect) { e.preventDefault(); onSelect(points[cur], null); return; }
    else return;
    e.preventDefault();
    setAt(n);
  };
  // x labels: the first, the last and a few between, never crowded
  const every = Math.max(1, Math.ceil(points.length / (WIDTH < 500 ? 3 : 6)));
  const ticks = points.map((p, i) => i).filter((i) => i % every === 0 || i === points.length - 1)
    .filter((i, k, arr) => i === points.length - 1 || arr[k + 1] === undefined || (arr[k + 1] - i) * step > 60 || points.length === 1);
  return html`<figure class="chart">
    <figcaption class="sr-only">${title}</figcaption>
    <${Legend} series=${series} dashed=${true} />
    <svg class="chart-svg" viewBox=${`0 0 ${WIDTH} ${H}`} ref=${ref}>
      <g aria-hidden="true">
        <line class="chart-axis" x1=${L} y1=${T + plotH} x2=${WIDTH - R} y2=${T + plotH} />
        <line class="chart-grid" x1=${L} y1=${T} x2=${WIDTH - R} y2=${T} />
        <text class="chart-tick" x=${L - 6} y=${T} dominant-baseline="middle" text-anchor="end">${fmt(max, unit)}</text>
        <text class="chart-tick" x=${L - 6} y=${T + plotH} dominant-baseline="middle" text-anchor="end">0</text>
        ${ticks.map((i) => html`<text key=${'t' + i} class="chart-tick" x=${X(i)} y=${H - 8}
          text-anchor=${points.length === 1 ? 'middle' : i === 0 ? 'start' : i === points.length - 1 ? 'end' : 'middle'}>${points[i].short || points[i].label}</text>`)}
        ${active ? html`<line class="chart-cursor" x1=${X(cur)} y1=${T} x2=${X(cur)} y2=${T + plotH} />` : null}
        ${series.map((s, si) => html`<polyline key=${s.key} class=${'chart-line tone-line-' + s.tone} stroke-dasharray=${DASHES[si % 4] || undefined}
          points=${points.map((p, i) => `${X(i)},${Y(p.values[s.key] || 0)}`).join(' ')} />`)}
      </g>
      <g>
        ${series.map((s, si) => points.map((p, i) => html`<g key=${s.key + i} class="chart-point" data-series=${s.key} onClick=${() => onSelect && onSelect(p, s.key)}>
          <${Marker} i=${si} x=${X(i)} y=${Y(p.values[s.key] || 0)} tone=${s.tone} /></g>`))}
      </g>
      <g class="chart-focus" role="button" tabindex="0" aria-label=${`${title}. ${describe(points[cur])}. Left and right arrows move between periods.`}
        onKeyDown=${key} onFocus=${() => setActive(true)} onBlur=${() => setActive(false)}>
        <rect class="chart-focus-ring" x=${L - 4} y=${T - 4} width=${plotW + 8} height=${plotH + 8} rx="4" />
      </g>
    </svg>
    <p class="sr-only" aria-live="polite">${active ? describe(points[cur]) : ''}</p>
  </figure>`;
}

// The stage funnel: rows [{key, label, value, next (share 0..1 | null), note}] in order, one
// centred bar each, as wide as its value; the share that went on to the next step is written
// beside it. Each bar is a focusable button (Enter: onSelect(row)) whose name reads its figures.
export function FunnelChart({ title, rows, onSelect, tone = 'blue', describe, empty = 'Nothing to show for this period.' }) {
  const { WIDTH, LABEL_W, CUT } = useBox();
  if (!rows.length) return html`<p class="empty">${empty}</p>`;
  const RIGHT = WIDTH < 500 ? 56 : 96;
  const plotW = WIDTH - LABEL_W - RIGHT;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const RH = 30, G = 8;
  const height = rows.length * (RH + G) + G;
  const key = (e, r) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onSelect && onSelect(r); } };
  return html`<figure class="chart">
    <figcaption class="sr-only">${title}</figcaption>
    <svg class="chart-svg" viewBox=${`0 0 ${WIDTH} ${height}`} role="group" aria-label=${title}>
      ${rows.map((r, i) => {
        const y = G + i * (RH + G);
        const w = Math.max(2, (r.value / max) * plotW);
        const x = LABEL_W + (plotW - w) / 2;
        return html`<g key=${r.key}>
          <text aria-hidden="true" class="chart-label" x=${LABEL_W - 8} y=${y + RH / 2} dominant-baseline="middle" text-anchor="end">${cut(r.label, CUT)}</text>
          <g class="chart-bar" tabindex=${onSelect ? '0' : undefined} role=${onSelect ? 'button' : 'img'} data-key=${r.key}
              aria-label=${describe ? describe(r) : `${r.label}: ${r.value}`} onKeyDown=${(e) => key(e, r)} onClick=${() => onSelect && onSelect(r)}>
            <rect class="chart-track" x=${LABEL_W} y=${y} width=${plotW} height=${RH} rx="4" />
            <rect class=${'chart-seg tone-' + (r.tone || tone)} x=${x} y=${y} width=${w} height=${RH} rx="3" />
          </g>
          <g aria-hidden="true">
            <text class=${'chart-num' + (w > 40 ? ' on-' + (r.tone || tone) : '')} x=${w > 40 ? LABEL_W + plotW / 2 : x + w + 6} y=${y + RH / 2}
              dominant-baseline="middle" text-anchor=${w > 40 ? 'middle' : 'start'}>${fmt(r.value)}</text>
            ${r.next !== null && r.next !== undefined ? html`<text class="chart-total" x=${WIDTH - RIGHT + 8} y=${y + RH / 2}
              dominant-baseline="middle">${`${Math.round(r.next * 100)}% →`}</text>` : null}
          </g>
        </g>`;
      })}
    </svg>
  </figure>`;
}
