import { describe, expect, it } from 'vitest';
import {
  canonicalQuery,
  canonicalRequest,
  canonicalRequestOfSigned,
  canonicalUri,
  computeSignature,
  formatSdkDate,
  parseAuthorization,
  parseSdkDate,
  signRequest,
  stringToSign,
  verifySignedRequest,
} from '../../lib/codehub/sign';
import type { ReceivedHeaders } from '../../lib/codehub/sign';

const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** The bridge's own call, as docs/codehub-api.md gives it. */
const BRIDGE_VECTOR = {
  method: 'POST',
  url: 'https://codehub-ext.cn-north-4.myhuaweicloud.com/v4/repositories/2111111/remote-mirror',
  headers: { 'content-type': 'application/json', 'X-Project-Id': '0123456789abcdef0123456789abcdef' },
  body: '{"force_fetch":true}',
  ak: 'AccessKey',
  sk: 'SecretKey',
  date: Date.UTC(2024, 0, 1, 0, 0, 0),
} as const;

/** What a server receives for a request signed with `signRequest`: node:http's lower-case headers. */
function received(
  input: { method: string; url: string; headers: Readonly<Record<string, string>>; body: string },
  added: Readonly<Record<string, string>>,
): { method: string; pathAndQuery: string; headers: ReceivedHeaders; body: string } {
  const url = new URL(input.url);
  const headers: Record<string, string> = { host: url.host };
  for (const [name, value] of Object.entries({ ...input.headers, ...added })) headers[name.toLowerCase()] = value;
  return { method: input.method, pathAndQuery: `${url.pathname}${url.search}`, headers, body: input.body };
}

describe('formatSdkDate', () => {
  it('formats an instant as UTC YYYYMMDDTHHMMSSZ', () => {
    // Prepare
    const instant = Date.UTC(2006, 0, 2, 15, 4, 5, 999);

    // Act
    const formatted = formatSdkDate(instant);

    // Assess
    expect(formatted).toBe('20060102T150405Z');
  });

  it('formats each instant afresh across seconds, in any order, Date or number', () => {
    // Prepare: the formatter remembers the last second it formatted
    const base = Date.UTC(2026, 10, 28, 23, 59, 59, 0);
    const instants = [base, base + 999, base + 1000, base, base - 1, new Date(base + 86_400_000)];

    // Act
    const formatted = instants.map((instant) => formatSdkDate(instant));

    // Assess
    expect(formatted).toEqual([
      '20261128T235959Z',
      '20261128T235959Z',
      '20261129T000000Z',
      '20261128T235959Z',
      '20261128T235958Z',
      '20261129T235959Z',
    ]);
  });

  it('throws for an invalid date, however recently it formatted', () => {
    // Prepare
    formatSdkDate(Date.UTC(2026, 0, 1));

    // Act
    const format = () => formatSdkDate(Number.NaN);

    // Assess
    expect(format).toThrow(RangeError);
  });
});

