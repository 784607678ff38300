import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lib/errors';
import { gitee, readGiteeDelivery, verifyGiteeToken } from '../../lib/providers/gitee';
import { fixtureBytes, makeDelivery } from './support';

const SECRET = 'gitee-signing-secret';
const NOW = 1716171153000;
const HOUR = 60 * 60 * 1000;

function giteeSign(secret: string, timestamp: number | string): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
}

function signedHeaders(secret: string, timestamp: number) {
  return {
    'x-gitee-event': 'Push Hook',
    'x-gitee-token': giteeSign(secret, timestamp),
    'x-gitee-timestamp': String(timestamp),
  };
}

describe('verifyGiteeToken', () => {
  it('accepts a pinned signature', () => {
    // Prepare
    const delivery = makeDelivery(
      { 'x-gitee-token': 'jx1BEWR7jT7/lMfQxt8N5UFVr0tSFo9wHAezIHtOhyI=', 'x-gitee-timestamp': '1716171153000' },
      '{}',
      NOW,
    );

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('accepts a signature whatever the body, since Gitee signs only the timestamp', () => {
    // Prepare
    const delivery = makeDelivery(signedHeaders(SECRET, NOW), fixtureBytes('gitee-push.json'), NOW);

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('accepts a token that equals the password, with the timestamp Gitee always sends', () => {
    // Prepare
    const delivery = makeDelivery(
      { 'x-gitee-token': 'plain-password', 'x-gitee-timestamp': String(NOW - 10 * HOUR) },
      fixtureBytes('gitee-push.json'),
      NOW,
    );

    // Act
    const result = verifyGiteeToken(delivery, [SECRET, 'plain-password']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 1 });
  });

  it('reports the index of the second secret during rotation', () => {
    // Prepare
    const delivery = makeDelivery(signedHeaders('new-secret', NOW), '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, ['old-secret', 'new-secret']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 1 });
  });

  it('rejects a signature made with another secret', () => {
    // Prepare
    const delivery = makeDelivery(signedHeaders('someone-else', NOW), '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a signature replayed with another timestamp', () => {
    // Prepare
    const delivery = makeDelivery({ ...signedHeaders(SECRET, NOW), 'x-gitee-timestamp': String(NOW + 1) }, '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a signature token when the timestamp is missing', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitee-token': giteeSign(SECRET, NOW) }, '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('reports a missing token as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitee-event': 'Push Hook', 'x-gitee-timestamp': String(NOW) }, '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('reports an empty token as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitee-token': '', 'x-gitee-timestamp': String(NOW) }, '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('rejects a signature of the wrong length', () => {
    // Prepare
    const headers = signedHeaders(SECRET, NOW);
    const delivery = makeDelivery({ ...headers, 'x-gitee-token': headers['x-gitee-token'].slice(0, -1) }, '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('accepts a timestamp exactly an hour old', () => {
    // Prepare
    const delivery = makeDelivery(signedHeaders(SECRET, NOW - HOUR), '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('rejects a timestamp older than an hour as TIMESTAMP_STALE', () => {
    // Prepare
    const delivery = makeDelivery(signedHeaders(SECRET, NOW - HOUR - 1), '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'TIMESTAMP_STALE' });
  });

  it('accepts a timestamp exactly an hour in the future', () => {
    // Prepare
    const delivery = makeDelivery(signedHeaders(SECRET, NOW + HOUR), '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('rejects a timestamp more than an hour in the future as TIMESTAMP_STALE', () => {
    // Prepare
    const delivery = makeDelivery(signedHeaders(SECRET, NOW + HOUR + 1), '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'TIMESTAMP_STALE' });
  });

  it('fails closed when no secret is given', () => {
    // Prepare
    const delivery = makeDelivery(signedHeaders(SECRET, NOW), '{}', NOW);

    // Act
    const result = verifyGiteeToken(delivery, []);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });
});

describe('readGiteeDelivery', () => {
  it('reads a branch push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitee-event': 'Push Hook' }, fixtureBytes('gitee-push.json'));

    // Act
    const result = readGiteeDelivery(delivery);

    // Assess
    expect(result).toEqual({
      kind: 'push',
      push: {
        source: 'gitee.com/oschina/mirror-demo',
        refs: [
          {
            ref: 'refs/heads/master',
            before: 'e5a1a4e5a0a1c8a1b7c0d8e8f5a8b3c1d2e4f6a8',
            after: '1cdcd819599cbb4099289dbbec762452f006cb40',
            deleted: false,
          },
        ],
        cloneUrl: 'https://gitee.com/oschina/mirror-demo.git',
        defaultBranch: 'master',
      },
    });
  });

  it('reads a tag push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitee-event': 'Tag Push Hook' }, fixtureBytes('gitee-tag-push.json'));

    // Act
    const result = readGiteeDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { refs: [{ ref: 'refs/tags/v1.0.0', deleted: false }] } });
  });

  it('reads a branch deletion', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitee-event': 'Push Hook' }, fixtureBytes('gitee-push-branch-deleted.json'));

    // Act
    const result = readGiteeDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { refs: [{ ref: 'refs/heads/dev', deleted: true }] } });
  });

  it('reads a deletion flagged only by deleted: true', () => {
    // Prepare
    const body = { ...(JSON.parse(fixtureBytes('gitee-push.json').toString('utf8')) as object), deleted: true };
    const delivery = makeDelivery({ 'x-gitee-event': 'Push Hook' }, JSON.stringify(body));

    // Act
    const result = readGiteeDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { refs: [{ deleted: true }] } });
  });

  it('falls back to repository.full_name and gitee.com when the payload has no project', () => {
    // Prepare
    const body = '{"ref":"refs/heads/master","before":"a","after":"b","repository":{"full_name":"OSChina/Mirror-Demo"}}';
    const delivery = makeDelivery({ 'x-gitee-event': 'Push Hook' }, body);

    // Act
    const result = readGiteeDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { source: 'gitee.com/oschina/mirror-demo' } });
  });

  it('answers X-Gitee-Ping as ping', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitee-event': 'Push Hook', 'x-gitee-ping': 'true' }, fixtureBytes('gitee-push.json'));

    // Act
    const result = readGiteeDelivery(delivery);

    // Assess
    expect(result).toEqual({ kind: 'ping' });
  });

  it('ignores other events and names them', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitee-event': 'Merge Request Hook' }, '{"hook_name":"merge_request_hooks"}');

    // Act
    const result = readGiteeDelivery(delivery);

    // Assess
    expect(result).toEqual({ kind: 'ignored', reason: expect.stringContaining('"Merge Request Hook"') as unknown });
  });

  it('throws PayloadError for a body that is not JSON', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitee-event': 'Push Hook' }, '{"ref":');

    // Act
    const act = () => readGiteeDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a JSON array body', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitee-event': 'Push Hook' }, '[1,2]');

    // Act
    const act = () => readGiteeDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a push naming no repository', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitee-event': 'Push Hook' }, '{"ref":"refs/heads/master","before":"a","after":"b"}');

    // Act
    const act = () => readGiteeDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });
});

describe('gitee', () => {
  it('detects a delivery by X-Gitee-Event', () => {
    // Prepare
    const headers = { 'x-gitee-event': 'Push Hook' };

    // Act
    const detected = gitee.detect(headers);

    // Assess
    expect(detected).toBe(true);
  });

  it('has no delivery id', () => {
    // Prepare
    const headers = { 'x-gitee-event': 'Push Hook', 'x-gitee-timestamp': String(NOW) };

    // Act
    const id = gitee.deliveryId(headers);

    // Assess
    expect(id).toBeUndefined();
  });
});
