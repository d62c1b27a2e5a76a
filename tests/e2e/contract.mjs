// contract.mjs — every answer the end-to-end suite sees is checked against api/openapi.yaml
// (issue 15: the description enforced in CI). lib.mjs's request() calls checkAnswer() on each
// answer: the operation must be documented (method and path), the status must be one the
// operation lists, and a JSON body must match that status's schema (ajv, JSON Schema 2020-12
// as OpenAPI 3.1 uses it, with ajv-formats). A mismatch rejects the request with an error that
// names the operation, the status and what differs, so the test that made it fails.
//
// Outside the description on purpose: the web UI's files (anything not under /api, /public and
// the three operations paths) and GET /api/v1/openapi.yaml itself. A path no operation
// documents may only answer 404 (405 for a documented path with another method) in the error
// shape; a success there fails as "undocumented operation" (42-contract checks the route table).
// LEADPATH_CONTRACT=off turns the check off (for a local look at a failure without it).
import { readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CONTRACT_ON = process.env.LEADPATH_CONTRACT !== 'off';

let state = null;

/** Rewrites local `#/...` references to point into the document registered as `openapi`. */
function rebase(v) {
  if (Array.isArray(v)) return v.map(rebase);
  if (!v || typeof v !== 'object') return v;
  const out = {};
  for (const [k, x] of Object.entries(v)) out[k] = k === '$ref' && typeof x === 'string' && x.startsWith('#/') ? `openapi${x}` : rebase(x);
  return out;
}

function load() {
  if (state) return state;
  const doc = YAML.parse(readFileSync(join(ROOT, 'api', 'openapi.yaml'), 'utf8'));
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'openapi', components: rebase(doc.components) });
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths || {})) {
    const names = [];
    const re = new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, n) => { names.push(n); return '([^/]+)'; })}/?$`);
    const methods = {};
    for (const m of ['get', 'put', 'post', 'patch', 'delete']) if (item[m]) methods[m.toUpperCase()] = item[m];
    ops.push({ path, re, literal: names.length === 0, params: names.length, methods });
  }
  // Literal paths first (/leads/bulk before /leads/{id}), then fewer parameters.
  ops.sort((a, b) => (b.literal - a.literal) || (a.params - b.params));
  state = { doc, ajv, ops, compiled: new Map() };
  return state;
}

function deref(doc, v) {
  let seen = 0;
  while (v && v.$ref && seen++ < 10) {
    const parts = v.$ref.replace(/^#\//, '').split('/');
    v = parts.reduce((o, k) => (o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), doc);
  }
  return v;
}

function validatorFor(key, schema) {
  const s = load();
  if (!s.compiled.has(key)) s.compiled.set(key, s.ajv.compile(rebase(schema)));
  return s.compiled.get(key);
}

const inScope = (p) => /^\/(api|public)\//.test(p) || ['/healthz', '/readyz', '/metrics'].includes(p);

/** The documented operation for method + path: {path, op} | {path, op: null} (path only) | null. */
export function findOperation(method, pathname) {
  const s = load();
  const m = method === 'HEAD' ? 'GET' : method;
  let pathOnly = null;
  for (const o of s.ops) {
    if (!o.re.test(pathname)) continue;
    if (o.methods[m]) return { path: o.path, op: o.methods[m] };
    pathOnly = pathOnly || { path: o.path, op: null };
  }
  return pathOnly;
}

function errorShapeProblem(body) {
  const v = validatorFor('#Error', { $ref: '#/components/schemas/Error' });
  if (v(body)) return null;
  return v.errors.map((e) => `${e.instancePath || '(body)'} ${e.message}`).join('; ');
}

/**
 * Checks one answer; returns null when it matches the description, else a message.
 * answer: {status, headers, body (parsed JSON or null), text}.
 */
export function contractProblem(method, rawPath, answer) {
  const pathname = decodeURIComponentSafe(new URL(rawPath, 'http://x').pathname);
  // CORS preflights (OPTIONS) are the browser's protocol, not operations: the chat's description says which origins get them.
  if (!inScope(pathname) || pathname === '/api/v1/openapi.yaml' || method === 'OPTIONS') return null;
  const s = load();
  const where = `${method} ${pathname} → ${answer.status}`;
  const isJson = /^application\/(problem\+)?json/.test(String(answer.headers['content-type'] || ''));
  // A target no operation can have: an encoded control byte (400) or over 8 KiB (414), refused
  // before routing (info.description, "Requests and answers").
  const refused = /%(0[0-9a-f]|1[0-9a-f]|7f)|[\x00-\x1f\x7f]/i.test(rawPath) ? [400, 404]
    : rawPath.length > 8192 ? [414] : null;
  const found = refused ? null : findOperation(method, pathname);
  if (!found || !found.op) {
    // No operation: only the router's own refusals, in the error shape.
    const allowed = refused || (found ? [404, 405] : [404]);
    if (!allowed.includes(answer.status)) {
      return `${where}: undocumented operation (add it to api/openapi.yaml)`;
    }
    if (method !== 'HEAD') {
      const p = isJson ? errorShapeProblem(answer.body) : 'not JSON';
      if (p) return `${where}: the error answer is not in the error shape: ${p}`;
    }
    return null;
  }
  const { op, path } = found;
  const opName = `${method === 'HEAD' ? 'GET' : method} ${path} (${op.operationId || 'no operationId'})`;
  const responses = op.responses || {};
  const st = String(answer.status);
  const resp = deref(s.doc, responses[st] || responses[`${st[0]}XX`] || responses.default);
  if (!resp) return `${opName} answered ${answer.status}, which it does not list (lists ${Object.keys(responses).join(', ')}): ${answer.text.slice(0, 200)}`;
  if (method === 'HEAD' || answer.status === 204 || answer.status === 304) return null;
  const content = resp.content || {};
  const types = Object.keys(content);
  if (!types.length) {
    if (answer.text.length && isJson && answer.status >= 400) return `${opName} ${answer.status}: an error body is sent but none is described`;
    return null;
  }
  const ctype = String(answer.headers['content-type'] || '').split(';')[0].trim();
  const mt = types.find((t) => t.split(';')[0].trim() === ctype) || types.find((t) => t.endsWith('/*') && ctype.startsWith(t.slice(0, -1))) || types.find((t) => t === '*/*');
  if (!mt) return `${opName} ${answer.status}: content type ${ctype || '(none)'} is not described (${types.join(', ')})`;
  if (!/json/.test(mt)) return null;
  const schema = content[mt].schema;
  if (!schema) return null;
  if (answer.body === null && answer.text.length) return `${opName} ${answer.status}: the body is not JSON: ${answer.text.slice(0, 200)}`;
  const v = validatorFor(`${opName} ${st} ${mt}`, schema);
  if (v(answer.body)) {
    // Strict like a validating proxy: a key the description does not name anywhere is a
    // mismatch too, unless the schema says other keys may come (additionalProperties).
    const extra = undeclared(s.doc, schema, answer.body, '');
    return extra.length ? `${opName} ${answer.status}: keys sent but not described: ${extra.slice(0, 10).join(', ')}` : null;
  }
  const errs = v.errors.slice(0, 8).map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''}${e.params && e.params.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`);
  return `${opName} ${answer.status}: the body does not match the description: ${errs.join('; ')}\n  body: ${answer.text.slice(0, 400)}`;
}

