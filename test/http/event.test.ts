import { describe, expect, it } from 'vitest';
import { isHttpEvent, jsonResponse, readHttpRequest } from '../../lib/http/event';
import { httpApiEvent, restApiEvent } from '../support/lambda';

describe('readHttpRequest', () => {
  it('reads an HTTP API 2.0 event with its method, headers and body', () => {
    // Prepare
    const event = httpApiEvent({ headers: { 'X-GitHub-Event': 'push' }, body: '{"a":"é"}' });
    // Act
    const request = readHttpRequest(event);
    // Assess
    expect(request.method).toBe('POST');
    expect(request.headers['x-github-event']).toBe('push');
    expect(request.body).toBe('{"a":"é"}');
  });

  it('decodes a base64 body to the exact bytes sent, including bytes that are not UTF-8', () => {
    // Prepare
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
    const event = httpApiEvent({ headers: {}, body: bytes, base64: true });
    // Act
    const request = readHttpRequest(event);
    // Assess
    expect(Buffer.isBuffer(request.body) && request.body.equals(bytes)).toBe(true);
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
    expect(request.bodyLength).toBe(0);
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

describe('readHttpRequest: the body as it arrived', () => {
  it('keeps a text body as the event\'s own string, so JSON is hashed and parsed as text, never copied', () => {
    // Prepare
    const event = httpApiEvent({ headers: {}, body: '{"a":"é"}' });
    // Act
    const request = readHttpRequest(event);
    // Assess
    expect(request.body).toBe(event.body);
  });

  it('gives the bytes of a body with a lone surrogate, whose bytes differ from its text', () => {
    // Prepare
    const event = httpApiEvent({ headers: {}, body: '' });
    event.body = '{"a":"\uD800"}';
    // Act
    const request = readHttpRequest(event);
    // Assess
    expect(Buffer.isBuffer(request.body)).toBe(true);
    expect(request.body.toString()).toBe('{"a":"\uFFFD"}');
  });

  it('gives the decoded bytes of a base64 body', () => {
    // Act
    const request = readHttpRequest(httpApiEvent({ headers: {}, body: '{}', base64: true }));
    // Assess
    expect(Buffer.isBuffer(request.body)).toBe(true);
    expect(request.body.toString()).toBe('{}');
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
    for (const request of requests) expect(request.bodyLength).toBe(Buffer.byteLength(request.body));
  });
});

describe('isHttpEvent', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'POST /webhook'],
    ['a number', 42],
    ['an array', [{ version: '2.0' }]],
  ])('refuses %s', (_name, event) => {
    // Act
    const verdict = isHttpEvent(event);
    // Assess
    expect(verdict).toBe(false);
  });

  it('takes any object, which readHttpRequest then reads without throwing', () => {
    // Prepare
    const odd = { version: '2.0', requestContext: 'x', headers: 'not-a-map', multiValueHeaders: 7, body: 7 };
    // Act
    const verdict = isHttpEvent(odd);
    const request = verdict ? readHttpRequest(odd) : undefined;
    // Assess
    expect(verdict).toBe(true);
    expect(request).toEqual({ method: '', headers: {}, body: '', bodyLength: 0 });
  });
});
