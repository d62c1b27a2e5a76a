// components/shell.js — the frame around every page: skip link, header with the main
// navigation, the notifications bell and the user, the footer. A new top-level screen adds its
// link to NAV (its route goes in routes.js).
import { html, useEffect, useRef, useState } from '/vendor/htm-preact.mjs';
import { Link, navigate, useLocation } from '../ui.js';
import { timeZone } from '../util.js';
import { NewMessageButton } from './new-message.js';
import { NotesContext, NotificationsButton, useNotifications } from './notifications.js';

const NAV = [
  { href: '/', label: 'Dashboard' },
  { href: '/leads', label: 'Leads' },
  { href: '/board', label: 'Pipeline' },
  { href: '/approvals', label: 'Approvals' },
  { href: '/customers', label: 'Customers' },
  { href: '/tickets', label: 'Tickets' },
  { href: '/reports', label: 'Reports' },
  { href: '/settings', label: 'Settings' },
];

const editable = (el) => !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
let searchWanted = false;   // "/" pressed on a page without a search: the leads page's gets focus

// Focus after a navigation: the new page's heading (so a screen reader starts there and Tab goes
// on from it), or the search box when "/" asked for it; tried until the page has drawn its
// heading (a page may show a spinner first), never taking focus from a dialog or a field.
function focusPage() {
  let tries = 0;
  const go = () => {
    const at = document.activeElement;
    if (at && (at.closest('dialog') || (editable(at) && !searchWanted))) return;
    const el = searchWanted ? document.querySelector('main input[type=search]') : document.querySelector('main h1');
    if (!el) { if (++tries < 40) setTimeout(go, 50); return; }
    if (!searchWanted && !el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
    searchWanted = false;
    el.focus({ preventScroll: true });
  };
  setTimeout(go, 0);
}

// "/" anywhere outside a field focuses the page's search (on a page without one: the leads list's).
function onSlash(e) {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || editable(e.target) || document.querySelector('dialog[open]')) return;
  e.preventDefault();
  const el = document.querySelector('main input[type=search]');
  if (el) { el.focus(); el.select && el.select(); return; }
  searchWanted = true;
  navigate('/leads');
}

export function Shell({ user, onLogout, children }) {
  const [navOpen, setNavOpen] = useState(false);
  const loc = useLocation();
  const notes = useNotifications();
  const firstPath = useRef(true);
  useEffect(() => {
    setNavOpen(false); notes.setOpen(false);
    if (firstPath.current) { firstPath.current = false; return; }
    focusPage();
  }, [loc.path]);
  useEffect(() => { document.addEventListener('keydown', onSlash); return () => document.removeEventListener('keydown', onSlash); }, []);
  return html`<${NotesContext.Provider} value=${notes}><div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="topbar">
      <${Link} href="/" class="brand"><img src="/favicon.svg" alt="" width="26" height="26" /><span>leadpath</span><//>
      <button type="button" class="icon-btn nav-toggle" aria-expanded=${navOpen ? 'true' : 'false'} aria-controls="mainnav"
        onClick=${() => setNavOpen(!navOpen)}><span aria-hidden="true">☰</span><span class="sr-only">Menu</span></button>
      <nav id="mainnav" class=${'mainnav' + (navOpen ? ' open' : '')} aria-label="Main">
        ${NAV.map((n) => html`<${Link} href=${n.href}>${n.label}<//>`)}
      </nav>
      <div class="userbox">
        <${NewMessageButton} />
        <${NotificationsButton} notes=${notes} />
        <span class="user-name" title=${user.email}>${user.name || user.email}</span>
        <button type="button" class="btn btn-ghost" onClick=${onLogout}>Sign out</button>
      </div>
    </header>
    <main id="main" tabindex="-1">${children}</main>
    <footer class="foot">leadpath · times shown in ${timeZone} · press <kbd>/</kbd> to search</footer>
  </div><//>`;
}
