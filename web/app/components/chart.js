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
// alternative. Other reports reuse it (reports2: aging, funnel); LineChart draws a trend.
import { html } from '/vendor/htm-preact.mjs';

const BAR_H = 26;
const GAP = 10;
const LABEL_W = 170;
const WIDTH = 720;
const NUM_W = 56;

function fmt(n, unit) {
  if (unit === 'percent') return `${Math.round(n * 100)}%`;
  return Number(n).toLocaleString();
}

export function Legend({ series }) {
  return html`<ul class="chart-legend">${series.map((s) => html`<li key=${s.key}>
    <svg width="14" height="14" aria-hidden="true" focusable="false"><rect class=${'tone-' + s.tone} width="14" height="14" rx="3" /></svg>
    ${s.label}</li>`)}</ul>`;
}

export function BarChart({ title, rows, series, onSelect, unit, empty = 'Nothing to show for this period.' }) {
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
          <text aria-hidden="true" class="chart-label" x=${LABEL_W - 8} y=${y + BAR_H / 2} dominant-baseline="middle" text-anchor="end">${r.label.length > 24 ? r.label.slice(0, 23) + '…' : r.label}</text>
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

// A trend: points [{label, value}] in order, as a line with its points (each a focusable mark).
export function LineChart({ title, points, tone = 'blue', unit }) {
  if (!points.length) return html`<p class="empty">Nothing to show for this period.</p>`;
  const H = 200, W = WIDTH, P = 30;
  const max = Math.max(1, ...points.map((p) => p.value));
  const step = points.length > 1 ? (W - 2 * P) / (points.length - 1) : 0;
  const xy = points.map((p, i) => [P + i * step, H - P - (p.value / max) * (H - 2 * P)]);
  return html`<figure class="chart">
    <figcaption class="sr-only">${title}</figcaption>
    <svg class="chart-svg" viewBox=${`0 0 ${W} ${H}`} role="group" aria-label=${title}>
      <line class="chart-axis" x1=${P} y1=${H - P} x2=${W - P} y2=${H - P} />
      <polyline class=${'chart-line tone-line-' + tone} points=${xy.map((p) => p.join(',')).join(' ')} />
      ${points.map((p, i) => html`<circle key=${i} class=${'tone-' + tone} cx=${xy[i][0]} cy=${xy[i][1]} r="4" tabindex="0" role="img"
        aria-label=${`${p.label}: ${fmt(p.value, unit)}`}><title>${p.label}: ${fmt(p.value, unit)}</title></circle>`)}
    </svg>
  </figure>`;
}
