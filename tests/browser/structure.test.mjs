// structure.test.mjs — the web UI's layout rules, read from web/ (no browser, no server): only
// api/client.js calls fetch; screens (pages/, components/) reach the server through the resource
// modules of api/ (every one listed in api/index.js), never by path; a 412 is worded only in
// conflict.js; every page file is reached from the route table or a page; every module is
// preloaded by index.html.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { root, SHOTS } from './helpers.mjs';

const app = path.join(root, 'web', 'app');
const files = (dir) => fs.readdirSync(path.join(app, dir)).filter((f) => f.endsWith('.js')).map((f) => path.join(dir, f));
const all = ['.', 'api', 'components', 'pages'].flatMap(files).map((f) => path.normalize(f));
const source = (f) => fs.readFileSync(path.join(app, f), 'utf8');
// the code of a file, comments left out (they may name paths and calls)
const read = (f) => source(f).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
const screens = all.filter((f) => f.startsWith('pages/') || f.startsWith('components/'));

describe('web UI layout', () => {
  it('only api/client.js calls fetch', () => {
    const calling = all.filter((f) => /\bfetch\(/.test(read(f)));
    assert.deepEqual(calling, ['api/client.js']);
  });

  it('screens never name an API path or import the HTTP client', () => {
    for (const f of screens) {
      const src = read(f);
      assert.doesNotMatch(src, /\/api\/v1|api\/client\.js|\b(get|post|patch|del|request|getAll)\(['`]\//, `${f} talks to the server itself`);
    }
  });

  it('api/index.js lists every resource module', () => {
    const index = read('api/index.js');
    for (const f of files('api').map((x) => path.basename(x)).filter((x) => x !== 'client.js' && x !== 'index.js')) {
      assert.match(index, new RegExp(`from '\\./${f}'`), `${f} is not in api/index.js`);
    }
  });

  it('a version conflict is worded in conflict.js alone', () => {
    for (const f of all.filter((x) => x !== 'conflict.js')) {
      const src = read(f);
      assert.doesNotMatch(src, /status\s*={2,3}\s*412/, `${f} handles 412 itself`);
      assert.doesNotMatch(src, /changed by someone else|someone else changed/i, `${f} words a conflict itself`);
    }
  });

  it('every page is reached from routes.js or another page, and every module is preloaded', () => {
    const importers = ['routes.js', 'main.js', ...files('pages')].map(source).join('\n');
    for (const f of files('pages')) assert.match(importers, new RegExp(`/${path.basename(f)}'`), `${f} is not routed`);
    const html = fs.readFileSync(path.join(root, 'web', 'index.html'), 'utf8');
    const preloaded = [...html.matchAll(/rel="modulepreload" href="\/app\/([^"]+)"/g)].map((m) => path.normalize(m[1])).sort();
    assert.deepEqual(preloaded, [...all].sort(), 'index.html preloads exactly the modules under web/app');
  });
  it('test runs write screenshots under build/, not into the tracked docs/screenshots', () => {
    if (process.env.LEADPATH_SHOTS_DIR) return;  // make screenshots asks for docs/screenshots
    assert.ok(SHOTS.startsWith(path.join(root, 'build') + path.sep), `screenshots go to ${SHOTS}`);
  });
});
