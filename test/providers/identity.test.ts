import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lib/errors';
import { readAzureDevOpsGitPush } from '../../lib/providers/azure-devops';
import { normaliseConfiguredSource, parseConfiguredSource, parseRepositoryUrl, sourceIdentity } from '../../lib/providers/identity';

const TARGET = 'github.com/acme/api';

function identityFromUrl(url: string): string | undefined {
  const result = parseRepositoryUrl(url);
  return 'identity' in result ? result.identity : undefined;
}

/** A payload path and a URL or configured source can each be another spelling of `acme/api`. */
const ALIASES = [
  ['a dot-dot segment', 'other/../acme/api'],
  ['a dot segment', 'acme/./api'],
  ['a query', 'acme/api?x=1'],
  ['a fragment', 'acme/api#x'],
  ['a %-escaped letter', 'acme/%61pi'],
  ['a %-escaped dot-dot', 'other/%2e%2e/acme/api'],
  ['a %-escaped slash', 'acme%2Fapi'],
  ['a doubled slash', 'acme//api'],
  ['a leading slash', '/acme/api'],
  ['a trailing slash', 'acme/api/'],
  ['a backslash', 'acme\\api'],
  ['a tab', 'acme/a\tpi'],
  ['a newline', 'acme/api\n'],
  ['a NUL', 'acme/api\u0000'],
  ['a DEL', 'acme/ap\u007fi'],
] as const;

describe('sourceIdentity (a path as a payload names it)', () => {
  it.each([
    ['github.com', 'acme/api'],
    ['GitHub.com', 'Acme/API'],
    ['github.com:443', 'acme/api.git'],
    ['github.com:80', 'acme/api.GIT'],
  ])('maps %s + %s to the one identity', (host, path) => {
    // Act
    const identity = sourceIdentity(host, path);

    // Assess
    expect(identity).toBe(TARGET);
  });

  it.each(ALIASES)('refuses a path with %s instead of mapping it to acme/api', (_, path) => {
    // Act
    const read = (): string => sourceIdentity('github.com', path);

    // Assess
    expect(read).toThrow(PayloadError);
  });

  it('lower-cases A to Z only: the Kelvin sign, whose lower case is k, stays itself', () => {
    // Act
    const identity = sourceIdentity('github.com', 'acme/\u212Api');

    // Assess
    expect(identity).toBe('github.com/acme/\u212Api');
  });

  it('keeps a non-default port, and refuses a host that is no host', () => {
    // Act
    const withPort = sourceIdentity('git.example.com:8443', 'a/b');
    const refused = (): string => sourceIdentity('git.example.com/evil', 'a/b');

    // Assess
    expect(withPort).toBe('git.example.com:8443/a/b');
    expect(refused).toThrow(PayloadError);
  });
});

describe('parseRepositoryUrl and normaliseConfiguredSource (a URL, %-decoded once)', () => {
  it.each([
    'https://github.com/acme/api',
    'https://github.com/acme/api.git',
    'HTTPS://GitHub.com:443/Acme/Api',
    'https://user@github.com/acme/api',
    'ssh://git@github.com:22/acme/api.git',
  ])('maps %s to the one identity', (url) => {
    // Act
    const identity = identityFromUrl(url);

    // Assess
    expect(identity).toBe(TARGET);
  });

  it.each(ALIASES)('refuses a URL whose path has %s', (_, path) => {
    // Act
    const fromUrl = identityFromUrl(`https://github.com/${path}`);
    const configured = normaliseConfiguredSource(`github.com/${path}`);

    // Assess
    expect(fromUrl).toBeUndefined();
    expect(configured).toBeUndefined();
  });

  it('decodes an escape exactly once: %2561 is %61, which is refused, never a', () => {
    // Act
    const once = parseConfiguredSource('dev.azure.com/org/p/_git/%2561pi');

    // Assess
    expect(once).toEqual({ problem: expect.stringMatching(/%/) });
  });

  it('decodes the escapes a name needs (a space, UTF-8)', () => {
    // Act
    const spaced = identityFromUrl('https://org@dev.azure.com/org/My%20Project/_git/My%20Repo');
    const unicode = identityFromUrl('https://dev.azure.com/org/%E9%A1%B9%E7%9B%AE/_git/web');

    // Assess
    expect(spaced).toBe('dev.azure.com/org/my project/_git/my repo');
    expect(unicode).toBe('dev.azure.com/org/项目/_git/web');
  });

  it('says why a configured source is refused, without quoting it', () => {
    // Act
    const result = parseConfiguredSource('github.com/acme/%61pi');

    // Assess
    expect(result).toEqual({ problem: 'has a %-escape of a letter, digit or - . _ ~ (write the character itself)' });
  });
});

describe('readAzureDevOpsGitPush', () => {
  it('refuses a remoteUrl that would be acme/api only after a second decode', () => {
    // Prepare
    const body = { resource: { repository: { remoteUrl: 'https://dev.azure.com/acme/p/_git/%2561pi' }, refUpdates: [] } };

    // Act
    const read = (): unknown => readAzureDevOpsGitPush(body);

    // Assess
    expect(read).toThrow(PayloadError);
  });
});

describe('paths of 50,000 slashes', () => {
  // Each of these took seconds with /^\/+|\/+$/g (quadratic); the test timeout is only a hang guard.
  const path = `acme${'/'.repeat(50_000)}api`;

  it('are refused in one pass', () => {
    // Act
    const fromPayload = (): string => sourceIdentity('github.com', path);
    const fromUrl = identityFromUrl(`https://github.com/${path}`);
    const configured = normaliseConfiguredSource(`github.com/${path}`);

    // Assess
    expect(fromPayload).toThrow(PayloadError);
    expect(fromUrl).toBeUndefined();
    expect(configured).toBeUndefined();
  }, 10_000);
});
