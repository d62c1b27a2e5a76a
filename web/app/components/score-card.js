// components/score-card.js — the lead page's "Score" card: the rule points (score) and the win
// probability learned from the team's closed history, with the features that moved it most (up
// or down, in words and arrows, not colour alone). Both are the server's (docs/scoring.md).
import { html } from '/vendor/htm-preact.mjs';

const FEATURE = { source: 'Source', location: 'Location', service: 'Service', country: 'Country', owner: 'Owner' };

export function ScoreCard({ lead }) {
  const p = lead.win_probability;
  return html`<section class="card score-card" aria-labelledby="score-h">
    <h2 id="score-h">Score</h2>
    <dl class="kv">
      <dt>Score</dt><dd class="score-points">${lead.score ?? 0}</dd>
      <dt>Win probability</dt>
      <dd class="win-prob">${p === null || p === undefined ? html`<span class="muted">Not enough closed leads yet</span>`
        : `${Math.round(p * 100)}%`}</dd>
    </dl>
    ${p !== null && p !== undefined && lead.win_factors && lead.win_factors.length ? html`
      <p class="hint">What moves it most:</p>
      <ul class="win-factors">${lead.win_factors.map((f) => html`<li class=${'factor-' + f.direction}>
        <span aria-hidden="true">${f.direction === 'up' ? '▲' : '▼'}</span>
        ${' '}${FEATURE[f.feature] || f.feature}: ${f.label}
        <span class="sr-only">${f.direction === 'up' ? ' (raises it)' : ' (lowers it)'}</span>
      </li>`)}</ul>` : null}
  </section>`;
}
