// End-to-end test of the dashboard: the real `tally serve`, real Segment batches over HTTP,
// and Debian's Chromium driven by playwright-core.
//
//   node --test tests/e2e/
//
// Needs the binary (TALLY_BIN, default build/tally, started by tests/lib/server.mjs) and
// /usr/bin/chromium. Leaves a screenshot in build/e2e/dashboard.png. Waits are bounded
// polls on what the page shows; nothing asserts on wall-clock durations.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../lib/server.mjs';

const SITE = 'e2e-site';
const WAIT_MS = 20000;
const shotDir = fileURLToPath(new URL('../../build/e2e/', import.meta.url));

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function isLoopback(raw) {
  const u = new URL(raw);
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return true;
  const h = u.hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

function event(type, anonymousId, extra) {
  return {
    type,
    messageId: randomUUID(),
    anonymousId,
    timestamp: new Date().toISOString(),
    context: { library: { name: 'tally-e2e', version: '1' } },
    ...extra,
  };
}

const pageview = (anon, path) =>
  event('page', anon, { name: path, properties: { path, url: `https://shop.example${path}` } });
const track = (anon, name) => event('track', anon, { event: name, properties: { plan: 'free' } });

async function sendBatch(url, batch) {
  const res = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Authorization: 'Basic ' + Buffer.from(`${SITE}:`).toString('base64'),
    },
    body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `POST /v1/batch answered ${res.status}: ${text}`);
  assert.equal(JSON.parse(text).success, true, `POST /v1/batch: ${text}`);
}

// Waits until every selector shows its expected text; on timeout, fails with what the page
// shows instead (and the dashboard's error line), which is what one needs to debug it.
async function waitForTexts(page, want) {
  try {
    await page.waitForFunction(
      (w) => Object.entries(w).every(([sel, v]) => document.querySelector(sel)?.textContent.trim() === v),
      want,
      { timeout: WAIT_MS, polling: 100 },
    );
  } catch (e) {
    const seen = await page.evaluate((sels) => {
      const o = {};
      for (const s of [...sels, '#error', '#last-updated']) o[s] = document.querySelector(s)?.textContent.trim();
      return o;
    }, Object.keys(want));
    assert.fail(`dashboard did not show ${JSON.stringify(want)}; it shows ${JSON.stringify(seen)}`);
  }
}

test('dashboard serves from the binary and shows live numbers', { timeout: 120000 }, async () => {
  const srv = await startServer({ args: [] });
  let browser;
  try {
    // The page and its assets come from the binary itself.
    const index = await fetch(`${srv.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') || '', /^text\/html/);
    const html = await index.text();
    assert.match(html, /id="current-visitors"/);
    const etag = index.headers.get('etag');
    if (etag) {
      const again = await fetch(`${srv.url}/`, { headers: { 'If-None-Match': etag } });
      assert.equal(again.status, 304, 'a matching If-None-Match should answer 304');
    }
    const js = await fetch(`${srv.url}/app.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') || '', /javascript/);

    // 3 pageviews from 2 visitors and 2 track events, timestamped now.
    await sendBatch(srv.url, [
      pageview('e2e-anon-1', '/'),
      pageview('e2e-anon-1', '/pricing'),
      pageview('e2e-anon-2', '/'),
      track('e2e-anon-1', 'Signed Up'),
      track('e2e-anon-2', 'Added to Cart'),
    ]);

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const consoleErrors = [];
    const foreign = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
    page.on('request', (r) => {
      if (!isLoopback(r.url())) foreign.push(r.url());
    });

    await page.goto(`${srv.url}/`, { waitUntil: 'load' });
    await page.waitForFunction(
      (site) => [...document.querySelectorAll('#site-picker option')].some((o) => o.value === site),
      SITE,
      { timeout: WAIT_MS },
    );
    await page.selectOption('#site-picker', SITE);
    await page.waitForFunction((site) => location.hash === `#site=${site}`, SITE, { timeout: WAIT_MS });

    await waitForTexts(page, {
      '#current-visitors': '2',
      '#total-visitors': '2',
      '#total-pageviews': '3',
      '#total-events': '5',
    });
    assert.ok((await page.locator('#chart canvas').count()) >= 1, 'the chart has a canvas');
    const box = await page.locator('#chart canvas').first().boundingBox();
    assert.ok(box && box.width > 100 && box.height > 100, `chart canvas is ${JSON.stringify(box)}`);
    assert.notEqual((await page.textContent('#last-updated')).trim(), '—', 'last update time shown');
    assert.equal(await page.isVisible('#error'), false, `error shown: ${await page.textContent('#error')}`);

    // Live: more events change the numbers without a reload.
    await page.evaluate(() => {
      window.__e2eSamePage = true;
    });
    await sendBatch(srv.url, [
      pageview('e2e-anon-3', '/'),
      pageview('e2e-anon-3', '/checkout'),
      track('e2e-anon-3', 'Order Completed'),
    ]);
    await waitForTexts(page, {
      '#current-visitors': '3',
      '#total-visitors': '3',
      '#total-pageviews': '5',
      '#total-events': '8',
    });
    assert.equal(await page.evaluate(() => window.__e2eSamePage), true, 'the page did not reload');

    // The chart's per-minute pageviews add up to the pageviews sent, over a full hour of minutes.
    await page.waitForFunction(() => document.querySelector('#chart')?.dataset.pageviews === '5', null, {
      timeout: WAIT_MS,
    }).catch(() => {});
    const chart = await page.evaluate(() => ({ ...document.querySelector('#chart').dataset }));
    assert.equal(chart.pageviews, '5', `chart series: ${JSON.stringify(chart)}`);
    assert.ok(Number(chart.points) >= 60 && Number(chart.points) <= 61, `chart minutes: ${chart.points}`);

    mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: `${shotDir}dashboard.png`, fullPage: true });

    // Narrow screens: nothing overflows sideways.
    await page.setViewportSize({ width: 375, height: 740 });
    await page.waitForTimeout(300); // one layout/resize pass; not a timing assertion
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than a 375px screen`);
    await page.screenshot({ path: `${shotDir}dashboard-narrow.png`, fullPage: true });

    assert.deepEqual(consoleErrors, [], 'no console errors');
    assert.deepEqual(foreign, [], 'no request leaves loopback');
  } finally {
    if (browser) await browser.close().catch(() => {});
    await srv.stop();
  }
});