describe('parseSdkDate', () => {
  it('reads back what formatSdkDate wrote', () => {
    // Prepare
    const instant = Date.UTC(2024, 1, 29, 23, 59, 59);

    // Act
    const parsed = parseSdkDate(formatSdkDate(instant));

    // Assess
    expect(parsed).toBe(instant);
  });

  it('rejects other formats and impossible dates', () => {
    // Prepare
    const values = ['2024-01-01T00:00:00Z', '20240101T000000', '20240231T000000Z', '20240101T250000Z', ''];

    // Act
    const parsed = values.map(parseSdkDate);

    // Assess
    expect(parsed).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});

describe('canonicalUri', () => {
  it('appends the trailing slash used for signing only', () => {
    // Prepare
    const paths = ['/path', '/v4/repositories/1/remote-mirror', '/', ''];

    // Act
    const uris = paths.map(canonicalUri);

    // Assess
    expect(uris).toEqual(['/path/', '/v4/repositories/1/remote-mirror/', '/', '/']);
  });

  it('percent-encodes every byte but A-Za-z0-9-_.~ in each segment', () => {
    // Prepare
    const path = "/a b/c!d'(e)*/~x_y.z-0/ü/a%2Bb";

    // Act
    const uri = canonicalUri(path);

    // Assess
    expect(uri).toBe('/a%20b/c%21d%27%28e%29%2A/~x_y.z-0/%C3%BC/a%2Bb/');
  });
});

describe('canonicalQuery', () => {
  it('sorts keys and repeated values and encodes both', () => {
    // Prepare
    const query = 'b=2&a=z&a=y&c&d=x%20y&e=a+b';

    // Act
    const canonical = canonicalQuery(query);

    // Assess
    expect(canonical).toBe('a=y&a=z&b=2&c=&d=x%20y&e=a%20b');
  });

  it('is empty when there is no query', () => {
    // Act
    const canonical = canonicalQuery('');

    // Assess
    expect(canonical).toBe('');
  });
});

describe('canonicalRequest', () => {
  it('builds the Go SDK GET vector line by line', () => {
    // Prepare
    const parts = {
      method: 'GET',
      pathAndQuery: '/path?limit=1',
      signedHeaders: { 'X-Sdk-Date': '20060102T150405Z' },
      body: '',
    };

    // Act
    const canonical = canonicalRequest(parts);

    // Assess
    expect(canonical).toBe(
      ['GET', '/path/', 'limit=1', 'x-sdk-date:20060102T150405Z\n', 'x-sdk-date', EMPTY_BODY_SHA256].join('\n'),
    );
  });

  it('trims header values and sorts names case-insensitively', () => {
    // Prepare
    const parts = {
      method: 'post',
      pathAndQuery: '/x',
      signedHeaders: { 'X-Sdk-Date': ' 20060102T150405Z ', Host: 'h', 'content-type': 'application/json' },
      body: '',
    };

    // Act
    const canonical = canonicalRequest(parts);

    // Assess
    expect(canonical.split('\n').slice(0, 7)).toEqual([
      'POST',
      '/x/',
      '',
      'content-type:application/json',
      'host:h',
      'x-sdk-date:20060102T150405Z',
      '',
    ]);
  });
});

describe('computeSignature', () => {
  it('matches the Go SDK GET vector (5a2ce64c…)', () => {
    // Prepare
    const sdkDate = '20060102T150405Z';
    const canonical = canonicalRequest({
      method: 'GET',
      pathAndQuery: '/path?limit=1',
      signedHeaders: { 'x-sdk-date': sdkDate },
      body: '',
    });

    // Act
    const signature = computeSignature('SecretKey', stringToSign(sdkDate, canonical));

    // Assess
    expect(signature).toBe('5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624');
  });

  it('matches the Go SDK POST vector, body with its trailing newline (cecc2af1…)', () => {
    // Prepare
    const sdkDate = '20060102T150405Z';
    const canonical = canonicalRequest({
      method: 'POST',
      pathAndQuery: '/path?key=value',
      signedHeaders: { 'x-sdk-date': sdkDate },
      body: Buffer.from('{"Name":"test","Id":1}\n', 'utf8'),
    });

    // Act
    const signature = computeSignature('SecretKey', stringToSign(sdkDate, canonical));

    // Assess
    expect(signature).toBe('cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59');
  });

  it('matches the HMAC-only vector (7be66680…)', () => {
    // Prepare
    const toSign =
      'SDK-HMAC-SHA256\n20191115T033655Z\nb25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a';

    // Act
    const signature = computeSignature('MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc', toSign);

    // Assess
    expect(signature).toBe('7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe');
  });
});

describe('signRequest', () => {
  it("signs the bridge's own call as the official Node SDK does (27c52e94…)", () => {
    // Act
    const headers = signRequest(BRIDGE_VECTOR);

    // Assess
    expect(headers).toEqual({
      'X-Sdk-Date': '20240101T000000Z',
      Authorization:
        'SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=content-type;host;x-project-id;x-sdk-date, ' +
        'Signature=27c52e94ecafd9f75f88d03e0fa9a45654c75973e172c62e07f31a7771597201',
    });
  });

  it('gives the same signature for the body as a string or as its bytes', () => {
    // Act
    const fromString = signRequest(BRIDGE_VECTOR);
    const fromBytes = signRequest({ ...BRIDGE_VECTOR, body: Buffer.from(BRIDGE_VECTOR.body, 'utf8') });

    // Assess
    expect(fromBytes).toEqual(fromString);
  });

  it('signs X-Security-Token when it is sent, and never an Authorization header', () => {
    // Prepare
    const input = {
      ...BRIDGE_VECTOR,
      headers: { ...BRIDGE_VECTOR.headers, 'X-Security-Token': 'temporary', Authorization: 'stale' },
    };

    // Act
    const { Authorization } = signRequest(input);

    // Assess
    expect(parseAuthorization(Authorization)?.signedHeaders).toEqual([
      'content-type',
      'host',
      'x-project-id',
      'x-sdk-date',
      'x-security-token',
    ]);
  });

  it('signs the host with its port when the port is not the default', () => {
    // Prepare
    const input = { ...BRIDGE_VECTOR, url: 'http://127.0.0.1:8080/v4/repositories/1/remote-mirror' };
    const signed = signRequest(input);

    // Act
    const canonical = canonicalRequestOfSigned(received(input, signed));

    // Assess
    expect(canonical).toContain('\nhost:127.0.0.1:8080\n');
  });
});

describe('verifySignedRequest', () => {
  const now = BRIDGE_VECTOR.date;
  const lookupSecret = (accessKey: string): string | undefined => (accessKey === 'AccessKey' ? 'SecretKey' : undefined);
  const signed = signRequest(BRIDGE_VECTOR);
  const request = received(BRIDGE_VECTOR, signed);

  it('accepts what signRequest produces', () => {
    // Act
    const result = verifySignedRequest({ ...request, lookupSecret, now });

    // Assess
    expect(result).toEqual({
      ok: true,
      accessKey: 'AccessKey',
      signedHeaders: ['content-type', 'host', 'x-project-id', 'x-sdk-date'],
    });
  });

  it('accepts a query string and a date just inside the 15 minute window', () => {
    // Prepare
    const input = { ...BRIDGE_VECTOR, url: `${BRIDGE_VECTOR.url}?b=2&a=1&a=0` };
    const withQuery = received(input, signRequest(input));

    // Act
    const result = verifySignedRequest({ ...withQuery, lookupSecret, now: now + 15 * 60 * 1000 });

    // Assess
    expect(result.ok).toBe(true);
  });

  it('rejects a tampered body and reports the canonical request it computed', () => {
    // Prepare
    const tampered = { ...request, body: '{"force_fetch":false}' };

    // Act
    const result = verifySignedRequest({ ...tampered, lookupSecret, now });

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
    expect(result.ok ? undefined : result.canonicalRequest).toBe(canonicalRequestOfSigned(tampered));
  });

  it('rejects a tampered signed header', () => {
    // Prepare
    const tampered = { ...request, headers: { ...request.headers, 'x-project-id': 'another-project' } };

    // Act
    const result = verifySignedRequest({ ...tampered, lookupSecret, now });

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a different path or method', () => {
    // Act
    const otherPath = verifySignedRequest({ ...request, pathAndQuery: '/v4/repositories/2111112/remote-mirror', lookupSecret, now });
    const otherMethod = verifySignedRequest({ ...request, method: 'PUT', lookupSecret, now });

    // Assess
    expect([otherPath.ok, otherMethod.ok]).toEqual([false, false]);
  });

  it('rejects an X-Sdk-Date more than 15 minutes old or ahead', () => {
    // Prepare
    const sixteenMinutes = 16 * 60 * 1000;

    // Act
    const stale = verifySignedRequest({ ...request, lookupSecret, now: now + sixteenMinutes });
    const ahead = verifySignedRequest({ ...request, lookupSecret, now: now - sixteenMinutes });

    // Assess
    expect(stale).toMatchObject({ ok: false, reason: 'DATE_STALE' });
    expect(ahead).toMatchObject({ ok: false, reason: 'DATE_STALE' });
  });

  it('rejects a signature made with another secret key', () => {
    // Prepare
    const forged = received(BRIDGE_VECTOR, signRequest({ ...BRIDGE_VECTOR, sk: 'NotTheSecretKey' }));

    // Act
    const result = verifySignedRequest({ ...forged, lookupSecret, now });

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects an unknown access key, a missing or malformed Authorization, a missing date', () => {
    // Prepare
    const { authorization, ...withoutAuthorization } = request.headers;
    const withoutDate = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== 'x-sdk-date'));

    // Act
    const unknownKey = verifySignedRequest({ ...request, lookupSecret: () => undefined, now });
    const missing = verifySignedRequest({ ...request, headers: withoutAuthorization, lookupSecret, now });
    const malformed = verifySignedRequest({
      ...request,
      headers: { ...request.headers, authorization: `${String(authorization)}, extra` },
      lookupSecret,
      now,
    });
    const noDate = verifySignedRequest({ ...request, headers: withoutDate, lookupSecret, now });

    // Assess
    expect([unknownKey, missing, malformed, noDate].map((r) => (r.ok ? 'ok' : r.reason))).toEqual([
      'UNKNOWN_ACCESS_KEY',
      'AUTHORIZATION_MISSING',
      'AUTHORIZATION_MALFORMED',
      'DATE_MISSING',
    ]);
  });

  it('rejects a request that left a required header unsigned', () => {
    // Act
    const result = verifySignedRequest({
      ...request,
      lookupSecret,
      now,
      requiredSignedHeaders: ['host', 'x-sdk-date', 'x-security-token'],
    });

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'HEADER_NOT_SIGNED' });
  });
});
