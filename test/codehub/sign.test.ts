import { describe, expect, it } from 'vitest';
import {
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  computeSignature,
  formatSdkDate,
  signRequest,
  stringToSign,
} from '../../lib/codehub/sign';
import { canonicalRequestOfSigned, parseAuthorization } from '../../lib/codehub/verify';
import { BRIDGE_VECTOR, received } from './signing-vectors';

const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

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
    // Prepare
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

  it('throws for an invalid date', () => {
    // Prepare
    formatSdkDate(Date.UTC(2026, 0, 1));

    // Act
    const format = () => formatSdkDate(Number.NaN);

    // Assess
    expect(format).toThrow(RangeError);
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
