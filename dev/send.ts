/**
 * Sends one signed test delivery to a running bridge, as a Git host would:
 *
 *   WEBHOOK_SECRET=… npm run send -- --host github --repo acme/api --url http://localhost:3000/webhook
 *
 * Prints the HTTP status and the bridge's JSON answer; exits 0 on 2xx, 1 otherwise, 2 on usage errors.
 * The secret is never printed (anything printed has it masked). `--save FILE` keeps the delivery
 * (headers and exact body) and `--replay FILE` sends it again byte for byte, as a host's
 * "Redeliver" does: the bridge answers the first answer again, with `Idempotent-Replayed: true`.
 */

import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  buildDelivery,
  DeliveryOptionsError,
  hostSpec,
  isHostId,
  SUPPORTED_HOSTS,
  type BuiltDelivery,
  type DeliveryEvent,
  type DeliveryMode,
  type DeliveryOptions,
} from './deliveries';

/** A command line that cannot be run; `main` prints the message and the help text and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface SendRequest {
  readonly help: false;
  readonly url: string;
  /** Milliseconds before the request is abandoned. */
  readonly timeoutMs: number;
  readonly delivery: DeliveryOptions;
  /** Where to keep the delivery for `--replay`. */
  readonly save?: string | undefined;
}

/** `--replay FILE`: a delivery kept by `--save`, sent again as it was. */
export interface ReplayRequest {
  readonly help: false;
  readonly url: string;
  readonly timeoutMs: number;
  readonly replay: string;
}

export type ParsedSendArgs = { readonly help: true } | SendRequest | ReplayRequest;

