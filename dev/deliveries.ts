/**
 * Signed test deliveries, built the way each Git host builds its push (or ping) webhook: the same
 * headers, a payload of the same shape, and the signature computed exactly as the host computes it.
 * Signatures use node:crypto directly, never the bridge's verifiers, so a round trip through the
 * bridge is a real check of both sides.
 *
 * Pure apart from its defaults: with `now`, `deliveryId`, `before` and `after` given, the same
 * options always give the same bytes.
 */

import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';

export type DeliveryMode = 'signature' | 'token' | 'password' | 'basic';
export type DeliveryEvent = 'push' | 'ping';

/** What the builder can do for one host. The first mode is the default. */
export interface HostSpec {
  readonly label: string;
  readonly modes: readonly DeliveryMode[];
  readonly events: readonly DeliveryEvent[];
  /** The host's public URL; undefined where every installation is self-hosted. */
  readonly serverUrl: string | undefined;
  /** Whether the host can send `application/x-www-form-urlencoded` (`payload=<JSON>`). */
  readonly form: boolean;
  /** What `repo` looks like. */
  readonly repoForm: string;
}

/** Every host the builder speaks for, with its modes (first = default), events and public URL. */
export const SUPPORTED_HOSTS = {
  github: {
    label: 'GitHub / GitHub Enterprise Server: X-Hub-Signature-256 over the raw body',
    modes: ['signature'],
    events: ['push', 'ping'],
    serverUrl: 'https://github.com',
    form: true,
    repoForm: 'owner/name',
  },
  gitlab: {
    label: 'GitLab: X-Gitlab-Token (token) or Standard Webhooks with a whsec_ signing token (signature)',
    modes: ['token', 'signature'],
    events: ['push'],
    serverUrl: 'https://gitlab.com',
    form: false,
    repoForm: 'group[/subgroup…]/name',
  },
  gitea: {
    label: 'Gitea: X-Gitea-Signature (bare hex HMAC of the JSON)',
    modes: ['signature'],
    events: ['push'],
    serverUrl: 'https://gitea.com',
    form: true,
    repoForm: 'owner/name',
  },
  forgejo: {
    label: 'Forgejo: X-Forgejo-Signature plus every Gitea header',
    modes: ['signature'],
    events: ['push'],
    serverUrl: 'https://codeberg.org',
    form: true,
    repoForm: 'owner/name',
  },
  gogs: {
    label: 'Gogs: X-Gogs-Signature (bare hex HMAC of the JSON)',
    modes: ['signature'],
    events: ['push'],
    serverUrl: 'https://try.gogs.io',
    form: true,
    repoForm: 'owner/name',
  },
  bitbucket: {
    label: 'Bitbucket Cloud: repo:push, X-Hub-Signature (sha256=)',
    modes: ['signature'],
    events: ['push'],
    serverUrl: 'https://bitbucket.org',
    form: false,
    repoForm: 'workspace/slug',
  },
  'bitbucket-dc': {
    label: 'Bitbucket Data Center: repo:refs_changed, X-Hub-Signature (sha256=); --server-url required',
    modes: ['signature'],
    events: ['push', 'ping'],
    serverUrl: undefined,
    form: false,
    repoForm: 'PROJECT/slug',
  },
  gitee: {
    label: 'Gitee: X-Gitee-Token as the password, or base64 HMAC of timestamp + "\\n" + secret',
    modes: ['password', 'signature'],
    events: ['push', 'ping'],
    serverUrl: 'https://gitee.com',
    form: false,
    repoForm: 'owner/name',
  },
  gitcode: {
    label: 'GitCode: X-GitCode-Token (token) or X-GitCode-Signature-256 over the raw body (signature)',
    modes: ['token', 'signature'],
    events: ['push'],
    serverUrl: 'https://gitcode.com',
    form: false,
    repoForm: 'owner/name',
  },
  'azure-devops': {
    label: 'Azure DevOps: git.push service hook, Authorization: Basic base64(user:password); the secret is user:password',
    modes: ['basic'],
    events: ['push'],
    serverUrl: 'https://dev.azure.com',
    form: false,
    repoForm: 'org/project/repo',
  },
} as const satisfies Record<string, HostSpec>;

export type HostId = keyof typeof SUPPORTED_HOSTS;

/** True when `value` names a supported host. */
export function isHostId(value: string): value is HostId {
  return Object.hasOwn(SUPPORTED_HOSTS, value);
}

/** The spec of a host, typed as the general shape. */
export function hostSpec(host: HostId): HostSpec {
  return SUPPORTED_HOSTS[host];
}

export interface DeliveryOptions {
  readonly host: HostId;
  /**
   * `owner/name` (`PROJECT/slug` for Bitbucket Data Center, `org/project/repo` for Azure DevOps;
   * nested groups allowed for GitLab and GitCode).
   */
  readonly repo: string;
  /** Full ref name; a ref under `refs/tags/` makes a tag push. @default 'refs/heads/main' */
  readonly ref?: string | undefined;
  /** @default a random 40-hex SHA */
  readonly before?: string | undefined;
  /** @default a random 40-hex SHA, or 40 zeros when `deleted` */
  readonly after?: string | undefined;
  /** The push deletes the ref. @default false */
  readonly deleted?: boolean | undefined;
  /** The webhook secret, password, (GitLab signature mode) `whsec_` signing token or (Azure DevOps) `user:password`. */
  readonly secret: string;
  /** @default the host's first mode in SUPPORTED_HOSTS */
  readonly mode?: DeliveryMode | undefined;
  /** The host's base URL (self-hosted installations). @default the host's public URL; required for bitbucket-dc */
  readonly serverUrl?: string | undefined;
  /** @default 'push' */
  readonly event?: DeliveryEvent | undefined;
  /** Milliseconds since the epoch, for signed timestamps and dates in the payload. @default Date.now() */
  readonly now?: number | undefined;
  /** The host's delivery id header value. @default a random UUID */
  readonly deliveryId?: string | undefined;
  /** Send `application/x-www-form-urlencoded` (GitHub, Gitea, Forgejo, Gogs). @default false */
  readonly form?: boolean | undefined;
}

