// api/client.js — the one place the UI calls fetch(): JSON over HTTP, the session cookie,
// X-CSRF-Token on every request that changes something, If-Match and Idempotency-Key, and the
// one error shape {error:{code,message,fields}} turned into an ApiError.
// Screens never import this file: they call the resource modules beside it (leads.js,
// tasks.js, ...), each of which owns the paths of one API resource. A new resource
// (conversations, reports, customers, ...) gets its own module here, listed in index.js.

let csrfToken = null;
let onUnauthorized = null;

export function setCsrf(token) { csrfToken = token || null; }
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `The server answered ${status}.`);
    this.status = status;
    this.code = e.code || (status === 0 ? 'network' : 'internal');
    this.fields = e.fields || {};
    this.body = body;
  }
}

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    u.set(k, String(v));
  }
  const s = u.toString();
  return s ? '?' + s : '';
}

// The address of an API path (for a link or a download: GET with the session cookie).
export function apiUrl(path, query) { return (path.startsWith('/') ? '/api/v1' + path : path) + qs(query); }

// request(method, path, {body | raw + contentType, query, ifMatch}) -> {status, data, headers}
export async function request(method, path, opts = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  } else if (opts.raw !== undefined) {  // a body sent as it is (a CSV file)
    headers['Content-Type'] = opts.contentType || 'text/plain';
    init.body = opts.raw;
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  if (opts.ifMatch !== undefined && opts.ifMatch !== null) headers['If-Match'] = String(opts.ifMatch);
  if (opts.idem) headers['Idempotency-Key'] = opts.idem;
  Object.assign(headers, opts.headers || {});
  const url = apiUrl(path, opts.query);
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ApiError(0, { error: { code: 'network', message: 'Cannot reach the server. Check your connection and try again.' } });
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error: { code: 'internal', message: text.slice(0, 200) } }; }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && onUnauthorized && !opts.noAuthRedirect) onUnauthorized(err);
    throw err;
  }
  return { status: res.status, data, headers: res.headers };
}

export const get = async (path, query, opts = {}) => (await request('GET', path, { ...opts, query })).data;
export const post = async (path, body, opts = {}) => (await request('POST', path, { ...opts, body })).data;
export const patch = async (path, body, opts = {}) => (await request('PATCH', path, { ...opts, body })).data;
export const put = async (path, body, opts = {}) => (await request('PUT', path, { ...opts, body })).data;
export const del = async (path, opts = {}) => (await request('DELETE', path, opts)).data;

// Reads every page of a small configuration list (stages, users, ...).
export async function getAll(path, query = {}) {
  let items = [];
  let cursor = null;
  for (let i = 0; i < 20; i++) {
    const page = await get(path, { ...query, limit: 500, cursor });
    const list = Array.isArray(page) ? page : (page && page.items) || [];
    items = items.concat(list);
    cursor = page && page.next_cursor;
    if (!cursor || Array.isArray(page)) break;
  }
  return items;
}

// upload(path, file, {contentType, query, onProgress, signal}) -> {status, data}: a large body (a CSV
// file to import) sent with XMLHttpRequest, which tells how much has gone (fetch cannot):
// onProgress({loaded, total}) as the bytes leave. signal (AbortSignal) cancels it. Errors as request().
export function upload(path, file, opts = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', apiUrl(path, opts.query));
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Content-Type', opts.contentType || 'text/csv');
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    if (opts.idem) xhr.setRequestHeader('Idempotency-Key', opts.idem);
    xhr.withCredentials = true;
    if (opts.onProgress) xhr.upload.onprogress = (e) => opts.onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : file.size });
    if (opts.signal) opts.signal.addEventListener('abort', () => xhr.abort());
    xhr.onerror = () => reject(new ApiError(0, { error: { code: 'network', message: 'The upload was cut off. Check your connection and try again.' } }));
    xhr.onabort = () => reject(new ApiError(0, { error: { code: 'aborted', message: 'The upload was cancelled.' } }));
    xhr.onload = () => {
      let data = null;
      if (xhr.responseText) {
        try { data = JSON.parse(xhr.responseText); } catch { data = { error: { code: 'internal', message: xhr.responseText.slice(0, 200) } }; }
      }
      if (xhr.status < 200 || xhr.status >= 300) {
        const err = new ApiError(xhr.status, data);
        if (xhr.status === 401 && onUnauthorized) onUnauthorized(err);
        reject(err);
        return;
      }
      resolve({ status: xhr.status, data });
    };
    xhr.send(file);
  });
}
