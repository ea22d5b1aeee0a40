// Integration: kill -9 in the middle of ingest. Every acknowledged event must be
// counted exactly once after a restart, and retries of everything (acknowledged
// or not, as SDKs do) must not double count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer, post, query, eventually, uid, tempDir } from '../lib/server.mjs';

const SITE = 'crash.example';
const BATCHES = 60;
const PER_BATCH = 50;

function makeBatches() {
  const out = [];
  const now = Date.now();
  for (let b = 0; b < BATCHES; b++) {
    const batch = [];
    for (let i = 0; i < PER_BATCH; i++) {
      batch.push({ type: i % 3 ? 'track' : 'page', event: 'Clicked', messageId: uid('crash'),
        anonymousId: `v${(b * PER_BATCH + i) % 97}`, timestamp: new Date(now).toISOString() });
    }
    out.push(batch);
  }
  return out;
}

const range = () => [new Date(Date.now() - 3600e3).toISOString(), new Date(Date.now() + 3600e3).toISOString()];
async function eventsCount(url) {
  const r = await query(url, { site_id: SITE, metrics: ['events', 'pageviews'], date_range: range() });
  if (r.status !== 200) return null;
  return r.json.results[0].metrics;
}

test('kill -9 mid-ingest: acknowledged events survive, retries count once', async () => {
  const dir = tempDir();
  const batches = makeBatches();
  const total = BATCHES * PER_BATCH;
  const pageviews = batches.flat().filter((e) => e.type === 'page').length;
  let srv = await startServer({ dataDir: dir });
  const acked = new Set();
  let next = 0;
  let killed = false;
  // 6 concurrent senders; kill -9 once a third of the batches were acknowledged
  const sender = async () => {
    while (next < BATCHES) {
      const b = next++;
      try {
        const r = await post(`${srv.url}/v1/batch`, { batch: batches[b] }, { key: SITE });
        if (r.status === 200) {
          acked.add(b);
          if (!killed && acked.size >= BATCHES / 3) {
            killed = true;
            await srv.kill9();
          }
        }
      } catch { /* connection refused or reset after the kill */ }
    }
  };
  await Promise.all(Array.from({ length: 6 }, sender));
  assert.ok(killed, 'the server was killed mid-ingest');
  assert.ok(acked.size >= BATCHES / 3 && acked.size < BATCHES, `acked ${acked.size} of ${BATCHES}`);

  srv = await startServer({ dataDir: dir });
  const ackedEvents = acked.size * PER_BATCH;
  const after = await eventually(async () => {
    const c = await eventsCount(srv.url);
    return c && c[0] >= ackedEvents ? c : null;
  });
  assert.ok(after, 'every acknowledged event is counted after the restart');
  assert.ok(after[0] <= total, 'nothing is counted twice');

  // the client retries everything; acknowledged events are recognised as repeats
  let accepted = 0, duplicates = 0;
  for (let b = 0; b < BATCHES; b++) {
    const r = await post(`${srv.url}/v1/batch`, { batch: batches[b] }, { key: SITE });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.accepted + (r.json.duplicates || 0), PER_BATCH);
    if (acked.has(b)) assert.equal(r.json.duplicates, PER_BATCH, `batch ${b} was acknowledged before`);
    accepted += r.json.accepted;
    duplicates += r.json.duplicates || 0;
  }
  assert.ok(duplicates >= ackedEvents);
  const final = await eventually(async () => {
    const c = await eventsCount(srv.url);
    return c && c[0] === total ? c : null;
  });
  assert.deepEqual(final, [total, pageviews], 'exactly once: every event counted once');

  // a second crash with nothing in flight, then a clean restart: still exact
  await srv.kill9();
  srv = await startServer({ dataDir: dir });
  const again = await eventually(async () => {
    const c = await eventsCount(srv.url);
    return c && c[0] === total ? c : null;
  }, { timeoutMs: 3000 });
  assert.deepEqual(again, [total, pageviews], 'replay after a crash does not double count');
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(await eventsCount(srv.url), [total, pageviews]);
  assert.equal((await srv.stop()).code, 0);
  srv = await startServer({ dataDir: dir });
  assert.deepEqual(await eventually(async () => {
    const c = await eventsCount(srv.url);
    return c && c[0] === total ? c : null;
  }), [total, pageviews], 'checkpoint after a clean stop is exact');
  await srv.stop();
  rmSync(dir, { recursive: true, force: true });
});
