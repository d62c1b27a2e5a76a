// components/shell.js — the frame around every page: skip link, header with the main
// navigation, the notifications bell and the user, the footer. A new top-level screen adds its
// link to NAV (its route goes in routes.js).
import { html, useEffect, useState } from '/vendor/htm-preact.mjs';
import { Link, useLocation } from '../ui.js';
import { timeZone } from '../util.js';
import { NewMessageButton } from './new-message.js';
import { NotesContext, NotificationsButton, useNotifications } from './notifications.js';

const NAV = [
  { href: '/', label: 'Dashboard' },
  { href: '/leads', label: 'Leads' },
  { href: '/approvals', label: 'Approvals' },
  { href: '/customers', label: 'Customers' },
  { href: '/tickets', label: 'Tickets' },
  { href: '/reports', label: 'Reports' },
  { href: '/settings', label: 'Settings' },
];

export function Shell({ user, onLogout, children }) {
  const [navOpen, setNavOpen] = useState(false);
  const loc = useLocation();
  const notes = useNotifications();
  useEffect(() => { setNavOpen(false); notes.setOpen(false); }, [loc.path]);
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
    <footer class="foot">leadpath · times shown in ${timeZone}</footer>
  </div><//>`;
}
