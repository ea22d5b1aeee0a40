/*
 * tally dashboard — plain JavaScript, no framework, no network access beyond
 * this server's own API.
 *
 * Shape: one polling loop. Every second (every 10 s while the tab is hidden)
 * it asks, for the selected site, three things in parallel:
 *   GET  api/v2/realtime?site_id=X       → current visitors (last window_seconds)
 *   POST api/v2/query  totals            → visitors, pageviews, events this hour
 *   POST api/v2/query  time:minute       → per-minute series for the chart
 * and writes the answers into elements that exist from the start (text only
 * changes when the value does, the chart gets setData), so nothing flickers.
 * Answers for a site that is no longer selected are dropped (generation
 * counter). The site list is refreshed every few seconds while empty and every
 * 30 s otherwise, so the dashboard appears by itself after the first event.
 *
 * The selected site lives in the URL hash (#site=shop.example), so a link or a
 * reload shows the same site; back/forward switch sites.
 */
'use strict';

(function () {
  const POLL_MS = 1000;
  const POLL_HIDDEN_MS = 10000;
  const SITES_EMPTY_MS = 3000;
  const SITES_MS = 30000;
  const TIMEOUT_MS = 8000;
  const STALE_MS = 5000;
  const MINUTES = 60;
  const MINUTE_MS = 60000;

  const $ = (id) => document.getElementById(id);
  const el = {
    picker: $('site-picker'),
    live: $('live'),
    liveText: document.querySelector('#live .live-text'),
    updated: $('last-updated'),
    error: $('error'),
    dashboard: $('dashboard'),
    empty: $('empty'),
    curl: $('curl-example'),
    current: $('current-visitors'),
    windowMinutes: $('window-minutes'),
    totVisitors: $('total-visitors'),
    totPageviews: $('total-pageviews'),
    totEvents: $('total-events'),
    chart: $('chart'),
  };

  const numberFmt = new Intl.NumberFormat('en-US');
  const clockFmt = new Intl.DateTimeFormat(undefined, {
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  });

  const state = {
    sites: null,      // null until the first answer
    site: '',
    gen: 0,           // bumped on every site switch; stale answers are ignored
    sitesAt: 0,
    lastOk: 0,
    failing: false,   // the last refresh had an error
    timer: 0,
    running: false,
    plot: null,
    series: null,     // last [xs, visitors, pageviews], kept to redraw after a theme change
  };

  /* ---------- small helpers ---------- */

  function setText(node, text) {
    const s = String(text);
    if (node.textContent !== s) node.textContent = s;
  }

  function fmtNumber(v) {
    return typeof v === 'number' && Number.isFinite(v) ? numberFmt.format(v) : '–';
  }

  function isoMs(ms) {
    return new Date(ms).toISOString(); // "2024-05-01T12:34:56.789Z"
  }

  /* "2024-05-01 12:34:00" (UTC, the API's label form), or any ISO form → epoch seconds. */
  function labelSeconds(label) {
    if (typeof label !== 'string') return NaN;
    let s = label.trim().replace(' ', 'T');
    if (!/(Z|[+-]\d\d:?\d\d)$/i.test(s)) s += 'Z';
    return Math.floor(Date.parse(s) / 1000);
  }

  function siteFromHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    return params.get('site') || '';
  }

  function hashFor(site) {
    return '#site=' + encodeURIComponent(site);
  }

  class ApiError extends Error {}

  /* One API call. Resolves to the parsed JSON; rejects with an ApiError whose
   * message is short and names what failed (the server's {"error": ...} text
   * when there is one). */
  async function api(what, path, body) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    const init = { signal: ctl.signal, cache: 'no-store', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.method = 'POST';
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    let text;
    try {
      res = await fetch(path, init);
      text = await res.text();
    } catch (e) {
      if (e && e.name === 'AbortError') throw new ApiError(`${what}: no answer within ${TIMEOUT_MS / 1000} s`);
      throw new ApiError(`${what}: cannot reach the server`);
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const msg = data && typeof data.error === 'string' ? data.error : `HTTP ${res.status}`;
      throw new ApiError(`${what}: ${msg}`);
    }
    if (data === null || typeof data !== 'object') throw new ApiError(`${what}: the answer is not JSON`);
    return data;
  }

  /* ---------- status line: live dot, last update, errors ---------- */

  function showErrors(messages) {
    if (messages.length === 0) {
      if (!el.error.hidden) el.error.hidden = true;
      setText(el.error, '');
      return;
    }
    // Several requests usually fail for the same reason; say each reason once.
    setText(el.error, Array.from(new Set(messages)).join(' · '));
    if (el.error.hidden) el.error.hidden = false;
  }

  function markOk(now) {
    state.lastOk = now;
    setText(el.updated, clockFmt.format(new Date(now)));
    el.updated.setAttribute('datetime', isoMs(now));
    refreshLive(now);
  }

  function refreshLive(now) {
    let st = 'idle';
    let text = 'waiting';
    if (state.site && state.failing) {
      st = 'stale';
      text = 'error';
    } else if (state.site && state.lastOk) {
      st = now - state.lastOk <= STALE_MS ? 'ok' : 'stale';
      text = st === 'ok' ? 'live' : 'stale';
    }
    if (el.live.dataset.state !== st) el.live.dataset.state = st;
    setText(el.liveText, text);
  }

  /* ---------- sites ---------- */

  function renderSites() {
    const sites = state.sites || [];
    const wanted = state.site;
    const names = sites.slice();
    if (wanted && !names.includes(wanted)) names.unshift(wanted); // a link to a site with no data yet
    const sameOptions = el.picker.options.length === names.length &&
      names.every((n, i) => el.picker.options[i].value === n);
    if (!sameOptions) {
      el.picker.replaceChildren();
      if (names.length === 0) {
        const opt = document.createElement('option');
        opt.value = '';
        opt.textContent = state.sites === null ? 'loading sites…' : 'no sites yet';
        el.picker.append(opt);
      }
      for (const n of names) {
        const opt = document.createElement('option');
        opt.value = n;
        opt.textContent = n;
        el.picker.append(opt);
      }
    }
    el.picker.disabled = names.length === 0;
    if (el.picker.value !== wanted) el.picker.value = wanted;

    const empty = state.sites !== null && names.length === 0;
    if (el.empty.hidden !== !empty) el.empty.hidden = !empty;
    if (el.dashboard.hidden !== !wanted) el.dashboard.hidden = !wanted;
    if (empty) renderCurl();
    if (wanted) ensureChart();
  }

  function renderCurl() {
    const origin = location.origin && location.origin !== 'null' ? location.origin : 'http://127.0.0.1:8080';
    setText(el.curl, [
      "curl -u 'my-site:' -H 'Content-Type: application/json' \\",
      `  -d '{"event":"Signed Up","anonymousId":"visitor-1","properties":{"plan":"free"}}' \\`,
      `  ${origin}/v1/track`,
    ].join('\n'));
  }

  async function loadSites() {
    const data = await api('sites', 'api/sites');
    const list = Array.isArray(data.sites) ? data.sites.filter((s) => typeof s === 'string' && s) : [];
    state.sites = list;
    state.sitesAt = Date.now();
    if (!state.site && list.length > 0) {
      // Nothing chosen yet: show the first site and remember it without a history entry.
      selectSite(list[0], false);
      history.replaceState(null, '', hashFor(list[0]));
    }
    renderSites();
  }

  function selectSite(site, render = true) {
    if (site === state.site) return;
    state.site = site;
    state.gen++;
    state.lastOk = 0;
    state.failing = false;
    for (const node of [el.current, el.totVisitors, el.totPageviews, el.totEvents]) setText(node, '–');
    setText(el.updated, '—');
    state.series = null;
    delete el.chart.dataset.points;
    delete el.chart.dataset.pageviews;
    if (state.plot) state.plot.setData(emptySeries(Date.now()));
    showErrors([]);
    refreshLive(Date.now());
    if (render) renderSites();
  }

  /* ---------- chart ---------- */

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function withAlpha(color, alpha) {
    const m = /^#([0-9a-f]{6})$/i.exec(color);
    if (!m) return color;
    const n = parseInt(m[1], 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }

  function minuteWindow(now) {
    const end = Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS; // end of the current minute
    return { start: end - MINUTES * MINUTE_MS, end };
  }

  function emptySeries(now) {
    const { start } = minuteWindow(now);
    const xs = [];
    for (let i = 0; i < MINUTES; i++) xs.push((start + i * MINUTE_MS) / 1000);
    return [xs, xs.map(() => 0), xs.map(() => 0)];
  }

  const INTEGER_INCRS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4,
    2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 2e7, 5e7, 1e8, 2e8, 5e8, 1e9];

  function chartSize() {
    // The canvas height is fixed per layout; uPlot's legend goes below it.
    return { width: Math.max(200, el.chart.clientWidth), height: window.innerWidth <= 720 ? 220 : 280 };
  }

  function ensureChart() {
    if (state.plot || el.dashboard.hidden || typeof uPlot !== 'function') return;
    const muted = cssVar('--muted') || '#646b78';
    const line = cssVar('--line') || '#e3e6eb';
    const c1 = cssVar('--accent') || '#4f46e5';
    const c2 = cssVar('--accent-2') || '#0ea5a4';
    const axis = {
      stroke: muted,
      grid: { stroke: line, width: 1 },
      ticks: { stroke: line, width: 1 },
      font: '12px system-ui, sans-serif',
    };
    const opts = {
      ...chartSize(),
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      scales: {
        x: { time: true },
        y: { range: (u, min, max) => [0, max > 0 ? Math.ceil(max * 1.15) : 4] },
      },
      series: [
        {},
        { label: 'Visitors', stroke: c1, width: 2, fill: withAlpha(c1, 0.12), points: { show: false } },
        { label: 'Pageviews', stroke: c2, width: 2, points: { show: false } },
      ],
      axes: [
        { ...axis },
        { ...axis, size: 44, incrs: INTEGER_INCRS, values: (u, splits) => splits.map((v) => numberFmt.format(v)) },
      ],
    };
    state.plot = new uPlot(opts, state.series || emptySeries(Date.now()), el.chart);
  }

  function resizeChart() {
    if (!state.plot) return;
    const { width, height } = chartSize();
    if (state.plot.width !== width || state.plot.height !== height) state.plot.setSize({ width, height });
  }

  function rebuildChart() {
    if (!state.plot) return;
    state.plot.destroy();
    state.plot = null;
    ensureChart();
  }

  /* Rows → three aligned arrays over every minute label, missing minutes as 0. */
  function toSeries(data, win) {
    const byMinute = new Map();
    for (const row of Array.isArray(data.results) ? data.results : []) {
      const t = labelSeconds(row && Array.isArray(row.dimensions) ? row.dimensions[0] : undefined);
      const m = row && Array.isArray(row.metrics) ? row.metrics : [];
      if (Number.isFinite(t)) byMinute.set(t, [Number(m[0]) || 0, Number(m[1]) || 0]);
    }
    let xs = [];
    const labels = data.meta && Array.isArray(data.meta.time_labels) ? data.meta.time_labels : null;
    if (labels) xs = labels.map(labelSeconds).filter(Number.isFinite);
    if (xs.length === 0) {
      for (let t = win.start; t < win.end; t += MINUTE_MS) xs.push(t / 1000);
    }
    return [
      xs,
      xs.map((t) => (byMinute.get(t) || [0, 0])[0]),
      xs.map((t) => (byMinute.get(t) || [0, 0])[1]),
    ];
  }

  /* ---------- the loop ---------- */

  async function refresh() {
    const now = Date.now();
    const errors = [];

    if (state.sites === null || now - state.sitesAt >= (state.sites.length ? SITES_MS : SITES_EMPTY_MS)) {
      try {
        await loadSites();
      } catch (e) {
        state.sitesAt = now; // do not hammer a failing endpoint
        if (state.sites === null) renderSites();
        errors.push(e.message);
      }
    }

    const site = state.site;
    const gen = state.gen;
    if (!site) {
      showErrors(errors);
      refreshLive(now);
      return;
    }

    const win = minuteWindow(now);
    const range = [isoMs(win.start), isoMs(win.end - 1)];
    const [realtime, totals, minutes] = await Promise.allSettled([
      api('current visitors', 'api/v2/realtime?site_id=' + encodeURIComponent(site)),
      api('totals', 'api/v2/query', {
        site_id: site,
        metrics: ['visitors', 'pageviews', 'events'],
        date_range: range,
      }),
      api('chart', 'api/v2/query', {
        site_id: site,
        metrics: ['visitors', 'pageviews'],
        date_range: range,
        dimensions: ['time:minute'],
        include: { time_labels: true },
      }),
    ]);
    if (gen !== state.gen) return; // the user switched sites meanwhile

    if (realtime.status === 'fulfilled') {
      setText(el.current, fmtNumber(realtime.value.visitors));
      const ws = Number(realtime.value.window_seconds);
      if (ws > 0) setText(el.windowMinutes, String(Math.round(ws / 60)));
    } else {
      errors.push(realtime.reason.message);
    }

    if (totals.status === 'fulfilled') {
      const row = Array.isArray(totals.value.results) ? totals.value.results[0] : null;
      const m = row && Array.isArray(row.metrics) ? row.metrics : [0, 0, 0];
      setText(el.totVisitors, fmtNumber(Number(m[0]) || 0));
      setText(el.totPageviews, fmtNumber(Number(m[1]) || 0));
      setText(el.totEvents, fmtNumber(Number(m[2]) || 0));
    } else {
      errors.push(totals.reason.message);
    }

    if (minutes.status === 'fulfilled') {
      state.series = toSeries(minutes.value, win);
      ensureChart();
      if (state.plot) state.plot.setData(state.series);
      // What the chart holds, for tests and curious users (data-points, data-pageviews).
      const sum = state.series[2].reduce((a, b) => a + b, 0);
      if (el.chart.dataset.points !== String(state.series[0].length)) el.chart.dataset.points = state.series[0].length;
      if (el.chart.dataset.pageviews !== String(sum)) el.chart.dataset.pageviews = sum;
    } else {
      errors.push(minutes.reason.message);
    }

    showErrors(errors);
    state.failing = errors.length > 0;
    if (errors.length === 0) markOk(Date.now());
    else refreshLive(Date.now());
  }

  function schedule(delay) {
    clearTimeout(state.timer);
    state.timer = setTimeout(loop, delay);
  }

  async function loop() {
    if (state.running) return;
    state.running = true;
    const started = Date.now();
    try {
      await refresh();
    } catch (e) {
      showErrors([String(e && e.message ? e.message : e)]);
    } finally {
      state.running = false;
    }
    const period = document.hidden ? POLL_HIDDEN_MS : POLL_MS;
    schedule(Math.max(50, period - (Date.now() - started)));
  }

  /* ---------- wiring ---------- */

  el.picker.addEventListener('change', () => {
    const site = el.picker.value;
    if (!site) return;
    location.hash = hashFor(site); // → hashchange → selectSite
  });

  window.addEventListener('hashchange', () => {
    const site = siteFromHash();
    if (site && site !== state.site) {
      selectSite(site);
      schedule(0);
    }
  });

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) schedule(0);
  });

  if (typeof ResizeObserver === 'function') new ResizeObserver(resizeChart).observe(el.chart);
  else window.addEventListener('resize', resizeChart);

  const dark = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  if (dark && dark.addEventListener) dark.addEventListener('change', rebuildChart);

  setInterval(() => refreshLive(Date.now()), 1000);

  state.site = siteFromHash();
  renderSites();
  loop();
})();
