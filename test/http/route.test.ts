import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { HttpEvent } from '../../lib/http/event';
import { isStatusRequest, requestPath, statusRoute } from '../../lib/http/route';
import { httpApiEvent, restApiEvent } from '../support/lambda';

function v2At(rawPath: string, method = 'GET'): APIGatewayProxyEventV2 {
  return { ...httpApiEvent({ method, headers: {}, body: '' }), rawPath };
}

function v1At(path: string, method = 'GET'): APIGatewayProxyEvent {
  return { ...restApiEvent({ method, headers: {}, body: '' }), path };
}

describe('requestPath', () => {
  it('reads rawPath from a payload 2.0 event (HTTP API, Function URL)', () => {
    // Act
    const path = requestPath(v2At('/dev/mirrors'));
    // Assess
    expect(path).toBe('/dev/mirrors');
  });

  it('reads path from a payload 1.0 event (REST API)', () => {
    // Act
    const path = requestPath(v1At('/mirrors'));
    // Assess
    expect(path).toBe('/mirrors');
  });

  it('answers an empty path for an event without one', () => {
    // Prepare
    const event = { version: '2.0', requestContext: { http: { method: 'GET' } }, headers: {}, body: '' } as unknown as HttpEvent;
    // Act
    const path = requestPath(event);
    // Assess
    expect(path).toBe('');
  });
});

describe('isStatusRequest', () => {
  it.each([
    ['/mirrors'],
    ['/mirrors/'],
    ['/dev/mirrors'],
    ['/prod/mirrors/'],
  ])('sends %s to the status handler', (path) => {
    // Act
    const routed = [isStatusRequest(v2At(path)), isStatusRequest(v1At(path))];
    // Assess
    expect(routed).toEqual([true, true]);
  });

  it.each([
    ['/webhook'],
    ['/'],
    [''],
    ['/mirrorsx'],
    ['/mirrors/1001'],
    ['/a/b/mirrors'],
    ['/dev/webhook'],
    ['/pushes'],
    ['/pushes/'],
    ['/a/b/pushes/AAAAAAAAAAAAAAAAAAAAAA'],
    ['/pushes/AAAAAAAAAAAAAAAAAAAAAA/mirrors/1'],
  ])('sends %s to the webhook pipeline', (path) => {
    // Act
    const routed = [isStatusRequest(v2At(path)), isStatusRequest(v1At(path))];
    // Assess
    expect(routed).toEqual([false, false]);
  });

  it('routes by path whatever the method, so that the status handler answers 405 to a POST', () => {
    // Act
    const routed = isStatusRequest(v2At('/mirrors', 'POST'));
    // Assess
    expect(routed).toBe(true);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', '/mirrors'],
    ['an array', [{ rawPath: '/mirrors' }]],
  ])('sends %s to the pipeline without throwing, for it to answer 400', (_name, event) => {
    // Act
    const routed = isStatusRequest(event);
    // Assess
    expect(routed).toBe(false);
    expect(requestPath(event)).toBe('');
  });

  it('sends a deployed webhook event (rawPath /webhook) to the pipeline', () => {
    // Act
    const routed = isStatusRequest(httpApiEvent({ headers: {}, body: '{}' }));
    // Assess
    expect(routed).toBe(false);
  });
});

const PUSH_ID = 'Zm9vYmFyLWJhei1xdXV4LTE';

describe('statusRoute', () => {
  it.each([
    ['/mirrors', 'mirrors'],
    ['/dev/mirrors/', 'mirrors'],
    [`/pushes/${PUSH_ID}`, { pushId: PUSH_ID }],
    [`/pushes/${PUSH_ID}/`, { pushId: PUSH_ID }],
    [`/dev/pushes/${PUSH_ID}`, { pushId: PUSH_ID }],
    // A stage named like the route is still a stage.
    [`/pushes/pushes/${PUSH_ID}`, { pushId: PUSH_ID }],
    // Malformed ids go to the status handler too, which answers them 404 (not the pipeline).
    ['/pushes/not-an-id', { pushId: 'not-an-id' }],
    ['/pushes/%2e%2e', { pushId: '%2e%2e' }],
  ])('routes %s to %j', (path, route) => {
    // Act
    const routed = [statusRoute(v2At(path)), statusRoute(v1At(path))];
    // Assess
    expect(routed).toEqual([route, route]);
  });

  it.each([['/webhook'], ['/pushes'], ['/pushes/'], ['/pushes//'], ['/a/b/pushes/x'], ['/dev/pushes/a/b'], ['/mirrors/pushes']])('sends %s to the webhook pipeline', (path) => {
    // Act
    const routed = [statusRoute(v2At(path)), statusRoute(v1At(path))];
    // Assess
    expect(routed).toEqual([undefined, undefined]);
  });

  it('routes by path whatever the method, so that the status handler answers 405 to a POST', () => {
    // Act
    const routed = statusRoute(v2At(`/pushes/${PUSH_ID}`, 'DELETE'));
    // Assess
    expect(routed).toEqual({ pushId: PUSH_ID });
    expect(isStatusRequest(v2At(`/pushes/${PUSH_ID}`, 'DELETE'))).toBe(true);
  });

  it.each([
    ['null', null],
    ['a string', `/pushes/${PUSH_ID}`],
    ['an object without a path', {}],
  ])('answers undefined for %s, without throwing', (_name, event) => {
    // Act
    const routed = statusRoute(event);
    // Assess
    expect(routed).toBeUndefined();
  });
});
