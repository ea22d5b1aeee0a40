// Integration: the real binary on an ephemeral port; Segment ingest in, Stats API out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startServer, post, query, eventually, uid, basic, tempDir } from '../lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => {
  const r = await srv.stop();
  assert.equal(r.code, 0, `clean exit on SIGTERM:\n${srv.log()}`);
});

const hour = 3600 * 1000;
const range = () => [new Date(Date.now() - hour).toISOString(), new Date(Date.now() + hour).toISOString()];

async function totals(site, metrics = ['visitors', 'pageviews', 'events']) {
  // an acknowledged event becomes visible within milliseconds, not at once: until the
  // stream has seen a new site, the site is unknown (400)
  const r = await query(srv.url, { site_id: site, metrics, date_range: range() });
  return r.status === 200 ? r.json.results[0].metrics : [];
}

function page(anon, extra = {}) {
  return { type: 'page', messageId: uid(), anonymousId: anon, name: 'Home',
    properties: { url: 'https://shop.example/?utm_source=news', path: '/', title: 'Home' },
    timestamp: new Date().toISOString(), ...extra };
}
function track(anon, event = 'Signed Up', extra = {}) {
  return { type: 'track', messageId: uid(), anonymousId: anon, event,
    properties: { plan: 'pro' }, timestamp: new Date().toISOString(), ...extra };
}

