// Builds the dashboard into web/dist/, which tools/embed then compiles into the binary.
//
//   node web/build.mjs
//
// What it does, with node's standard library only:
//   - copies index.html, app.js, style.css and favicon.svg from web/;
//   - copies uPlot's minified browser build (iife JS + CSS) and its licence from
//     node_modules/uplot/dist into dist/vendor/, so nothing is loaded from the internet;
//   - appends ?v=<content hash> to every local href/src in index.html, so a browser never
//     mixes an old script with a new page after an upgrade;
//   - refuses pages that reference another host (http://, https://, //host).
// The output depends only on the input bytes (no dates, no absolute paths, sorted work),
// so two builds of the same tree are byte-identical. It writes into a temporary folder and
// renames it into place, so web/dist/ is never half-written.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const started = process.hrtime.bigint();
const web = dirname(fileURLToPath(import.meta.url));
const root = dirname(web);
const dist = join(web, 'dist');
const uplotDist = join(root, 'node_modules', 'uplot', 'dist');

// [output path inside dist, source file]; index.html is handled separately.
const files = [
  ['app.js', join(web, 'app.js')],
  ['favicon.svg', join(web, 'favicon.svg')],
  ['style.css', join(web, 'style.css')],
  ['vendor/uplot.LICENSE.txt', join(root, 'node_modules', 'uplot', 'LICENSE')],
  ['vendor/uplot.min.css', join(uplotDist, 'uPlot.min.css')],
  ['vendor/uplot.min.js', join(uplotDist, 'uPlot.iife.min.js')],
];

function fail(msg) {
  process.stderr.write(`web/build.mjs: ${msg}\n`);
  process.exit(1);
}

function read(path) {
  if (!existsSync(path)) {
    const hint = path.startsWith(join(root, 'node_modules')) ? ' (run `npm ci` at the repository root)' : '';
    fail(`missing ${path.slice(root.length + 1)}${hint}`);
  }
  return readFileSync(path);
}

const shortHash = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 12);

const out = new Map(); // dist path → bytes
for (const [name, src] of files) out.set(name, read(src));

let html = read(join(web, 'index.html')).toString('utf8');
const foreign = /\b(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?\/\//gi;
const bad = html.match(foreign);
if (bad) fail(`index.html references another host: ${bad.join(', ')}`);

const referenced = new Set();
html = html.replace(/\b(src|href)="([^"?#]+)"/g, (whole, attr, ref) => {
  const name = ref.replace(/^\.?\//, '');
  if (!out.has(name)) fail(`index.html references ${ref}, which the build does not produce`);
  referenced.add(name);
  return `${attr}="${ref}?v=${shortHash(out.get(name))}"`;
});
for (const name of ['app.js', 'style.css', 'vendor/uplot.min.js', 'vendor/uplot.min.css']) {
  if (!referenced.has(name)) fail(`index.html does not load ${name}`);
}
out.set('index.html', Buffer.from(html, 'utf8'));

const tmp = `${dist}.tmp-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
let bytes = 0;
for (const name of [...out.keys()].sort()) {
  const dest = join(tmp, name);
  mkdirSync(dirname(dest), { recursive: true });
  writeFileSync(dest, out.get(name));
  bytes += out.get(name).length;
}
rmSync(dist, { recursive: true, force: true });
renameSync(tmp, dist);

const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(`web: ${out.size} files, ${bytes} bytes → web/dist (${ms.toFixed(0)} ms)\n`);
