import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStatusHost, type ReceivedStatus, type StatusHost } from '../../dev/status-host';
import { reporterFor, type CommitStatus, type ReportHost, type StatusRequest } from '../../lib/report/index';
import { SHA1, SHA256, TARGET_URL, TOKEN, statusOf } from '../report/support';

/**
 * The status-host fake against the real request builders of lib/report, over real HTTP (`fetch`).
 */

const CONTEXT = 'CodeArts mirror (group/name)';

interface Sample {
  readonly sourcePath: string;
  readonly repository: string;
  readonly state: string;
  readonly answer: number;
}

/** Each host's source path, the repository the fake should record, the host's word for success and its answer. */
const SAMPLES: Readonly<Record<ReportHost, Sample>> = {
  github: { sourcePath: 'acme/api', repository: 'acme/api', state: 'success', answer: 201 },
  gitlab: { sourcePath: 'acme/platform/api', repository: 'acme/platform/api', state: 'success', answer: 201 },
  gitea: { sourcePath: 'acme/api', repository: 'acme/api', state: 'success', answer: 201 },
  bitbucket: { sourcePath: 'acme/api', repository: 'acme/api', state: 'SUCCESSFUL', answer: 201 },
  'bitbucket-dc': { sourcePath: 'proj/api', repository: 'proj/api', state: 'SUCCESSFUL', answer: 204 },
  'azure-devops': { sourcePath: 'acme/platform/_git/api', repository: 'acme/platform/api', state: 'succeeded', answer: 201 },
};
const HOSTS = Object.keys(SAMPLES) as ReportHost[];

let fake: StatusHost;

beforeAll(async () => {
  fake = await startStatusHost();
});
afterEach(() => fake.reset());
afterAll(() => fake.close());

/** The real builder's request for `host`, aimed at `target` (the shared fake unless told). */
function requestFor(host: ReportHost, status: CommitStatus = statusOf('success', { context: CONTEXT }), target: StatusHost = fake): StatusRequest {
  return reporterFor(host).request(target.apiUrl(host, 'acme'), SAMPLES[host].sourcePath, status, TOKEN);
}

