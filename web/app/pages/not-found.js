// pages/not-found.js — what a path no route knows shows.
import { html } from '/vendor/htm-preact.mjs';
import { Link } from '../ui.js';

export function NotFound() {
  return html`<section class="page"><h1>Page not found</h1><p><${Link} href="/">Back to the dashboard<//></p></section>`;
}
