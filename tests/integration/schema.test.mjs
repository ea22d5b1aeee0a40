// Integration: the schema registry's Confluent-style REST API on the real binary, persistence
// across a restart, and the `tally schema` CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startServer, tempDir, uid, BIN } from '../lib/server.mjs';

const CT = 'application/vnd.schemaregistry.v1+json';
let dataDir;
let srv;

before(async () => {
  dataDir = tempDir('tally-schema-');
  srv = await startServer({ dataDir });
});
after(async () => {
  if (srv) await srv.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function sr(method, p, body) {
  const init = { method, headers: { 'Content-Type': CT, Accept: CT } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(`${srv.url}${p}`, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* raw schema or error page */ }
  return { status: res.status, json, text };
}
const reg = (schema) => ({ schemaType: 'JSON', schema: JSON.stringify(schema) });
const enc = encodeURIComponent;

const v1 = {
  type: 'object',
  properties: { price: { type: 'number' }, currency: { type: 'string' } },
  required: ['price'],
  additionalProperties: false,
};
const v2 = { ...v1, properties: { ...v1.properties, coupon: { type: 'string' } } };
const v3Bad = { ...v2, required: ['price', 'coupon'] };

test('register, idempotent re-register, versions, latest, by id, lookup', async () => {
  const subject = `Order Completed ${uid()}`;
  const r1 = await sr('POST', `/subjects/${enc(subject)}/versions`, reg(v1));
  assert.equal(r1.status, 200, r1.text);
  const id = r1.json.id;
  assert.ok(Number.isInteger(id) && id > 0);

  // same schema, different whitespace: same id, no new version
  const again = await sr('POST', `/subjects/${enc(subject)}/versions`,
    { schemaType: 'JSON', schema: JSON.stringify(v1, null, 2) });
  assert.deepEqual(again.json, { id });
  // same schema under another subject: same global id
  const other = await sr('POST', `/subjects/${enc(subject + ' copy')}/versions`, reg(v1));
  assert.deepEqual(other.json, { id });

  assert.deepEqual((await sr('GET', `/subjects/${enc(subject)}/versions`)).json, [1]);
  const latest = await sr('GET', `/subjects/${enc(subject)}/versions/latest`);
  assert.equal(latest.status, 200);
  assert.deepEqual(latest.json, { subject, version: 1, id, schemaType: 'JSON', schema: JSON.stringify(v1) });
  const raw = await sr('GET', `/subjects/${enc(subject)}/versions/1/schema`);
  assert.deepEqual(JSON.parse(raw.text), v1);
  const byId = await sr('GET', `/schemas/ids/${id}`);
  assert.deepEqual(byId.json, { schemaType: 'JSON', schema: JSON.stringify(v1) });

  const subjects = (await sr('GET', '/subjects')).json;
  assert.ok(subjects.includes(subject) && subjects.includes(subject + ' copy'));

  const found = await sr('POST', `/subjects/${enc(subject)}`, reg(v1));
  assert.equal(found.status, 200);
  assert.equal(found.json.version, 1);
  assert.equal(found.json.id, id);
  const missing = await sr('POST', `/subjects/${enc(subject)}`, reg({ type: 'string' }));
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error_code, 40403);
  const noSubject = await sr('GET', `/subjects/${enc('nope ' + uid())}/versions`);
  assert.equal(noSubject.status, 404);
  assert.equal(noSubject.json.error_code, 40401);
  const noId = await sr('GET', '/schemas/ids/999999');
  assert.equal(noId.json.error_code, 40403);
});

test('invalid schemas and bad versions are refused with 422', async () => {
  const subject = `bad-${uid()}`;
  const r = await sr('POST', `/subjects/${subject}/versions`, { schemaType: 'JSON', schema: '{"type":' });
  assert.equal(r.status, 422);
  assert.equal(r.json.error_code, 42201);
  assert.match(r.json.message, /^Invalid schema: not JSON/);
  const t = await sr('POST', `/subjects/${subject}/versions`, reg({ type: 'strng' }));
  assert.equal(t.status, 422);
  assert.equal(t.json.error_code, 42201);
  const avro = await sr('POST', `/subjects/${subject}/versions`, { schemaType: 'AVRO', schema: '"string"' });
  assert.equal(avro.status, 422);
  assert.match(avro.json.message, /Unsupported schemaType/);
  const v = await sr('GET', `/subjects/${subject}/versions/0`);
  assert.equal(v.status, 422);
  assert.equal(v.json.error_code, 42202);
});

test('compatible evolution gives v2; an incompatible one is 409 with the reason', async () => {
  const subject = `evolve-${uid()}`;
  const id1 = (await sr('POST', `/subjects/${subject}/versions`, reg(v1))).json.id;
  // an optional property added to a closed content model is backward compatible
  const r2 = await sr('POST', `/subjects/${subject}/versions`, reg(v2));
  assert.equal(r2.status, 200, r2.text);
  assert.notEqual(r2.json.id, id1);
  assert.deepEqual((await sr('GET', `/subjects/${subject}/versions`)).json, [1, 2]);

  // making it required is not: old data without a coupon would be rejected
  const r3 = await sr('POST', `/subjects/${subject}/versions`, reg(v3Bad));
  assert.equal(r3.status, 409);
  assert.equal(r3.json.error_code, 409);
  assert.deepEqual(r3.json.messages,
    ["#/required: property 'coupon' added to required (version 2 -> new schema)"]);
  assert.match(r3.json.message, /incompatible with an earlier schema.*'coupon' added to required/);

  // the compatibility endpoint answers without registering
  const c = await sr('POST', `/compatibility/subjects/${subject}/versions/latest?verbose=true`, reg(v3Bad));
  assert.deepEqual(c.json, { is_compatible: false,
    messages: ["#/required: property 'coupon' added to required (version 2 -> new schema)"] });
  const ok = await sr('POST', `/compatibility/subjects/${subject}/versions/1`, reg(v2));
  assert.deepEqual(ok.json, { is_compatible: true, messages: [] });

  // per-subject NONE lets it in; the global level is untouched
  const put = await sr('PUT', `/config/${subject}`, { compatibility: 'NONE' });
  assert.deepEqual(put.json, { compatibility: 'NONE' });
  assert.deepEqual((await sr('GET', `/config/${subject}`)).json, { compatibilityLevel: 'NONE' });
  assert.deepEqual((await sr('GET', '/config')).json, { compatibilityLevel: 'BACKWARD' });
  const r4 = await sr('POST', `/subjects/${subject}/versions`, reg(v3Bad));
  assert.equal(r4.status, 200, r4.text);
  assert.deepEqual((await sr('GET', `/subjects/${subject}/versions`)).json, [1, 2, 3]);

  const bad = await sr('PUT', `/config/${subject}`, { compatibility: 'SOMETIMES' });
  assert.equal(bad.status, 422);
  assert.equal(bad.json.error_code, 42203);
});

test('FULL and FULL_TRANSITIVE modes', async () => {
  const subject = `full-${uid()}`;
  assert.equal((await sr('PUT', `/config/${subject}`, { compatibility: 'FULL' })).status, 200);
  const base = { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false };
  assert.equal((await sr('POST', `/subjects/${subject}/versions`, reg(base))).status, 200);
  // widening breaks forward, narrowing breaks backward: FULL refuses both
  const wider = { ...base, properties: { a: { type: ['string', 'null'] } } };
  const narrower = { ...base, properties: { a: { type: 'string', maxLength: 3 } } };
  const w = await sr('POST', `/subjects/${subject}/versions`, reg(wider));
  assert.equal(w.status, 409);
  assert.deepEqual(w.json.messages,
    ['#/properties/a: type narrowed from [string, null] to [string] (new schema -> version 1)']);
  const n = await sr('POST', `/subjects/${subject}/versions`, reg(narrower));
  assert.equal(n.status, 409);
  assert.deepEqual(n.json.messages, ['#/properties/a/maxLength: added (3) (version 1 -> new schema)']);
  // an equivalent schema (annotations only) passes
  const same = { ...base, properties: { a: { type: 'string', description: 'the a' } } };
  assert.equal((await sr('POST', `/subjects/${subject}/versions`, reg(same))).status, 200);

  // FULL_TRANSITIVE checks every live version
  const t = `fullt-${uid()}`;
  await sr('PUT', `/config/${t}`, { compatibility: 'NONE' });
  await sr('POST', `/subjects/${t}/versions`, reg({ type: 'string' }));
  await sr('POST', `/subjects/${t}/versions`, reg({ type: 'string', maxLength: 5 }));
  await sr('PUT', `/config/${t}`, { compatibility: 'FULL_TRANSITIVE' });
  const c = await sr('POST', `/compatibility/subjects/${t}/versions`, reg({ type: 'string', maxLength: 5 }));
  assert.equal(c.json.is_compatible, false);
  assert.ok(c.json.messages.some((m) => m.endsWith('(version 1 -> new schema)')), c.text);
  await sr('PUT', `/config/${t}`, { compatibility: 'FULL' });
  const c2 = await sr('POST', `/compatibility/subjects/${t}/versions`, reg({ type: 'string', maxLength: 5 }));
  assert.deepEqual(c2.json, { is_compatible: true, messages: [] });
});

test('soft delete, then permanent delete', async () => {
  const subject = `del-${uid()}`;
  await sr('PUT', `/config/${subject}`, { compatibility: 'NONE' });
  const id1 = (await sr('POST', `/subjects/${subject}/versions`, reg({ type: 'string', title: subject }))).json.id;
  await sr('POST', `/subjects/${subject}/versions`, reg({ type: 'integer', title: subject }));

  const early = await sr('DELETE', `/subjects/${subject}/versions/1?permanent=true`);
  assert.equal(early.status, 404);
  assert.equal(early.json.error_code, 40407);
  assert.equal((await sr('DELETE', `/subjects/${subject}/versions/1`)).text, '1');
  assert.deepEqual((await sr('GET', `/subjects/${subject}/versions`)).json, [2]);
  assert.deepEqual((await sr('GET', `/subjects/${subject}/versions?deleted=true`)).json, [1, 2]);
  assert.equal((await sr('GET', `/schemas/ids/${id1}`)).status, 200); // still by id
  assert.equal((await sr('DELETE', `/subjects/${subject}/versions/1?permanent=true`)).text, '1');
  assert.equal((await sr('GET', `/schemas/ids/${id1}`)).status, 404);

  const whole = await sr('DELETE', `/subjects/${subject}`);
  assert.deepEqual(whole.json, [2]);
  assert.ok(!(await sr('GET', '/subjects')).json.includes(subject));
  assert.ok((await sr('GET', '/subjects?deleted=true')).json.includes(subject));
  assert.equal((await sr('GET', `/subjects/${subject}/versions/latest`)).json.error_code, 40401);
  assert.deepEqual((await sr('DELETE', `/subjects/${subject}?permanent=true`)).json, [2]);
  assert.ok(!(await sr('GET', '/subjects?deleted=true')).json.includes(subject));
});

test('everything survives a restart', async () => {
  const subject = `persist-${uid()}`;
  await sr('PUT', `/config/${subject}`, { compatibility: 'FORWARD' });
  const id = (await sr('POST', `/subjects/${subject}/versions`, reg(v1))).json.id;
  const before = (await sr('GET', '/subjects')).json;

  await srv.stop();
  srv = await startServer({ dataDir });

  assert.deepEqual((await sr('GET', '/subjects')).json, before);
  assert.deepEqual((await sr('GET', `/subjects/${subject}/versions/latest`)).json,
    { subject, version: 1, id, schemaType: 'JSON', schema: JSON.stringify(v1) });
  assert.deepEqual((await sr('GET', `/config/${subject}`)).json, { compatibilityLevel: 'FORWARD' });
  // ids continue after the restart
  const next = await sr('POST', `/subjects/${subject}-2/versions`, reg({ type: 'null', title: subject }));
  assert.ok(next.json.id > id);
});

function cli(args) {
  return new Promise((resolve) => {
    const p = spawn(BIN, ['schema', '--url', srv.url, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr.on('data', (c) => { err += c; });
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('the tally schema CLI', async () => {
  const dir = tempDir('tally-schema-cli-');
  try {
    const subject = `cli ${uid()}`;
    const f1 = path.join(dir, 'v1.json');
    const f3 = path.join(dir, 'v3.json');
    writeFileSync(f1, JSON.stringify(v1, null, 2));
    writeFileSync(f3, JSON.stringify(v3Bad));

    const r = await cli(['register', subject, f1]);
    assert.equal(r.code, 0, r.err);
    const id = JSON.parse(r.out).id;
    assert.ok(id > 0);
    const l = await cli(['list']);
    assert.equal(l.code, 0);
    assert.ok(JSON.parse(l.out).includes(subject));
    assert.deepEqual(JSON.parse((await cli(['versions', subject])).out), [1]);
    const g = await cli(['get', subject]);
    assert.equal(JSON.parse(g.out).id, id);
    assert.equal(JSON.parse((await cli(['get', subject, '1'])).out).version, 1);
    assert.equal(JSON.parse((await cli(['get-id', String(id)])).out).schemaType, 'JSON');

    const chk = await cli(['check', subject, f3]);
    assert.equal(chk.code, 0);
    assert.equal(JSON.parse(chk.out).is_compatible, false);
    const bad = await cli(['register', subject, f3]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /409: Schema being registered is incompatible/);

    assert.deepEqual(JSON.parse((await cli(['config', subject, 'none'])).out), { compatibility: 'NONE' });
    assert.deepEqual(JSON.parse((await cli(['config', subject])).out), { compatibilityLevel: 'NONE' });
    assert.deepEqual(JSON.parse((await cli(['config'])).out), { compatibilityLevel: 'BACKWARD' });
    assert.equal((await cli(['register', subject, f3])).code, 0);

    assert.equal((await cli(['delete', subject, '1'])).out.trim(), '1');
    assert.deepEqual(JSON.parse((await cli(['delete', subject])).out), [2]);
    assert.deepEqual(JSON.parse((await cli(['delete', subject, '--permanent'])).out), [1, 2]);
    const gone = await cli(['get', subject]);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /404: Subject '.*' not found/);

    const usage = await cli(['frobnicate']);
    assert.equal(usage.code, 2);
    const down = await new Promise((resolve) => {
      const p = spawn(BIN, ['schema', '--url', 'http://127.0.0.1:1', 'list'], { stdio: ['ignore', 'pipe', 'pipe'] });
      p.on('exit', (code) => resolve(code));
    });
    assert.equal(down, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
