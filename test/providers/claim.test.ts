import { describe, expect, it } from 'vitest';
import { claimPathsOnHost, jsonStringValues } from '../../lib/providers/claim';
import { bitbucket } from '../../lib/providers/bitbucket';
import { forgejo, gitea, gogs } from '../../lib/providers/gitea';
import { gitcode } from '../../lib/providers/gitcode';
import { gitee } from '../../lib/providers/gitee';
import { github } from '../../lib/providers/github';
import { gitlab } from '../../lib/providers/gitlab';
import { azureDevops } from '../../lib/providers/azure-devops';
import type { Headers, Provider } from '../../lib/providers/types';
import { fixtureBytes, formBody, makeDelivery, makeTextDelivery } from './support';

describe('jsonStringValues', () => {
  it('reads the values of a member wherever it is, decoding escapes, in order and distinct', () => {
    // Prepare
    const body = '{"a":{"full_name" :\n "x\\/y"},"b":[{"full_name":"caf\\u00e9/\\"q\\""}],"c":{"full_name":"x/y"}}';

    // Act
    const values = jsonStringValues(body, 'full_name');

    // Assess
    expect(values).toEqual(['x/y', 'café/"q"']);
  });

  it('reads bytes as it reads text, without decoding the body', () => {
    // Prepare
    const body = '{"owner":{"full_name":"Zoë"},"full_name":"acme/ünï"}';

    // Act
    const fromText = jsonStringValues(body, 'full_name');
    const fromBytes = jsonStringValues(new Uint8Array(Buffer.from(body, 'utf8')), 'full_name');

    // Assess
    expect(fromBytes).toEqual(fromText);
    expect(fromText).toEqual(['Zoë', 'acme/ünï']);
  });

  it('does not take a member named inside a string value, nor a value that is not a string', () => {
    // Prepare: a commit message quoting JSON, a value equal to the key, a number.
    const body = '{"message":"see \\"full_name\\":\\"evil/repo\\"","title":"full_name","n":{"full_name":42},"full_name":"acme/api"}';

    // Act
    const values = jsonStringValues(body, 'full_name');

    // Assess
    expect(values).toEqual(['acme/api']);
  });

  it('looks at a bounded number of occurrences, so a stuffed body costs a bounded search', () => {
    // Prepare: the real member comes after a thousand decoys.
    const decoys = Array.from({ length: 1000 }, (_, i) => `{"full_name":"decoy/${i}"}`).join(',');
    const body = `{"x":[${decoys}],"full_name":"acme/api"}`;

    // Act
    const values = jsonStringValues(body, 'full_name');

    // Assess
    expect(values.length).toBeLessThanOrEqual(16);
    expect(values).not.toContain('acme/api');
  });

  it('skips a value too long to be a repository path, and an unterminated one', () => {
    // Prepare
    const long = `{"full_name":"${'a'.repeat(5000)}","full_name":"acme/api"}`;
    const unterminated = '{"full_name":"acme/api';

    // Act
    const values = [jsonStringValues(long, 'full_name'), jsonStringValues(unterminated, 'full_name')];

    // Assess
    expect(values).toEqual([['acme/api'], []]);
  });
});

describe('claimPathsOnHost', () => {
  it('claims every path on the host of the first URL, as the readers build identities', () => {
    // Prepare
    const body = '{"owner":{"html_url":"https://GHE.example.com:443/Acme"},"full_name":"Acme/API.git"}';

    // Act
    const claim = claimPathsOnHost(body, 'full_name', 'html_url');

    // Assess
    expect(claim).toEqual({ scheme: 'body-mac', host: 'ghe.example.com', sources: ['ghe.example.com/acme/api'] });
  });

  it('claims nothing without a URL to take the host from', () => {
    // Prepare
    const body = '{"full_name":"acme/api"}';

    // Act
    const claim = claimPathsOnHost(body, 'full_name', 'html_url');

    // Assess
    expect(claim).toEqual({ scheme: 'body-mac', host: undefined, sources: [] });
  });
});

interface FixtureCase {
  readonly provider: Provider;
  readonly fixture: string;
  readonly headers: Headers;
  readonly form?: boolean;
}

