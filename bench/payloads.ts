/**
 * What the bench sends and configures: GitHub push deliveries of a given size, the API Gateway v2
 * events that carry them, and mirror configurations from one mirror to 100,000.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const WEBHOOK_SECRET = 'bench-webhook-secret-0123456789';
export const ACCESS_KEY = 'BENCHACCESSKEY0123';
export const SECRET_KEY = 'bench-secret-key-abcdefghijklmnopqrstuvwxyz';
export const PROJECT_ID = '0123456789abcdef0123456789abcdef';
/** The repository every delivery comes from (`github.com/acme/api` once normalised). */
export const SOURCE_FULL_NAME = 'acme/api';
export const SOURCE = `github.com/${SOURCE_FULL_NAME}`;
/** CodeHub repository ids start here; a fan-out source has ten consecutive ones. */
export const FIRST_REPOSITORY_ID = 2_111_111;

interface Commit {
  readonly id: string;
  readonly message: string;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly modified: readonly string[];
  readonly [key: string]: unknown;
}

type PushPayload = Record<string, unknown> & { commits: Commit[]; repository: Record<string, unknown> };

function readFixture(): PushPayload {
  const path = fileURLToPath(new URL('../test/fixtures/github-push-branch.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as PushPayload;
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * A GitHub `push` body of at least `minBytes`: the shape GitHub sends (the octokit example
 * delivery), from `acme/api`, grown with realistic commits (ids, messages, touched files) rather
 * than one long string, so that `JSON.parse` does the work a real large push costs it.
 */
export function githubPushBody(minBytes: number): string {
  const payload = readFixture();
  const template = payload.commits[0] as Commit;
  payload.repository = {
    ...payload.repository,
    name: 'api',
    full_name: SOURCE_FULL_NAME,
    html_url: `https://${SOURCE}`,
    clone_url: `https://${SOURCE}.git`,
  };
  payload['ref'] = 'refs/heads/main';
  payload['before'] = hex(20);
  payload['after'] = hex(20);
  const commits: Commit[] = [...payload.commits];
  let size = JSON.stringify(payload).length;
  for (let n = 0; size < minBytes; n += 1) {
    const files = Array.from({ length: 1 + (n % 7) }, (_, i) => `src/module-${n % 97}/file-${i}-${hex(3)}.ts`);
    const commit: Commit = {
      ...template,
      id: hex(20),
      tree_id: hex(20),
      message: `Change ${n}: adjust the mirror bridge (${hex(8)})\n\nDetails of change ${n}.`,
      added: files.slice(0, 1),
      removed: [],
      modified: files.slice(1),
    };
    commits.push(commit);
    size += JSON.stringify(commit).length + 1;
  }
  payload.commits = commits;
  return JSON.stringify(payload);
}

/** The API Gateway (HTTP API, payload 2.0) event Lambda hands the function for a GitHub push. */
export interface HttpApiEvent {
  readonly version: '2.0';
  readonly routeKey: string;
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly requestContext: { readonly http: { readonly method: 'POST'; readonly path: string } };
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly isBase64Encoded: false;
}

/** The event of a POST to `/webhook` with these headers and body, as API Gateway hands it to Lambda. */
export function httpApiEvent(headers: Readonly<Record<string, string>>, body: string): HttpApiEvent {
  return {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    rawQueryString: '',
    requestContext: { http: { method: 'POST', path: '/webhook' } },
    headers,
    body,
    isBase64Encoded: false,
  };
}

export function githubPushEvent(body: string, secret = WEBHOOK_SECRET): HttpApiEvent {
  const signature = createHmac('sha256', secret).update(body).digest('hex');
  return httpApiEvent(
    {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/bench',
      'x-github-event': 'push',
      'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'x-github-hook-id': '292430182',
      'x-hub-signature-256': `sha256=${signature}`,
    },
    body,
  );
}

interface MirrorEntry {
  readonly source: string;
  readonly repository_id: number;
}

/**
 * A mirror configuration as `MIRROR_CONFIG` JSON: `others` exact mirrors of other repositories,
 * then `fanOut` mirrors of the benchmark source (last, so that a scan would have to pass them all),
 * all under the host-level GitHub secret.
 */
export function mirrorConfig(options: { fanOut?: number; others?: number } = {}): string {
  const mirrors: MirrorEntry[] = [];
  for (let i = 0; i < (options.others ?? 0); i += 1) {
    mirrors.push({ source: `github.com/org-${i % 997}/repo-${i}`, repository_id: 1_000_000 + i });
  }
  const fanOut = options.fanOut ?? 1;
  for (let i = 0; i < fanOut; i += 1) mirrors.push({ source: SOURCE, repository_id: FIRST_REPOSITORY_ID + i });
  return JSON.stringify({ webhooks: { 'github.com': { secret: WEBHOOK_SECRET } }, mirrors });
}

/** The `CODEHUB_*` variables every variant reads: AK/SK signing against the local stand-in. */
export function codehubEnvironment(endpoint: string): Record<string, string> {
  return {
    CODEHUB_ENDPOINT: endpoint,
    CODEHUB_AK: ACCESS_KEY,
    CODEHUB_SK: SECRET_KEY,
    CODEHUB_PROJECT_ID: PROJECT_ID,
  };
}