/** The branches a schema stands for (its $ref resolved, allOf/anyOf/oneOf flattened). */
function branches(doc, schema, out = [], depth = 0) {
  schema = deref(doc, schema);
  if (!schema || typeof schema !== 'object' || depth > 20) return out;
  out.push(schema);
  for (const k of ['allOf', 'anyOf', 'oneOf']) for (const b of schema[k] || []) branches(doc, b, out, depth + 1);
  return out;
}

/** Paths of object keys in value that no branch of schema declares (where none allows more). */
function undeclared(doc, schema, value, path, depth = 0) {
  if (depth > 30 || value === null || typeof value !== 'object') return [];
  const bs = branches(doc, schema);
  if (!bs.length) return [];
  const out = [];
  if (Array.isArray(value)) {
    const items = bs.map((b) => b.items).filter(Boolean);
    if (!items.length) return [];
    value.forEach((x, i) => out.push(...undeclared(doc, { anyOf: items }, x, `${path}/${i}`, depth + 1)));
    return out;
  }
  const open = bs.some((b) => (b.additionalProperties !== undefined && b.additionalProperties !== false) || b.patternProperties ||
    (b.unevaluatedProperties !== undefined && b.unevaluatedProperties !== false));
  const declared = new Map();
  for (const b of bs) for (const [k, ps] of Object.entries(b.properties || {})) declared.set(k, [...(declared.get(k) || []), ps]);
  if (!declared.size && !bs.some((b) => b.properties)) return [];
  for (const [k, x] of Object.entries(value)) {
    const ps = declared.get(k);
    if (!ps) { if (!open) out.push(`${path}/${k}`); continue; }
    out.push(...undeclared(doc, ps.length === 1 ? ps[0] : { anyOf: ps }, x, `${path}/${k}`, depth + 1));
  }
  return out;
}

function decodeURIComponentSafe(p) {
  try { return decodeURIComponent(p); } catch { return p; }
}

/** Throws when the answer does not match the description (see contractProblem). */
export function checkAnswer(method, path, answer) {
  if (!CONTRACT_ON) return;
  const p = contractProblem(method, path, answer);
  if (p) {
    const e = new Error(`contract (api/openapi.yaml): ${p}`);
    e.contract = true;
    throw e;
  }
}