/** A delivery ready to POST: lower-case header names, and the body as the exact text to send (UTF-8). */
export interface BuiltDelivery {
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Options that no host would send; the message says which and why. */
export class DeliveryOptionsError extends Error {
  override readonly name = 'DeliveryOptionsError';
}

// ---------------------------------------------------------------------------------------------
// Signing, as each host does it.

/** The signature primitives the hosts use, exported for known-answer tests. */
export const sign = {
  /** GitHub, Bitbucket, GitCode: `sha256=` + hex HMAC-SHA256 of the data. */
  hubSha256: (secret: string, data: string): string => `sha256=${hmacHex('sha256', secret, data)}`,
  /** GitHub's and Gitea's legacy `X-Hub-Signature`: `sha1=` + hex HMAC-SHA1. */
  hubSha1: (secret: string, data: string): string => `sha1=${hmacHex('sha1', secret, data)}`,
  /** Gitea, Forgejo, Gogs: bare hex HMAC-SHA256 of the JSON text. */
  bareSha256: (secret: string, data: string): string => hmacHex('sha256', secret, data),
  /** Standard Webhooks (GitLab signing tokens): `v1,` + base64 HMAC of `id.timestamp.body`, keyed with the decoded token. */
  standardWebhooks: (signingToken: string, id: string, timestampSeconds: string, body: string): string =>
    `v1,${createHmac('sha256', standardWebhooksKey(signingToken)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`,
  /** Gitee signature mode: base64 HMAC of `timestamp + "\n" + secret`; the body is not signed. */
  giteeToken: (secret: string, timestampMs: string): string =>
    createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64'),
  /** Azure DevOps (RFC 7617 Basic): `Basic ` + base64 of `user:password`; nothing is signed. */
  basic: (credentials: string): string => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`,
} as const;

function hmacHex(algorithm: 'sha1' | 'sha256', secret: string, data: string): string {
  return createHmac(algorithm, secret).update(data, 'utf8').digest('hex');
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function standardWebhooksKey(signingToken: string): Buffer {
  const encoded = signingToken.startsWith('whsec_') ? signingToken.slice('whsec_'.length) : '';
  if (encoded === '' || !STRICT_BASE64.test(encoded)) {
    throw new DeliveryOptionsError('a GitLab signing token is "whsec_" followed by base64 (as GitLab shows it)');
  }
  return Buffer.from(encoded, 'base64');
}

// ---------------------------------------------------------------------------------------------
// Encodings the hosts use for their bodies.

/** Go's json.MarshalIndent(v, "", "  "), as Gitea, Forgejo and Gogs serialise payloads (HTML-safe escapes included). */
function goJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Ruby's URI.encode_www_form_component (GitHub): only `*-._` and alphanumerics stay, space is `+`. */
function rubyFormComponent(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Go's url.QueryEscape (Gitea, Forgejo, Gogs): only `-_.~` and alphanumerics stay, space is `+`. */
function goQueryEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

// ---------------------------------------------------------------------------------------------
// Options, checked and resolved once.

interface Server {
  /** Scheme, host and any context path, no trailing slash. */
  readonly base: string;
  /** Host with a non-default port. */
  readonly host: string;
  readonly hostname: string;
}

interface Resolved {
  readonly host: HostId;
  readonly mode: DeliveryMode;
  readonly event: DeliveryEvent;
  readonly secret: string;
  readonly now: number;
  readonly deliveryId: string;
  readonly form: boolean;
  readonly server: Server;
  readonly owner: string;
  readonly name: string;
  readonly fullName: string;
  readonly ref: string;
  /** The ref without `refs/heads/` or `refs/tags/`. */
  readonly shortRef: string;
  readonly isTag: boolean;
  readonly before: string;
  readonly after: string;
  readonly created: boolean;
  readonly deleted: boolean;
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const REPO_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const REF = /^refs\/[^\s~^:?*[\\]+$/;

function isZero(sha: string): boolean {
  return /^0+$/.test(sha);
}

function parseServerUrl(raw: string): Server {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DeliveryOptionsError(`server URL "${raw}" is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new DeliveryOptionsError(`server URL "${raw}" is not http(s)`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new DeliveryOptionsError('server URL must not carry credentials, a query or a fragment');
  }
  return { base: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, host: url.host, hostname: url.hostname };
}

function parseSha(value: string, what: string): string {
  const sha = value.trim().toLowerCase();
  if (!SHA.test(sha)) throw new DeliveryOptionsError(`${what} must be a 40 (or 64) hex digit object id`);
  return sha;
}

function resolve(options: DeliveryOptions): Resolved {
  const { host } = options;
  if (!isHostId(host)) {
    throw new DeliveryOptionsError(`unknown host "${String(host)}"; one of: ${Object.keys(SUPPORTED_HOSTS).join(', ')}`);
  }
  const spec = hostSpec(host);

  const mode = options.mode ?? spec.modes[0] ?? 'signature';
  if (!spec.modes.includes(mode)) {
    throw new DeliveryOptionsError(`${host} has no mode "${mode}"; one of: ${spec.modes.join(', ')}`);
  }
  const event = options.event ?? 'push';
  if (!spec.events.includes(event)) {
    throw new DeliveryOptionsError(`${host} sends no "${event}" event; one of: ${spec.events.join(', ')}`);
  }
  const form = options.form ?? false;
  if (form && !spec.form) throw new DeliveryOptionsError(`${host} has no form content type; it always sends JSON`);
  if (options.secret === '') throw new DeliveryOptionsError('the secret must not be empty');
  if (host === 'gitlab' && mode === 'signature') standardWebhooksKey(options.secret);
  if (mode === 'basic' && !options.secret.includes(':')) {
    throw new DeliveryOptionsError('an Azure DevOps secret is the service hook\'s Basic credentials, "user:password"');
  }

  const serverUrl = options.serverUrl ?? spec.serverUrl;
  if (serverUrl === undefined) {
    throw new DeliveryOptionsError(`${host} is self-hosted: give its base URL (serverUrl / --server-url)`);
  }
  const server = parseServerUrl(serverUrl);
  if (host === 'bitbucket' && server.base !== 'https://bitbucket.org') {
    throw new DeliveryOptionsError('Bitbucket Cloud is only https://bitbucket.org; use bitbucket-dc for a self-hosted server');
  }

  const segments = options.repo.trim().replace(/\.git$/, '').split('/');
  const nested = host === 'gitlab' || host === 'gitcode';
  const segmentsWanted = host === 'azure-devops' ? segments.length === 3 : nested ? segments.length >= 2 : segments.length === 2;
  if (
    !segmentsWanted ||
    !segments.every((segment) => REPO_SEGMENT.test(segment))
  ) {
    throw new DeliveryOptionsError(`repo "${options.repo}" is not of the form ${spec.repoForm}`);
  }
  const name = segments[segments.length - 1] as string;
  const owner = segments.slice(0, -1).join('/');

  const ref = options.ref ?? 'refs/heads/main';
  if (!REF.test(ref) || ref.endsWith('/') || ref.includes('..')) {
    throw new DeliveryOptionsError(`ref "${ref}" is not a full ref name such as refs/heads/main or refs/tags/v1.0`);
  }
  const isTag = ref.startsWith('refs/tags/');
  if ((host === 'bitbucket' || host === 'bitbucket-dc') && !isTag && !ref.startsWith('refs/heads/')) {
    throw new DeliveryOptionsError(`${host} reports only branches (refs/heads/…) and tags (refs/tags/…)`);
  }

  const before = options.before === undefined ? randomSha() : parseSha(options.before, 'before');
  let after: string;
  if (options.deleted === true) {
    if (options.after !== undefined && !isZero(parseSha(options.after, 'after'))) {
      throw new DeliveryOptionsError('a deleted ref has no after SHA: leave after out, or give zeros');
    }
    after = '0'.repeat(before.length);
  } else {
    after = options.after === undefined ? randomSha() : parseSha(options.after, 'after');
  }
  if (isZero(before) && isZero(after)) throw new DeliveryOptionsError('before and after cannot both be zeros');

  return {
    host,
    mode,
    event,
    secret: options.secret,
    now: options.now ?? Date.now(),
    deliveryId: options.deliveryId ?? randomUUID(),
    form,
    server,
    owner,
    name,
    fullName: `${owner}/${name}`,
    ref,
    shortRef: ref.replace(/^refs\/(?:heads|tags)\//, ''),
    isTag,
    before,
    after,
    created: isZero(before),
    deleted: isZero(after),
  };
}

function randomSha(): string {
  return randomBytes(20).toString('hex');
}

// ---------------------------------------------------------------------------------------------
// Stable made-up values: ids, UUIDs and dates that look like the host's and never change for a repo.

function digest(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** A positive integer id derived from `seed`. */
function stableId(seed: string): number {
  return 1_000_000 + (parseInt(digest(seed).slice(0, 8), 16) % 900_000_000);
}

/** A version-4-shaped UUID derived from `seed`. */
function stableUuid(seed: string): string {
  const h = digest(seed);
  const variant = ((parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `2024-05-20T02:12:33Z`. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `2024-05-20T02:12:33+00:00`. */
function isoOffset(ms: number): string {
  return isoSeconds(ms).replace(/Z$/, '+00:00');
}

const TESTER = {
  name: 'Webhook Tester',
  login: 'webhook-tester',
  email: 'webhook-tester@example.com',
} as const;

const COMMIT_MESSAGE = 'Test delivery from dev/send.ts\n';

// ---------------------------------------------------------------------------------------------
// GitHub

function githubDelivery(c: Resolved): BuiltDelivery {
  const web = c.server.base;
  const dotCom = c.server.host === 'github.com';
  const api = dotCom ? 'https://api.github.com' : `${web}/api/v3`;
  const repoUrl = `${web}/${c.fullName}`;
  const repoId = stableId(`repo:${c.server.host}/${c.fullName}`);
  const hookId = stableId(`hook:${c.server.host}/${c.fullName}`);
  const user = (login: string, name: string, email: string) => {
    const id = stableId(`user:${login}`);
    return {
      name,
      email,
      login,
      id,
      node_id: Buffer.from(`04:User${id}`).toString('base64'),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      gravatar_id: '',
      url: `${api}/users/${login}`,
      html_url: `${web}/${login}`,
      type: 'User',
      site_admin: false,
    };
  };
  const repository = {
    id: repoId,
    node_id: Buffer.from(`010:Repository${repoId}`).toString('base64'),
    name: c.name,
    full_name: c.fullName,
    private: false,
    owner: user(c.owner, c.owner, `${c.owner}@users.noreply.${c.server.hostname}`),
    html_url: repoUrl,
    description: null,
    fork: false,
    // In push payloads GitHub gives `url` as the web URL and the dates as unix seconds.
    url: c.event === 'push' ? repoUrl : `${api}/repos/${c.fullName}`,
    hooks_url: `${api}/repos/${c.fullName}/hooks`,
    created_at: c.event === 'push' ? Math.floor(c.now / 1000) - 86_400 : isoSeconds(c.now - 86_400_000),
    updated_at: isoSeconds(c.now),
    pushed_at: c.event === 'push' ? Math.floor(c.now / 1000) : isoSeconds(c.now),
    git_url: `git://${c.server.host}/${c.fullName}.git`,
    ssh_url: `git@${c.server.hostname}:${c.fullName}.git`,
    clone_url: `${repoUrl}.git`,
    svn_url: repoUrl,
    homepage: null,
    size: 0,
    default_branch: 'main',
    visibility: 'public',
    ...(c.event === 'push' ? { master_branch: 'main' } : {}),
  };
  const sender = user(TESTER.login, TESTER.name, TESTER.email);

  let payload: Record<string, unknown>;
  if (c.event === 'ping') {
    payload = {
      zen: 'Keep it logically awesome.',
      hook_id: hookId,
      hook: {
        type: 'Repository',
        id: hookId,
        name: 'web',
        active: true,
        events: ['push'],
        config: { content_type: c.form ? 'form' : 'json', insecure_ssl: '0', secret: '********' },
        updated_at: isoSeconds(c.now),
        created_at: isoSeconds(c.now),
        url: `${api}/repos/${c.fullName}/hooks/${hookId}`,
        test_url: `${api}/repos/${c.fullName}/hooks/${hookId}/test`,
        ping_url: `${api}/repos/${c.fullName}/hooks/${hookId}/pings`,
        deliveries_url: `${api}/repos/${c.fullName}/hooks/${hookId}/deliveries`,
        last_response: { code: null, status: 'unused', message: null },
      },
      repository,
      sender,
    };
  } else {
    const commit = c.deleted
      ? null
      : {
          id: c.after,
          tree_id: digest(`tree:${c.after}`).slice(0, c.after.length),
          distinct: true,
          message: COMMIT_MESSAGE.trimEnd(),
          timestamp: isoOffset(c.now),
          url: `${repoUrl}/commit/${c.after}`,
          author: { name: TESTER.name, email: TESTER.email, username: TESTER.login },
          committer: { name: TESTER.name, email: TESTER.email, username: TESTER.login },
          added: [],
          removed: [],
          modified: ['README.md'],
        };
    payload = {
      ref: c.ref,
      before: c.before,
      after: c.after,
      repository,
      pusher: { name: TESTER.login, email: TESTER.email },
      sender,
      created: c.created,
      deleted: c.deleted,
      forced: false,
      base_ref: null,
      compare: c.created
        ? `${repoUrl}/compare/${c.shortRef}`
        : `${repoUrl}/compare/${c.before.slice(0, 12)}...${c.after.slice(0, 12)}`,
      commits: commit === null || c.isTag ? [] : [commit],
      head_commit: commit,
    };
  }

  const json = JSON.stringify(payload);
  // With the form content type GitHub signs what it sends: the whole `payload=…` body.
  const body = c.form ? `payload=${rubyFormComponent(json)}` : json;
  return {
    headers: {
      'content-type': c.form ? 'application/x-www-form-urlencoded' : 'application/json',
      'user-agent': 'GitHub-Hookshot/7e5a3c4',
      'x-github-delivery': c.deliveryId,
      'x-github-event': c.event,
      'x-github-hook-id': String(hookId),
      'x-github-hook-installation-target-id': String(repoId),
      'x-github-hook-installation-target-type': 'repository',
      ...(dotCom ? {} : { 'x-github-enterprise-host': c.server.hostname, 'x-github-enterprise-version': '3.16.0' }),
      'x-hub-signature': sign.hubSha1(c.secret, body),
      'x-hub-signature-256': sign.hubSha256(c.secret, body),
    },
    body,
  };
}

// ---------------------------------------------------------------------------------------------
// GitLab and GitCode (GitCode's payloads are GitLab's)

function gitlabShapedPayload(c: Resolved): Record<string, unknown> {
  const web = c.server.base;
  const projectUrl = `${web}/${c.fullName}`;
  const sshUrl = `git@${c.server.hostname}:${c.fullName}.git`;
  const httpUrl = `${projectUrl}.git`;
  const projectId = stableId(`project:${c.server.host}/${c.fullName}`);
  const kind = c.isTag ? 'tag_push' : 'push';
  const commits = c.deleted || c.isTag
    ? []
    : [
        {
          id: c.after,
          message: COMMIT_MESSAGE,
          title: COMMIT_MESSAGE.trimEnd(),
          timestamp: isoOffset(c.now),
          url: `${projectUrl}/-/commit/${c.after}`,
          author: { name: TESTER.name, email: TESTER.email },
          added: [],
          modified: ['README.md'],
          removed: [],
        },
      ];
  return {
    object_kind: kind,
    event_name: kind,
    before: c.before,
    after: c.after,
    ref: c.ref,
    ref_protected: !c.isTag && c.shortRef === 'main',
    checkout_sha: c.deleted ? null : c.after,
    message: null,
    user_id: stableId(`user:${TESTER.login}`),
    user_name: TESTER.name,
    user_username: TESTER.login,
    user_email: '',
    user_avatar: `${web}/uploads/-/system/user/avatar/1/avatar.png`,
    project_id: projectId,
    project: {
      id: projectId,
      name: c.name,
      description: 'Mirrored to CodeHub',
      web_url: projectUrl,
      avatar_url: null,
      git_ssh_url: sshUrl,
      git_http_url: httpUrl,
      namespace: c.owner.split('/').pop() ?? c.owner,
      visibility_level: 0,
      path_with_namespace: c.fullName,
      default_branch: 'main',
      ci_config_path: null,
      homepage: projectUrl,
      url: sshUrl,
      ssh_url: sshUrl,
      http_url: httpUrl,
    },
    commits,
    total_commits_count: commits.length,
    push_options: {},
    repository: {
      name: c.name,
      url: sshUrl,
      description: 'Mirrored to CodeHub',
      homepage: projectUrl,
      git_http_url: httpUrl,
      git_ssh_url: sshUrl,
      visibility_level: 0,
    },
  };
}

function gitlabDelivery(c: Resolved): BuiltDelivery {
  const body = JSON.stringify(gitlabShapedPayload(c));
  // GitLab sends webhook-id (= Idempotency-Key) and webhook-timestamp on every delivery.
  const timestamp = String(Math.floor(c.now / 1000));
  const credential =
    c.mode === 'signature'
      ? { 'webhook-signature': sign.standardWebhooks(c.secret, c.deliveryId, timestamp, body) }
      : { 'x-gitlab-token': c.secret };
  return {
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitLab/19.0.0',
      'x-gitlab-event': c.isTag ? 'Tag Push Hook' : 'Push Hook',
      'x-gitlab-webhook-uuid': stableUuid(`hook:${c.server.host}/${c.fullName}`),
      'x-gitlab-instance': c.server.base,
      'x-gitlab-event-uuid': stableUuid(`event:${c.deliveryId}`),
      'idempotency-key': c.deliveryId,
      'webhook-id': c.deliveryId,
      'webhook-timestamp': timestamp,
      ...credential,
    },
    body,
  };
}

function gitcodeDelivery(c: Resolved): BuiltDelivery {
  const body = JSON.stringify(gitlabShapedPayload(c));
  const credential =
    c.mode === 'signature'
      ? { 'x-gitcode-signature-256': sign.hubSha256(c.secret, body) }
      : { 'x-gitcode-token': c.secret };
  return {
    headers: {
      'content-type': 'application/json',
      'x-gitcode-event': c.isTag ? 'Tag Push Hook' : 'Push Hook',
      'x-gitcode-delivery': c.deliveryId,
      ...credential,
    },
    body,
  };
}

// ---------------------------------------------------------------------------------------------
// Gitea, Forgejo, Gogs

function giteaUser(c: Resolved, login: string, fullName: string, email: string, gogs: boolean) {
  const id = stableId(`user:${login}`);
  const common = {
    id,
    login,
    full_name: fullName,
    email,
    avatar_url: `${c.server.base}/avatars/${digest(email).slice(0, 32)}`,
  };
  if (gogs) return { ...common, username: login };
  return {
    ...common,
    login_name: '',
    source_id: 0,
    html_url: `${c.server.base}/${login}`,
    language: '',
    is_admin: false,
    last_login: '0001-01-01T00:00:00Z',
    created: isoSeconds(c.now - 86_400_000),
    restricted: false,
    active: false,
    prohibit_login: false,
    location: '',
    website: '',
    description: '',
    visibility: 'public',
    followers_count: 0,
    following_count: 0,
    starred_repos_count: 0,
    username: login,
  };
}

function giteaPushPayload(c: Resolved, gogs: boolean): Record<string, unknown> {
  const web = c.server.base;
  const repoUrl = `${web}/${c.fullName}`;
  const noreply = `noreply.${c.server.hostname}`;
  const owner = giteaUser(c, c.owner, c.owner, `${c.owner}@${noreply}`, gogs);
  const tester = giteaUser(c, TESTER.login, TESTER.name, TESTER.email, gogs);
  const person = { name: TESTER.name, email: TESTER.email, username: TESTER.login };
  const commit = {
    id: c.after,
    message: COMMIT_MESSAGE,
    url: `${repoUrl}/commit/${c.after}`,
    author: person,
    committer: person,
    ...(gogs ? {} : { verification: null }),
    timestamp: isoSeconds(c.now),
    added: [],
    removed: [],
    modified: ['README.md'],
  };
  const commits = c.deleted || c.isTag ? [] : [commit];
  const common = {
    id: stableId(`repo:${c.server.host}/${c.fullName}`),
    owner,
    name: c.name,
    full_name: c.fullName,
    description: 'Mirrored to CodeHub',
  };
  const repository = gogs
    ? {
        ...common,
        private: false,
        fork: false,
        parent: null,
        empty: false,
        mirror: false,
        size: 0,
        html_url: repoUrl,
        ssh_url: `git@${c.server.hostname}:${c.fullName}.git`,
        clone_url: `${repoUrl}.git`,
        website: '',
        stars_count: 0,
        forks_count: 0,
        watchers_count: 0,
        open_issues_count: 0,
        default_branch: 'main',
        created_at: isoSeconds(c.now - 86_400_000),
        updated_at: isoSeconds(c.now),
      }
    : {
        ...common,
        empty: false,
        private: false,
        fork: false,
        template: false,
        parent: null,
        mirror: false,
        size: 0,
        language: '',
        languages_url: `${web}/api/v1/repos/${c.fullName}/languages`,
        html_url: repoUrl,
        url: `${web}/api/v1/repos/${c.fullName}`,
        link: '',
        ssh_url: `git@${c.server.hostname}:${c.fullName}.git`,
        clone_url: `${repoUrl}.git`,
        original_url: '',
        website: '',
        stars_count: 0,
        forks_count: 0,
        watchers_count: 0,
        open_issues_count: 0,
        default_branch: 'main',
        archived: false,
        created_at: isoSeconds(c.now - 86_400_000),
        updated_at: isoSeconds(c.now),
      };
  const compareUrl = c.created || c.deleted ? '' : `${repoUrl}/compare/${c.before}...${c.after}`;
  return gogs
    ? {
        ref: c.ref,
        before: c.before,
        after: c.after,
        compare_url: compareUrl,
        commits,
        repository,
        pusher: tester,
        sender: tester,
      }
    : {
        ref: c.ref,
        before: c.before,
        after: c.after,
        compare_url: compareUrl,
        commits,
        total_commits: commits.length,
        head_commit: c.deleted ? null : commit,
        repository,
        pusher: tester,
        sender: tester,
      };
}

function giteaFamilyDelivery(c: Resolved): BuiltDelivery {
  const gogs = c.host === 'gogs';
  const json = goJson(giteaPushPayload(c, gogs));
  // The signatures cover the JSON text even when the body is form-encoded (unlike GitHub).
  const signature = sign.bareSha256(c.secret, json);
  const body = c.form ? `payload=${goQueryEscape(json)}` : json;
  const contentType = c.form ? 'application/x-www-form-urlencoded' : 'application/json';
  const id = c.deliveryId;
  if (gogs) {
    return {
      headers: {
        'content-type': contentType,
        'x-github-delivery': id,
        'x-github-event': 'push',
        'x-gogs-delivery': id,
        'x-gogs-signature': signature,
        'x-gogs-event': 'push',
      },
      body,
    };
  }
  const forgejo =
    c.host === 'forgejo'
      ? {
          'x-forgejo-delivery': id,
          'x-forgejo-event': 'push',
          'x-forgejo-event-type': 'push',
          'x-forgejo-signature': signature,
        }
      : {};
  return {
    headers: {
      'content-type': contentType,
      ...forgejo,
      'x-gitea-delivery': id,
      'x-gitea-event': 'push',
      'x-gitea-event-type': 'push',
      'x-gitea-signature': signature,
      'x-gogs-delivery': id,
      'x-gogs-event': 'push',
      'x-gogs-event-type': 'push',
      'x-gogs-signature': signature,
      'x-hub-signature': sign.hubSha1(c.secret, json),
      'x-hub-signature-256': `sha256=${signature}`,
      'x-github-delivery': id,
      'x-github-event': 'push',
      'x-github-event-type': 'push',
    },
    body,
  };
}

// ---------------------------------------------------------------------------------------------
// Bitbucket Cloud

function bitbucketCloudDelivery(c: Resolved): BuiltDelivery {
  const web = c.server.base;
  const api = 'https://api.bitbucket.org/2.0';
  const repoApi = `${api}/repositories/${c.fullName}`;
  const repoUrl = `${web}/${c.fullName}`;
  const actor = {
    display_name: TESTER.name,
    links: {
      self: { href: `${api}/users/%7B${stableUuid(`user:${TESTER.login}`)}%7D` },
      html: { href: `${web}/%7B${stableUuid(`user:${TESTER.login}`)}%7D/` },
    },
    type: 'user',
    uuid: `{${stableUuid(`user:${TESTER.login}`)}}`,
    account_id: `557058:${stableUuid(`account:${TESTER.login}`)}`,
    nickname: TESTER.login,
  };
  const type = c.isTag ? 'tag' : 'branch';
  const side = (hash: string) => ({
    name: c.shortRef,
    type,
    target: {
      type: 'commit',
      hash,
      date: isoOffset(c.now),
      author: { type: 'author', raw: `${TESTER.name} <${TESTER.email}>`, user: actor },
      message: COMMIT_MESSAGE,
      links: {
        self: { href: `${repoApi}/commit/${hash}` },
        html: { href: `${repoUrl}/commits/${hash}` },
      },
      parents: [],
    },
    links: {
      self: { href: `${repoApi}/refs/${c.isTag ? 'tags' : 'branches'}/${c.shortRef}` },
      commits: { href: `${repoApi}/commits/${c.shortRef}` },
      html: { href: c.isTag ? `${repoUrl}/commits/tag/${c.shortRef}` : `${repoUrl}/branch/${c.shortRef}` },
    },
  });
  const workspaceUuid = stableUuid(`workspace:${c.owner}`);
  const payload = {
    push: {
      changes: [
        {
          old: c.created ? null : side(c.before),
          new: c.deleted ? null : side(c.after),
          truncated: false,
          created: c.created,
          forced: false,
          closed: c.deleted,
          links: {
            commits: { href: `${repoApi}/commits?include=${c.deleted ? c.before : c.after}` },
            ...(c.created || c.deleted ? {} : { diff: { href: `${repoApi}/diff/${c.after}..${c.before}` } }),
          },
          commits: [],
        },
      ],
    },
    repository: {
      type: 'repository',
      full_name: c.fullName,
      links: {
        self: { href: repoApi },
        html: { href: repoUrl },
        avatar: { href: `https://bytebucket.org/ravatar/%7B${stableUuid(`repo:${c.fullName}`)}%7D?ts=default` },
      },
      name: c.name,
      scm: 'git',
      website: null,
      owner: { display_name: c.owner, type: 'team', uuid: `{${workspaceUuid}}`, username: c.owner },
      workspace: { type: 'workspace', uuid: `{${workspaceUuid}}`, name: c.owner, slug: c.owner },
      is_private: true,
      uuid: `{${stableUuid(`repo:${c.fullName}`)}}`,
    },
    actor,
  };
  const body = JSON.stringify(payload);
  return {
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Bitbucket-Webhooks/2.0',
      'x-event-key': 'repo:push',
      'x-hook-uuid': stableUuid(`hook:${c.fullName}`),
      'x-request-uuid': c.deliveryId,
      'x-attempt-number': '1',
      'x-hub-signature': sign.hubSha256(c.secret, body),
    },
    body,
  };
}

// ---------------------------------------------------------------------------------------------
// Bitbucket Data Center

/** `2024-05-20T02:12:33+0000`, Data Center's date format. */
function dataCenterDate(ms: number): string {
  return isoSeconds(ms).replace(/Z$/, '+0000');
}

function bitbucketDataCenterDelivery(c: Resolved): BuiltDelivery {
  let payload: Record<string, unknown>;
  if (c.event === 'ping') {
    payload = { test: true };
  } else {
    const web = c.server.base;
    const projectKey = c.owner;
    const slug = c.name;
    const person = { name: TESTER.login, emailAddress: TESTER.email };
    const toCommit = c.deleted
      ? null
      : {
          id: c.after,
          displayId: c.after.slice(0, 11),
          author: person,
          authorTimestamp: c.now,
          committer: person,
          committerTimestamp: c.now,
          message: COMMIT_MESSAGE.trimEnd(),
          parents: c.created ? [] : [{ id: c.before, displayId: c.before.slice(0, 11) }],
        };
    payload = {
      eventKey: 'repo:refs_changed',
      date: dataCenterDate(c.now),
      actor: {
        name: TESTER.login,
        emailAddress: TESTER.email,
        id: stableId(`user:${TESTER.login}`) % 10_000,
        displayName: TESTER.name,
        active: true,
        slug: TESTER.login,
        type: 'NORMAL',
        links: { self: [{ href: `${web}/users/${TESTER.login}` }] },
      },
      repository: {
        slug,
        id: stableId(`repo:${c.server.host}/${c.fullName}`) % 10_000,
        name: slug,
        hierarchyId: digest(`hierarchy:${c.fullName}`).slice(0, 20),
        scmId: 'git',
        state: 'AVAILABLE',
        statusMessage: 'Available',
        forkable: true,
        project: {
          key: projectKey,
          id: stableId(`project:${projectKey}`) % 1_000,
          name: projectKey,
          public: false,
          type: 'NORMAL',
          links: { self: [{ href: `${web}/projects/${projectKey}` }] },
        },
        public: false,
        archived: false,
        links: {
          clone: [
            { href: `ssh://git@${c.server.hostname}:7999/${projectKey.toLowerCase()}/${slug}.git`, name: 'ssh' },
            { href: `${web}/scm/${projectKey.toLowerCase()}/${slug}.git`, name: 'http' },
          ],
          self: [{ href: `${web}/projects/${projectKey}/repos/${slug}/browse` }],
        },
      },
      changes: [
        {
          ref: { id: c.ref, displayId: c.shortRef, type: c.isTag ? 'TAG' : 'BRANCH' },
          refId: c.ref,
          fromHash: c.before,
          toHash: c.after,
          type: c.deleted ? 'DELETE' : c.created ? 'ADD' : 'UPDATE',
        },
      ],
      commits: toCommit === null ? [] : [toCommit],
      toCommit,
    };
  }
  const body = JSON.stringify(payload);
  return {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'x-event-key': c.event === 'ping' ? 'diagnostics:ping' : 'repo:refs_changed',
      'x-request-id': c.deliveryId,
      'x-hub-signature': sign.hubSha256(c.secret, body),
    },
    body,
  };
}

// ---------------------------------------------------------------------------------------------
// Gitee

function giteeDelivery(c: Resolved): BuiltDelivery {
  const web = c.server.base;
  const repoUrl = `${web}/${c.fullName}`;
  const timestamp = String(c.now);
  // The token is the password itself, or a signature of the timestamp; the body carries the same.
  const token = c.mode === 'signature' ? sign.giteeToken(c.secret, timestamp) : c.secret;
  const hookId = stableId(`hook:${c.fullName}`);
  const user = {
    id: stableId(`user:${TESTER.login}`),
    name: TESTER.name,
    email: TESTER.email,
    username: TESTER.login,
    user_name: TESTER.login,
    url: `${web}/${TESTER.login}`,
    login: TESTER.login,
    avatar_url: `${web}/assets/no_portrait.png`,
    html_url: `${web}/${TESTER.login}`,
    type: 'User',
    site_admin: false,
    time: null,
    remark: null,
  };
  const project = {
    id: stableId(`repo:${c.server.host}/${c.fullName}`),
    name: c.name,
    path: c.name,
    full_name: c.fullName,
    owner: { ...user, id: stableId(`user:${c.owner}`), name: c.owner, username: c.owner, user_name: c.owner, login: c.owner, url: `${web}/${c.owner}`, html_url: `${web}/${c.owner}` },
    private: false,
    html_url: repoUrl,
    url: repoUrl,
    description: 'Mirrored to CodeHub',
    fork: false,
    created_at: isoOffset(c.now - 86_400_000),
    updated_at: isoOffset(c.now),
    pushed_at: isoOffset(c.now),
    git_url: `git://${c.server.host}/${c.fullName}.git`,
    ssh_url: `git@${c.server.hostname}:${c.fullName}.git`,
    clone_url: `${repoUrl}.git`,
    svn_url: `svn://${c.server.host}/${c.fullName}`,
    git_http_url: `${repoUrl}.git`,
    git_ssh_url: `git@${c.server.hostname}:${c.fullName}.git`,
    git_svn_url: `svn://${c.server.host}/${c.fullName}`,
    homepage: null,
    stargazers_count: 0,
    watchers_count: 0,
    forks_count: 0,
    language: null,
    has_issues: true,
    has_wiki: true,
    has_pages: false,
    license: null,
    open_issues_count: 0,
    default_branch: 'main',
    namespace: c.owner,
    name_with_namespace: c.fullName,
    path_with_namespace: c.fullName,
  };
  const hook = {
    hook_name: c.isTag && c.event === 'push' ? 'tag_push_hooks' : 'push_hooks',
    password: c.mode === 'password' ? c.secret : '',
    hook_id: hookId,
    hook_url: `${repoUrl}/hooks/${hookId}/edit`,
    timestamp,
    sign: c.mode === 'signature' ? token : '',
  };
  let payload: Record<string, unknown>;
  if (c.event === 'ping') {
    payload = { ...hook, repository: project, project, sender: user };
  } else {
    const person = { time: isoOffset(c.now), name: TESTER.name, email: TESTER.email, username: TESTER.login, user_name: TESTER.login, url: `${web}/${TESTER.login}` };
    const commit = c.deleted
      ? null
      : {
          id: c.after,
          tree_id: digest(`tree:${c.after}`).slice(0, 40),
          parent_ids: c.created ? [] : [c.before],
          distinct: true,
          message: COMMIT_MESSAGE.trimEnd(),
          timestamp: isoOffset(c.now),
          url: `${repoUrl}/commit/${c.after}`,
          author: person,
          committer: person,
          added: [],
          removed: [],
          modified: ['README.md'],
        };
    const commits = commit === null || c.isTag ? [] : [commit];
    payload = {
      ...hook,
      ref: c.ref,
      before: c.before,
      after: c.after,
      created: c.created,
      deleted: c.deleted,
      compare: `${repoUrl}/compare/${c.before}...${c.after}`,
      commits,
      head_commit: c.isTag ? null : commit,
      total_commits_count: commits.length,
      commits_more_than_ten: false,
      repository: project,
      project,
      user_id: user.id,
      user_name: user.name,
      user,
      pusher: user,
      sender: user,
      enterprise: null,
    };
  }
  const event = c.isTag && c.event === 'push' ? 'Tag Push Hook' : 'Push Hook';
  return {
    headers: {
      'content-type': 'application/json',
      'user-agent': 'git-oschina-hook',
      'x-gitee-token': token,
      'x-gitee-timestamp': timestamp,
      'x-gitee-ping': c.event === 'ping' ? 'true' : 'false',
      'x-gitee-event': event,
      'x-git-oschina-event': event,
    },
    body: JSON.stringify(payload),
  };
}

// ---------------------------------------------------------------------------------------------
// Azure DevOps

/** `2024-05-20T02:12:33.0000000Z`: .NET's round-trip format, as Azure DevOps writes dates. */
function dotNetDate(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '0000Z');
}

function azureDevOpsDelivery(c: Resolved): BuiltDelivery {
  // `owner` is org/project (collection/project on Azure DevOps Server).
  const slash = c.owner.indexOf('/');
  const org = c.owner.slice(0, slash);
  const project = c.owner.slice(slash + 1);
  const orgUrl = `${c.server.base}/${org}`;
  const remoteUrl = `${orgUrl}/${project}/_git/${c.name}`;
  const repoId = stableUuid(`repo:${c.server.host}/${c.fullName}`);
  const projectId = stableUuid(`project:${c.server.host}/${org}/${project}`);
  const repoApi = `${orgUrl}/${projectId}/_apis/git/repositories/${repoId}`;
  const pushId = stableId(`push:${c.deliveryId}`) % 100_000;
  const what = `${c.isTag ? 'tag' : 'branch'} ${c.shortRef} of repository ${c.name}`;
  const person = { name: TESTER.name, email: TESTER.email, date: isoSeconds(c.now) };
  const commits = c.deleted || c.isTag
    ? []
    : [{ commitId: c.after, author: person, committer: person, comment: COMMIT_MESSAGE.trimEnd(), url: `${remoteUrl}/commit/${c.after}` }];
  const message = { text: `${TESTER.name} pushed updates to ${what}.`, html: `${TESTER.name} pushed updates to ${what}.`, markdown: `${TESTER.name} pushed updates to ${what}.` };
  const payload = {
    subscriptionId: stableUuid(`subscription:${c.server.host}/${c.fullName}`),
    notificationId: stableId(`notification:${c.deliveryId}`) % 100_000,
    // The event id is the only delivery id Azure DevOps sends, and it is in the body.
    id: c.deliveryId,
    eventType: 'git.push',
    publisherId: 'tfs',
    message,
    detailedMessage: message,
    resource: {
      commits,
      refUpdates: [{ name: c.ref, oldObjectId: c.before, newObjectId: c.after }],
      repository: {
        id: repoId,
        name: c.name,
        url: repoApi,
        project: { id: projectId, name: project, url: `${orgUrl}/_apis/projects/${projectId}`, state: 'wellFormed', visibility: 'private' },
        defaultBranch: 'refs/heads/main',
        remoteUrl,
      },
      pushedBy: { displayName: TESTER.name, id: stableUuid(`user:${TESTER.login}`), uniqueName: TESTER.email },
      pushId,
      date: dotNetDate(c.now),
      url: `${repoApi}/pushes/${pushId}`,
    },
    resourceVersion: '1.0',
    resourceContainers: {
      collection: { id: stableUuid(`collection:${c.server.host}/${org}`) },
      account: { id: stableUuid(`account:${c.server.host}/${org}`) },
      project: { id: projectId },
    },
    createdDate: dotNetDate(c.now),
  };
  return {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      authorization: sign.basic(c.secret),
    },
    body: JSON.stringify(payload),
  };
}

// ---------------------------------------------------------------------------------------------

const BUILDERS: Readonly<Record<HostId, (c: Resolved) => BuiltDelivery>> = {
  github: githubDelivery,
  gitlab: gitlabDelivery,
  gitea: giteaFamilyDelivery,
  forgejo: giteaFamilyDelivery,
  gogs: giteaFamilyDelivery,
  bitbucket: bitbucketCloudDelivery,
  'bitbucket-dc': bitbucketDataCenterDelivery,
  gitee: giteeDelivery,
  gitcode: gitcodeDelivery,
  'azure-devops': azureDevOpsDelivery,
};

/**
 * Builds a push (or ping) delivery as `options.host` would send it: lower-case headers and the
 * exact body text, signed with `options.secret` in the chosen mode. Throws `DeliveryOptionsError`
 * for options the host could not produce (an unknown mode, a ping where the host has none, …).
 */
export function buildDelivery(options: DeliveryOptions): BuiltDelivery {
  const resolved = resolve(options);
  return BUILDERS[resolved.host](resolved);
}
