// 36-store-faults: a disk that fails under the server (tests/fault/faultfs.c, preloaded). While
// every write of the database fails — full (ENOSPC) or broken (EIO) — writes answer 503 in the
// error shape, reads keep answering, nothing acknowledged before is lost, and when the disk heals
// the server takes writes again without a restart; after a restart everything acknowledged is
// there and the database is whole.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  startWorld, startServer, login, client, expectStatus, expectError, items, tmpDir, BIN, FILE_TIMEOUT_MS,
} from './lib.mjs';

const PG = !!process.env.LEADPATH_TEST_PG_URL;
const shim = join(dirname(BIN), 'libfaultfs.so');
const open = [];
after(async () => { for (const s of open) await s.stop().catch(() => {}); });

describe('a failing disk', { timeout: FILE_TIMEOUT_MS * 2, skip: (PG && 'the PostgreSQL server owns its disk') || (!existsSync(shim) && `no ${shim}`) }, () => {
  for (const kind of ['full', 'eio']) {
    it(`${kind === 'full' ? 'a full disk' : 'an I/O error'}: 503 while it lasts, nothing acknowledged lost, writes again when it clears`, async () => {
      const ctl = join(tmpDir(), 'fault');
      const env = {
        LD_PRELOAD: shim, LEADPATH_FAULT_FILE: ctl,
        ASAN_OPTIONS: `${process.env.ASAN_OPTIONS || ''}:verify_asan_link_order=0`,
      };
      const w = await startWorld({ env, keepDir: true });
      let srv = w.srv;
      open.push(srv);
      const { agent } = w.users;
      const kept = [];
      for (let i = 0; i < 5; i++) kept.push(expectStatus(await agent.c.post('/api/v1/leads', { full_name: `Safe ${kind} ${i}` }), 201));

      writeFileSync(ctl, kind);
      const refused = [];
      for (let i = 0; i < 5; i++) {
        const r = await agent.c.post('/api/v1/leads', { full_name: `Refused ${kind} ${i}` });
        if (r.status === 201) kept.push(r.body);  // a commit that made it before the fault bit
        else refused.push(expectError(r, 503, 'unavailable'));
      }
      assert.ok(refused.length >= 4, `writes refused while the disk fails (${refused.length} of 5)`);
      const edit = await agent.c.patch(`/api/v1/leads/${kept[0].id}`, { company: 'Never Saved' });
      expectError(edit, 503, 'unavailable');
      // Reads keep answering from what is committed.
      const got = expectStatus(await agent.c.get(`/api/v1/leads/${kept[0].id}`), 200);
      assert.equal(got.company ?? null, null);

      rmSync(ctl);
      const after1 = expectStatus(await agent.c.post('/api/v1/leads', { full_name: `After ${kind}` }), 201);
      kept.push(after1);
      expectStatus(await agent.c.patch(`/api/v1/leads/${kept[0].id}`, { company: 'Saved Now' }), 200);

      // A restart: every acknowledged lead is there, none of the refused ones, the file is whole.
      const dir = srv.dir;
      const db = srv.db;
      await srv.stop();
      srv = await startServer({ dir, db, keepDir: true });
      open.push(srv);
      const c = client(srv, (await login(srv, agent.email)).token);
      const all = items(await c.get('/api/v1/leads?status=all&limit=200'));
      for (const k of kept) assert.ok(all.some((l) => l.id === k.id && l.full_name === k.full_name), `lead ${k.full_name} kept`);
      assert.equal(all.filter((l) => l.full_name.startsWith('Refused')).length, 5 - refused.length);
      assert.equal(all.find((l) => l.id === kept[0].id).company, 'Saved Now');
      await srv.stop();
      const check = execFileSync('sqlite3', [join(dir, 't.db'), 'PRAGMA integrity_check;']).toString().trim();
      assert.equal(check, 'ok');
      rmSync(dir, { recursive: true, force: true });
    });
  }
});
