import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { buildDelivery, type DeliveryMode, type HostId } from '../../dev/deliveries';
import type { CodeHub } from '../../lib/codehub/types';
import type { MirrorTarget } from '../../lib/config/types';
import type { HttpEvent } from '../../lib/http/event';
import { silentLogger } from '../../lib/observability/log';
import { buildMirrorIndex, type MirrorIndexInput } from '../../lib/config/mapping';
import { providers } from '../../lib/providers';
import { createWebhookHandler } from '../../lib/pipeline/webhook';
import { httpApiEvent, restApiEvent } from '../support/lambda';

/**
 * Hostile input, generated: random and adversarial events never make the handler throw, never get
 * a 5xx for the sender's fault (CodeHub here always succeeds, so any 5xx is the bridge's), never
 * reach CodeHub without a valid signature, and bodies over the limit get 413 before anything reads
 * them. 4 properties × 2500 runs = 10,000 cases per `npm test`.
 */

/** Runs per property; `PROPERTY_RUNS=50000 npx vitest run test/property` digs deeper. */
const RUNS = Number(process.env['PROPERTY_RUNS'] ?? 2500);
const FIXED_NOW = Date.parse('2026-03-01T12:00:00Z');
const SECRET = 'property-secret-0123456789';
const WRONG_SECRET = 'not-the-secret-9876543210';
const WHSEC = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const WRONG_WHSEC = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const BODY_LIMIT = 512;

/** One way a host proves a delivery, with the headers that carry the proof (first = the main one). */
interface HostCase {
  readonly host: HostId;
  readonly mode: DeliveryMode;
  readonly repo: string;
  readonly serverUrl?: string;
  /** Whether the proof covers the body (a changed byte must then be refused). */
  readonly bodySigned: boolean;
  readonly proofs: readonly string[];
  /** How far a signed timestamp may be off, for hosts that sign one. */
  readonly toleranceMs?: number;
}

const CASES: readonly HostCase[] = [
  { host: 'github', mode: 'signature', repo: 'acme/api', bodySigned: true, proofs: ['x-hub-signature-256'] },
  { host: 'gitlab', mode: 'token', repo: 'acme/api', bodySigned: false, proofs: ['x-gitlab-token'] },
  { host: 'gitlab', mode: 'signature', repo: 'acme/api', bodySigned: true, proofs: ['webhook-signature'], toleranceMs: 5 * 60_000 },
  { host: 'gitea', mode: 'signature', repo: 'acme/api', bodySigned: true, proofs: ['x-gitea-signature'] },
  { host: 'forgejo', mode: 'signature', repo: 'acme/api', bodySigned: true, proofs: ['x-forgejo-signature', 'x-gitea-signature'] },
  { host: 'gogs', mode: 'signature', repo: 'acme/api', bodySigned: true, proofs: ['x-gogs-signature'] },
  { host: 'bitbucket', mode: 'signature', repo: 'acme/api', bodySigned: true, proofs: ['x-hub-signature'] },
  { host: 'bitbucket-dc', mode: 'signature', repo: 'PRJ/api', serverUrl: 'https://bitbucket.example.com', bodySigned: true, proofs: ['x-hub-signature'] },
  { host: 'gitee', mode: 'password', repo: 'acme/api', bodySigned: false, proofs: ['x-gitee-token'] },
  { host: 'gitee', mode: 'signature', repo: 'acme/api', bodySigned: false, proofs: ['x-gitee-token'], toleranceMs: 60 * 60_000 },
  { host: 'gitcode', mode: 'token', repo: 'acme/api', bodySigned: false, proofs: ['x-gitcode-token'] },
  { host: 'gitcode', mode: 'signature', repo: 'acme/api', bodySigned: true, proofs: ['x-gitcode-signature-256'] },
];

const SOURCE_HOSTS = ['github.com', 'gitlab.com', 'gitea.com', 'codeberg.org', 'try.gogs.io', 'bitbucket.org', 'gitee.com', 'gitcode.com'];

