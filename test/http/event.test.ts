import { describe, expect, it } from 'vitest';
import { jsonResponse, readHttpRequest } from '../../lib/http/event';
import { httpApiEvent, restApiEvent } from '../support/lambda';

describe('readHttpRequest', () => {
  it('reads an HTTP API 2.0 event with its method, headers and body bytes', () => {
    // Prepare
    const event = httpApiEvent({ headers: { 'X-GitHub-Event': 'push' }, body: '{"a":"é"}' });
    // Act
    const request = readHttpRequest(event);
    // Assess
    expect(request.method).toBe('POST');
    expect(request.headers['x-github-event']).toBe('push');
    expect(request.rawBody.equals(Buffer.from('{"a":"é"}', 'utf8'))).toBe(true);
  });

  it('decodes a base64 body to the exact bytes sent, including bytes that are not UTF-8', () => {
    // Prepare
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
    const event = httpApiEvent({ headers: {}, body: bytes, base64: true });
    // Act
    const request = readHttpRequest(event);
    // Assess
    expect(request.rawBody.equals(bytes)).toBe(true);
  });

  it('lower-cases the mixed-case headers of a REST API 1.0 event', () => {
    // Prepare
    const event = restApiEvent({ method: 'post', headers: { 'X-Hub-Signature-256': 'sha256=ab', 'Content-Type': 'application/json' }, body: '{}' });
    // Act
    const request = readHttpRequest(event);
    // Assess
    expect(request.method).toBe('POST');
    expect(request.headers['x-hub-signature-256']).toBe('sha256=ab');
    expect(request.headers['content-type']).toBe('application/json');
  });

  it('keeps every value of a header sent twice in different case', () => {
    // Prepare
    const event = restApiEvent({ headers: {}, body: '' });
    event.headers = { 'X-Gitlab-Token': 'b' };
    event.multiValueHeaders = { 'X-Gitlab-Token': ['a'], 'x-gitlab-token': ['b'] };
    // Act
    const request = readHttpRequest(event);
    // Assess
    expect(request.headers['x-gitlab-token']).toBe('a, b');
  });

  it('treats a header named __proto__ as a plain header', () => {
    // Prepare
    const event = httpApiEvent({ headers: {}, body: '' });
    event.headers = JSON.parse('{"__proto__":"x","x-gitea-event":"push"}') as Record<string, string>;
    // Act
    const request = readHttpRequest(event);
    // Assess
    expect(request.headers['x-gitea-event']).toBe('push');
    expect(Object.getPrototypeOf(request.headers)).toBeNull();
  });

  it('reads a missing body and a malformed event without throwing', () => {
    // Prepare
    const event = { version: '2.0', headers: null, body: null } as unknown as Parameters<typeof readHttpRequest>[0];
    // Act
    const request = readHttpRequest(event);
    // Assess
    expect(request.method).toBe('');
    expect(request.rawBody.length).toBe(0);
  });
});

describe('jsonResponse', () => {
  it('answers JSON with its content type', () => {
    // Act
    const response = jsonResponse(202, { status: 'ignored' });
    // Assess
    expect(response.statusCode).toBe(202);
    expect(response.headers?.['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(response.body)).toEqual({ status: 'ignored' });
  });
});

describe('readHttpRequest: body text', () => {
  it('keeps a text body as text beside its bytes, so JSON need not be decoded twice', () => {
    // Act
    const request = readHttpRequest(httpApiEvent({ headers: {}, body: '{"a":"é"}' }));
    // Assess
    expect(request.bodyText).toBe('{"a":"é"}');
    expect(request.rawBody.toString('utf8')).toBe(request.bodyText);
  });

  it('keeps no text for a body with a lone surrogate, whose bytes differ from its text', () => {
    // Prepare
    const event = httpApiEvent({ headers: {}, body: '' });
    event.body = '{"a":"\uD800"}';
    // Act
    const request = readHttpRequest(event);
    // Assess
    expect(request.bodyText).toBeUndefined();
    expect(request.rawBody.toString('utf8')).toBe('{"a":"\uFFFD"}');
  });

  it('keeps no text for a base64 body', () => {
    // Act
    const request = readHttpRequest(httpApiEvent({ headers: {}, body: '{}', base64: true }));
    // Assess
    expect(request.bodyText).toBeUndefined();
  });

  it('counts the body in bytes, not characters, whatever the encoding it arrived in', () => {
    // Prepare
    const lone = httpApiEvent({ headers: {}, body: '' });
    lone.body = 'a\uD800';
    const events = [
      httpApiEvent({ headers: {}, body: '{"a":"é€😀"}' }),
      lone,
      httpApiEvent({ headers: {}, body: Buffer.from([0xff, 0x00, 0x7b]), base64: true }),
      httpApiEvent({ headers: {}, body: '' }),
    ];

    // Act
    const requests = events.map((event) => readHttpRequest(event));

    // Assess
    expect(requests.map((request) => request.bodyLength)).toEqual([17, 4, 3, 0]);
    for (const request of requests) expect(request.bodyLength).toBe(request.rawBody.length);
  });

  it('builds the bytes of a text body once, on first read', () => {
    // Act
    const request = readHttpRequest(httpApiEvent({ headers: {}, body: '{"a":1}' }));

    // Assess
    expect(request.rawBody).toBe(request.rawBody);
    expect(request.rawBody.toString('utf8')).toBe('{"a":1}');
  });
});
