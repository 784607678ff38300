import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lib/errors';
import { github, readGitHubDelivery, verifyGitHubSignature } from '../../lib/providers/github';
import { fixtureBytes, formBody, makeDelivery, makeTextDelivery } from './support';

const SECRET = 'github-webhook-secret';

function sign(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

describe('verifyGitHubSignature', () => {
  it('accepts the known-answer vector from the GitHub docs', () => {
    // Prepare
    const delivery = makeDelivery(
      { 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' },
      'Hello, World!',
    );

    // Act
    const result = verifyGitHubSignature(delivery, ["It's a Secret to Everybody"]);

    // Assess
    expect(result).toEqual({ ok: true, secretIndex: 0, bodyMac: '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' });
  });

  it('accepts a push fixture signed over its exact bytes', () => {
    // Prepare
    const body = fixtureBytes('github-push-branch.json');
    const delivery = makeDelivery({ 'x-github-event': 'push', 'x-hub-signature-256': sign(SECRET, body) }, body);

    // Act
    const result = verifyGitHubSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('verifies a text delivery from its text, as the UTF-8 bytes GitHub signed, without building them', () => {
    // Prepare
    const body = '{"ref":"refs/heads/main","head_commit":{"message":"Añadir € y 😀"}}';
    const signedAsUtf8 = makeTextDelivery({ 'x-hub-signature-256': sign(SECRET, Buffer.from(body, 'utf8')) }, body);
    const signedAsLatin1 = makeTextDelivery({ 'x-hub-signature-256': sign(SECRET, Buffer.from(body, 'latin1')) }, body);

    // Act
    const results = [signedAsUtf8, signedAsLatin1].map((delivery) => verifyGitHubSignature(delivery, [SECRET]));

    // Assess
    expect(results[0]).toMatchObject({ ok: true, secretIndex: 0 });
    expect(results[1]).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('reports the index of the second secret during rotation', () => {
    // Prepare
    const body = fixtureBytes('github-push-branch.json');
    const delivery = makeDelivery({ 'x-hub-signature-256': sign('new-secret', body) }, body);

    // Act
    const result = verifyGitHubSignature(delivery, ['old-secret', 'new-secret']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 1 });
  });

  it('accepts an upper-case hex digest', () => {
    // Prepare
    const body = 'Hello, World!';
    const delivery = makeDelivery({ 'x-hub-signature-256': sign(SECRET, body).toUpperCase().replace('SHA256=', 'sha256=') }, body);

    // Act
    const result = verifyGitHubSignature(delivery, [SECRET]);

    // Assess
    expect(result.ok).toBe(true);
  });

  it('rejects a signature made with another secret', () => {
    // Prepare
    const body = fixtureBytes('github-push-branch.json');
    const delivery = makeDelivery({ 'x-hub-signature-256': sign('someone-else', body) }, body);

    // Act
    const result = verifyGitHubSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a body that differs from the signed one by re-serialisation', () => {
    // Prepare
    const original = fixtureBytes('github-push-branch.json');
    const reserialised = JSON.stringify(JSON.parse(original.toString('utf8')));
    const delivery = makeDelivery({ 'x-hub-signature-256': sign(SECRET, original) }, reserialised);

    // Act
    const result = verifyGitHubSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('reports a missing header as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-github-event': 'push' }, '{}');

    // Act
    const result = verifyGitHubSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('reports an empty header as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-hub-signature-256': '' }, '{}');

    // Act
    const result = verifyGitHubSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('does not accept the legacy SHA-1 header alone', () => {
    // Prepare
    const body = '{}';
    const sha1 = `sha1=${createHmac('sha1', SECRET).update(body).digest('hex')}`;
    const delivery = makeDelivery({ 'x-hub-signature': sha1 }, body);

    // Act
    const result = verifyGitHubSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('rejects a signature of the wrong length', () => {
    // Prepare
    const body = 'Hello, World!';
    const delivery = makeDelivery({ 'x-hub-signature-256': sign(SECRET, body).slice(0, -2) }, body);

    // Act
    const result = verifyGitHubSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a signature without the sha256= prefix', () => {
    // Prepare
    const body = 'Hello, World!';
    const delivery = makeDelivery({ 'x-hub-signature-256': sign(SECRET, body).slice('sha256='.length) }, body);

    // Act
    const result = verifyGitHubSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects a digest with non-hex characters', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-hub-signature-256': `sha256=${'zz'.repeat(32)}` }, 'Hello, World!');

    // Act
    const result = verifyGitHubSignature(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('fails closed when no secret is given', () => {
    // Prepare
    const body = 'Hello, World!';
    const delivery = makeDelivery({ 'x-hub-signature-256': sign(SECRET, body) }, body);

    // Act
    const result = verifyGitHubSignature(delivery, []);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('never matches an empty secret', () => {
    // Prepare
    const body = 'Hello, World!';
    const delivery = makeDelivery({ 'x-hub-signature-256': sign('', body) }, body);

    // Act
    const result = verifyGitHubSignature(delivery, ['']);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('verifies a form-encoded delivery over the raw body, not the decoded payload', () => {
    // Prepare
    const json = fixtureBytes('github-push-branch.json').toString('utf8');
    const raw = formBody(json);
    const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-github-event': 'push' };

    // Act
    const overRaw = verifyGitHubSignature(makeDelivery({ ...headers, 'x-hub-signature-256': sign(SECRET, raw) }, raw), [SECRET]);
    const overJson = verifyGitHubSignature(makeDelivery({ ...headers, 'x-hub-signature-256': sign(SECRET, json) }, raw), [SECRET]);

    // Assess
    expect(overRaw).toMatchObject({ ok: true, secretIndex: 0 });
    expect(overJson).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });
});

describe('readGitHubDelivery', () => {
  it('reads a branch push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-github-event': 'push' }, fixtureBytes('github-push-branch.json'));

    // Act
    const result = readGitHubDelivery(delivery);

    // Assess
    expect(result).toEqual({
      kind: 'push',
      push: {
        source: 'github.com/codertocat/hello-world',
        refs: [
          {
            ref: 'refs/heads/master',
            before: '0000000000000000000000000000000000000000',
            after: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
            deleted: false,
          },
        ],
        cloneUrl: 'https://github.com/Codertocat/Hello-World.git',
        defaultBranch: 'master',
      },
    });
  });

  it('reads a tag push', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-github-event': 'push' }, fixtureBytes('github-push-tag.json'));

    // Act
    const result = readGitHubDelivery(delivery);

    // Assess
    expect(result).toMatchObject({
      kind: 'push',
      push: { refs: [{ ref: 'refs/tags/simple-tag', after: '6113728f27ae82c7b1a177c8d03f9e96e0adf246', deleted: false }] },
    });
  });

  it('reads a deleted tag as a deletion', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-github-event': 'push' }, fixtureBytes('github-push-tag-deleted.json'));

    // Act
    const result = readGitHubDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { refs: [{ ref: 'refs/tags/simple-tag', deleted: true }] } });
  });

  it('reads a branch deletion flagged only by the zero SHA', () => {
    // Prepare
    const body = JSON.parse(fixtureBytes('github-push-branch.json').toString('utf8')) as Record<string, unknown>;
    const deletion = { ...body, before: '6113728f27ae82c7b1a177c8d03f9e96e0adf246', after: '0'.repeat(40), deleted: undefined };
    const delivery = makeDelivery({ 'x-github-event': 'push' }, JSON.stringify(deletion));

    // Act
    const result = readGitHubDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { refs: [{ ref: 'refs/heads/master', deleted: true }] } });
  });

  it('takes the host of a GitHub Enterprise Server repository from html_url', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-github-event': 'push' }, fixtureBytes('github-ghes-push-tag.json'));

    // Act
    const result = readGitHubDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { source: 'octocoders.github.io/codertocat/hello-world' } });
  });

  it('reads a form-encoded push from its payload field', () => {
    // Prepare
    const json = fixtureBytes('github-push-branch.json').toString('utf8');
    const delivery = makeDelivery(
      { 'x-github-event': 'push', 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      formBody(json),
    );

    // Act
    const result = readGitHubDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { source: 'github.com/codertocat/hello-world' } });
  });

  it('answers a ping as ping', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-github-event': 'ping' }, fixtureBytes('github-ping.json'));

    // Act
    const result = readGitHubDelivery(delivery);

    // Assess
    expect(result).toEqual({ kind: 'ping' });
  });

  it('ignores other events and names them', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-github-event': 'issues' }, '{"action":"opened"}');

    // Act
    const result = readGitHubDelivery(delivery);

    // Assess
    expect(result).toEqual({ kind: 'ignored', reason: expect.stringContaining('"issues"') as unknown });
  });

  it('throws PayloadError for a body that is not JSON', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-github-event': 'push' }, 'not json');

    // Act
    const act = () => readGitHubDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a JSON array body', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-github-event': 'push' }, '[{"ref":"refs/heads/main"}]');

    // Act
    const act = () => readGitHubDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a push without a repository', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-github-event': 'push' }, '{"ref":"refs/heads/main","before":"a","after":"b"}');

    // Act
    const act = () => readGitHubDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('does not read fields through __proto__', () => {
    // Prepare
    const body = '{"__proto__":{"ref":"refs/heads/evil","before":"a","after":"b"},"repository":{"full_name":"a/b","html_url":"https://github.com/a/b"}}';
    const delivery = makeDelivery({ 'x-github-event': 'push' }, body);

    // Act
    const act = () => readGitHubDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a form-encoded body without a payload field', () => {
    // Prepare
    const delivery = makeDelivery(
      { 'x-github-event': 'push', 'content-type': 'application/x-www-form-urlencoded' },
      'other=1',
    );

    // Act
    const act = () => readGitHubDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });
});

describe('github', () => {
  it('detects a delivery by X-GitHub-Event', () => {
    // Prepare
    const headers = { 'x-github-event': 'push' };

    // Act
    const detected = github.detect(headers);

    // Assess
    expect(detected).toBe(true);
  });

  it('does not detect a delivery without X-GitHub-Event', () => {
    // Prepare
    const headers = { 'x-gitlab-event': 'Push Hook' };

    // Act
    const detected = github.detect(headers);

    // Assess
    expect(detected).toBe(false);
  });

  it('takes the delivery id from X-GitHub-Delivery', () => {
    // Prepare
    const headers = { 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' };

    // Act
    const id = github.deliveryId(headers);

    // Assess
    expect(id).toBe('72d3162e-cc78-11e3-81ab-4c9367dc0958');
  });
});
