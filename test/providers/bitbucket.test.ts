import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lib/errors';
import { bitbucket, readBitbucketDelivery, verifyBitbucketSignature } from '../../lib/providers/bitbucket';
import { fixtureBytes, makeDelivery } from './support';

const SECRET = 'bitbucket-webhook-secret';
const ZERO = '0'.repeat(40);

function sign(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

describe('verifyBitbucketSignature', () => {
  it('accepts a pinned digest', () => {
    // Prepare
    const delivery = makeDelivery(
      { 'x-hub-signature': 'sha256=08c13ac1a3ef2ac8b9f631fdc868d673e6add81eb5f9fe68ff01bd8afe7e339b' },
      '{"push":{"changes":[]}}',
    );

    // Act
    const result = verifyBitbucketSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('accepts a Cloud push fixture signed over its exact bytes', () => {
    // Prepare
    const body = fixtureBytes('bitbucket-cloud-push.json');
    const delivery = makeDelivery({ 'x-event-key': 'repo:push', 'x-hub-signature': sign(SECRET, body) }, body);

    // Act
    const result = verifyBitbucketSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('reports the index of the second secret during rotation', () => {
    // Prepare
    const body = fixtureBytes('bitbucket-dc-refs-changed.json');
    const delivery = makeDelivery({ 'x-hub-signature': sign('new-secret', body) }, body);

    // Act
    const result = verifyBitbucketSignature(delivery, ['old-secret', 'new-secret']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 1 });
  });

  it('rejects a signature made with another secret', () => {
    // Prepare
    const body = fixtureBytes('bitbucket-cloud-push.json');
    const delivery = makeDelivery({ 'x-hub-signature': sign('someone-else', body) }, body);

    // Act
    const result = verifyBitbucketSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('reports a missing header as SIGNATURE_MISSING, even with X-Hub-Signature-256 present', () => {
    // Prepare
    const body = fixtureBytes('bitbucket-cloud-push.json');
    const delivery = makeDelivery({ 'x-event-key': 'repo:push', 'x-hub-signature-256': sign(SECRET, body) }, body);

    // Act
    const result = verifyBitbucketSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('reports an empty header as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-hub-signature': '' }, '{}');

    // Act
    const result = verifyBitbucketSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('rejects a signature of the wrong length', () => {
    // Prepare
    const body = fixtureBytes('bitbucket-cloud-push.json');
    const delivery = makeDelivery({ 'x-hub-signature': `${sign(SECRET, body)}00` }, body);

    // Act
    const result = verifyBitbucketSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a SHA-1 signature', () => {
    // Prepare
    const body = '{}';
    const delivery = makeDelivery({ 'x-hub-signature': `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}` }, body);

    // Act
    const result = verifyBitbucketSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('fails closed when no secret is given', () => {
    // Prepare
    const body = fixtureBytes('bitbucket-cloud-push.json');
    const delivery = makeDelivery({ 'x-hub-signature': sign(SECRET, body) }, body);

    // Act
    const result = verifyBitbucketSignature(delivery, []);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });
});

describe('readBitbucketDelivery', () => {
  it('reads a Cloud branch push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-event-key': 'repo:push' }, fixtureBytes('bitbucket-cloud-push.json'));

    // Act
    const result = readBitbucketDelivery(delivery);

    // Assess
    expect(result).toEqual({
      kind: 'push',
      push: {
        source: 'bitbucket.org/atlassian-demo/mirror-me',
        refs: [
          {
            ref: 'refs/heads/main',
            before: '80c4c8ec647a28073f06dd3cda61b6aefbb30c09',
            after: 'a6b1ed7f4c9b2e5d8a3f6c1e4b7a0d3f6c9e2b5a',
            deleted: false,
          },
        ],
        cloneUrl: 'https://bitbucket.org/atlassian-demo/mirror-me.git',
      },
    });
  });

  it('reads a Cloud tag push and a branch deletion in one delivery', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-event-key': 'repo:push' }, fixtureBytes('bitbucket-cloud-push-tag-and-deletion.json'));

    // Act
    const result = readBitbucketDelivery(delivery);

    // Assess
    expect(result).toMatchObject({
      kind: 'push',
      push: {
        refs: [
          { ref: 'refs/tags/v2.0.0', before: ZERO, after: 'a6b1ed7f4c9b2e5d8a3f6c1e4b7a0d3f6c9e2b5a', deleted: false },
          { ref: 'refs/heads/feature/retired', before: '80c4c8ec647a28073f06dd3cda61b6aefbb30c09', after: ZERO, deleted: true },
        ],
      },
    });
  });

  it('reads a Cloud change marked closed as a deletion', () => {
    // Prepare
    const body = JSON.parse(fixtureBytes('bitbucket-cloud-push.json').toString('utf8')) as {
      push: { changes: Record<string, unknown>[] };
    };
    body.push.changes = body.push.changes.map((change) => ({ ...change, closed: true }));
    const delivery = makeDelivery({ 'x-event-key': 'repo:push' }, JSON.stringify(body));

    // Act
    const result = readBitbucketDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { refs: [{ ref: 'refs/heads/main', deleted: true }] } });
  });

  it('reads a Data Center refs_changed push with update, new tag and deletion', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-event-key': 'repo:refs_changed' }, fixtureBytes('bitbucket-dc-refs-changed.json'));

    // Act
    const result = readBitbucketDelivery(delivery);

    // Assess
    expect(result).toEqual({
      kind: 'push',
      push: {
        source: 'bitbucket.example.com/plat/mirror-me',
        refs: [
          {
            ref: 'refs/heads/master',
            before: '178864a7d521b6f5e720b386b2c2b0ef8563e0dc',
            after: '1b2e3c4d5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c',
            deleted: false,
          },
          { ref: 'refs/tags/v3.1.0', before: ZERO, after: '1b2e3c4d5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c', deleted: false },
          { ref: 'refs/heads/hotfix/old', before: '178864a7d521b6f5e720b386b2c2b0ef8563e0dc', after: ZERO, deleted: true },
        ],
        cloneUrl: 'https://bitbucket.example.com/scm/plat/mirror-me.git',
      },
    });
  });

  it('answers diagnostics:ping as ping', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-event-key': 'diagnostics:ping' }, fixtureBytes('bitbucket-dc-ping.json'));

    // Act
    const result = readBitbucketDelivery(delivery);

    // Assess
    expect(result).toEqual({ kind: 'ping' });
  });

  it('ignores other events and names them', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-event-key': 'pullrequest:created' }, '{"pullrequest":{}}');

    // Act
    const result = readBitbucketDelivery(delivery);

    // Assess
    expect(result).toEqual({ kind: 'ignored', reason: expect.stringContaining('"pullrequest:created"') as unknown });
  });

  it('throws PayloadError for a body that is not JSON', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-event-key': 'repo:push' }, '');

    // Act
    const act = () => readBitbucketDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a JSON array body', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-event-key': 'repo:refs_changed' }, '[]');

    // Act
    const act = () => readBitbucketDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a Cloud push without push.changes', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-event-key': 'repo:push' }, '{"repository":{"full_name":"a/b"}}');

    // Act
    const act = () => readBitbucketDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a Data Center push without repository.links.self', () => {
    // Prepare
    const delivery = makeDelivery(
      { 'x-event-key': 'repo:refs_changed' },
      '{"repository":{"slug":"r","project":{"key":"P"}},"changes":[]}',
    );

    // Act
    const act = () => readBitbucketDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });
});

describe('bitbucket', () => {
  it('detects a delivery by X-Event-Key', () => {
    // Prepare
    const headers = { 'x-event-key': 'repo:push' };

    // Act
    const detected = bitbucket.detect(headers);

    // Assess
    expect(detected).toBe(true);
  });

  it('takes the delivery id from X-Request-UUID, else X-Request-Id', () => {
    // Prepare
    const cloud = { 'x-request-uuid': 'c-1', 'x-request-id': 'ignored' };
    const dataCenter = { 'x-request-id': 'd-1' };

    // Act
    const ids = [bitbucket.deliveryId(cloud), bitbucket.deliveryId(dataCenter)];

    // Assess
    expect(ids).toEqual(['c-1', 'd-1']);
  });
});
