import { describe, expect, it } from 'vitest';
import { detectProvider, providers } from '../../lib/providers';

// The headers each host really sends with a push (signatures elided).
const giteaHeaders = {
  'x-gitea-delivery': 'f6266f16-1bf3-46a5-9ea4-602e06ead473',
  'x-gitea-event': 'push',
  'x-gitea-event-type': 'push',
  'x-gitea-signature': 'aa',
  'x-gogs-delivery': 'f6266f16-1bf3-46a5-9ea4-602e06ead473',
  'x-gogs-event': 'push',
  'x-gogs-event-type': 'push',
  'x-gogs-signature': 'aa',
  'x-github-delivery': 'f6266f16-1bf3-46a5-9ea4-602e06ead473',
  'x-github-event': 'push',
  'x-github-event-type': 'push',
  'x-hub-signature': 'sha1=aa',
  'x-hub-signature-256': 'sha256=aa',
};
const forgejoHeaders = {
  ...giteaHeaders,
  'x-forgejo-delivery': 'f6266f16-1bf3-46a5-9ea4-602e06ead473',
  'x-forgejo-event': 'push',
  'x-forgejo-event-type': 'push',
  'x-forgejo-signature': 'aa',
};

describe('providers', () => {
  it('lists the hosts most specific first, Azure DevOps (known only by Basic credentials) last', () => {
    // Prepare
    const expected = ['forgejo', 'gitea', 'gogs', 'github', 'gitlab', 'gitcode', 'gitee', 'bitbucket', 'azure-devops'];

    // Act
    const ids = providers.map((provider) => provider.id);

    // Assess
    expect(ids).toEqual(expected);
  });
});

describe('detectProvider', () => {
  it('detects a Forgejo delivery that also carries Gitea and GitHub headers as Forgejo', () => {
    // Prepare
    const headers = forgejoHeaders;

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe('forgejo');
  });

  it('detects a Gitea delivery that also carries X-GitHub-Event and Gogs headers as Gitea', () => {
    // Prepare
    const headers = giteaHeaders;

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe('gitea');
  });

  it('detects a Gogs delivery', () => {
    // Prepare
    const headers = { 'x-gogs-event': 'push', 'x-gogs-delivery': 'd', 'x-gogs-signature': 'aa' };

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe('gogs');
  });

  it('detects a GitHub delivery', () => {
    // Prepare
    const headers = { 'x-github-event': 'push', 'x-github-delivery': 'd', 'x-hub-signature-256': 'sha256=aa' };

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe('github');
  });

  it('detects a GitLab delivery', () => {
    // Prepare
    const headers = { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 't', 'webhook-id': 'w' };

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe('gitlab');
  });

  it('detects a GitCode delivery', () => {
    // Prepare
    const headers = { 'x-gitcode-event': 'Push Hook', 'x-gitcode-token': 't' };

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe('gitcode');
  });

  it('detects a Gitee delivery', () => {
    // Prepare
    const headers = { 'x-gitee-event': 'Push Hook', 'x-gitee-token': 't', 'x-gitee-timestamp': '1716171153000' };

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe('gitee');
  });

  it('detects a Bitbucket delivery', () => {
    // Prepare
    const headers = { 'x-event-key': 'repo:refs_changed', 'x-request-id': 'r', 'x-hub-signature': 'sha256=aa' };

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe('bitbucket');
  });

  it('detects an Azure DevOps delivery by its Basic credentials', () => {
    // Prepare
    const headers = { 'content-type': 'application/json; charset=utf-8', authorization: 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==' };

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe('azure-devops');
  });

  it('detects no provider for an unknown sender', () => {
    // Prepare
    const headers = { 'content-type': 'application/json', 'user-agent': 'curl/8.5.0' };

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider).toBeUndefined();
  });

  it('does not take an empty event header for a host', () => {
    // Prepare
    const headers = { 'x-forgejo-event': '', 'x-github-event': 'push' };

    // Act
    const provider = detectProvider(headers);

    // Assess
    expect(provider?.id).toBe('github');
  });
});
