// End to end with the real Segment SDK for Node (@segment/analytics-node):
// it batches, authenticates with the write key as Basic user, adds sentAt,
// context and messageIds of its own. tally must count what it sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Analytics } from '@segment/analytics-node';
import { startServer, query, eventually } from '../lib/server.mjs';

test('@segment/analytics-node sends track, page, screen and identify to tally', async () => {
  const srv = await startServer();
  try {
    const site = 'sdk.example';
    const analytics = new Analytics({ writeKey: site, host: srv.url, path: '/v1/batch', flushAt: 7, flushInterval: 200, maxRetries: 2 });
    const errors = [];
    analytics.on('error', (e) => errors.push(e));
    for (let i = 0; i < 10; i++) {
      analytics.page({ anonymousId: `anon-${i % 4}`, name: 'Pricing', properties: { url: 'https://sdk.example/pricing?utm_campaign=launch', path: '/pricing' } });
      analytics.track({ anonymousId: `anon-${i % 4}`, event: 'Product Viewed', properties: { product_id: `p${i}`, price: 9.5 } });
    }
    analytics.screen({ userId: 'user-1', name: 'Cart' });
    analytics.identify({ userId: 'user-1', traits: { plan: 'pro' } });
    await analytics.closeAndFlush({ timeout: 10000 });
    assert.deepEqual(errors, []);
    const range = [new Date(Date.now() - 3600e3).toISOString(), new Date(Date.now() + 3600e3).toISOString()];
    const got = await eventually(async () => {
      const r = await query(srv.url, { site_id: site, metrics: ['visitors', 'pageviews', 'events'], date_range: range });
      const m = r.json?.results?.[0]?.metrics;
      return m && m[2] === 21 ? m : null;
    });
    assert.deepEqual(got, [5, 11, 21], '4 anonymous visitors + user-1; 10 pages + 1 screen; 21 events');
  } finally {
    await srv.stop();
  }
});
