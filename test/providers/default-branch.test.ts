import { describe, expect, it } from 'vitest';
import { azureDevops } from '../../lib/providers/azure-devops';
import { bitbucket } from '../../lib/providers/bitbucket';
import { readCodeCommitEvent } from '../../lib/providers/codecommit';
import { forgejo, gitea, gogs } from '../../lib/providers/gitea';
import { gitcode } from '../../lib/providers/gitcode';
import { gitee } from '../../lib/providers/gitee';
import { github } from '../../lib/providers/github';
import { gitlab } from '../../lib/providers/gitlab';
import { defaultBranchField } from '../../lib/providers/shared';
import type { Headers, Provider, Push } from '../../lib/providers/types';
import { fixtureBytes, makeDelivery } from './support';

type Json = Record<string, unknown>;
/** Keys from the top of a payload to one field: `['repository', 'default_branch']`. */
type FieldPath = readonly string[];

function fixture(name: string): Json {
  return JSON.parse(fixtureBytes(name).toString('utf8')) as Json;
}

/** The object holding the field at `path`; the test fails if a fixture lost it. */
function parentOf(body: Json, path: FieldPath): Json {
  let object = body;
  for (const key of path.slice(0, -1)) {
    const next = object[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) throw new Error(`fixture has no object at ${key}`);
    object = next as Json;
  }
  return object;
}

function setField(body: Json, path: FieldPath, value: unknown): void {
  parentOf(body, path)[path[path.length - 1] ?? ''] = value;
}

function deleteField(body: Json, path: FieldPath): void {
  const object = parentOf(body, path);
  const key = path[path.length - 1] ?? '';
  if (!(key in object)) throw new Error(`fixture has no ${path.join('.')} to remove`);
  Reflect.deleteProperty(object, key);
}

/** The push a provider reads from `body`; fails the test when it reads anything else. */
function pushOf(provider: Provider, headers: Headers, body: Json): Push {
  const result = provider.read(makeDelivery(headers, JSON.stringify(body)));
  if (result.kind !== 'push') throw new Error(`read ${result.kind}, not a push`);
  return result.push;
}

interface Case {
  readonly provider: Provider;
  readonly headers: Headers;
  readonly fixture: string;
  /** Every field the provider may take the default branch from. */
  readonly fields: readonly FieldPath[];
  readonly expected: string;
}

const CASES: readonly (readonly [string, Case])[] = [
  ['GitHub', { provider: github, headers: { 'x-github-event': 'push' }, fixture: 'github-push-branch.json', fields: [['repository', 'default_branch'], ['repository', 'master_branch']], expected: 'master' }],
  ['GitHub Enterprise Server', { provider: github, headers: { 'x-github-event': 'push' }, fixture: 'github-ghes-push-tag.json', fields: [['repository', 'default_branch'], ['repository', 'master_branch']], expected: 'master' }],
  ['GitLab', { provider: gitlab, headers: { 'x-gitlab-event': 'Push Hook' }, fixture: 'gitlab-push.json', fields: [['project', 'default_branch']], expected: 'main' }],
  ['GitLab tag push', { provider: gitlab, headers: { 'x-gitlab-event': 'Tag Push Hook' }, fixture: 'gitlab-tag-push.json', fields: [['project', 'default_branch']], expected: 'main' }],
  ['GitCode', { provider: gitcode, headers: { 'x-gitcode-event': 'Push Hook' }, fixture: 'gitcode-push.json', fields: [['project', 'default_branch']], expected: 'main' }],
  ['Gitea', { provider: gitea, headers: { 'x-gitea-event': 'push' }, fixture: 'gitea-push.json', fields: [['repository', 'default_branch']], expected: 'main' }],
  ['Forgejo', { provider: forgejo, headers: { 'x-forgejo-event': 'push', 'x-gitea-event': 'push' }, fixture: 'forgejo-push-tag.json', fields: [['repository', 'default_branch']], expected: 'main' }],
  ['Gogs', { provider: gogs, headers: { 'x-gogs-event': 'push' }, fixture: 'gogs-push.json', fields: [['repository', 'default_branch']], expected: 'master' }],
  ['Gitee', { provider: gitee, headers: { 'x-gitee-event': 'Push Hook' }, fixture: 'gitee-push.json', fields: [['project', 'default_branch'], ['repository', 'default_branch']], expected: 'master' }],
  ['Azure DevOps', { provider: azureDevops, headers: {}, fixture: 'azure-devops-git-push.json', fields: [['resource', 'repository', 'defaultBranch']], expected: 'master' }],
];

