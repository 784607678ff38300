import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { codeCommitGitHost, readCodeCommitEvent } from '../../lib/providers/codecommit';
import { PayloadError } from '../../lib/errors';

const ZERO = '0'.repeat(40);
const OLD = '95790bf891e76fee5e1747ab589903a6a1f80f22';
const NEW = 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7';

interface EventBridgeEvent {
  [key: string]: unknown;
  detail: Record<string, unknown>;
}

/** The fixture (a branch update as EventBridge delivers it), with `change` applied. */
function event(change: (event: EventBridgeEvent) => void = () => undefined): EventBridgeEvent {
  const parsed = JSON.parse(
    readFileSync(new URL('../fixtures/codecommit-reference-updated.json', import.meta.url), 'utf8'),
  ) as EventBridgeEvent;
  change(parsed);
  return parsed;
}

/** A detail as CodeCommit sends it for `kind`: created has no oldCommitId, deleted no commitId. */
function referenceEvent(kind: 'referenceCreated' | 'referenceDeleted', type: 'branch' | 'tag', name: string): EventBridgeEvent {
  return event((e) => {
    const detail: Record<string, unknown> = {
      event: kind,
      repositoryName: 'MyDemoRepo',
      repositoryId: '12345678-1234-5678-abcd-12345678abcd',
      referenceType: type,
      referenceName: name,
      referenceFullName: `refs/${type === 'branch' ? 'heads' : 'tags'}/${name}`,
    };
    if (kind === 'referenceCreated') detail['commitId'] = NEW;
    else detail['oldCommitId'] = OLD;
    e.detail = detail;
  });
}

describe('readCodeCommitEvent', () => {
  it('reads a branch update', () => {
    // Prepare
    const input = event();

    // Act
    const result = readCodeCommitEvent(input);

    // Assess
    expect(result).toEqual({
      kind: 'push',
      push: {
        source: 'git-codecommit.us-east-2.amazonaws.com/v1/repos/mydemorepo',
        refs: [{ ref: 'refs/heads/main', before: OLD, after: NEW, deleted: false }],
        cloneUrl: 'https://git-codecommit.us-east-2.amazonaws.com/v1/repos/MyDemoRepo',
      },
    });
  });

  it('reads a created branch with zeros before', () => {
    // Prepare
    const input = referenceEvent('referenceCreated', 'branch', 'feature/x');

    // Act
    const result = readCodeCommitEvent(input);

    // Assess
    expect(result).toMatchObject({
      kind: 'push',
      push: { refs: [{ ref: 'refs/heads/feature/x', before: ZERO, after: NEW, deleted: false }] },
    });
  });

  it('reads a deleted branch with zeros after', () => {
    // Prepare
    const input = referenceEvent('referenceDeleted', 'branch', 'feature/x');

    // Act
    const result = readCodeCommitEvent(input);

    // Assess
    expect(result).toMatchObject({
      kind: 'push',
      push: { refs: [{ ref: 'refs/heads/feature/x', before: OLD, after: ZERO, deleted: true }] },
    });
  });

  it('reads a new tag', () => {
    // Prepare
    const input = referenceEvent('referenceCreated', 'tag', 'v1.2.0');

    // Act
    const result = readCodeCommitEvent(input);

    // Assess
    expect(result).toMatchObject({
      kind: 'push',
      push: { refs: [{ ref: 'refs/tags/v1.2.0', before: ZERO, after: NEW, deleted: false }] },
    });
  });

  it('reads a deleted tag', () => {
    // Prepare
    const input = referenceEvent('referenceDeleted', 'tag', 'v1.2.0');

    // Act
    const result = readCodeCommitEvent(input);

    // Assess
    expect(result).toMatchObject({ kind: 'push', push: { refs: [{ ref: 'refs/tags/v1.2.0', after: ZERO, deleted: true }] } });
  });

  it('names a China-region repository by its amazonaws.com.cn clone URL', () => {
    // Prepare
    const input = event((e) => (e['region'] = 'cn-north-1'));

    // Act
    const result = readCodeCommitEvent(input);

    // Assess
    expect(result).toMatchObject({
      kind: 'push',
      push: {
        source: 'git-codecommit.cn-north-1.amazonaws.com.cn/v1/repos/mydemorepo',
        cloneUrl: 'https://git-codecommit.cn-north-1.amazonaws.com.cn/v1/repos/MyDemoRepo',
      },
    });
  });

  it.each([
    ['another source', (e: EventBridgeEvent) => (e['source'] = 'aws.codebuild'), '"aws.codebuild"'],
    ['a pull request event', (e: EventBridgeEvent) => (e['detail-type'] = 'CodeCommit Pull Request State Change'), '"CodeCommit Pull Request State Change"'],
    ['an unreferenced merge commit', (e: EventBridgeEvent) => (e.detail['event'] = 'unreferencedMergeCommitCreated'), '"unreferencedMergeCommitCreated"'],
  ])('ignores %s and names it', (_, change, named) => {
    // Prepare
    const input = event(change);

    // Act
    const result = readCodeCommitEvent(input);

    // Assess
    expect(result).toEqual({ kind: 'ignored', reason: expect.stringContaining(named) as unknown });
  });

  it.each([
    ['null', null],
    ['an array', [event()]],
    ['a JSON string', JSON.stringify(event())],
  ])('throws PayloadError for an event that is %s', (_, input) => {
    // Act
    const act = () => readCodeCommitEvent(input);

    // Assess
    expect(act).toThrow(PayloadError);
  });

  it.each([
    ['no detail', (e: EventBridgeEvent) => delete (e as Record<string, unknown>)['detail']],
    ['no region', (e: EventBridgeEvent) => delete e['region']],
    ['a region that is no AWS region', (e: EventBridgeEvent) => (e['region'] = 'evil.example.com/x')],
    ['no repositoryName', (e: EventBridgeEvent) => delete e.detail['repositoryName']],
    ['a repositoryName with a slash', (e: EventBridgeEvent) => (e.detail['repositoryName'] = 'a/b')],
    ['no referenceFullName', (e: EventBridgeEvent) => delete e.detail['referenceFullName']],
    ['a short ref name', (e: EventBridgeEvent) => (e.detail['referenceFullName'] = 'main')],
    ['an update without commitId', (e: EventBridgeEvent) => delete e.detail['commitId']],
    ['an update without oldCommitId', (e: EventBridgeEvent) => delete e.detail['oldCommitId']],
  ])('throws PayloadError for a reference event with %s', (_, change) => {
    // Prepare
    const input = event(change);

    // Act
    const act = () => readCodeCommitEvent(input);

    // Assess
    expect(act).toThrow(PayloadError);
  });
});

describe('codeCommitGitHost', () => {
  it.each([
    ['us-east-1', 'git-codecommit.us-east-1.amazonaws.com'],
    ['us-gov-west-1', 'git-codecommit.us-gov-west-1.amazonaws.com'],
    ['cn-northwest-1', 'git-codecommit.cn-northwest-1.amazonaws.com.cn'],
  ])('gives the HTTPS Git endpoint of %s', (region, host) => {
    // Act
    const result = codeCommitGitHost(region);

    // Assess
    expect(result).toBe(host);
  });
});
