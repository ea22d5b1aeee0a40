// Integration: schemas in the ingest path, typed dead letters, replay after a fix,
// enrichment in the journal records, and no raw IP anywhere on disk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startServer, post, query, eventually, uid, tempDir, BIN } from '../lib/server.mjs';

const IP = '203.0.113.77';
const UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
let srv, dir, cfg;

before(async () => {
  dir = tempDir();
  const etc = tempDir();
  cfg = path.join(etc, 'tally.json');
  // a MaxMind DB the test suite writes itself: 203.0.113.0/24 is Berlin, DE
  const mmdb = path.join(etc, 'test.mmdb');
  execFileSync(path.join(path.dirname(BIN), 'tests/tools/make_test_mmdb'), [mmdb]);
  writeFileSync(cfg, JSON.stringify({ sites: [
    { id: 'shop.example', write_keys: ['wk_shop'] },
    { id: 'strict.example', write_keys: ['wk_strict'], strict: true },
  ], enrich: { geoip_db: mmdb } }));
  srv = await startServer({ dataDir: dir, args: ['--config', cfg] });
});
after(async () => {
  if (srv) await srv.stop();
  rmSync(dir, { recursive: true, force: true });
});

const register = async (subject, schema) => post(`${srv.url}/subjects/${encodeURIComponent(subject)}/versions`,
  { schemaType: 'JSON', schema: JSON.stringify(schema) });

function order(revenue, extra = {}) {
  return { type: 'track', event: 'Order Completed', messageId: uid('order'), anonymousId: 'buyer-1',
    properties: { revenue, currency: 'EUR' }, timestamp: new Date().toISOString(),
    context: { ip: IP, userAgent: UA, page: { url: 'https://shop.example/checkout', referrer: 'https://www.google.com/search?q=shoes' } }, ...extra };
}

const range = () => [new Date(Date.now() - 3600e3).toISOString(), new Date(Date.now() + 3600e3).toISOString()];
async function events(site) {
  const r = await query(srv.url, { site_id: site, metrics: ['events'], date_range: range() });
  return r.status === 200 ? r.json.results[0].metrics[0] : -1;
}

test('schema violations are rejected per event with the JSON pointer, and dead-lettered', async () => {
  const reg = await register('Order Completed', {
    type: 'object', required: ['revenue', 'currency'],
    properties: { revenue: { type: 'number' }, currency: { enum: ['EUR', 'USD'] } },
  });
  assert.equal(reg.status, 200, reg.text);
  const r = await post(`${srv.url}/v1/batch`, { batch: [
    order(12.5),
    order('12.50'),                                   // 1: revenue is a string
    { ...order(5), properties: { revenue: 5 } },      // 2: currency missing
    { type: 'track', event: 'Unplanned Thing', messageId: uid(), anonymousId: 'a' }, // accepted: no schema, site not strict
  ] }, { key: 'wk_shop' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.accepted, 2);
  const rej = Object.fromEntries(r.json.rejected.map((e) => [e.index, e]));
  assert.equal(rej[1].reason, 'schema_violation');
  assert.equal(rej[1].pointer, '/properties/revenue');
  assert.match(rej[1].message, /^\/properties\/revenue: expected number/);
  assert.equal(rej[2].reason, 'schema_violation');

  const dl = await (await fetch(`${srv.url}/api/v2/deadletters?site_id=shop.example&type=schema_violation`)).json();
  assert.equal(dl.total, 2);
  assert.equal(dl.counts.schema_violation, 2);
  const bad = dl.deadletters.find((d) => d.index === 1);
  assert.ok(bad, JSON.stringify(dl));
  assert.equal(bad.subject, 'Order Completed');
  assert.equal(bad.version, 1);
  assert.equal(bad.type, null);
  assert.equal(bad.site, 'shop.example');
  assert.match(bad.received_at, /^\d{4}-\d\d-\d\dT/);
  assert.equal(bad.errors[0].pointer, '/properties/revenue');
  assert.equal(bad.errors[0].keyword, 'type');
  assert.match(bad.errors[0].expected, /number/);
  assert.match(bad.errors[0].found, /string/);
  assert.equal(bad.payload.context.ip, '[redacted]', 'IP addresses are redacted in dead letters');
  assert.equal(bad.payload.properties.revenue, '12.50');
  assert.equal(bad.replayed, false);
});

test('strict sites reject unplanned events; listing filters and limits are checked', async () => {
  const r = await post(`${srv.url}/v1/track`, { event: 'Nobody Planned This', messageId: uid(), anonymousId: 'x' }, { key: 'wk_strict' });
  assert.equal(r.status, 400);
  assert.equal(r.json.rejected[0].reason, 'schema_violation');
  assert.match(r.json.rejected[0].message, /no schema is registered for subject "Nobody Planned This"/);
  const dl = await (await fetch(`${srv.url}/api/v2/deadletters?site_id=strict.example`)).json();
  assert.equal(dl.total, 1);
  assert.equal(dl.deadletters[0].type, 'track', 'the endpoint-implied type is kept for replay');
  let bad = await fetch(`${srv.url}/api/v2/deadletters?type=nope`);
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /unknown type 'nope'/);
  bad = await fetch(`${srv.url}/api/v2/deadletters?limit=5000`);
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /limit/);
  const future = await (await fetch(`${srv.url}/api/v2/deadletters?from=2999-01-01`)).json();
  assert.equal(future.total, 0);
  const cli = execFileSync(BIN, ['deadletters', 'list', '--url', srv.url, '--site', 'strict.example']).toString();
  assert.equal(JSON.parse(cli).total, 1);
});

