import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lib/errors';
import {
  gitlab,
  readGitLabDelivery,
  readGitLabShapedPush,
  verifyGitLabDelivery,
} from '../../lib/providers/gitlab';
import { fixtureBytes, makeDelivery } from './support';

const NOW = Date.UTC(2024, 4, 20, 2, 12, 33);
const NOW_SECONDS = NOW / 1000;
const SIGNING_TOKEN = `whsec_${randomBytes(32).toString('base64')}`;

function standardSignature(token: string, id: string, timestamp: string, body: Buffer | string): string {
  const key = Buffer.from(token.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

function signedHeaders(token: string, body: Buffer | string, timestamp = String(NOW_SECONDS)) {
  const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
  return {
    'x-gitlab-event': 'Push Hook',
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': standardSignature(token, id, timestamp, body),
  };
}

describe('verifyGitLabDelivery with X-Gitlab-Token', () => {
  it('accepts the token that equals a secret', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'classic-token' }, '{}');

    // Act
    const result = verifyGitLabDelivery(delivery, ['classic-token']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('reports the index of the second secret during rotation', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-token': 'new-token' }, '{}');

    // Act
    const result = verifyGitLabDelivery(delivery, ['old-token', 'new-token']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 1 });
  });

  it('rejects a token that equals no secret', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-token': 'guessed' }, '{}');

    // Act
    const result = verifyGitLabDelivery(delivery, ['classic-token']);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a token that is a prefix of the secret', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-token': 'classic' }, '{}');

    // Act
    const result = verifyGitLabDelivery(delivery, ['classic-token']);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('reports a missing token as SIGNATURE_MISSING even though webhook-id and -timestamp are sent', () => {
    // Prepare
    const delivery = makeDelivery(
      { 'x-gitlab-event': 'Push Hook', 'webhook-id': 'abc', 'webhook-timestamp': String(NOW_SECONDS) },
      '{}',
      NOW,
    );

    // Act
    const result = verifyGitLabDelivery(delivery, ['classic-token']);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('reports an empty token as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-token': '' }, '{}');

    // Act
    const result = verifyGitLabDelivery(delivery, ['classic-token']);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('fails closed when no secret is given', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-token': 'classic-token' }, '{}');

    // Act
    const result = verifyGitLabDelivery(delivery, []);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });
});

