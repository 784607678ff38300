import { describe, expect, it } from 'vitest';
import { PayloadError } from '../../lib/errors';
import { detectProvider } from '../../lib/providers';
import { azureDevops, readAzureDevOpsDelivery, verifyAzureDevOpsBasicAuth } from '../../lib/providers/azure-devops';
import { fixtureBytes, makeDelivery } from './support';

const SECRET = 'azure-hook:p4ss-w0rd!';
const ZERO = '0'.repeat(40);

function basic(secret: string): string {
  return `Basic ${Buffer.from(secret, 'utf8').toString('base64')}`;
}

function fixtureWith(change: (body: { resource: { repository: Record<string, unknown>; refUpdates: unknown } }) => void): string {
  const body = JSON.parse(fixtureBytes('azure-devops-git-push.json').toString('utf8')) as {
    resource: { repository: Record<string, unknown>; refUpdates: unknown };
  };
  change(body);
  return JSON.stringify(body);
}

describe('verifyAzureDevOpsBasicAuth', () => {
  it('accepts the RFC 7617 example credentials', () => {
    // Prepare
    const delivery = makeDelivery({ authorization: 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==' }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, ['Aladdin:open sesame']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('accepts the fixture with the credentials set on the service hook', () => {
    // Prepare
    const delivery = makeDelivery(
      { 'content-type': 'application/json; charset=utf-8', authorization: basic(SECRET) },
      fixtureBytes('azure-devops-git-push.json'),
    );

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('accepts the scheme in any case', () => {
    // Prepare
    const delivery = makeDelivery({ authorization: basic(SECRET).replace('Basic', 'bAsIc') }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 0 });
  });

  it('reports the index of the second secret during rotation', () => {
    // Prepare
    const delivery = makeDelivery({ authorization: basic('hook:new-password') }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, ['hook:old-password', 'hook:new-password']);

    // Assess
    expect(result).toMatchObject({ ok: true, secretIndex: 1 });
  });

  it('rejects a wrong password', () => {
    // Prepare
    const delivery = makeDelivery({ authorization: basic('azure-hook:guessed') }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects the right password under another username', () => {
    // Prepare
    const delivery = makeDelivery({ authorization: basic('someone:p4ss-w0rd!') }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('rejects base64 that decodes to the secret but is not as Azure DevOps encodes it', () => {
    // Prepare
    const unpadded = basic('Aladdin:open sesame').replace(/=+$/, '');
    const delivery = makeDelivery({ authorization: unpadded }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, ['Aladdin:open sesame']);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('never takes a secret without a colon for Basic credentials', () => {
    // Prepare
    const hmacKey = 'github-webhook-secret';
    const delivery = makeDelivery({ authorization: basic(hmacKey) }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, [hmacKey]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });

  it('reports a missing Authorization as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ 'content-type': 'application/json; charset=utf-8' }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('reports a blank Authorization as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ authorization: '  ' }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('reports Basic without credentials as SIGNATURE_MISSING', () => {
    // Prepare
    const delivery = makeDelivery({ authorization: 'Basic' }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('reports a Bearer token as SIGNATURE_MISSING, even one that is the encoded secret', () => {
    // Prepare
    const delivery = makeDelivery({ authorization: basic(SECRET).replace('Basic', 'Bearer') }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, [SECRET]);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISSING' });
  });

  it('fails closed when no secret is given', () => {
    // Prepare
    const delivery = makeDelivery({ authorization: basic(SECRET) }, '{}');

    // Act
    const result = verifyAzureDevOpsBasicAuth(delivery, []);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'SIGNATURE_MISMATCH' });
  });
});

describe('readAzureDevOpsDelivery', () => {
  it('reads the documented git.push sample', () => {
    // Prepare
    const delivery = makeDelivery({ authorization: basic(SECRET) }, fixtureBytes('azure-devops-git-push.json'));

    // Act
    const result = readAzureDevOpsDelivery(delivery);

    // Assess
    expect(result).toEqual({
      kind: 'push',
      push: {
        source: 'dev.azure.com/fabrikam-fiber-inc/defaultcollection/_git/fabrikam-fiber-git',
        refs: [
          {
            ref: 'refs/heads/master',
            before: 'aad331d8d3b131fa9ae03cf5e53965b51942618a',
            after: '33b55f7cb7e7e245323987634f960cf4a6e6bc74',
            deleted: false,
          },
        ],
        cloneUrl: 'https://dev.azure.com/fabrikam-fiber-inc/DefaultCollection/_git/Fabrikam-Fiber-Git',
        defaultBranch: 'master',
      },
    });
  });

  it('reads every ref update of one push: a new tag and a deleted branch', () => {
    // Prepare
    const body = fixtureWith((b) => {
      b.resource.refUpdates = [
        { name: 'refs/tags/v1.0.0', oldObjectId: ZERO, newObjectId: '33b55f7cb7e7e245323987634f960cf4a6e6bc74' },
        { name: 'refs/heads/feature/old', oldObjectId: 'aad331d8d3b131fa9ae03cf5e53965b51942618a', newObjectId: ZERO },
      ];
    });
    const delivery = makeDelivery({}, body);

    // Act
    const result = readAzureDevOpsDelivery(delivery);

    // Assess
    expect(result).toMatchObject({
      kind: 'push',
      push: {
        refs: [
          { ref: 'refs/tags/v1.0.0', before: ZERO, deleted: false },
          { ref: 'refs/heads/feature/old', after: ZERO, deleted: true },
        ],
      },
    });
  });

  it.each([
    ['the dev.azure.com form with the organisation as user', 'https://fabrikam@dev.azure.com/fabrikam/Fiber/_git/Web', 'dev.azure.com/fabrikam/fiber/_git/web'],
    ['the old visualstudio.com form', 'https://fabrikam.visualstudio.com/DefaultCollection/Fiber/_git/Web', 'fabrikam.visualstudio.com/defaultcollection/fiber/_git/web'],
    ['a project name with a space', 'https://dev.azure.com/fabrikam/My%20Project/_git/Web', 'dev.azure.com/fabrikam/my project/_git/web'],
    ['Azure DevOps Server', 'https://tfs.example.com:8443/tfs/DefaultCollection/Fiber/_git/Web', 'tfs.example.com:8443/tfs/defaultcollection/fiber/_git/web'],
  ])('takes the identity from remoteUrl in %s', (_, remoteUrl, source) => {
    // Prepare
    const delivery = makeDelivery({}, fixtureWith((b) => (b.resource.repository['remoteUrl'] = remoteUrl)));

    // Act
    const result = readAzureDevOpsDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { source, cloneUrl: remoteUrl } });
  });

  it('ignores other events and names them', () => {
    // Prepare
    const delivery = makeDelivery({}, '{"eventType":"git.pullrequest.created","resource":{}}');

    // Act
    const result = readAzureDevOpsDelivery(delivery);

    // Assess
    expect(result).toEqual({ kind: 'ignored', reason: expect.stringContaining('"git.pullrequest.created"') as unknown });
  });

  it('ignores a body without eventType', () => {
    // Prepare
    const delivery = makeDelivery({}, '{"resource":{}}');

    // Act
    const result = readAzureDevOpsDelivery(delivery);

    // Assess
    expect(result).toMatchObject({ kind: 'ignored' });
  });

  it('throws PayloadError for a body that is not JSON', () => {
    // Prepare
    const delivery = makeDelivery({}, '{"eventType":');

    // Act
    const act = () => readAzureDevOpsDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a push without remoteUrl', () => {
    // Prepare
    const delivery = makeDelivery({}, fixtureWith((b) => delete b.resource.repository['remoteUrl']));

    // Act
    const act = () => readAzureDevOpsDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a remoteUrl that is not a URL', () => {
    // Prepare
    const delivery = makeDelivery({}, fixtureWith((b) => (b.resource.repository['remoteUrl'] = 'Fabrikam-Fiber-Git')));

    // Act
    const act = () => readAzureDevOpsDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a push without refUpdates', () => {
    // Prepare
    const delivery = makeDelivery({}, fixtureWith((b) => (b.resource.refUpdates = undefined)));

    // Act
    const act = () => readAzureDevOpsDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it('throws PayloadError for a ref update without newObjectId', () => {
    // Prepare
    const delivery = makeDelivery({}, fixtureWith((b) => (b.resource.refUpdates = [{ name: 'refs/heads/main', oldObjectId: ZERO }])));

    // Act
    const act = () => readAzureDevOpsDelivery(delivery);

    // Assess
    expect(act).toThrow(PayloadError);
  });
});

describe('azureDevops', () => {
  it.each([
    ['Basic credentials', { authorization: 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==' }],
    ['Basic credentials with a lower-case scheme', { authorization: 'basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==' }],
    ['a custom X-Azure-DevOps header', { 'x-azure-devops': 'true' }],
    ['the VSServices user agent', { 'user-agent': 'VSServices/19.253.35901.2' }],
  ])('detects a delivery by %s', (_, headers) => {
    // Act
    const detected = azureDevops.detect(headers);

    // Assess
    expect(detected).toBe(true);
  });

  it.each([
    ['no credentials', { 'content-type': 'application/json; charset=utf-8' }],
    ['a Bearer token', { authorization: 'Bearer abc' }],
    ['a scheme that only starts with Basic', { authorization: 'BasicToken abc' }],
  ])('does not detect %s', (_, headers) => {
    // Act
    const detected = azureDevops.detect(headers);

    // Assess
    expect(detected).toBe(false);
  });

  it('has no delivery id in the headers', () => {
    // Prepare
    const headers = { authorization: basic(SECRET), 'content-type': 'application/json; charset=utf-8' };

    // Act
    const id = azureDevops.deliveryId(headers);

    // Assess
    expect(id).toBeUndefined();
  });
});

describe('detectProvider with Basic credentials', () => {
  it('detects an Azure DevOps service hook', () => {
    // Prepare
    const headers = { 'content-type': 'application/json; charset=utf-8', authorization: basic(SECRET) };

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe('azure-devops');
  });

  it.each([
    ['GitHub', { 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=aa' }, 'github'],
    ['GitLab', { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 't' }, 'gitlab'],
    ['Gitea', { 'x-gitea-event': 'push', 'x-github-event': 'push', 'x-gitea-signature': 'aa' }, 'gitea'],
    ['Forgejo', { 'x-forgejo-event': 'push', 'x-gitea-event': 'push', 'x-forgejo-signature': 'aa' }, 'forgejo'],
    ['Gogs', { 'x-gogs-event': 'push', 'x-gogs-signature': 'aa' }, 'gogs'],
    ['GitCode', { 'x-gitcode-event': 'Push Hook', 'x-gitcode-token': 't' }, 'gitcode'],
    ['Gitee', { 'x-gitee-event': 'Push Hook', 'x-gitee-token': 't' }, 'gitee'],
    ['Bitbucket Data Center with Basic auth', { 'x-event-key': 'repo:refs_changed', 'x-request-id': 'r' }, 'bitbucket'],
  ] as const)('leaves a %s delivery that also carries Basic credentials to its host', (_, hostHeaders, expected) => {
    // Prepare
    const headers = { ...hostHeaders, authorization: basic(SECRET), 'user-agent': 'VSServices/19.0', 'x-azure-devops': '1' };

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe(expected);
  });
});
