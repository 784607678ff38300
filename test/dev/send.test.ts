import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { main, parseSendArgs, UsageError, type Output } from '../../dev/send';
import { detectProvider } from '../../lib/providers';

const SECRET = 'hunter2-do-not-print';
const AFTER = 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';

interface Received {
  readonly method: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

/** A loopback server on port 0 that records each request and answers as told (or never, for `hang`). */
async function startServer(answer: Answer | 'hang'): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method, headers: request.headers, body: Buffer.concat(chunks) });
      if (answer === 'hang') return;
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  return { url: `http://127.0.0.1:${port}/webhook`, received, server };
}

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

function capture(): Output & { readonly stdout: string[]; readonly stderr: string[]; text(): string } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (text) => stdout.push(text),
    err: (text) => stderr.push(text),
    text: () => [...stdout, ...stderr].join('\n'),
  };
}

/** Node's headers as the bridge sees them: lower-case names, one string each. */
function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]),
  );
}

describe('parseSendArgs', () => {
  it('rejects a command line without --host', () => {
    // Prepare
    const argv = ['--repo', 'acme/api', '--url', 'http://localhost:3000/webhook'];

    // Act
    const act = () => parseSendArgs(argv, { WEBHOOK_SECRET: SECRET });

    // Assess
    expect(act).toThrow(UsageError);
    expect(act).toThrow('--host is required');
  });

  it('rejects an unknown host and lists the supported ones', () => {
    // Prepare
    const argv = ['--host', 'sourceforge', '--repo', 'acme/api', '--url', 'http://localhost:3000/webhook'];

    // Act
    const act = () => parseSendArgs(argv, { WEBHOOK_SECRET: SECRET });

    // Assess
    expect(act).toThrow(UsageError);
    expect(act).toThrow(/unknown host "sourceforge"; one of: github, gitlab, .*bitbucket-dc, gitee, gitcode/);
  });

  it('rejects a mode the host does not have and lists its modes', () => {
    // Prepare
    const argv = ['--host', 'gitee', '--mode', 'token', '--repo', 'acme/api', '--url', 'http://localhost:3000/webhook'];

    // Act
    const act = () => parseSendArgs(argv, { WEBHOOK_SECRET: SECRET });

    // Assess
    expect(act).toThrow(UsageError);
    expect(act).toThrow('gitee has no mode "token"; one of: password, signature');
  });

  it.each([
    ['no secret', ['--host', 'github', '--repo', 'a/b', '--url', 'http://x/'], {}, /WEBHOOK_SECRET/],
    ['no URL', ['--host', 'github', '--repo', 'a/b'], { WEBHOOK_SECRET: SECRET }, /--url is required/],
    ['an unknown option', ['--host', 'github', '--bogus'], { WEBHOOK_SECRET: SECRET }, /bogus/],
    ['a ping GitLab cannot send', ['--host', 'gitlab', '--event', 'ping'], {}, /gitlab sends no "ping"/],
    ['Bitbucket DC without a server URL', ['--host', 'bitbucket-dc', '--repo', 'P/s'], {}, /--server-url is required/],
    ['a bad timeout', ['--host', 'github', '--repo', 'a/b', '--url', 'http://x/', '--timeout', '-1'], { WEBHOOK_SECRET: SECRET }, /--timeout/],
  ] as const)('rejects %s', (_, argv, env, message) => {
    // Prepare
    const args = [...argv];

    // Act
    const act = () => parseSendArgs(args, env);

    // Assess
    expect(act).toThrow(UsageError);
    expect(act).toThrow(message);
  });

  it('takes the secret from WEBHOOK_SECRET and fills in the defaults', () => {
    // Prepare
    const argv = ['--host', 'gitlab', '--repo', 'acme/api', '--url', 'http://localhost:3000/webhook', '--deleted'];

    // Act
    const parsed = parseSendArgs(argv, { WEBHOOK_SECRET: SECRET });

    // Assess
    expect(parsed).toMatchObject({
      help: false,
      url: 'http://localhost:3000/webhook',
      timeoutMs: 15_000,
      delivery: { host: 'gitlab', repo: 'acme/api', secret: SECRET, deleted: true },
    });
  });

  it('reads --timeout in seconds or with a unit', () => {
    // Prepare
    const base = ['--host', 'github', '--repo', 'a/b', '--url', 'http://x/'];

    // Act
    const seconds = parseSendArgs([...base, '--timeout', '2.5'], { WEBHOOK_SECRET: SECRET });
    const millis = parseSendArgs([...base, '--timeout', '300ms'], { WEBHOOK_SECRET: SECRET });

    // Assess
    expect(seconds).toMatchObject({ timeoutMs: 2500 });
    expect(millis).toMatchObject({ timeoutMs: 300 });
  });
});