describe('verifyGitLabDelivery with a signing token', () => {
  it('accepts the Standard Webhooks known-answer vector', () => {
    // Prepare
    const delivery = makeDelivery(
      {
        'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        'webhook-timestamp': '1614265330',
        'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
      },
      '{"test": 2432232314}',
      1614265330 * 1000,
    );

    // Act
    const result = verifyGitLabDelivery(delivery, ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('accepts a push fixture signed over its exact bytes', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const delivery = makeDelivery(signedHeaders(SIGNING_TOKEN, body), body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('accepts a signing token configured without the whsec_ prefix', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const delivery = makeDelivery(signedHeaders(SIGNING_TOKEN, body), body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN.slice('whsec_'.length)]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('skips secrets that are not base64 and reports the index of the one that matched', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const delivery = makeDelivery(signedHeaders(SIGNING_TOKEN, body), body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, ['classic token, not base64!', `whsec_${randomBytes(32).toString('base64')}`, SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 2 });
  });

  it('accepts any matching entry among several space-separated signatures', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const headers = signedHeaders(SIGNING_TOKEN, body);
    const other = standardSignature(`whsec_${randomBytes(32).toString('base64')}`, 'x', '1', body);
    const delivery = makeDelivery({ ...headers, 'webhook-signature': `v1a,c29tZXRoaW5n ${other} ${headers['webhook-signature']}` }, body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('rejects a signature made with another signing token', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const delivery = makeDelivery(signedHeaders(`whsec_${randomBytes(32).toString('base64')}`, body), body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('does not fall back to X-Gitlab-Token once webhook-signature is present', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const headers = signedHeaders(`whsec_${randomBytes(32).toString('base64')}`, body);
    const delivery = makeDelivery({ ...headers, 'x-gitlab-token': 'classic-token' }, body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, ['classic-token', SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a signature over a different body', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const delivery = makeDelivery(signedHeaders(SIGNING_TOKEN, body), fixtureBytes('gitlab-tag-push.json'), NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a signature of the wrong length', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const headers = signedHeaders(SIGNING_TOKEN, body);
    const delivery = makeDelivery({ ...headers, 'webhook-signature': headers['webhook-signature'].slice(0, -4) }, body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('reports a missing webhook-timestamp as SIGNATURE_MISSING', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const headers = signedHeaders(SIGNING_TOKEN, body);
    const delivery = makeDelivery({ 'webhook-id': headers['webhook-id'], 'webhook-signature': headers['webhook-signature'] }, body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('rejects a timestamp that is not unix seconds', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const delivery = makeDelivery(signedHeaders(SIGNING_TOKEN, body, '2024-05-20T02:12:33Z'), body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('accepts a timestamp exactly 5 minutes old', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const delivery = makeDelivery(signedHeaders(SIGNING_TOKEN, body, String(NOW_SECONDS - 300)), body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('rejects a timestamp older than 5 minutes as TIMESTAMP_STALE', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const delivery = makeDelivery(signedHeaders(SIGNING_TOKEN, body, String(NOW_SECONDS - 301)), body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'TIMESTAMP_STALE' });
  });

  it('accepts a timestamp exactly 5 minutes in the future', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const delivery = makeDelivery(signedHeaders(SIGNING_TOKEN, body, String(NOW_SECONDS + 300)), body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('rejects a timestamp more than 5 minutes in the future as TIMESTAMP_STALE', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const delivery = makeDelivery(signedHeaders(SIGNING_TOKEN, body, String(NOW_SECONDS + 301)), body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, [SIGNING_TOKEN]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'TIMESTAMP_STALE' });
  });

  it('fails closed when no secret is given', () => {
    // Prepare
    const body = fixtureBytes('gitlab-push.json');
    const delivery = makeDelivery(signedHeaders(SIGNING_TOKEN, body), body, NOW);

    // Act
    const result = verifyGitLabDelivery(delivery, []);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });
});

describe('readGitLabDelivery', () => {
  it('reads a branch push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-event': 'Push Hook' }, fixtureBytes('gitlab-push.json'));

    // Act
    const result = readGitLabDelivery(delivery);

    // Assess
    expect(result).toEqual({
      kind: 'push',
      push: {
        source: 'gitlab.example.com/mike/diaspora',
        refs: [
          {
            ref: 'refs/heads/main',
            before: '95790bf891e76fee5e1747ab589903a6a1f80f22',
            after: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
            deleted: false,
          },
        ],
        cloneUrl: 'https://gitlab.example.com/mike/diaspora.git',
        defaultBranch: 'main',
      },
    });
  });

  it('reads a tag push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-event': 'Tag Push Hook' }, fixtureBytes('gitlab-tag-push.json'));

    // Act
    const result = readGitLabDelivery(delivery);

    // Assess
    expect(result).toMatchObject({
      kind: 'push',
      push: { refs: [{ ref: 'refs/tags/v1.2.0', before: '0'.repeat(40), deleted: false }] },
    });
  });

  it('reads a branch deletion', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-event': 'Push Hook' }, fixtureBytes('gitlab-push-branch-deleted.json'));

    // Act
    const result = readGitLabDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { refs: [{ ref: 'refs/heads/feature/old', deleted: true }] } });
  });

  it('ignores other events and names them', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-event': 'Merge Request Hook' }, '{"object_kind":"merge_request"}');

    // Act
    const result = readGitLabDelivery(delivery);

    // Assess
    expect(result).toEqual({ kind: 'ignored', reason: expect.stringContaining('"Merge Request Hook"') as unknown });
  });

  it('throws PayloadError for a body that is not JSON', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-event': 'Push Hook' }, '<html>');

    // Act
    const act = () => readGitLabDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a JSON array body', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitlab-event': 'Push Hook' }, '[]');

    // Act
    const act = () => readGitLabDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a push hook whose object_kind is not a push', () => {
    // Prepare
    const body = { ...(JSON.parse(fixtureBytes('gitlab-push.json').toString('utf8')) as object), object_kind: 'issue' };
    const delivery = makeDelivery({ 'x-gitlab-event': 'Push Hook' }, JSON.stringify(body));

    // Act
    const act = () => readGitLabDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });
});

describe('readGitLabShapedPush', () => {
  it('throws PayloadError when project.path_with_namespace is missing', () => {
    // Prepare
    const body = { ref: 'refs/heads/main', before: 'a', after: 'b', project: { web_url: 'https://gitlab.com/a/b' } };

    // Act
    const act = () => readGitLabShapedPush(body);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError when ref is missing', () => {
    // Prepare
    const body = { before: 'a', after: 'b', project: { web_url: 'https://gitlab.com/a/b', path_with_namespace: 'a/b' } };

    // Act
    const act = () => readGitLabShapedPush(body);

    // Assess
    expect(act).toThrow(PayloadError);
  });
});

describe('gitlab', () => {
  it('detects a delivery by X-Gitlab-Event', () => {
    // Prepare
    const headers = { 'x-gitlab-event': 'Push Hook' };

    // Act
    const detected = gitlab.detect(headers);

    // Assess
    expect(detected).toBe(true);
  });

  it('prefers webhook-id over Idempotency-Key and X-Gitlab-Event-UUID for the delivery id', () => {
    // Prepare
    const headers = { 'webhook-id': 'w-1', 'idempotency-key': 'i-1', 'x-gitlab-event-uuid': 'u-1' };

    // Act
    const id = gitlab.deliveryId(headers);

    // Assess
    expect(id).toBe('w-1');
  });

  it('falls back to Idempotency-Key, then X-Gitlab-Event-UUID', () => {
    // Prepare
    const withKey = { 'idempotency-key': 'i-1', 'x-gitlab-event-uuid': 'u-1' };
    const withUuid = { 'x-gitlab-event-uuid': 'u-1' };

    // Act
    const ids = [gitlab.deliveryId(withKey), gitlab.deliveryId(withUuid)];

    // Assess
    expect(ids).toEqual(['i-1', 'u-1']);
  });
});
