/* widget.js — the leadpath web chat for a company's own site, served at /public/v1/widget.js.
 * Embed with one tag: <script src="https://LEADPATH/public/v1/widget.js" async></script>
 * (the site's origin must be listed in the chat_origins setting). Plain script, no framework:
 * a chat button, a window asking name, e-mail and a first message, then the conversation, polled
 * every 3 seconds. Every text shown is set with textContent (never HTML). When the visitor closes
 * the window or leaves the page, the chat is closed with navigator.sendBeacon. */
(function () {
  'use strict';
  var me = document.currentScript;
  if (!me || window.__leadpathChat) return;
  window.__leadpathChat = true;
  var base = new URL(me.src).origin + '/public/v1';
  var chat = null;          // {id, token} once started
  var seen = {};            // message ids shown
  var timer = null;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function api(method, path, body) {
    var h = {'Content-Type': 'application/json'};
    if (chat) h['X-Leadpath-Chat-Token'] = chat.token;
    return fetch(base + path, {method: method, headers: h, body: body ? JSON.stringify(body) : undefined, mode: 'cors'})
      .then(function (r) {
        if (r.status === 204) return null;
        return r.json().then(function (j) { if (!r.ok) throw new Error(j.error ? j.error.message : 'error'); return j; });
      });
  }

  var root = el('div', {'data-leadpath-chat': ''});
  root.style.cssText = 'position:fixed;right:16px;bottom:16px;z-index:2147483000;font:14px/1.4 system-ui,sans-serif;color:#111';
  var button = el('button', {type: 'button', 'aria-expanded': 'false'}, 'Chat with us');
  button.style.cssText = 'padding:10px 16px;border-radius:20px;border:0;background:#1d4ed8;color:#fff;cursor:pointer';
  var box = el('div', {role: 'dialog', 'aria-label': 'Chat'});
  box.style.cssText = 'display:none;width:300px;background:#fff;border:1px solid #ccc;border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.2);padding:12px';
  var head = el('div', {});
  head.style.cssText = 'display:flex;justify-content:space-between;align-items:center;margin-bottom:8px';
  var title = el('strong', {}, 'Chat');
  var closeBtn = el('button', {type: 'button', 'aria-label': 'Close the chat'}, '\u00d7');
  head.appendChild(title);
  head.appendChild(closeBtn);
  var log = el('ol', {'aria-live': 'polite'});
  log.style.cssText = 'list-style:none;margin:0 0 8px;padding:0;max-height:240px;overflow:auto';
  var status = el('p', {role: 'status'});
  status.style.cssText = 'margin:0 0 6px;color:#b91c1c';
  var form = el('form', {});
  var name = el('input', {name: 'name', placeholder: 'Your name', 'aria-label': 'Your name', required: ''});
  var email = el('input', {name: 'email', type: 'email', placeholder: 'E-mail (optional)', 'aria-label': 'E-mail'});
  var text = el('textarea', {name: 'message', placeholder: 'Your message', 'aria-label': 'Your message', required: '', maxlength: '4000'});
  [name, email, text].forEach(function (i) { i.style.cssText = 'display:block;width:100%;box-sizing:border-box;margin-bottom:6px'; form.appendChild(i); });
  var send = el('button', {type: 'submit'}, 'Send');
  form.appendChild(send);
  box.appendChild(head);
  box.appendChild(log);
  box.appendChild(status);
  box.appendChild(form);
  root.appendChild(box);
  root.appendChild(button);

  function show(m) {
    if (seen[m.id]) return;
    seen[m.id] = true;
    var li = el('li', {'data-from': m.from});
    li.style.cssText = 'margin:4px 0;padding:6px 8px;border-radius:6px;background:' + (m.from === 'visitor' ? '#e0e7ff' : '#f3f4f6');
    var who = el('span', {}, m.from === 'visitor' ? 'You' : (m.author_name || 'Agent'));
    who.style.cssText = 'display:block;font-size:12px;color:#555';
    li.appendChild(who);
    li.appendChild(el('span', {}, m.body));
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }
  function poll() {
    if (!chat) return;
    api('GET', '/chat/' + chat.id + '/messages').then(function (j) { j.items.forEach(show); }).catch(function () {});
  }
  function leave() {
    if (!chat) return;
    var url = base + '/chat/' + chat.id + '/close?token=' + encodeURIComponent(chat.token);
    if (navigator.sendBeacon) navigator.sendBeacon(url, new Blob([], {type: 'text/plain'}));
    else fetch(url, {method: 'POST', keepalive: true, mode: 'cors'});
    chat = null;
    clearInterval(timer);
  }

  button.addEventListener('click', function () {
    var open = box.style.display === 'none';
    box.style.display = open ? 'block' : 'none';
    button.setAttribute('aria-expanded', String(open));
  });
  closeBtn.addEventListener('click', function () {
    leave();
    box.style.display = 'none';
    button.setAttribute('aria-expanded', 'false');
    name.style.display = email.style.display = 'block';
    log.textContent = '';
    seen = {};
  });
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var body = text.value.trim();
    if (!body) return;
    status.textContent = '';
    var p = chat
      ? api('POST', '/chat/' + chat.id + '/messages', {message: body}).then(show)
      : api('POST', '/chat', {name: name.value, email: email.value || undefined, message: body}).then(function (j) {
          chat = {id: j.chat_id, token: j.token};
          name.style.display = email.style.display = 'none';
          timer = setInterval(poll, 3000);
          poll();
        });
    p.then(function () { text.value = ''; }).catch(function (e) { status.textContent = e.message; });
  });
  window.addEventListener('pagehide', leave);

  if (document.body) document.body.appendChild(root);
  else document.addEventListener('DOMContentLoaded', function () { document.body.appendChild(root); });
})();