async function send(request: StatusRequest): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** A raw POST to `path` on the fake. */
function post(path: string, body: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<{ status: number; headers: Headers; text: string }> {
  return send({ method: 'POST', url: `${fake.url}${path}`, headers: { 'content-type': 'application/json', ...headers }, body });
}

const GITHUB_PATH = `/repos/acme/api/statuses/${SHA1}`;
/** The token as a leak could spell it: plain, in a Basic credential, %-encoded. */
const TOKEN_SPELLINGS = [TOKEN, Buffer.from(`:${TOKEN}`).toString('base64'), encodeURIComponent(TOKEN)];

/** `GET /_status-host/statuses` on the shared fake, as another process would ask. */
async function listStatuses(query = '', init: RequestInit = {}): Promise<{ status: number; headers: Headers; text: string; json: unknown }> {
  const response = await fetch(`${fake.url}/_status-host/statuses${query}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: JSON.parse(text) as unknown };
}

describe('startStatusHost', () => {
  it.each(HOSTS)('records the %s status the real builder sends, and answers like the host', async (host) => {
    // Prepare
    const request = requestFor(host);
    const sample = SAMPLES[host];

    // Act
    const answer = await send(request);

    // Assess
    expect(answer.status).toBe(sample.answer);
    expect(fake.statuses()).toEqual([
      {
        api: host,
        repository: sample.repository,
        sha: SHA1,
        state: sample.state,
        context: CONTEXT,
        description: 'mirroring to CodeArts group/name',
        targetUrl: TARGET_URL,
        at: expect.any(Number) as number,
        authorization: 'present',
        body: JSON.parse(request.body) as unknown,
      },
    ]);
    expect(fake.requests()).toEqual([
      { method: 'POST', path: new URL(request.url).pathname, at: expect.any(Number) as number, authorization: 'present', api: host, status: sample.answer },
    ]);
  });

  it("echoes the status in GitHub's 201 body", async () => {
    // Act
    const answer = await send(requestFor('github'));

    // Assess
    expect(JSON.parse(answer.text)).toMatchObject({ id: expect.any(Number) as number, state: 'success', context: CONTEXT, target_url: TARGET_URL });
  });

  it('answers Bitbucket Cloud 201 for a new key and 200 when the same key replaces it', async () => {
    // Act
    const first = await send(requestFor('bitbucket', statusOf('pending')));
    const second = await send(requestFor('bitbucket', statusOf('success')));

    // Assess
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(fake.statuses().map((status) => status.state)).toEqual(['INPROGRESS', 'SUCCESSFUL']);
  });

  it('filters statuses by SHA (either case) and host, in arrival order', async () => {
    // Prepare
    await send(requestFor('github', statusOf('pending', { sha: SHA256 })));
    await send(requestFor('gitlab', statusOf('pending')));
    await send(requestFor('github', statusOf('success', { sha: SHA256 })));

    // Act
    const bySha = fake.statuses({ sha: SHA256.toUpperCase() });
    const byApi = fake.statuses({ api: 'gitlab' });

    // Assess
    expect(bySha.map((status) => [status.api, status.state])).toEqual([['github', 'pending'], ['github', 'success']]);
    expect(byApi.map((status) => status.sha)).toEqual([SHA1]);
  });

  it('records the SHA in lower case, and takes GitLab `context` for `name`', async () => {
    // Act
    const answer = await post(`/api/v4/projects/acme%2Fapi/statuses/${SHA1.toUpperCase()}`, JSON.stringify({ state: 'running', context: 'ci' }));

    // Assess
    expect(answer.status).toBe(201);
    expect(fake.statuses()).toMatchObject([{ api: 'gitlab', repository: 'acme/api', sha: SHA1, state: 'running', context: 'ci' }]);
  });

  it("refuses a state the host does not have with the host's validation answer", async () => {
    // Act
    const github = await post(GITHUB_PATH, JSON.stringify({ state: 'SUCCESSFUL', context: 'ci' }));
    const bitbucket = await post(`/2.0/repositories/acme/api/commit/${SHA1}/statuses/build`, JSON.stringify({ key: 'ci', state: 'success' }));

    // Assess
    expect(github.status).toBe(422);
    expect(bitbucket.status).toBe(400);
    expect(JSON.parse(bitbucket.text)).toMatchObject({ type: 'error', error: { message: expect.stringContaining('state') as string } });
    expect(fake.statuses()).toEqual([]);
  });

  it('answers a 401 fault once, then takes the same request', async () => {
    // Prepare
    fake.fault({ status: 401 });
    const request = requestFor('github');

    // Act
    const refused = await send(request);
    const accepted = await send(request);

    // Assess
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text)).toMatchObject({ message: 'Bad credentials' });
    expect(accepted.status).toBe(201);
    expect(fake.statuses()).toHaveLength(1);
    expect(fake.refused()).toEqual([{ api: 'github', path: GITHUB_PATH, status: 401, at: expect.any(Number) as number }]);
  });

  it("sends a 429 fault's headers, for as many requests as asked", async () => {
    // Prepare
    const reset = String(Math.floor(Date.now() / 1000) + 60);
    fake.fault({ status: 429, headers: { 'Retry-After': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset }, times: 2 });

    // Act
    const answers = [await send(requestFor('gitea')), await send(requestFor('gitea')), await send(requestFor('gitea'))];

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([429, 429, 201]);
    expect(answers[0]?.headers.get('retry-after')).toBe('2');
    expect(answers[1]?.headers.get('x-ratelimit-reset')).toBe(reset);
    expect(answers[2]?.headers.get('retry-after')).toBeNull();
    expect(fake.refused().map((refusal) => refusal.status)).toEqual([429, 429]);
  });

  it('keeps an Infinity fault until clearFault, with the host-shaped error body', async () => {
    // Prepare
    fake.fault({ status: 503, times: Number.POSITIVE_INFINITY });

    // Act
    const refused = [await send(requestFor('bitbucket-dc')), await send(requestFor('bitbucket-dc')), await send(requestFor('bitbucket-dc'))];
    fake.clearFault();
    const accepted = await send(requestFor('bitbucket-dc'));

    // Assess
    expect(refused.map((answer) => answer.status)).toEqual([503, 503, 503]);
    expect(JSON.parse(refused[0]?.text ?? '')).toEqual({ errors: [{ context: null, message: 'Service Unavailable', exceptionName: null }] });
    expect(accepted.status).toBe(204);
    expect(fake.statuses()).toHaveLength(1);
  });

  it('refuses a fault it could not answer with', () => {
    // Act / Assess
    expect(() => fake.fault({ status: 200 })).toThrow(RangeError);
    expect(() => fake.fault({ status: 500, times: 0 })).toThrow(RangeError);
    expect(() => fake.fault({ status: 500, headers: { 'bad header': 'x' } })).toThrow();
  });

  it('waitFor resolves once the statuses satisfy the predicate', async () => {
    // Prepare
    const sending = send(requestFor('github', statusOf('pending'))).then(() => send(requestFor('github', statusOf('success'))));

    // Act
    const statuses = await fake.waitFor((received) => received.some((status) => status.state === 'success'), 10_000);

    // Assess
    expect(statuses.map((status) => status.state)).toEqual(['pending', 'success']);
    await sending;
  });

  it('waitFor resolves with the statuses so far when the predicate never holds', async () => {
    // Prepare
    await send(requestFor('github', statusOf('pending')));

    // Act
    const statuses = await fake.waitFor(() => false, 120);

    // Assess
    expect(statuses.map((status) => status.state)).toEqual(['pending']);
  });

  it("records a request without an authorization header as 'absent'", async () => {
    // Prepare
    const headers = Object.fromEntries(Object.entries(requestFor('azure-devops').headers).filter(([name]) => name !== 'authorization'));

    // Act
    const answer = await send({ ...requestFor('azure-devops'), headers });

    // Assess
    expect(answer.status).toBe(201);
    expect(fake.statuses()).toMatchObject([{ authorization: 'absent' }]);
    expect(fake.requests()).toMatchObject([{ authorization: 'absent' }]);
  });

  it('answers 404 for an unknown path and for another method on a status path', async () => {
    // Act
    const unknown = await post('/repos/acme/api/status', '{}');
    const get = await fetch(`${fake.url}${GITHUB_PATH}`);

    // Assess
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text)).toEqual({ message: 'Not Found' });
    expect(get.status).toBe(404);
    expect(fake.requests().map((request) => [request.method, request.api, request.status])).toEqual([['POST', 'unknown', 404], ['GET', 'unknown', 404]]);
  });

  it('refuses a body over 64 KB with 413, and a body that is not JSON with 400', async () => {
    // Act
    const large = await post(GITHUB_PATH, JSON.stringify({ state: 'success', context: 'ci', description: 'x'.repeat(64 * 1024) }));
    const notJson = await post(GITHUB_PATH, 'state=success');

    // Assess
    expect(large.status).toBe(413);
    expect(notJson.status).toBe(400);
    expect(fake.statuses()).toEqual([]);
    expect(fake.requests().map((request) => request.status)).toEqual([413, 400]);
  });

  it('refuses an Azure DevOps request without api-version', async () => {
    // Prepare
    const request = requestFor('azure-devops');

    // Act
    const answer = await send({ ...request, url: request.url.replace(/\?.*$/, '') });

    // Assess
    expect(answer.status).toBe(400);
    expect(fake.statuses()).toEqual([]);
  });

  it('keeps no token text in anything it records', async () => {
    // Prepare
    fake.fault({ status: 401 });
    for (const host of HOSTS) await send(requestFor(host));
    await post('/nowhere', '{}');

    // Act
    const recorded = JSON.stringify([fake.statuses(), fake.requests(), fake.refused()]);

    // Assess
    expect(fake.statuses()).toHaveLength(HOSTS.length - 1);
    for (const spelling of TOKEN_SPELLINGS) expect(recorded).not.toContain(spelling);
  });

  it('reset forgets statuses, refusals, requests and the fault', async () => {
    // Prepare
    await send(requestFor('github'));
    fake.fault({ status: 500, times: Number.POSITIVE_INFINITY });
    await send(requestFor('github'));

    // Act
    fake.reset();
    const after = await send(requestFor('github'));

    // Assess
    expect(after.status).toBe(201);
    expect(fake.statuses()).toHaveLength(1);
    expect(fake.refused()).toEqual([]);
    expect(fake.requests()).toHaveLength(1);
  });

  it('gives each host its API base', () => {
    // Act
    const bases = HOSTS.map((host) => fake.apiUrl(host, 'acme'));

    // Assess
    expect(bases).toEqual([fake.url, `${fake.url}/api/v4`, `${fake.url}/api/v1`, fake.url, fake.url, `${fake.url}/acme`]);
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(() => fake.apiUrl('azure-devops')).toThrow(RangeError);
  });
});

describe('GET /_status-host/statuses', () => {
  it('lists every accepted status in arrival order, as statuses() has them', async () => {
    // Prepare
    await send(requestFor('github', statusOf('pending')));
    await send(requestFor('gitlab', statusOf('pending')));
    await send(requestFor('github', statusOf('success')));

    // Act
    const answer = await listStatuses();

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.json).toEqual({ statuses: JSON.parse(JSON.stringify(fake.statuses())) as unknown });
    const { statuses } = answer.json as { statuses: ReceivedStatus[] };
    expect(statuses.map((status) => [status.api, status.state])).toEqual([['github', 'pending'], ['gitlab', 'pending'], ['github', 'success']]);
  });

  it('filters by sha (either case), by api, and by both', async () => {
    // Prepare
    await send(requestFor('github', statusOf('pending', { sha: SHA256 })));
    await send(requestFor('gitlab', statusOf('pending', { sha: SHA256 })));
    await send(requestFor('github', statusOf('success')));
    const pairs = (json: unknown): string[][] => (json as { statuses: ReceivedStatus[] }).statuses.map((status) => [status.api, status.sha, status.state]);

    // Act
    const bySha = await listStatuses(`?sha=${SHA256.toUpperCase()}`);
    const byApi = await listStatuses('?api=github');
    const byBoth = await listStatuses(`?sha=${SHA256}&api=gitlab`);
    const none = await listStatuses('?api=gitea');

    // Assess
    expect(pairs(bySha.json)).toEqual([['github', SHA256, 'pending'], ['gitlab', SHA256, 'pending']]);
    expect(pairs(byApi.json)).toEqual([['github', SHA256, 'pending'], ['github', SHA1, 'success']]);
    expect(pairs(byBoth.json)).toEqual([['gitlab', SHA256, 'pending']]);
    expect(none.json).toEqual({ statuses: [] });
  });

  it('holds no token text, for any host', async () => {
    // Prepare
    for (const host of HOSTS) await send(requestFor(host));

    // Act
    const answer = await listStatuses();

    // Assess
    expect((answer.json as { statuses: ReceivedStatus[] }).statuses).toHaveLength(HOSTS.length);
    for (const spelling of TOKEN_SPELLINGS) expect(answer.text).not.toContain(spelling);
  });

  it('is not recorded in requests(), and a fault does not touch it', async () => {
    // Prepare
    fake.fault({ status: 503 });

    // Act
    const listed = await listStatuses();
    const faulted = await send(requestFor('github'));

    // Assess
    expect(listed.status).toBe(200);
    expect(faulted.status).toBe(503);
    expect(fake.requests().map((request) => request.path)).toEqual([GITHUB_PATH]);
  });

  it('refuses a query it cannot filter by with 400, so a typo never lists everything', async () => {
    // Act
    const answers = await Promise.all(['?api=gogs', '?sha=9fceb02', '?commit=abc', `?api=github&api=gitlab`].map((query) => listStatuses(query)));

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([400, 400, 400, 400]);
    expect(answers[0]?.json).toEqual({ error: expect.stringContaining('api must be one of github, gitlab') as string });
    expect(answers[2]?.json).toEqual({ error: expect.stringContaining('commit') as string });
  });

  it('answers 405 for another method and 404 for another admin path', async () => {
    // Act
    const post = await listStatuses('', { method: 'POST', body: '{}' });
    const other = await fetch(`${fake.url}/_status-host/requests`);

    // Assess
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ error: expect.any(String) as string });
    expect(fake.requests()).toEqual([]);
  });
});

describe('startStatusHost({ log })', () => {
  const lines: string[] = [];
  let logged: StatusHost;

  beforeAll(async () => {
    logged = await startStatusHost({ log: (line) => lines.push(line) });
  });
  afterEach(() => {
    logged.reset();
    lines.length = 0;
  });
  afterAll(() => logged.close());

  const sendTo = (host: ReportHost, status?: CommitStatus): ReturnType<typeof send> => send(requestFor(host, status, logged));

  it('tells one line per accepted status: host, state, repository@short SHA, context, answer', async () => {
    // Act
    await sendTo('github', statusOf('pending', { context: 'CodeArts mirror' }));
    await sendTo('bitbucket-dc');

    // Assess
    expect(lines).toEqual([
      `status-host: github pending acme/api@${SHA1.slice(0, 7)} (CodeArts mirror) → 201`,
      `status-host: bitbucket-dc SUCCESSFUL proj/api@${SHA1.slice(0, 7)} (${CONTEXT}) → 204`,
    ]);
  });

  it('tells faulted, refused and unknown requests with the answer and why', async () => {
    // Prepare
    logged.fault({ status: 429, headers: { 'retry-after': '2' } });

    // Act
    await sendTo('gitea');
    await send({ ...requestFor('github', undefined, logged), body: JSON.stringify({ state: 'SUCCESSFUL', context: 'ci' }) });
    await fetch(`${logged.url}/nowhere?access_token=${TOKEN}`, { method: 'POST', body: '{}' });

    // Assess
    expect(lines).toEqual([
      `status-host: gitea acme/api@${SHA1.slice(0, 7)} → 429 (fault)`,
      `status-host: github acme/api@${SHA1.slice(0, 7)} → 422 (Validation Failed: state is not one of error, failure, pending, success)`,
      'status-host: POST /nowhere → 404',
    ]);
  });

  it('tells no token text and no header value, for any host, accepted or faulted', async () => {
    // Prepare
    for (const host of HOSTS) await sendTo(host);
    logged.fault({ status: 401, times: HOSTS.length });
    for (const host of HOSTS) await sendTo(host);
    const headerValues = HOSTS.flatMap((host) => Object.values(requestFor(host, undefined, logged).headers));

    // Act
    const text = lines.join('\n');

    // Assess
    expect(lines).toHaveLength(2 * HOSTS.length);
    for (const spelling of TOKEN_SPELLINGS) expect(text).not.toContain(spelling);
    for (const value of headerValues) expect(text).not.toContain(value);
  });

  it('keeps a line one line when the context holds a line break', async () => {
    // Act
    await sendTo('github', statusOf('pending', { context: 'ci\nstatus-host: forged → 201' }));

    // Assess
    expect(lines).toEqual([`status-host: github pending acme/api@${SHA1.slice(0, 7)} (ci?status-host: forged → 201) → 201`]);
  });

  it('tells nothing of admin requests', async () => {
    // Act
    const answer = await fetch(`${logged.url}/_status-host/statuses`);

    // Assess
    expect(answer.status).toBe(200);
    expect(lines).toEqual([]);
  });

  it('answers as usual when the logger throws', async () => {
    // Prepare
    const throwing = await startStatusHost({
      log: () => {
        throw new Error('log sink is down');
      },
    });

    // Act
    const answer = await send(requestFor('github', undefined, throwing));
    const recorded = throwing.statuses();
    await throwing.close();

    // Assess
    expect(answer.status).toBe(201);
    expect(recorded).toHaveLength(1);
  });
});