/** What `--save` writes: the headers and the exact body, as JSON (a JSON string keeps every character). */
export interface SavedDelivery {
  readonly saved_by: 'npm run send';
  readonly summary: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Where `main` writes; tests capture it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const DEFAULT_TIMEOUT_MS = 15_000;

const OPTIONS = {
  host: { type: 'string' },
  repo: { type: 'string' },
  ref: { type: 'string' },
  url: { type: 'string' },
  secret: { type: 'string' },
  mode: { type: 'string' },
  'server-url': { type: 'string' },
  before: { type: 'string' },
  after: { type: 'string' },
  deleted: { type: 'boolean' },
  event: { type: 'string' },
  form: { type: 'boolean' },
  'delivery-id': { type: 'string' },
  timeout: { type: 'string' },
  save: { type: 'string' },
  replay: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The usage text, listing every host with its modes and events. */
export function helpText(): string {
  const hosts = Object.entries(SUPPORTED_HOSTS).map(([id, spec]) => {
    const extras = [`modes: ${spec.modes.join(' | ')}`, `events: ${spec.events.join(' | ')}`];
    if (spec.form) extras.push('--form');
    const server = spec.serverUrl ?? 'required';
    return `  ${id.padEnd(13)} ${spec.repoForm.padEnd(24)} ${extras.join('; ')}; server: ${server}\n  ${' '.repeat(13)} ${spec.label}`;
  });
  return [
    'Send one signed test delivery to the bridge, exactly as a Git host signs it.',
    '',
    'Usage:',
    '  WEBHOOK_SECRET=… npm run send -- --host <host> --repo <owner/name> --url <webhook URL> [options]',
    '  npm run send -- --replay <file> --url <webhook URL>',
    '',
    'Options:',
    '  --host <host>          the sending host (below)',
    '  --repo <path>          repository path on that host (owner/name; PROJECT/slug for bitbucket-dc)',
    '  --url <url>            the bridge endpoint (or env WEBHOOK_URL)',
    '  --secret <secret>      the webhook secret; prefer env WEBHOOK_SECRET (a flag shows up in `ps`)',
    '  --mode <mode>          how the host proves the delivery (default: the host\'s first mode)',
    '  --ref <ref>            full ref name (default refs/heads/main; refs/tags/… sends a tag push)',
    '  --before <sha>         old SHA (default random)',
    '  --after <sha>          new SHA (default random)',
    '  --deleted              the push deletes the ref (after = zeros)',
    '  --event push|ping      ping where the host has one (default push)',
    '  --form                 send payload=<JSON> form-encoded (github, gitea, forgejo, gogs)',
    '  --server-url <url>     the host\'s base URL, for self-hosted installations',
    '  --delivery-id <id>     the delivery id header (default a random UUID)',
    '  --timeout <seconds>    give up after this long (default 15; also 500ms, 2s)',
    '  --save <file>          also write the delivery (headers and exact body) to <file>, mode 600: a',
    '                         token-mode host\'s header (gitlab token, gitee password, azure-devops) is the secret',
    '  --replay <file>        send a saved delivery again, byte for byte (only --url and --timeout apply):',
    '                         the bridge answers the first answer again, with Idempotent-Replayed: true',
    '  -h, --help             this text',
    '',
    'Hosts:',
    ...hosts,
    '',
    'Exit status: 0 on a 2xx answer, 1 on any other answer or no answer, 2 on usage errors.',
    '',
  ].join('\n');
}

function parseTimeout(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_TIMEOUT_MS;
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(raw.trim());
  const value = match?.[1] === undefined ? NaN : Number(match[1]) * (match[2] === 'ms' ? 1 : 1000);
  if (!Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--timeout "${raw}" is not a positive duration (seconds, or with ms/s)`);
  }
  return Math.ceil(value);
}

function requireUrl(raw: string | undefined): string {
  if (raw === undefined || raw === '') throw new UsageError('--url is required (or set WEBHOOK_URL)');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url "${raw}" is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be http(s)');
  if (url.username !== '' || url.password !== '') throw new UsageError('--url must not carry credentials');
  return url.href;
}

/**
 * Reads the command line (without `node` and the script) and the environment. Throws `UsageError`
 * for a missing or unknown host, a mode or event the host does not have, a missing secret, …
 */
export function parseSendArgs(argv: readonly string[], env: Env): ParsedSendArgs {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  if (values.help === true) return { help: true };

  if (values.replay !== undefined) {
    const others = Object.keys(values).filter((name) => !['replay', 'url', 'timeout'].includes(name));
    if (others.length > 0) throw new UsageError(`--replay sends the saved delivery as it is; --${others.join(', --')} cannot change it`);
    if (values.replay === '') throw new UsageError('--replay needs the file --save wrote');
    return { help: false, url: requireUrl(values.url ?? env['WEBHOOK_URL']), timeoutMs: parseTimeout(values.timeout), replay: values.replay };
  }

  const host = values.host;
  if (host === undefined || host === '') throw new UsageError('--host is required');
  if (!isHostId(host)) {
    throw new UsageError(`unknown host "${host}"; one of: ${Object.keys(SUPPORTED_HOSTS).join(', ')}`);
  }
  const spec = hostSpec(host);

  let mode: DeliveryMode | undefined;
  if (values.mode !== undefined) {
    const wanted = values.mode;
    const found = spec.modes.find((m) => m === wanted);
    if (found === undefined) {
      throw new UsageError(`${host} has no mode "${wanted}"; one of: ${spec.modes.join(', ')}`);
    }
    mode = found;
  }

  let event: DeliveryEvent | undefined;
  if (values.event !== undefined) {
    const wanted = values.event;
    const found = spec.events.find((e) => e === wanted);
    if (found === undefined) {
      throw new UsageError(`${host} sends no "${wanted}" event; one of: ${spec.events.join(', ')}`);
    }
    event = found;
  }

  if (values.form === true && !spec.form) throw new UsageError(`${host} always sends JSON; --form does not apply`);
  if (values.repo === undefined || values.repo === '') throw new UsageError(`--repo is required (${spec.repoForm})`);
  const serverUrl = values['server-url'];
  if (spec.serverUrl === undefined && serverUrl === undefined) {
    throw new UsageError(`${host} is self-hosted: --server-url is required`);
  }
  const secret = values.secret ?? env['WEBHOOK_SECRET'];
  if (secret === undefined || secret === '') throw new UsageError('no secret: set WEBHOOK_SECRET (or pass --secret)');

  return {
    help: false,
    url: requireUrl(values.url ?? env['WEBHOOK_URL']),
    timeoutMs: parseTimeout(values.timeout),
    delivery: {
      host,
      repo: values.repo,
      ref: values.ref,
      before: values.before,
      after: values.after,
      deleted: values.deleted,
      secret,
      mode,
      serverUrl,
      event,
      deliveryId: values['delivery-id'],
      form: values.form,
    },
    save: values.save === '' ? undefined : values.save,
  };
}

/** Reads a file `--save` wrote; a file of any other shape is a usage error. */
export function readSavedDelivery(file: string): SavedDelivery {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--replay ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const saved = parsed as Partial<SavedDelivery> | null;
  const headers = saved?.headers;
  const valid =
    typeof saved?.body === 'string' &&
    typeof headers === 'object' &&
    headers !== null &&
    Object.values(headers).every((value) => typeof value === 'string');
  if (!valid) throw new UsageError(`--replay ${file}: not a delivery saved by --save (headers and body)`);
  return { saved_by: 'npm run send', summary: typeof saved.summary === 'string' ? saved.summary : '', headers, body: saved.body as string };
}

/** Every secret the command line or environment holds, whether or not the arguments parsed. */
function secretsIn(argv: readonly string[], env: Env): string[] {
  const found = [env['WEBHOOK_SECRET'] ?? ''];
  argv.forEach((arg, i) => {
    if (arg === '--secret') found.push(argv[i + 1] ?? '');
    else if (arg.startsWith('--secret=')) found.push(arg.slice('--secret='.length));
  });
  return found;
}

/** Masks every occurrence of the given secrets in a text. */
function redactor(secrets: readonly string[]): (text: string) => string {
  const needles = secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (text) => needles.reduce((acc, needle) => acc.split(needle).join('***'), text);
}

function describeAnswer(text: string, contentType: string | null): string {
  if (text === '') return '(empty body)';
  if (contentType?.toLowerCase().includes('json') === true || /^\s*[[{]/.test(text)) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // Not JSON after all; show it as it came.
    }
  }
  return text.length > 4000 ? `${text.slice(0, 4000)}… (${text.length} characters)` : text;
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

function summary(request: SendRequest, delivery: BuiltDelivery): string {
  const d = request.delivery;
  const event = d.event ?? 'push';
  const headers = delivery.headers;
  const id =
    headers['x-github-delivery'] ??
    headers['webhook-id'] ??
    headers['x-gitcode-delivery'] ??
    headers['x-request-uuid'] ??
    headers['x-request-id'];
  const what =
    event === 'ping'
      ? `${d.host} ping`
      : `${d.host} push ${d.ref ?? 'refs/heads/main'}${d.deleted === true ? ' (deleted)' : ''}`;
  return `POST ${request.url}\n  ${what}, mode ${d.mode ?? hostSpec(d.host).modes[0] ?? 'signature'}${
    id === undefined ? '' : `, delivery ${id}`
  }, ${Buffer.byteLength(delivery.body)} bytes`;
}

const consoleOutput: Output = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/**
 * Runs the command: builds the delivery, POSTs it with `fetchImpl`, prints the answer. Resolves to
 * the exit status (0 on 2xx, 1 on any other answer or none, 2 on usage errors); never rejects for
 * those.
 */
export async function main(
  argv: readonly string[],
  env: Env,
  fetchImpl: typeof fetch = fetch,
  output: Output = consoleOutput,
): Promise<number> {
  let request: SendRequest | ReplayRequest;
  let delivery: BuiltDelivery;
  try {
    const parsed = parseSendArgs(argv, env);
    if (parsed.help) {
      output.out(helpText());
      return 0;
    }
    request = parsed;
    delivery = 'replay' in request ? readSavedDelivery(request.replay) : buildDelivery(request.delivery);
  } catch (error) {
    if (error instanceof UsageError || error instanceof DeliveryOptionsError) {
      output.err(redactor(secretsIn(argv, env))(`error: ${error.message}\n\n${helpText()}`));
      return 2;
    }
    throw error;
  }

  const redact = redactor('replay' in request ? [] : [request.delivery.secret]);
  if ('replay' in request) {
    output.out(`POST ${request.url}\n  replaying ${request.replay}: the same headers and ${Buffer.byteLength(delivery.body)} bytes of body`);
  } else {
    const described = summary(request, delivery);
    output.out(redact(described));
    if (request.save !== undefined) {
      const saved: SavedDelivery = { saved_by: 'npm run send', summary: redact(described), headers: delivery.headers, body: delivery.body };
      writeFileSync(request.save, `${JSON.stringify(saved, null, 2)}\n`, { mode: 0o600 });
      output.out(`  saved to ${request.save}; send it again with: npm run send -- --replay ${request.save} --url ${request.url}`);
    }
  }

  try {
    const response = await fetchImpl(request.url, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.body,
      // Hosts do not follow redirects to deliver a webhook; neither does this.
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    const text = await response.text();
    output.out(redact(`HTTP ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}`));
    if (response.headers.get('idempotent-replayed') === 'true') {
      output.out('Idempotent-Replayed: true (the bridge has seen this delivery: it answers as it did then, without calling CodeHub)');
    }
    output.out(redact(describeAnswer(text, response.headers.get('content-type'))));
    return response.status >= 200 && response.status < 300 ? 0 : 1;
  } catch (error) {
    output.err(redact(`error: ${describeFailure(error, request.timeoutMs)}`));
    return 1;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