test('replay after a schema fix ingests once, and never twice', async () => {
  const before = await eventually(async () => { const n = await events('shop.example'); return n >= 2 ? n : null; });
  assert.equal(before, 2);
  // v2 accepts a numeric string and makes currency optional: a backward-compatible widening
  const reg = await register('Order Completed', {
    type: 'object', required: ['revenue'],
    properties: { revenue: { type: ['number', 'string'] }, currency: { enum: ['EUR', 'USD'] } },
  });
  assert.equal(reg.status, 200, reg.text);
  const out = JSON.parse(execFileSync(BIN, ['deadletters', 'replay', '--url', srv.url, '--site', 'shop.example']).toString());
  assert.equal(out.replayed, 2, JSON.stringify(out));
  assert.equal(out.still_failing, 0);
  assert.equal(await eventually(async () => { const n = await events('shop.example'); return n === 4 ? n : null; }), 4);
  const again = await post(`${srv.url}/api/v2/deadletters/replay?site_id=shop.example`, '');
  assert.equal(again.status, 200);
  assert.equal(again.json.replayed, 0, 'replayed dead letters are marked');
  const dl = await (await fetch(`${srv.url}/api/v2/deadletters?site_id=shop.example`)).json();
  assert.ok(dl.deadletters.every((d) => d.replayed), 'both are marked replayed');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await events('shop.example'), 4, 'counted once');
  // the strict site's event still has no schema: it stays
  const strict = await post(`${srv.url}/api/v2/deadletters/replay?site_id=strict.example`, '');
  assert.equal(strict.json.replayed, 0);
  assert.equal(strict.json.still_failing, 1);
});

function grepDir(root, needle) {
  const hits = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(root);
  return hits;
}

test('journal records carry the enrichment; no raw IP is written anywhere', async () => {
  const r = await post(`${srv.url}/v1/track`, order(1, { messageId: 'enriched-1' }), { key: 'wk_shop' });
  assert.equal(r.status, 200, r.text);
  const p = await post(`${srv.url}/v1/page`, { messageId: uid(), anonymousId: 'reader', properties: { url: 'https://shop.example/?utm_source=newsletter&utm_medium=email&utm_campaign=winter' } }, { key: 'wk_shop', headers: { 'User-Agent': UA } });
  assert.equal(p.status, 200, p.text);
  await srv.stop();
  srv = null;
  const lines = execFileSync(BIN, ['journal', 'dump', '--data', dir]).toString().trim().split('\n').map((l) => JSON.parse(l));
  const ev = lines.find((l) => l.message_id === 'enriched-1');
  assert.ok(ev, 'the event is in the journal');
  assert.equal(ev.browser, 'Mobile Safari');
  assert.equal(ev.os, 'iOS');
  assert.equal(ev.os_version, '17.1');
  assert.equal(ev.device, 'Mobile');
  assert.equal(ev.source, 'Google');
  assert.equal(ev.channel, 'Organic Search');
  assert.equal(ev.country, 'DE', 'geo-IP from context.ip through the configured database');
  assert.equal(ev.region, 'DE-BE');
  assert.equal(ev.city, 'Berlin');
  const page = lines.find((l) => l.anonymous_id === 'reader');
  assert.equal(page.utm_campaign, 'winter');
  assert.equal(page.channel, 'Email');
  assert.ok(lines.some((l) => l.flags.includes('replayed')), 'replayed events are flagged');
  assert.deepEqual(grepDir(dir, IP), [], `the raw IP ${IP} must not be on disk`);
});