describe('main', () => {
  it('POSTs the exact signed bytes, prints the status and the answer, and exits 0 on 2xx', async () => {
    // Prepare
    const answer = { status: 202, body: '{"status":"ignored","reason":"no mirror configured for github.com/acme/api"}' };
    const { url, received } = await startServer(answer);
    const output = capture();
    const argv = ['--host', 'github', '--repo', 'acme/api', '--url', url, '--after', AFTER];

    // Act
    const code = await main(argv, { WEBHOOK_SECRET: SECRET }, fetch, output);

    // Assess
    expect(code).toBe(0);
    expect(received).toHaveLength(1);
    const request = received[0];
    if (request === undefined) throw new Error('nothing received');
    expect(request.method).toBe('POST');
    expect(request.headers['x-hub-signature-256']).toBe(
      `sha256=${createHmac('sha256', SECRET).update(request.body).digest('hex')}`,
    );
    const headers = flatHeaders(request.headers);
    const provider = detectProvider(headers);
    const delivery = { headers, rawBody: request.body, now: Date.now() };
    expect(provider?.id).toBe('github');
    expect(provider?.verify(delivery, [SECRET])).toMatchObject({ ok: true, secretIndex: 0 });
    expect(provider?.read(delivery)).toMatchObject({
      kind: 'push',
      push: { source: 'github.com/acme/api', refs: [{ ref: 'refs/heads/main', after: AFTER, deleted: false }] },
    });
    expect(output.stdout.join('\n')).toContain('HTTP 202');
    expect(output.stdout.join('\n')).toContain('"reason": "no mirror configured for github.com/acme/api"');
    expect(output.text()).not.toContain(SECRET);
  });

  it('exits 1 on a 401 answer, prints it, and never prints the secret even when the answer echoes it', async () => {
    // Prepare
    const answer = { status: 401, body: JSON.stringify({ error: `X-Gitlab-Token ${SECRET} is wrong`, code: 'SIGNATURE_MISMATCH' }) };
    const { url, received } = await startServer(answer);
    const output = capture();
    const argv = ['--host', 'gitlab', '--mode', 'token', '--repo', 'acme/api', '--url', url, '--secret', SECRET];

    // Act
    const code = await main(argv, {}, fetch, output);

    // Assess
    expect(code).toBe(1);
    expect(received[0]?.headers['x-gitlab-token']).toBe(SECRET);
    expect(output.stdout.join('\n')).toContain('HTTP 401');
    expect(output.stdout.join('\n')).toContain('"code": "SIGNATURE_MISMATCH"');
    expect(output.text()).not.toContain(SECRET);
  });

  it('gives up after --timeout and exits 1', async () => {
    // Prepare
    const { url } = await startServer('hang');
    const output = capture();
    const argv = ['--host', 'gitee', '--mode', 'signature', '--repo', 'acme/api', '--url', url, '--timeout', '200ms'];

    // Act
    const code = await main(argv, { WEBHOOK_SECRET: SECRET }, fetch, output);

    // Assess
    expect(code).toBe(1);
    expect(output.stderr.join('\n')).toContain('no answer within 0.2 s');
  });

  it('exits 2 with the help text on a usage error, without echoing a secret given on the command line', async () => {
    // Prepare
    const output = capture();
    const argv = ['--host', 'github', '--mode', 'password', '--secret', SECRET];

    // Act
    const code = await main(argv, {}, fetch, output);

    // Assess
    expect(code).toBe(2);
    expect(output.stderr.join('\n')).toContain('github has no mode "password"');
    expect(output.stderr.join('\n')).toContain('bitbucket-dc');
    expect(output.text()).not.toContain(SECRET);
  });

  it('prints the help text and exits 0 for --help', async () => {
    // Prepare
    const output = capture();

    // Act
    const code = await main(['--help'], {}, fetch, output);

    // Assess
    expect(code).toBe(0);
    expect(output.stdout.join('\n')).toMatch(/gitee\s+owner\/name\s+modes: password \| signature/);
  });
});

describe('--save and --replay', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function savePath(): string {
    const dir = mkdtempSync(join(tmpdir(), 'send-save-'));
    dirs.push(dir);
    return join(dir, 'delivery.json');
  }

  it('sends the saved delivery again byte for byte, and says when the bridge answers it as a replay', async () => {
    // Prepare
    const { url, received } = await startServer({ status: 200, body: '{"jid":"jid-1"}', headers: { 'idempotent-replayed': 'true' } });
    const file = savePath();
    const first = capture();
    const again = capture();
    // Act
    const sent = await main(['--host', 'gitea', '--repo', 'acme/api', '--url', url, '--save', file], { WEBHOOK_SECRET: SECRET }, fetch, first);
    const replayed = await main(['--replay', file, '--url', url], {}, fetch, again);
    // Assess
    expect([sent, replayed]).toEqual([0, 0]);
    expect(received).toHaveLength(2);
    expect(received[1]?.body.equals(received[0]?.body ?? Buffer.alloc(0))).toBe(true);
    for (const name of ['x-gitea-signature', 'x-gitea-delivery', 'x-gitea-event', 'content-type']) {
      expect(received[1]?.headers[name]).toBe(received[0]?.headers[name]);
    }
    expect(first.stdout.join('\n')).toContain(`npm run send -- --replay ${file} --url ${url}`);
    expect(again.stdout.join('\n')).toContain('Idempotent-Replayed: true');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(SECRET);
  });

  it('refuses --replay with options that would change the delivery', () => {
    // Act
    const act = () => parseSendArgs(['--replay', 'x.json', '--url', 'http://localhost:3000/webhook', '--ref', 'refs/heads/dev'], {});
    // Assess
    expect(act).toThrow(UsageError);
    expect(act).toThrow('--ref cannot change it');
  });

  it('exits 2 for a file that --save did not write, sending nothing', async () => {
    // Prepare
    const { url, received } = await startServer({ status: 200, body: '{}' });
    const file = savePath();
    writeFileSync(file, JSON.stringify({ headers: { a: 1 }, body: 'x' }));
    const output = capture();
    // Act
    const code = await main(['--replay', file, '--url', url], {}, fetch, output);
    // Assess
    expect(code).toBe(2);
    expect(output.stderr.join('\n')).toContain('not a delivery saved by --save');
    expect(received).toEqual([]);
  });
});