function mirror(source: string, repositoryId: number): MirrorTarget {
  return { source, repositoryId, secrets: undefined, refs: undefined, forceFetch: true };
}

const CONFIG: MirrorIndexInput = {
  webhooks: new Map([
    ...SOURCE_HOSTS.map((host): [string, string[]] => [host, host === 'gitlab.com' ? [SECRET, WHSEC] : [SECRET]]),
    ['bitbucket.example.com', [SECRET]],
  ]),
  mirrors: [...SOURCE_HOSTS.map((host, i) => mirror(`${host}/acme/api`, 100 + i)), mirror('bitbucket.example.com/prj/api', 200)],
};
const INDEX = buildMirrorIndex(CONFIG);

/** A fresh pipeline per case (its own idempotency store and in-flight map) and a CodeHub that always succeeds. */
function pipeline(maxBodyBytes?: number) {
  let calls = 0;
  const codehub: CodeHub = {
    startMirrorSync(repositoryId) {
      calls += 1;
      return Promise.resolve({ jid: `jid-${repositoryId}` });
    },
  };
  const handler = createWebhookHandler({
    index: INDEX,
    codehub,
    logger: silentLogger,
    now: () => FIXED_NOW,
    ...(maxBodyBytes === undefined ? {} : { maxBodyBytes }),
  });
  return { handler, calls: () => calls };
}

// ---------------------------------------------------------------------------------------------
// Signing, independently of the bridge's verifiers (as each host's docs describe it).

function hmac(key: string | Buffer, data: string | Buffer, encoding: 'hex' | 'base64', algorithm = 'sha256'): string {
  return createHmac(algorithm, key).update(data).digest(encoding);
}

/** Every proof header present in `headers`, recomputed for `body` with `secret` (or `whsec` for Standard Webhooks). */
function resign(headers: Record<string, string>, body: Buffer, hostCase: HostCase, secret: string, whsec: string): Record<string, string> {
  const out = { ...headers };
  for (const name of Object.keys(out)) {
    const value = out[name] ?? '';
    if (name === 'x-hub-signature-256' || name === 'x-gitcode-signature-256') out[name] = `sha256=${hmac(secret, body, 'hex')}`;
    else if (name === 'x-hub-signature') out[name] = value.startsWith('sha1=') ? `sha1=${hmac(secret, body, 'hex', 'sha1')}` : `sha256=${hmac(secret, body, 'hex')}`;
    else if (name === 'x-gitea-signature' || name === 'x-forgejo-signature' || name === 'x-gogs-signature') out[name] = hmac(secret, body, 'hex');
    else if (name === 'webhook-signature') {
      const key = Buffer.from(whsec.slice('whsec_'.length), 'base64');
      const signed = Buffer.concat([Buffer.from(`${out['webhook-id'] ?? ''}.${out['webhook-timestamp'] ?? ''}.`), body]);
      out[name] = `v1,${hmac(key, signed, 'base64')}`;
    } else if (name === 'x-gitlab-token' || name === 'x-gitcode-token') out[name] = secret;
    else if (name === 'x-gitee-token') {
      out[name] = hostCase.mode === 'password' ? secret : hmac(secret, `${out['x-gitee-timestamp'] ?? ''}\n${secret}`, 'base64');
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Events.

interface EventShape {
  /** API Gateway REST API (1.0, header case kept) instead of HTTP API (2.0). */
  readonly rest: boolean;
  /** Flip the case of header-name characters by this seed (REST only). */
  readonly caseSeed: number;
  readonly base64: boolean;
  /** REST only: the main proof header sent twice, the second time with this value. */
  readonly duplicate?: { readonly name: string; readonly value: string } | undefined;
}

function caseGame(name: string, seed: number): string {
  let state = seed >>> 0;
  return [...name]
    .map((c) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 16) & 1 ? c.toUpperCase() : c.toLowerCase();
    })
    .join('');
}

function isUtf8RoundTrip(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes);
}

