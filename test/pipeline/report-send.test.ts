import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStatusHost, type StatusHost } from '../../dev/status-host';
import { createStatusSender } from '../../lib/pipeline/report-send';
import { reporterFor, type StatusRequest } from '../../lib/report/index';
import { closedUrl, echoTokenWith, newToken, randomSha, startLoopback, TOKEN_PREFIX, type Loopback } from '../support/report';

/**
 * The sender over real HTTP: against the status-host fake, and against loopback servers that answer
 * what no well-behaved host would (never, a redirect, the token echoed back).
 */

const TOKEN = newToken();
let host: StatusHost;
const loopbacks: Loopback[] = [];

beforeAll(async () => {
  host = await startStatusHost();
});
afterEach(async () => {
  host.reset();
  await Promise.all(loopbacks.splice(0).map((loopback) => loopback.close()));
});
afterAll(() => host.close());

/** The real GitHub request for a pending status on acme/api, sent to `apiUrl`. */
function githubRequest(apiUrl: string, sha = randomSha()): StatusRequest {
  const status = { state: 'pending', sha, context: 'CodeArts mirror', description: 'mirroring to CodeArts group/name' } as const;
  return reporterFor('github').request(apiUrl, 'acme/api', status, TOKEN);
}

async function loopback(handler: Parameters<typeof startLoopback>[0]): Promise<Loopback> {
  const started = await startLoopback(handler);
  loopbacks.push(started);
  return started;
}

describe('createStatusSender', () => {
  it("sets the status: the host's 201 is accepted, and the host saw the token", async () => {
    // Prepare
    const sha = randomSha();
    const send = createStatusSender({ timeoutMs: 2000 });
    // Act
    const answer = await send(githubRequest(host.apiUrl('github'), sha), TOKEN);
    // Assess
    expect(answer).toEqual({ kind: 'accepted', status: 201 });
    expect(host.statuses({ sha })).toMatchObject([{ api: 'github', repository: 'acme/api', state: 'pending', authorization: 'present' }]);
  });

  it('takes a 403 as a rejected token', async () => {
    // Prepare
    host.fault({ status: 403 });
    // Act
    const answer = await createStatusSender({ timeoutMs: 2000 })(githubRequest(host.apiUrl('github')), TOKEN);
    // Assess
    expect(answer).toEqual({ kind: 'rejected', status: 403 });
    expect(host.statuses()).toEqual([]);
  });

  it("reads the host's rate-limit headers, with its own clock for a Retry-After date", async () => {
    // Prepare
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    host.fault({ status: 429, headers: { 'retry-after': new Date(now + 30_000).toUTCString() } });
    // Act
    const answer = await createStatusSender({ timeoutMs: 2000, now: () => now })(githubRequest(host.apiUrl('github')), TOKEN);
    // Assess
    expect(answer).toEqual({ kind: 'throttled', status: 429, retryAfterMs: 30_000 });
  });

  it("keeps the start of the host's error body, on one line, as the detail", async () => {
    // Prepare
    host.fault({ status: 422 });
    // Act
    const answer = await createStatusSender({ timeoutMs: 2000 })(githubRequest(host.apiUrl('github')), TOKEN);
    // Assess
    expect(answer).toEqual({ kind: 'refused', status: 422, detail: expect.stringContaining('Unprocessable Entity') });
  });

  it('cuts a long error body to 200 characters and keeps the status', async () => {
    // Prepare
    const server = await loopback((req, res) => {
      req.resume();
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${'line\n'.repeat(10)}${'x'.repeat(100_000)}`);
    });
    // Act
    const answer = await createStatusSender({ timeoutMs: 2000 })(githubRequest(server.url), TOKEN);
    // Assess
    expect(answer).toMatchObject({ kind: 'unavailable', status: 500 });
    const detail = answer.kind === 'unavailable' ? answer.detail : '';
    expect(detail).toHaveLength(200);
    expect(detail.startsWith('line line line')).toBe(true);
  });

  it('answers unavailable, with no status, for a port nobody listens on', async () => {
    // Prepare
    const url = await closedUrl();
    // Act
    const answer = await createStatusSender({ timeoutMs: 2000 })(githubRequest(url), TOKEN);
    // Assess
    expect(answer).toMatchObject({ kind: 'unavailable', status: undefined });
    expect(answer.kind === 'unavailable' && answer.detail).toMatch(/ECONNREFUSED/);
  });

  it('gives up on a host that never answers once timeoutMs has passed', async () => {
    // Prepare: the request is read, and held.
    const server = await loopback((req) => void req.resume());
    // Act
    const answer = await createStatusSender({ timeoutMs: 200 })(githubRequest(server.url), TOKEN);
    // Assess
    expect(answer).toMatchObject({ kind: 'unavailable', status: undefined });
    expect(server.received()).toBe(1);
  });

  it.each([
    [422, 'refused'],
    [500, 'unavailable'],
  ] as const)('redacts the token from a %i body that echoes it', async (status, kind) => {
    // Prepare
    const server = await loopback(echoTokenWith(status));
    // Act
    const answer = await createStatusSender({ timeoutMs: 2000 })(githubRequest(server.url), TOKEN);
    // Assess
    expect(answer).toMatchObject({ kind, status, detail: expect.stringContaining('<redacted>') });
    expect(JSON.stringify(answer)).not.toContain(TOKEN_PREFIX);
    expect(JSON.stringify(answer)).not.toContain(Buffer.from(TOKEN).toString('base64').slice(0, 20));
  });

  it('follows no redirect: the token never reaches the host it points to', async () => {
    // Prepare
    const elsewhere = await loopback((req, res) => {
      req.resume();
      res.writeHead(201).end('{}');
    });
    const redirecting = await loopback((req, res) => {
      req.resume();
      res.writeHead(302, { location: `${elsewhere.url}${req.url ?? '/'}` }).end();
    });
    // Act
    const answer = await createStatusSender({ timeoutMs: 2000 })(githubRequest(redirecting.url), TOKEN);
    // Assess
    expect(answer).toEqual({ kind: 'refused', status: 302, detail: '' });
    expect(redirecting.received()).toBe(1);
    expect(elsewhere.received()).toBe(0);
  });
});