const SIGNED = 'sha256=' + '0'.repeat(64);
const BODY_MAC_FIXTURES: readonly FixtureCase[] = [
  { provider: github, fixture: 'github-push-branch.json', headers: { 'x-github-event': 'push', 'x-hub-signature-256': SIGNED } },
  { provider: github, fixture: 'github-ghes-push-tag.json', headers: { 'x-github-event': 'push', 'x-hub-signature-256': SIGNED } },
  {
    provider: github,
    fixture: 'github-push-tag-deleted.json',
    headers: { 'x-github-event': 'push', 'content-type': 'application/x-www-form-urlencoded', 'x-hub-signature-256': SIGNED },
    form: true,
  },
  { provider: gitea, fixture: 'gitea-push.json', headers: { 'x-gitea-event': 'push', 'x-gitea-signature': '0'.repeat(64) } },
  {
    provider: gitea,
    fixture: 'gitea-push-tag-deleted.json',
    headers: { 'x-gitea-event': 'push', 'content-type': 'application/x-www-form-urlencoded', 'x-gitea-signature': '0'.repeat(64) },
    form: true,
  },
  { provider: forgejo, fixture: 'forgejo-push-tag.json', headers: { 'x-forgejo-event': 'push', 'x-forgejo-signature': '0'.repeat(64) } },
  { provider: gogs, fixture: 'gogs-push.json', headers: { 'x-gogs-event': 'push', 'x-gogs-signature': '0'.repeat(64) } },
  { provider: bitbucket, fixture: 'bitbucket-cloud-push.json', headers: { 'x-event-key': 'repo:push', 'x-hub-signature': SIGNED } },
  {
    provider: bitbucket,
    fixture: 'bitbucket-cloud-push-tag-and-deletion.json',
    headers: { 'x-event-key': 'repo:push', 'x-hub-signature': SIGNED },
  },
  { provider: bitbucket, fixture: 'bitbucket-dc-refs-changed.json', headers: { 'x-event-key': 'repo:refs_changed', 'x-hub-signature': SIGNED } },
  {
    provider: gitlab,
    fixture: 'gitlab-push.json',
    headers: { 'x-gitlab-event': 'Push Hook', 'webhook-id': 'id', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' },
  },
  {
    provider: gitlab,
    fixture: 'gitlab-tag-push.json',
    headers: { 'x-gitlab-event': 'Tag Push Hook', 'webhook-id': 'id', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' },
  },
  { provider: gitcode, fixture: 'gitcode-push.json', headers: { 'x-gitcode-event': 'Push Hook', 'x-gitcode-signature-256': SIGNED } },
];

describe('claimSource of hosts whose scheme MACs the body', () => {
  it.each(BODY_MAC_FIXTURES)('$provider.id $fixture claims the source its reader reads', ({ provider, fixture, headers, form }) => {
    // Prepare
    const json = fixtureBytes(fixture).toString('utf8');
    const delivery = form === true ? makeDelivery(headers, formBody(json)) : makeTextDelivery(headers, json);
    const read = provider.read(delivery);
    if (read.kind !== 'push') throw new Error(`${fixture} is not a push`);

    // Act
    const claim = provider.claimSource(delivery);

    // Assess
    expect(claim.scheme).toBe('body-mac');
    if (claim.scheme !== 'body-mac') return;
    expect(claim.sources).toContain(read.push.source);
    expect(claim.host).toBe(read.push.source.split('/')[0]);
  });

  it('claims a Bitbucket Data Center personal repository as project ~user', () => {
    // Prepare
    const body = '{"repository":{"links":{"self":[{"href":"https://bb.example.com/git/users/alice/repos/notes/browse"}]}}}';
    const delivery = makeTextDelivery({ 'x-event-key': 'repo:refs_changed' }, body);

    // Act
    const claim = bitbucket.claimSource(delivery);

    // Assess
    expect(claim).toEqual({ scheme: 'body-mac', host: 'bb.example.com', sources: ['bb.example.com/~alice/notes'] });
  });

  it('claims nothing, but never throws, on a body that is not JSON', () => {
    // Prepare
    const delivery = makeDelivery({ 'x-github-event': 'push' }, Buffer.from([0xff, 0x22, 0x00, 0x7b]));

    // Act
    const claim = github.claimSource(delivery);

    // Assess
    expect(claim).toEqual({ scheme: 'body-mac', host: undefined, sources: [] });
  });
});

describe('claimSource of token schemes', () => {
  it.each([
    { name: 'GitLab classic token', provider: gitlab, headers: { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 't' } },
    { name: 'GitCode token', provider: gitcode, headers: { 'x-gitcode-event': 'Push Hook', 'x-gitcode-token': 't' } },
    { name: 'Gitee (password or signed timestamp)', provider: gitee, headers: { 'x-gitee-event': 'Push Hook', 'x-gitee-token': 't' } },
    { name: 'Azure DevOps Basic', provider: azureDevops, headers: { authorization: 'Basic dTpw' } },
  ])('$name compares a short token per secret, so every secret may be tried', ({ provider, headers }) => {
    // Prepare
    const delivery = makeTextDelivery(headers, '{"full_name":"acme/api"}');

    // Act
    const claim = provider.claimSource(delivery);

    // Assess
    expect(claim).toEqual({ scheme: 'token' });
  });
});
