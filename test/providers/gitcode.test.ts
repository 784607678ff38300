import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lib/errors';
import { gitcode, readGitCodeDelivery, verifyGitCodeDelivery } from '../../lib/providers/gitcode';
import { fixtureBytes, makeDelivery } from './support';

const SECRET = 'gitcode-webhook-secret';

function sign(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

describe('verifyGitCodeDelivery', () => {
  it('accepts a pinned digest', () => {
    // Prepare
    const delivery = makeDelivery(
      { 'x-gitcode-signature-256': 'sha256=0fa5fe4a5ae3a6384bb5d5cf61e8856ba60d0fdb02e60a3c792c1deb3e1d49ca' },
      '{"object_kind":"push"}',
    );

    // Act
    const result = verifyGitCodeDelivery(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('accepts a push fixture signed over its exact bytes', () => {
    // Prepare
    const body = fixtureBytes('gitcode-push.json');
    const delivery = makeDelivery({ 'x-gitcode-event': 'Push Hook', 'x-gitcode-signature-256': sign(SECRET, body) }, body);

    // Act
    const result = verifyGitCodeDelivery(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('accepts a token that equals a secret', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitcode-event': 'Push Hook', 'x-gitcode-token': 'plain-password' }, '{}');

    // Act
    const result = verifyGitCodeDelivery(delivery, ['plain-password']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('reports the index of the second secret during rotation', () => {
    // Prepare
    const body = fixtureBytes('gitcode-push.json');
    const delivery = makeDelivery({ 'x-gitcode-signature-256': sign('new-secret', body) }, body);

    // Act
    const result = verifyGitCodeDelivery(delivery, ['old-secret', 'new-secret']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 1 });
  });

  it('rejects a signature made with another secret', () => {
    // Prepare
    const body = fixtureBytes('gitcode-push.json');
    const delivery = makeDelivery({ 'x-gitcode-signature-256': sign('someone-else', body) }, body);

    // Act
    const result = verifyGitCodeDelivery(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a token that equals no secret', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitcode-token': 'guessed' }, '{}');

    // Act
    const result = verifyGitCodeDelivery(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('reports missing headers as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitcode-event': 'Push Hook' }, '{}');

    // Act
    const result = verifyGitCodeDelivery(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('reports empty headers as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitcode-signature-256': '', 'x-gitcode-token': '' }, '{}');

    // Act
    const result = verifyGitCodeDelivery(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('rejects a signature of the wrong length', () => {
    // Prepare
    const body = fixtureBytes('gitcode-push.json');
    const delivery = makeDelivery({ 'x-gitcode-signature-256': sign(SECRET, body).slice(0, -1) }, body);

    // Act
    const result = verifyGitCodeDelivery(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('fails closed when no secret is given', () => {
    // Prepare
    const body = fixtureBytes('gitcode-push.json');
    const delivery = makeDelivery({ 'x-gitcode-signature-256': sign(SECRET, body) }, body);

    // Act
    const result = verifyGitCodeDelivery(delivery, []);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });
});

describe('readGitCodeDelivery', () => {
  it('reads a branch push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitcode-event': 'Push Hook' }, fixtureBytes('gitcode-push.json'));

    // Act
    const result = readGitCodeDelivery(delivery);

    // Assess
    expect(result).toEqual({
      kind: 'push',
      push: {
        source: 'gitcode.com/openharmony-sig/arkui-demo',
        refs: [
          {
            ref: 'refs/heads/master',
            before: '1a3c5e7f9b2d4f6a8c0e2a4c6e8a0c2e4a6c8e0a',
            after: '8d2f5c7a9b1e3f4d6c8a0b2e4f6a8c0d2e4f6a8c',
            deleted: false,
          },
        ],
        cloneUrl: 'https://gitcode.com/openharmony-sig/arkui-demo.git',
        defaultBranch: 'main',
      },
    });
  });

  it('reads a tag push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitcode-event': 'Tag Push Hook' }, fixtureBytes('gitcode-tag-push.json'));

    // Act
    const result = readGitCodeDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { refs: [{ ref: 'refs/tags/v0.3.0', deleted: false }] } });
  });

  it('reads a branch deletion', () => {
    // Prepare
    const body = { ...(JSON.parse(fixtureBytes('gitcode-push.json').toString('utf8')) as object), after: '0'.repeat(40) };
    const delivery = makeDelivery({ 'x-gitcode-event': 'Push Hook' }, JSON.stringify(body));

    // Act
    const result = readGitCodeDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { refs: [{ ref: 'refs/heads/master', deleted: true }] } });
  });

  it('ignores other events and names them', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitcode-event': 'Issue Hook' }, '{"object_kind":"issue"}');

    // Act
    const result = readGitCodeDelivery(delivery);

    // Assess
    expect(result).toEqual({ kind: 'ignored', reason: expect.stringContaining('"Issue Hook"') as unknown });
  });

  it('throws PayloadError for a body that is not JSON', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitcode-event': 'Push Hook' }, 'null,');

    // Act
    const act = () => readGitCodeDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a JSON array body', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitcode-event': 'Push Hook' }, '[]');

    // Act
    const act = () => readGitCodeDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });
});

describe('gitcode', () => {
  it('detects a delivery by X-GitCode-Event', () => {
    // Prepare
    const headers = { 'x-gitcode-event': 'Push Hook' };

    // Act
    const detected = gitcode.detect(headers);

    // Assess
    expect(detected).toBe(true);
  });

  it('takes the delivery id from X-GitCode-Delivery', () => {
    // Prepare
    const headers = { 'x-gitcode-delivery': 'gc-1' };

    // Act
    const id = gitcode.deliveryId(headers);

    // Assess
    expect(id).toBe('gc-1');
  });
});