function toEvent(headers: Record<string, string>, body: Buffer, shape: EventShape): HttpEvent {
  // Bytes that are not valid UTF-8 only survive base64, as API Gateway sends binary bodies.
  const base64 = shape.base64 || !isUtf8RoundTrip(body);
  if (!shape.rest) return httpApiEvent({ headers, body, base64 });
  const cased: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) cased[caseGame(name, shape.caseSeed)] = value;
  const event = restApiEvent({ headers: cased, body, base64 });
  if (shape.duplicate) {
    const name = Object.keys(cased).find((n) => n.toLowerCase() === shape.duplicate?.name);
    if (name !== undefined) event.multiValueHeaders = { ...event.multiValueHeaders, [name]: [cased[name] ?? '', shape.duplicate.value] };
  }
  return event;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries.

const hex = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: min, maxLength: max });
const sha = hex(40, 40);
/** A `before` that is never all zeros: a push of a ref that neither existed nor exists is not a push. */
const existingSha = hex(39, 39).map((h) => `a${h}`);

/** Signature-looking junk: wrong lengths, wrong prefixes, wrong alphabets; never blank. */
const junkSignature = fc
  .oneof(
    hex(0, 130).map((h) => `sha256=${h}`),
    hex(0, 130),
    fc.string({ maxLength: 90 }).map((s) => `v1,${s}`),
    fc.base64String({ maxLength: 90 }),
    fc.string({ maxLength: 90 }),
    fc.constantFrom('sha256=', 'sha1=abc', 'v1,', 'SHA256=' + '0'.repeat(64), '\u0000', 'null'),
  )
  .filter((s) => s.trim() !== '');

/** Extra JSON members an attacker (or an odd host) could put in a signed payload. */
const extraMembers = fc
  .record(
    {
      __proto__: fc.jsonValue({ maxDepth: 2 }),
      constructor: fc.jsonValue({ maxDepth: 2 }),
      prototype: fc.jsonValue({ maxDepth: 2 }),
      deep: fc.integer({ min: 1, max: 3000 }),
      text: fc.string({ unit: 'binary', maxLength: 200 }),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }),
      duplicateRef: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  )
  .map((extras) => {
    const parts: Buffer[] = [];
    for (const key of ['__proto__', 'constructor', 'prototype'] as const) {
      if (Object.hasOwn(extras, key)) parts.push(Buffer.from(`${JSON.stringify(key)}:${JSON.stringify(extras[key])}`));
    }
    if (extras.deep !== undefined) parts.push(Buffer.from(`"deep":${'['.repeat(extras.deep)}${']'.repeat(extras.deep)}`));
    if (extras.text !== undefined) parts.push(Buffer.from(`"text":${JSON.stringify(extras.text)}`));
    // Raw bytes ≥ 0x80 inside a string: often invalid UTF-8, never a quote, backslash or control character.
    if (extras.bytes !== undefined) parts.push(Buffer.concat([Buffer.from('"bytes":"'), Buffer.from(extras.bytes.map((b) => 0x80 | b)), Buffer.from('"')]));
    // Comes before the real `ref`, so JSON's last-one-wins keeps the push readable.
    if (extras.duplicateRef !== undefined) parts.push(Buffer.from(`"ref":${JSON.stringify(extras.duplicateRef)}`));
    return parts;
  });

/** The body with `members` inserted first in its top-level object. */
function withMembers(body: string, members: readonly Buffer[]): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  if (members.length === 0) return bytes;
  const open = bytes.indexOf('{') + 1;
  return Buffer.concat([bytes.subarray(0, open), ...members.flatMap((m) => [m, Buffer.from(',')]), bytes.subarray(open)]);
}

type Breaks = 'no' | 'yes' | 'maybe';