test('healthz, readyz and metrics answer', async () => {
  assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${srv.url}/readyz`)).status, 200);
  const m = await fetch(`${srv.url}/metrics`);
  assert.equal(m.status, 200);
  assert.match(m.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  assert.match(await m.text(), /# TYPE tally_ingest_events_accepted_total counter/);
});

test('a batch of valid, invalid and duplicate events gives exact counts and per-event errors', async () => {
  const site = `batch-${uid()}`;
  const p1 = page('v1'), p2 = page('v2'), p3 = page('v1');
  const t1 = track('v3'), t2 = track('v1', 'Order Completed');
  const batch = [
    p1, p2, t1,
    { type: 'page', anonymousId: 'v9' },                                   // 3: no messageId
    { type: 'track', messageId: uid(), anonymousId: 'v9' },                // 4: no event
    { type: 'page', messageId: uid() },                                    // 5: no ids
    { ...p1 },                                                             // 6: duplicate of 0
    { type: 'page', messageId: uid(), anonymousId: 'v9', timestamp: 'soon' }, // 7: bad time
    p3, t2,
    { type: 'identify', messageId: uid(), userId: 'u1', traits: { plan: 'pro' } },
    'not an event',                                                        // 11
  ];
  const r = await post(`${srv.url}/v1/batch`, { batch }, { key: site });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.success, true);
  assert.equal(r.json.accepted, 6);
  assert.equal(r.json.duplicates, 1);
  const rej = Object.fromEntries(r.json.rejected.map((e) => [e.index, e]));
  assert.deepEqual(Object.keys(rej).map(Number).sort((a, b) => a - b), [3, 4, 5, 7, 11]);
  assert.equal(rej[3].reason, 'tracker_protocol_violation');
  assert.equal(rej[3].pointer, '/messageId');
  assert.match(rej[3].message, /messageId/);
  assert.equal(rej[4].pointer, '/event');
  assert.equal(rej[5].pointer, '/anonymousId');
  assert.equal(rej[7].pointer, '/timestamp');
  assert.match(rej[11].message, /must be a JSON object/);

  // the same batch again (a client retry): everything valid is a duplicate now
  const again = await post(`${srv.url}/v1/batch`, { batch }, { key: site });
  assert.equal(again.status, 200);
  assert.equal(again.json.accepted, 0);
  assert.equal(again.json.duplicates, 7);

  const got = await eventually(async () => {
    const t = await totals(site);
    return t[2] === 5 ? t : null;
  });
  assert.deepEqual(got, [3, 3, 5], 'visitors v1 v2 v3, pageviews 3, events 5 (identify not counted)');
  const rt = await fetch(`${srv.url}/api/v2/realtime?site_id=${encodeURIComponent(site)}`);
  assert.equal(rt.status, 200);
  assert.equal((await rt.json()).visitors, 3);
});

test('single-event endpoints, writeKey in the body, batch-level context and sentAt', async () => {
  const site = `single-${uid()}`;
  let r = await post(`${srv.url}/v1/track`, track('a1'), { key: site });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { success: true, accepted: 1 });
  r = await post(`${srv.url}/v1/page`, { ...page('a2'), type: undefined, writeKey: site });
  assert.equal(r.status, 200, r.text);
  r = await post(`${srv.url}/v1/screen`, { messageId: uid(), anonymousId: 'a3', name: 'Cart' }, { key: site });
  assert.equal(r.status, 200, r.text);
  r = await post(`${srv.url}/v1/identify`, { messageId: uid(), userId: 'u', traits: { a: 1 } }, { key: site });
  assert.equal(r.status, 200, r.text);
  r = await post(`${srv.url}/v1/track`, { messageId: uid(), anonymousId: 'a1' }, { key: site });
  assert.equal(r.status, 400, 'a single invalid event is a 400');
  assert.equal(r.json.rejected[0].pointer, '/event');
  // batch-level sentAt corrects a skewed device clock: event 2 s before sentAt
  const skewed = { type: 'track', event: 'x', messageId: uid(), anonymousId: 'a4', timestamp: '2001-01-01T00:00:00Z' };
  r = await post(`${srv.url}/v1/batch`, { batch: [skewed], sentAt: '2001-01-01T00:00:02Z' }, { key: site });
  assert.equal(r.status, 200, r.text);
  const got = await eventually(async () => {
    const t = await totals(site);
    return t[2] === 4 ? t : null;
  });
  assert.deepEqual(got, [4, 2, 4], 'the skewed event lands now, not in 2001');
});

test('limits are explicit and named', async () => {
  const site = `limits-${uid()}`;
  // body over 500 KB
  const big = { batch: [track('x', 'big', { properties: { pad: 'x'.repeat(600000) } })] };
  let r = await post(`${srv.url}/v1/batch`, big, { key: site });
  assert.equal(r.status, 413);
  assert.match(r.json.error, /max_body_bytes/);
  // one event over 32 KB in an otherwise fine batch
  const fat = track('x', 'fat');
  fat.properties = { a: 'y'.repeat(10000), b: 'y'.repeat(10000), c: 'y'.repeat(10000), d: 'y'.repeat(5000) };
  r = await post(`${srv.url}/v1/batch`, { batch: [fat, track('x')] }, { key: site });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.accepted, 1);
  assert.equal(r.json.rejected[0].reason, 'size_violation');
  assert.match(r.json.rejected[0].message, /max_event_bytes/);
  // nesting depth
  let deep = {}; let cur = deep;
  for (let i = 0; i < 40; i++) { cur.a = {}; cur = cur.a; }
  r = await post(`${srv.url}/v1/track`, track('x', 'deep', { properties: deep }), { key: site });
  assert.equal(r.status, 400);
  assert.match(r.json.error, /max_depth/);
  // string length
  r = await post(`${srv.url}/v1/track`, track('x', 'long', { properties: { s: 'z'.repeat(20000) } }), { key: site });
  assert.equal(r.status, 400);
  assert.match(r.json.error, /max_string_len/);
  // not JSON at all
  r = await post(`${srv.url}/v1/batch`, '{"batch": [', { key: site });
  assert.equal(r.status, 400);
  assert.match(r.json.error, /^invalid JSON/);
  // no write key
  r = await post(`${srv.url}/v1/track`, track('x'));
  assert.equal(r.status, 401);
  assert.match(r.json.error, /write key/);
  // the 413's body was not read, but the attempt is in the dead letters
  const dl = await eventually(async () => {
    const r2 = await (await fetch(`${srv.url}/api/v2/deadletters?site_id=${site}&type=size_violation`)).json();
    return r2.total >= 2 ? r2 : null;
  });
  assert.ok(dl, 'the oversized request and the oversized event are dead-lettered');
  const big413 = dl.deadletters.find((d) => /was not read/.test(d.errors[0].message));
  assert.ok(big413, JSON.stringify(dl));
  assert.match(big413.errors[0].found, /^\d+ bytes$/);
  assert.equal(big413.payload_text, '');
  // rejected events are counted by reason
  const m = await (await fetch(`${srv.url}/metrics`)).text();
  assert.match(m, /tally_ingest_events_rejected_total\{reason="size_violation"\} [1-9]/);
  assert.match(m, /tally_ingest_events_rejected_total\{reason="parse_error"\} [1-9]/);
  assert.match(m, /tally_ingest_events_rejected_total\{reason="unknown_site"\} [1-9]/);
});

test('query errors name the problem', async () => {
  const site = `q-${uid()}`;
  await post(`${srv.url}/v1/track`, track('a'), { key: site });
  await eventually(async () => (await totals(site))[2] === 1);
  const bad = async (body, re) => {
    const r = await query(srv.url, body);
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error, re);
  };
  await bad({ site_id: site, metrics: ['visitorz'], date_range: 'day' }, /visitorz/);
  await bad({ site_id: site, metrics: ['visitors'], date_range: 'day', dimensions: ['visit:nope'] }, /visit:nope/);
  await bad({ site_id: 'no-such-site.example', metrics: ['visitors'], date_range: 'day' }, /no-such-site\.example/);
  await bad({ site_id: site, metrics: ['visitors'], date_range: 'fortnight' }, /fortnight/);
  await bad({ metrics: ['visitors'], date_range: 'day' }, /site_id/);
  const rt = await fetch(`${srv.url}/api/v2/realtime?site_id=nope.example`);
  assert.equal(rt.status, 400);
  assert.match((await rt.json()).error, /nope\.example/);
});

test('time dimensions: minute and hour buckets, presets', async () => {
  const site = `time-${uid()}`;
  const now = Date.now();
  const at = (ms) => new Date(ms).toISOString();
  const minute = Math.floor(now / 60000) * 60000;
  const batch = [
    page('a', { timestamp: at(minute - 120000 + 5000) }),
    page('b', { timestamp: at(minute - 120000 + 6000) }),
    page('a', { timestamp: at(minute - 60000 + 1000) }),
    track('c', 'x', { timestamp: at(Math.min(minute + 1000, now)) }),
  ];
  const r = await post(`${srv.url}/v1/batch`, { batch }, { key: site });
  assert.equal(r.json.accepted, 4, r.text);
  const q = await eventually(async () => {
    const res = await query(srv.url, { site_id: site, metrics: ['visitors', 'pageviews'], date_range: '30m', dimensions: ['time:minute'] });
    return res.json?.results?.length === 3 ? res : null;
  });
  assert.ok(q, 'three minutes with data');
  const label = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  assert.deepEqual(q.json.results, [
    { dimensions: [label(minute - 120000)], metrics: [2, 2] },
    { dimensions: [label(minute - 60000)], metrics: [1, 1] },
    { dimensions: [label(minute)], metrics: [1, 0] },
  ]);
  const h = await query(srv.url, { site_id: site, metrics: ['visitors'], date_range: '24h', dimensions: ['time:hour'] });
  assert.equal(h.status, 200, h.text);
  const sum = h.json.results.reduce((s, row) => s + row.metrics[0], 0);
  assert.ok(sum >= 3, 'every visitor is in some hour');
  const d = await query(srv.url, { site_id: site, metrics: ['visitors', 'events'], date_range: '24h' });
  assert.deepEqual(d.json.results[0].metrics, [3, 4]);
});

test('configured sites: only their write keys are accepted', async () => {
  const dir = tempDir();
  const cfg = path.join(dir, 'tally.json');
  writeFileSync(cfg, JSON.stringify({ sites: [{ id: 'shop.example', write_keys: ['wk_live'] },
    { id: 'quiet.example', write_keys: ['wk_quiet'] }] }));
  const s2 = await startServer({ args: ['--config', cfg] });
  try {
    let r = await post(`${s2.url}/v1/track`, track('a'), { key: 'wk_live' });
    assert.equal(r.status, 200, r.text);
    r = await post(`${s2.url}/v1/track`, track('a'), { key: 'wk_wrong' });
    assert.equal(r.status, 401);
    assert.match(r.json.error, /unknown write key/);
    const q = await eventually(async () => {
      const res = await query(s2.url, { site_id: 'shop.example', metrics: ['events'], date_range: 'day' });
      return res.json?.results?.[0]?.metrics?.[0] === 1 ? res : null;
    });
    assert.ok(q, 'the event is counted under the configured site id');
    const sites = await (await fetch(`${s2.url}/api/sites`)).json();
    assert.deepEqual(sites.sites, ['quiet.example', 'shop.example'], 'configured sites are listed, with data or not');
    const quiet = await query(s2.url, { site_id: 'quiet.example', metrics: ['events'], date_range: 'day' });
    assert.equal(quiet.status, 200, 'a configured site without data answers, with zeros');
  } finally {
    assert.equal((await s2.stop()).code, 0);
  }
});

test('unknown paths and methods', async () => {
  let r = await fetch(`${srv.url}/v1/nope`, { method: 'POST' });
  assert.equal(r.status, 404);
  r = await fetch(`${srv.url}/v1/track`);
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'POST, OPTIONS');
  r = await fetch(`${srv.url}/v1/track`, { method: 'OPTIONS' });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('access-control-allow-origin'), '*');
  r = await fetch(`${srv.url}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/html/);
  const etag = r.headers.get('etag');
  r = await fetch(`${srv.url}/`, { headers: { 'If-None-Match': etag } });
  assert.equal(r.status, 304);
  assert.equal(basic('k'), 'Basic azo=');
});
