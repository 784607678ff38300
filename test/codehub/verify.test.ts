import { describe, expect, it } from 'vitest';
import { formatSdkDate, signRequest } from '../../lib/codehub/sign';
import { canonicalRequestOfSigned, parseSdkDate, verifySignedRequest } from '../../lib/codehub/verify';
import { BRIDGE_VECTOR, received } from './signing-vectors';

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