type Mutation =
  | { readonly kind: 'junk-headers'; readonly headers: Record<string, string> }
  | { readonly kind: 'flip-byte'; readonly at: number; readonly xor: number }
  | { readonly kind: 'drop-proof' }
  | { readonly kind: 'junk-proof'; readonly value: string }
  | { readonly kind: 'truncate-proof' }
  | { readonly kind: 'wrong-secret' }
  | { readonly kind: 'duplicate-proof'; readonly value: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc
    .dictionary(
      fc.oneof(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz-0123456789'), minLength: 1, maxLength: 12 }).map((s) => `x-junk-${s}`), fc.constantFrom('__proto__', 'constructor')),
      fc.string({ maxLength: 40 }),
      { maxKeys: 4 },
    )
    .map((headers) => ({ kind: 'junk-headers' as const, headers })),
  fc.record({ kind: fc.constant('flip-byte' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.constant({ kind: 'drop-proof' as const }),
  junkSignature.map((value) => ({ kind: 'junk-proof' as const, value })),
  fc.constant({ kind: 'truncate-proof' as const }),
  fc.constant({ kind: 'wrong-secret' as const }),
  junkSignature.map((value) => ({ kind: 'duplicate-proof' as const, value })),
);

/**
 * Whether the mutated delivery still carries a valid proof, judged on the final bytes: the host's
 * proof headers are read in order and the first non-blank one counts (Forgejo falls back to
 * X-Gitea-Signature); a changed body breaks a proof that covers it. `maybe` where accepting or
 * refusing are both defensible (a proof header sent twice, a changed body under a token).
 */
function verdictsFor(original: Built, final: Built, hostCase: HostCase, duplicated: boolean, skewMs: number): Breaks[] {
  const effective = hostCase.proofs.find((name) => (final.headers[name] ?? '').trim() !== '');
  const proofIntact = effective !== undefined && final.headers[effective] === original.headers[effective];
  const bodyChanged = !final.body.equals(original.body);
  return [
    proofIntact ? 'no' : 'yes',
    bodyChanged ? (hostCase.bodySigned ? 'yes' : 'maybe') : 'no',
    duplicated ? 'maybe' : 'no',
    skewBreaks(hostCase, skewMs) ? 'yes' : 'no',
  ];
}

const skew = fc.constantFrom(0, 0, 0, 10 * 60_000, -10 * 60_000, 2 * 3_600_000, -2 * 3_600_000, 2 * 86_400_000);

const signedCase = fc.record({
  hostCase: fc.constantFrom(...CASES),
  deliveryId: fc.uuid(),
  before: existingSha,
  after: sha,
  tag: fc.boolean(),
  skewMs: skew,
  members: extraMembers,
  mutations: fc.array(mutation, { maxLength: 3 }),
  shape: fc.record({ rest: fc.boolean(), caseSeed: fc.integer(), base64: fc.boolean() }),
});

interface Built {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** A delivery as the host would send it, `members` added to the payload and the proofs recomputed. */
function signed(hostCase: HostCase, options: { deliveryId: string; before: string; after: string; tag: boolean; skewMs: number; members: readonly Buffer[] }): Built {
  const secret = hostCase.host === 'gitlab' && hostCase.mode === 'signature' ? WHSEC : SECRET;
  const base = buildDelivery({
    host: hostCase.host,
    repo: hostCase.repo,
    mode: hostCase.mode,
    secret,
    serverUrl: hostCase.serverUrl,
    now: FIXED_NOW + options.skewMs,
    deliveryId: options.deliveryId,
    before: options.before,
    after: options.after,
    ref: options.tag ? 'refs/tags/v1.0.0' : 'refs/heads/main',
  });
  const body = withMembers(base.body, options.members);
  return { headers: resign(base.headers, body, hostCase, SECRET, WHSEC), body };
}

function applyMutation(built: Built, m: Mutation, hostCase: HostCase): { built: Built; duplicate?: { name: string; value: string } } {
  const [main] = hostCase.proofs;
  const headers = { ...built.headers };
  switch (m.kind) {
    case 'junk-headers':
      return { built: { headers: { ...headers, ...m.headers }, body: built.body } };
    case 'flip-byte': {
      const body = Buffer.from(built.body);
      const at = m.at % body.length;
      body[at] = (body[at] ?? 0) ^ m.xor;
      return { built: { headers, body } };
    }
    case 'drop-proof':
      return { built: { headers: Object.fromEntries(Object.entries(headers).filter(([name]) => !hostCase.proofs.includes(name))), body: built.body } };
    case 'junk-proof':
      if (main !== undefined) headers[main] = m.value;
      return { built: { headers, body: built.body } };
    case 'truncate-proof':
      if (main !== undefined) headers[main] = (headers[main] ?? '').slice(0, -1);
      return { built: { headers, body: built.body } };
    case 'wrong-secret':
      return { built: { headers: resign(headers, built.body, hostCase, WRONG_SECRET, WRONG_WHSEC), body: built.body } };
    case 'duplicate-proof':
      return { built: { headers, body: built.body }, ...(main === undefined ? {} : { duplicate: { name: main, value: m.value } }) };
  }
}

function skewBreaks(hostCase: HostCase, skewMs: number): boolean {
  return hostCase.toleranceMs !== undefined && Math.abs(skewMs) > hostCase.toleranceMs;
}

// ---------------------------------------------------------------------------------------------
// Junk events.

const KNOWN_HEADERS = [
  'x-github-event', 'x-gitlab-event', 'x-gitea-event', 'x-forgejo-event', 'x-gogs-event', 'x-event-key', 'x-gitee-event',
  'x-gitcode-event', 'x-hub-signature-256', 'x-hub-signature', 'x-gitlab-token', 'webhook-signature', 'webhook-id',
  'webhook-timestamp', 'x-gitea-signature', 'x-forgejo-signature', 'x-gogs-signature', 'x-gitee-token', 'x-gitee-timestamp',
  'x-gitee-ping', 'x-gitcode-token', 'x-gitcode-signature-256', 'content-type', 'x-github-delivery', 'content-length',
];

const junkHeaderName = fc.oneof(
  fc.constantFrom(...KNOWN_HEADERS).chain((name) => fc.mixedCase(fc.constant(name))),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', ''),
);
const junkHeaderValue = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom('', ' ', 'push', 'Push Hook', 'Tag Push Hook', 'repo:push', 'repo:refs_changed', 'ping', 'true', 'application/x-www-form-urlencoded', 'application/json'),
  junkSignature,
  fc.integer({ min: 0, max: 2 ** 40 }).map(String),
  fc.anything({ maxDepth: 1 }),
);
const junkBody = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64')),
  fc.string({ unit: fc.constantFrom(...'%*!@#$^&()=-_~ \n'), maxLength: 60 }),
  fc.integer({ min: 1, max: 5000 }).map((d) => `{"a":${'['.repeat(d)}${']'.repeat(d)}}`),
  fc.anything({ maxDepth: 2 }),
);

const junkEvent = fc.record(
  {
    version: fc.oneof(fc.constant('2.0'), fc.constant('1.0'), fc.anything({ maxDepth: 0 })),
    httpMethod: fc.oneof(fc.constantFrom('POST', 'post', 'GET', ''), fc.anything({ maxDepth: 0 })),
    requestContext: fc.oneof(fc.constant({ http: { method: 'POST' } }), fc.record({ http: fc.record({ method: fc.anything({ maxDepth: 0 }) }) }), fc.anything({ maxDepth: 2 })),
    headers: fc.oneof(fc.dictionary(junkHeaderName, junkHeaderValue, { maxKeys: 12 }), fc.anything({ maxDepth: 2 })),
    multiValueHeaders: fc.oneof(fc.dictionary(junkHeaderName, fc.array(junkHeaderValue, { maxLength: 3 }), { maxKeys: 6 }), fc.anything({ maxDepth: 2 })),
    body: junkBody,
    isBase64Encoded: fc.oneof(fc.boolean(), fc.anything({ maxDepth: 0 })),
  },
  { requiredKeys: [] },
);

// ---------------------------------------------------------------------------------------------
// Hostile payloads, validly signed.

const wrongTypedPush = fc.record({ path: fc.constantFrom('ref', 'before', 'after', 'repository', 'project', 'push', 'changes', 'refChanges', 'commits', 'deleted', 'object_kind'), value: fc.jsonValue({ maxDepth: 3 }), nested: fc.boolean() });

const hostilePayload = fc.oneof(
  wrongTypedPush.map((p) => ({ kind: 'wrong-type' as const, ...p })),
  fc.jsonValue({ maxDepth: 5 }).map((v) => ({ kind: 'bytes' as const, bytes: Buffer.from(JSON.stringify(v) ?? 'null') })),
  fc.uint8Array({ maxLength: 400 }).map((b) => ({ kind: 'bytes' as const, bytes: Buffer.from(b) })),
  fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":')).map(([depth, open]) => ({
    kind: 'bytes' as const,
    bytes: Buffer.from(open === '[' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  })),
  fc.integer({ min: 1, max: 64 * 1024 }).map((n) => ({ kind: 'bytes' as const, bytes: Buffer.from(`{"ref":"${'x'.repeat(n)}"}`) })),
  fc.constant({ kind: 'proto' as const }),
);

/** The payload, as bytes: from the host's valid push with one field retyped, or arbitrary. */
function hostileBody(base: string, payload: HostilePayload): Buffer {
  if (payload.kind === 'bytes') return payload.bytes;
  const parsed = JSON.parse(base) as Record<string, unknown>;
  if (payload.kind === 'proto') {
    // A valid push hidden under `__proto__`: readers must not find it through the prototype.
    return Buffer.from(`{"__proto__":${base}}`);
  }
  const holder = payload.nested && typeof parsed['repository'] === 'object' && parsed['repository'] !== null ? (parsed['repository'] as Record<string, unknown>) : parsed;
  holder[payload.path] = payload.value;
  return Buffer.from(JSON.stringify(parsed));
}

type HostilePayload =
  | { readonly kind: 'wrong-type'; readonly path: string; readonly value: unknown; readonly nested: boolean }
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  | { readonly kind: 'proto' };

function expectWellFormedAnswer(response: { statusCode: number; body: string }): void {
  expect(Number.isInteger(response.statusCode)).toBe(true);
  expect(() => JSON.parse(response.body) as unknown).not.toThrow();
}

// ---------------------------------------------------------------------------------------------

describe('webhook pipeline under hostile input (property-based)', () => {
  it('answers random events without throwing, without a 5xx and without calling CodeHub', async () => {
    await fc.assert(
      // Mostly event-shaped objects; now and then anything at all (null, numbers, arrays, strings).
      fc.asyncProperty(fc.oneof({ arbitrary: junkEvent, weight: 9 }, { arbitrary: fc.anything({ maxDepth: 2 }), weight: 1 }), async (event) => {
        // Prepare
        const { handler, calls } = pipeline();
        // Act
        const response = await handler(event);
        // Assess
        expectWellFormedAnswer(response);
        expect(response.statusCode).toBeGreaterThanOrEqual(200);
        expect(response.statusCode).toBeLessThan(500);
        expect(calls()).toBe(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('reaches CodeHub only with a valid proof, and always with one (mutated signed deliveries)', async () => {
    await fc.assert(
      fc.asyncProperty(signedCase, async (generated) => {
        // Prepare
        const { hostCase, mutations, shape, skewMs } = generated;
        const { handler, calls } = pipeline();
        const original = signed(hostCase, generated);
        let built = original;
        let duplicate: { name: string; value: string } | undefined;
        for (const m of mutations) {
          const applied = applyMutation(built, m, hostCase);
          built = applied.built;
          duplicate = applied.duplicate ?? duplicate;
        }
        const verdicts = verdictsFor(original, built, hostCase, duplicate !== undefined, skewMs);
        const event = toEvent(built.headers, built.body, { ...shape, rest: shape.rest || duplicate !== undefined, duplicate });
        // Act
        const response = await handler(event);
        // Assess
        expectWellFormedAnswer(response);
        expect(response.statusCode).toBeLessThan(500);
        if (calls() > 0) expect(verdicts).not.toContain('yes');
        if (verdicts.every((v) => v === 'no')) {
          expect({ status: response.statusCode, calls: calls() }).toEqual({ status: 200, calls: 1 });
        }
        if (verdicts.includes('yes')) expect(response.statusCode).toBe(401);
      }),
      { numRuns: RUNS },
    );
  });

  it('never lets a hostile but validly signed payload cause a 5xx, a throw or prototype pollution', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CASES), hostilePayload, fc.boolean(), async (hostCase, payload, rest) => {
        // Prepare
        const { handler, calls } = pipeline();
        const secret = hostCase.host === 'gitlab' && hostCase.mode === 'signature' ? WHSEC : SECRET;
        const base = buildDelivery({ host: hostCase.host, repo: hostCase.repo, mode: hostCase.mode, secret, serverUrl: hostCase.serverUrl, now: FIXED_NOW, deliveryId: 'd', before: 'a'.repeat(40), after: 'b'.repeat(40) });
        const body = hostileBody(base.body, payload);
        const headers = resign(base.headers, body, hostCase, SECRET, WHSEC);
        // Act
        const response = await handler(toEvent(headers, body, { rest, caseSeed: 1, base64: false }));
        // Assess
        expectWellFormedAnswer(response);
        expect(response.statusCode).toBeLessThan(500);
        if (calls() > 0) expect(response.statusCode).toBe(200);
        if (payload.kind === 'proto') expect(response.statusCode).toBe(400);
        expect(({} as Record<string, unknown>)['ref']).toBeUndefined();
        expect(({} as Record<string, unknown>)['repository']).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('answers 413 to a body over the limit before any verification or parsing', async () => {
    // Prepare
    const verify = providers.map((provider) => vi.spyOn(provider, 'verify'));
    const read = providers.map((provider) => vi.spyOn(provider, 'read'));
    const parse = vi.spyOn(JSON, 'parse');
    const count = (): number => [...verify, ...read, parse].reduce((sum, spy) => sum + spy.mock.calls.length, 0);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CASES),
        fc.uint8Array({ minLength: BODY_LIMIT + 1, maxLength: 8 * BODY_LIMIT }),
        fc.boolean(),
        fc.record({ rest: fc.boolean(), caseSeed: fc.integer(), base64: fc.boolean() }),
        async (hostCase, bytes, validlySigned, shape) => {
          // Prepare
          const { handler, calls } = pipeline(BODY_LIMIT);
          const body = Buffer.from(bytes);
          const base = buildDelivery({ host: hostCase.host, repo: hostCase.repo, mode: hostCase.mode, secret: hostCase.host === 'gitlab' && hostCase.mode === 'signature' ? WHSEC : SECRET, serverUrl: hostCase.serverUrl, now: FIXED_NOW, deliveryId: 'd', before: 'a'.repeat(40), after: 'b'.repeat(40) });
          const headers = validlySigned ? resign(base.headers, body, hostCase, SECRET, WHSEC) : base.headers;
          const event = toEvent(headers, body, shape);
          const before = count();
          // Act
          const response = await handler(event);
          // Assess
          expect(response.statusCode).toBe(413);
          expect(count() - before).toBe(0);
          expect(calls()).toBe(0);
        },
      ),
      { numRuns: RUNS },
    );
    // The spies do see a body under the limit: the zero above is not for want of looking.
    const small = signed(CASES[0] as HostCase, { deliveryId: 'd', before: 'a'.repeat(40), after: 'b'.repeat(40), tag: false, skewMs: 0, members: [] });
    const before = count();
    expect((await pipeline().handler(toEvent(small.headers, small.body, { rest: false, caseSeed: 0, base64: false }))).statusCode).toBe(200);
    expect(count() - before).toBeGreaterThanOrEqual(2);
  });
});
