import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lib/errors';
import {
  forgejo,
  gitea,
  gogs,
  verifyForgejoSignature,
  verifyGiteaSignature,
  verifyGogsSignature,
} from '../../lib/providers/gitea';
import { fixtureBytes, formBody, makeDelivery, makeTextDelivery } from './support';

const SECRET = 'gitea-webhook-secret';

function sign(secret: string, json: string | Buffer): string {
  return createHmac('sha256', secret).update(json).digest('hex');
}

describe('verifyGiteaSignature', () => {
  it('accepts a pinned digest', () => {
    // Prepare
    const delivery = makeDelivery(
      { 'x-gitea-signature': '2e1c6819f0e0361ca15bb4d26385f78ca21853b51ff8effe93b786b5012332b7' },
      '{"ref":"refs/heads/main"}',
    );

    // Act
    const result = verifyGiteaSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('accepts a push fixture signed over its exact bytes', () => {
    // Prepare
    const body = fixtureBytes('gitea-push.json');
    const delivery = makeDelivery({ 'x-gitea-event': 'push', 'x-gitea-signature': sign(SECRET, body) }, body);

    // Act
    const result = verifyGiteaSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('verifies a text delivery from its text, as the UTF-8 bytes Gitea signed, without building them', () => {
    // Prepare
    const body = '{"ref":"refs/heads/main","head_commit":{"message":"Añadir € y 😀"}}';
    const delivery = makeTextDelivery({ 'x-gitea-signature': sign(SECRET, Buffer.from(body, 'utf8')) }, body);

    // Act
    const result = verifyGiteaSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('reports the index of the second secret during rotation', () => {
    // Prepare
    const body = fixtureBytes('gitea-push.json');
    const delivery = makeDelivery({ 'x-gitea-signature': sign('new-secret', body) }, body);

    // Act
    const result = verifyGiteaSignature(delivery, ['old-secret', 'new-secret']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 1 });
  });

  it('rejects a signature made with another secret', () => {
    // Prepare
    const body = fixtureBytes('gitea-push.json');
    const delivery = makeDelivery({ 'x-gitea-signature': sign('someone-else', body) }, body);

    // Act
    const result = verifyGiteaSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('reports a missing header as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitea-event': 'push' }, '{}');

    // Act
    const result = verifyGiteaSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('reports the empty header Gitea sends without a secret as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitea-event': 'push', 'x-gitea-signature': '', 'x-gogs-signature': '' }, '{}');

    // Act
    const result = verifyGiteaSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('rejects a signature of the wrong length', () => {
    // Prepare
    const body = fixtureBytes('gitea-push.json');
    const delivery = makeDelivery({ 'x-gitea-signature': sign(SECRET, body).slice(0, 63) }, body);

    // Act
    const result = verifyGiteaSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a GitHub-style sha256= signature in the Gitea header', () => {
    // Prepare
    const body = fixtureBytes('gitea-push.json');
    const delivery = makeDelivery({ 'x-gitea-signature': `sha256=${sign(SECRET, body)}` }, body);

    // Act
    const result = verifyGiteaSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('fails closed when no secret is given', () => {
    // Prepare
    const body = fixtureBytes('gitea-push.json');
    const delivery = makeDelivery({ 'x-gitea-signature': sign(SECRET, body) }, body);

    // Act
    const result = verifyGiteaSignature(delivery, []);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('verifies a form-encoded delivery over the JSON payload, not the raw body', () => {
    // Prepare
    const json = fixtureBytes('gitea-push.json').toString('utf8');
    const raw = formBody(json);
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-gitea-event': 'push' };

    // Act
    const overJson = verifyGiteaSignature(makeDelivery({ ...headers, 'x-gitea-signature': sign(SECRET, json) }, raw), [SECRET]);
    const overRaw = verifyGiteaSignature(makeDelivery({ ...headers, 'x-gitea-signature': sign(SECRET, raw) }, raw), [SECRET]);

    // Assess
    expect(overJson).toMatchObject({ ok: true, secretIndex: 0 });
    expect(overRaw).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('verifies a form-encoded payload holding non-ASCII text, "+" and "&" byte for byte', () => {
    // Prepare
    const json = '{"ref":"refs/heads/main","message":"Größe + Ärger & 修复 100%"}';
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-gitea-signature': sign(SECRET, json) };

    // Act
    const result = verifyGiteaSignature(makeDelivery(headers, formBody(json)), [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('rejects a form-encoded delivery without a payload field', () => {
    // Prepare
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-gitea-signature': sign(SECRET, '') };

    // Act
    const result = verifyGiteaSignature(makeDelivery(headers, 'other=1'), [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });
});

describe('verifyForgejoSignature', () => {
  it('accepts X-Forgejo-Signature', () => {
    // Prepare
    const body = fixtureBytes('forgejo-push-tag.json');
    const delivery = makeDelivery({ 'x-forgejo-event': 'push', 'x-forgejo-signature': sign(SECRET, body) }, body);

    // Act
    const result = verifyForgejoSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('falls back to X-Gitea-Signature when X-Forgejo-Signature is empty', () => {
    // Prepare
    const body = fixtureBytes('forgejo-push-tag.json');
    const delivery = makeDelivery({ 'x-forgejo-signature': '', 'x-gitea-signature': sign(SECRET, body) }, body);

    // Act
    const result = verifyForgejoSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('reports missing Forgejo and Gitea signatures as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-forgejo-event': 'push', 'x-forgejo-signature': '', 'x-gitea-signature': '' }, '{}');

    // Act
    const result = verifyForgejoSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });
});

describe('verifyGogsSignature', () => {
  it('accepts X-Gogs-Signature', () => {
    // Prepare
    const body = fixtureBytes('gogs-push.json');
    const delivery = makeDelivery({ 'x-gogs-event': 'push', 'x-gogs-signature': sign(SECRET, body) }, body);

    // Act
    const result = verifyGogsSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('does not accept a Gitea signature header in place of the Gogs one', () => {
    // Prepare
    const body = fixtureBytes('gogs-push.json');
    const delivery = makeDelivery({ 'x-gogs-event': 'push', 'x-gitea-signature': sign(SECRET, body) }, body);

    // Act
    const result = verifyGogsSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });
});

describe('gitea.read', () => {
  it('reads a branch push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitea-event': 'push' }, fixtureBytes('gitea-push.json'));

    // Act
    const result = gitea.read(delivery);

    // Assess
    expect(result).toEqual({
      kind: 'push',
      push: {
        source: 'gitea.example.com/acme/widgets',
        refs: [
          {
            ref: 'refs/heads/main',
            before: '5f1ea8a3c3b2d3f0a9e1c2b7d4e6f8a0b1c2d3e4',
            after: '9a2bc7d4e1f0a3b6c9d2e5f8a1b4c7d0e3f6a9b2',
            deleted: false,
          },
        ],
        cloneUrl: 'https://gitea.example.com/acme/widgets.git',
        defaultBranch: 'main',
      },
    });
  });

  it('reads a tag deletion as a deletion', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitea-event': 'push' }, fixtureBytes('gitea-push-tag-deleted.json'));

    // Act
    const result = gitea.read(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { refs: [{ ref: 'refs/tags/v0.9.0', deleted: true }] } });
  });

  it('reads a form-encoded push from its payload field', () => {
    // Prepare
    const json = fixtureBytes('gitea-push.json').toString('utf8');
    const delivery = makeDelivery({ 'x-gitea-event': 'push', 'content-type': 'application/x-www-form-urlencoded' }, formBody(json));

    // Act
    const result = gitea.read(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { source: 'gitea.example.com/acme/widgets' } });
  });

  it('ignores create and delete events', () => {
    // Prepare
    const body = '{"ref":"feature","ref_type":"branch","repository":{"full_name":"acme/widgets"}}';

    // Act
    const results = ['create', 'delete'].map((event) => gitea.read(makeDelivery({ 'x-gitea-event': event }, body)));

    // Assess
    expect(results).toEqual([
      { kind: 'ignored', reason: expect.stringContaining('"create"') as unknown },
      { kind: 'ignored', reason: expect.stringContaining('"delete"') as unknown },
    ]);
  });

  it('throws PayloadError for a body that is not JSON', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitea-event': 'push' }, 'ref=refs/heads/main');

    // Act
    const act = () => gitea.read(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a JSON array body', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gitea-event': 'push' }, '["push"]');

    // Act
    const act = () => gitea.read(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a push without repository.html_url', () => {
    // Prepare
    const delivery = makeDelivery(
      { 'x-gitea-event': 'push' },
      '{"ref":"refs/heads/main","before":"a","after":"b","repository":{"full_name":"acme/widgets"}}',
    );

    // Act
    const act = () => gitea.read(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });
});

describe('forgejo.read', () => {
  it('reads a tag push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-forgejo-event': 'push', 'x-gitea-event': 'push' }, fixtureBytes('forgejo-push-tag.json'));

    // Act
    const result = forgejo.read(delivery);

    // Assess
    expect(result).toEqual({
      kind: 'push',
      push: {
        source: 'codeberg.org/forgejo-contrib/mirror-demo',
        refs: [{ ref: 'refs/tags/v1.2.0', before: '0'.repeat(40), after: '3c0b5e2a7d9f1e4b8a6c2d0f3e5a7b9c1d3e5f70', deleted: false }],
        cloneUrl: 'https://codeberg.org/forgejo-contrib/mirror-demo.git',
        defaultBranch: 'main',
      },
    });
  });
});

describe('gogs.read', () => {
  it('reads a branch push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-gogs-event': 'push' }, fixtureBytes('gogs-push.json'));

    // Act
    const result = gogs.read(delivery);

    // Assess
    expect(result).toMatchObject({
      kind: 'push',
      push: { source: 'gogs.example.com/unknwon/mirror-me', refs: [{ ref: 'refs/heads/master', deleted: false }] },
    });
  });
});

describe('gitea family deliveryId', () => {
  it('takes each host its own delivery header, Forgejo falling back to Gitea', () => {
    // Prepare
    const headers = { 'x-gitea-delivery': 'g-1', 'x-gogs-delivery': 's-1' };

    // Act
    const ids = [forgejo.deliveryId(headers), gitea.deliveryId(headers), gogs.deliveryId(headers)];

    // Assess
    expect(ids).toEqual(['g-1', 'g-1', 's-1']);
  });

  it('prefers X-Forgejo-Delivery for Forgejo', () => {
    // Prepare
    const headers = { 'x-forgejo-delivery': 'f-1', 'x-gitea-delivery': 'g-1' };

    // Act
    const id = forgejo.deliveryId(headers);

    // Assess
    expect(id).toBe('f-1');
  });
});
