// bench/ui-render.mjs — time from the login submit to the first leads-list rows, in Debian's
// chromium, against a running leadpath (e.g. on the 1M-lead benchmark database).
//   node bench/ui-render.mjs http://127.0.0.1:18080 EMAIL PASSWORD [RUNS]
// Prints each run (the page's own performance measure lp:login-to-rows, and the list request's
// server time from the Resource Timing entry) and the median.
import { launch } from '../tests/browser/helpers.mjs';

const [base, email, password, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 7);
const browser = await launch();
const results = [];
for (let i = 0; i < runs; i++) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(base + '/leads');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('table.leads-table tbody tr').first().waitFor({ timeout: 30000 });
  const m = await page.evaluate(() => {
    const mark = performance.getEntriesByName('lp:login-to-rows')[0];
    const list = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/leads?'))[0];
    const login = performance.getEntriesByType('resource').filter((e) => e.name.includes('/auth/login'))[0];
    return { total: mark ? mark.duration : null, list: list ? list.duration : null, login: login ? login.duration : null,
      rows: document.querySelectorAll('table.leads-table tbody tr').length };
  });
  results.push(m);
  console.log(`run ${i + 1}: login→rows ${m.total?.toFixed(1)} ms (login request ${m.login?.toFixed(1)} ms, list request ${m.list?.toFixed(1)} ms, ${m.rows} rows)`);
  await ctx.close();
}
await browser.close();
const med = (k) => { const v = results.map((r) => r[k]).filter((x) => x != null).sort((a, b) => a - b); return v[Math.floor(v.length / 2)]; };
console.log(`median: login→rows ${med('total').toFixed(1)} ms; login request ${med('login').toFixed(1)} ms; list request ${med('list').toFixed(1)} ms; after login ${(med('total') - med('login')).toFixed(1)} ms`);