describe('Push.defaultBranch', () => {
  it.each(CASES)('is read from a %s push', (_, c) => {
    // Prepare
    const body = fixture(c.fixture);

    // Act
    const push = pushOf(c.provider, c.headers, body);

    // Assess
    expect(push.defaultBranch).toBe(c.expected);
  });

  it.each(CASES)('is undefined when a %s push carries none', (_, c) => {
    // Prepare
    const body = fixture(c.fixture);
    for (const field of c.fields) deleteField(body, field);

    // Act
    const push = pushOf(c.provider, c.headers, body);

    // Assess
    expect(push.defaultBranch).toBeUndefined();
    expect(push.refs.length).toBeGreaterThan(0);
  });

  it('is read from master_branch when an old GitHub payload has no default_branch', () => {
    // Prepare
    const body = fixture('github-push-branch.json');
    deleteField(body, ['repository', 'default_branch']);
    setField(body, ['repository', 'master_branch'], 'trunk');

    // Act
    const push = pushOf(github, { 'x-github-event': 'push' }, body);

    // Assess
    expect(push.defaultBranch).toBe('trunk');
  });

  it("is read from Gitee's repository when its project names none", () => {
    // Prepare
    const body = fixture('gitee-push.json');
    deleteField(body, ['project', 'default_branch']);
    setField(body, ['repository', 'default_branch'], 'develop');

    // Act
    const push = pushOf(gitee, { 'x-gitee-event': 'Push Hook' }, body);

    // Assess
    expect(push.defaultBranch).toBe('develop');
  });

  it.each([
    ['Bitbucket Cloud', 'repo:push', 'bitbucket-cloud-push.json'],
    ['Bitbucket Data Center', 'repo:refs_changed', 'bitbucket-dc-refs-changed.json'],
  ])('is undefined for %s, whose push payload names no default branch', (_, event, name) => {
    // Prepare
    const body = fixture(name);

    // Act
    const push = pushOf(bitbucket, { 'x-event-key': event }, body);

    // Assess
    expect(push.defaultBranch).toBeUndefined();
    expect(push.refs.length).toBeGreaterThan(0);
  });

  it("is undefined for CodeCommit, whose EventBridge event names no default branch", () => {
    // Prepare
    const event = fixture('codecommit-reference-updated.json');

    // Act
    const result = readCodeCommitEvent(event);

    // Assess
    expect(result.kind).toBe('push');
    expect(result.kind === 'push' ? result.push.defaultBranch : 'not a push').toBeUndefined();
  });

  it('is shortened when a host sends it as a full ref', () => {
    // Prepare
    const body = fixture('gitlab-push.json');
    setField(body, ['project', 'default_branch'], 'refs/heads/release/2.x');

    // Act
    const push = pushOf(gitlab, { 'x-gitlab-event': 'Push Hook' }, body);

    // Assess
    expect(push.defaultBranch).toBe('release/2.x');
  });
});

describe('defaultBranchField', () => {
  it.each([
    ['a short name', 'main', 'main'],
    ['a full branch ref', 'refs/heads/main', 'main'],
    ['a name with slashes', 'feature/x', 'feature/x'],
    ['an empty string', '', undefined],
    ['a bare refs/heads/', 'refs/heads/', undefined],
    ['a number', 7, undefined],
    ['null', null, undefined],
    ['an object', { name: 'main' }, undefined],
    ['an array', ['main'], undefined],
    ['a boolean', true, undefined],
  ])('reads %s', (_, value, expected) => {
    // Prepare
    const object: Json = { default_branch: value };

    // Act
    const name = defaultBranchField(object, 'default_branch');

    // Assess
    expect(name).toBe(expected);
  });

  it('is undefined for an absent field or object, and for an inherited one', () => {
    // Prepare
    const inherited: Json = Object.create({ default_branch: 'main' }) as Json;

    // Act
    const names = [defaultBranchField({}, 'default_branch'), defaultBranchField(undefined, 'default_branch'), defaultBranchField(inherited, 'default_branch')];

    // Assess
    expect(names).toEqual([undefined, undefined, undefined]);
  });
});
