// Starts the real tally binary on an ephemeral loopback port for a test.
//
//   const srv = await startServer({ args: ['--config', file], dataDir });
//   await fetch(`${srv.url}/healthz`);
//   await srv.stop();      // SIGTERM, waits for a clean exit, removes a temp data dir
//   await srv.kill9();     // SIGKILL, keeps the data dir (restart with startServer({dataDir}))
//
// The binary comes from TALLY_BIN (default build/tally). The server logs
// "listening on http://HOST:PORT"; that line gives the port.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const BIN = process.env.TALLY_BIN || 'build/tally';

export function tempDir(prefix = 'tally-test-') {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export async function startServer({ args = [], dataDir, timeoutMs = 30000 } = {}) {
  const ownsDir = !dataDir;
  const dir = dataDir || tempDir();
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tally did not start in ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const onData = (chunk) => {
      log += chunk.toString();
      const m = log.match(/listening on (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`tally exited (code ${code}, signal ${sig}) before listening:\n${log}`));
    });
  });
  proc.stderr.on('data', (c) => { log += c.toString(); });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const srv = {
    url,
    dataDir: dir,
    proc,
    log: () => log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const r = await exited;
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
      return r;
    },
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      return exited;
    },
  };
  const res = await fetch(`${url}/healthz`);
  if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
  return srv;
}

export function basic(key) {
  return 'Basic ' + Buffer.from(`${key}:`).toString('base64');
}

export async function post(url, body, { key, headers = {} } = {}) {
  const h = { 'Content-Type': 'application/json', ...headers };
  if (key) h.Authorization = basic(key);
  const res = await fetch(url, { method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text, headers: res.headers };
}

export async function query(url, q) {
  return post(`${url}/api/v2/query`, q);
}

// Polls fn until it returns a truthy value or the deadline passes (no wall-clock assertions:
// the deadline only bounds a wait for something that must eventually happen).
export async function eventually(fn, { timeoutMs = 10000, intervalMs = 25 } = {}) {
  const until = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > until) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

let counter = 0;
export function uid(prefix = 'm') {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now()}-${counter}`;
}
