import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createCodeCommitSync, CodeCommitSyncError } from '../../lib/pipeline/codecommit';
import { parseMirrorConfig } from '../../lib/config/load';
import { ErrorCodes } from '../../lib/errors';
import { silentLogger } from '../../lib/observability/log';
import { buildMirrorIndex } from '../../lib/config/mapping';
import type { MirrorSyncer, SyncTarget } from '../../lib/pipeline/sync';

const event = JSON.parse(readFileSync(new URL('../fixtures/codecommit-reference-updated.json', import.meta.url), 'utf8')) as {
  region: string;
  detail: { repositoryName: string; referenceFullName: string };
};
// Identities are lower-case, like every configured source.
const source = `git-codecommit.${event.region}.amazonaws.com/v1/repos/${event.detail.repositoryName}`.toLowerCase();

function setup(mirrors: unknown[], fail = false) {
  const { config } = parseMirrorConfig(JSON.stringify({ mirrors }), {});
  const synced: { mirrors: readonly SyncTarget[]; deadline: number }[] = [];
  const syncMirrors: MirrorSyncer = async (targets, deadline) => {
    synced.push({ mirrors: targets, deadline });
    if (fail) return { jobs: [], failures: [{ repository_id: 9, code: ErrorCodes.CODEHUB_SERVER_ERROR, error_code: 'CH.000001', error: 'CodeHub answered 500' }] };
    return { jobs: targets.map((t, i) => ({ repository_id: 'repositoryId' in t ? t.repositoryId : i, jid: `jid-${i}` })), failures: [] };
  };
  const sync = createCodeCommitSync({ index: buildMirrorIndex(config), syncMirrors, logger: silentLogger, now: () => 1_000 });
  return { sync, synced };
}

describe('createCodeCommitSync', () => {
  it('syncs the mirrors of the pushed CodeCommit repository', async () => {
    // Prepare
    const { sync, synced } = setup([{ source, repository_id: 9 }, { source: 'github.com/acme/other', repository_id: 10 }]);
    // Act
    const outcome = await sync(event, 30_000);
    // Assess
    expect(outcome).toEqual({ status: 'synced', source, jobs: [{ repository_id: 9, jid: 'jid-0' }] });
    expect(synced).toHaveLength(1);
    expect(synced[0]?.mirrors.map((m) => ('repositoryId' in m ? m.repositoryId : m.target))).toEqual([9]);
    // The Lambda's remaining time, less a margin, caps the budget.
    expect(synced[0]?.deadline).toBe(1_000 + 29_000);
  });

  it('ignores a repository no mirror is configured for, without calling CodeHub', async () => {
    // Prepare
    const { sync, synced } = setup([{ source: 'github.com/acme/other', repository_id: 10 }]);
    // Act
    const outcome = await sync(event);
    // Assess
    expect(outcome).toMatchObject({ status: 'ignored', reason: `no mirror configured for ${source}` });
    expect(synced).toHaveLength(0);
  });

  it('ignores a ref outside the mirror refs filter', async () => {
    // Prepare
    const { sync, synced } = setup([{ source, repository_id: 9, refs: ['refs/tags/*'] }]);
    // Act
    const outcome = await sync(event);
    // Assess
    expect(outcome.status).toBe('ignored');
    expect(synced).toHaveLength(0);
  });

  it('throws when a sync failed, so that Lambda retries the event', async () => {
    // Prepare
    const { sync } = setup([{ source, repository_id: 9 }], true);
    // Act
    const attempt = sync(event);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(CodeCommitSyncError);
    await expect(attempt).rejects.toThrow(/CodeHub answered 500/);
  });

  it('ignores events from other sources', async () => {
    // Prepare
    const { sync, synced } = setup([{ source, repository_id: 9 }]);
    // Act
    const outcome = await sync({ ...event, source: 'aws.s3' });
    // Assess
    expect(outcome.status).toBe('ignored');
    expect(synced).toHaveLength(0);
  });
});
