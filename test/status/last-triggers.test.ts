import { describe, expect, it } from 'vitest';
import type { CodeHub } from '../../lib/codehub/types';
import type { MirrorTarget, PathMirror } from '../../lib/config/types';
import { CodeHubError, ErrorCodes } from '../../lib/errors';
import { createLastTriggers } from '../../lib/status/last-triggers';
import { createLogger, silentLogger } from '../../lib/observability/log';
import { createMirrorSyncer, type TriggeredJob } from '../../lib/pipeline/sync';

const NOW = Date.parse('2026-03-01T10:00:00Z');

function idMirror(source: string, repositoryId: number): MirrorTarget {
  return { source, repositoryId, secrets: undefined, refs: undefined, forceFetch: true };
}

function pathMirror(source: string, target: string): PathMirror {
  return { source, target, secrets: undefined, refs: undefined, forceFetch: true };
}

/** Answers `jid-<id>` for every repository, or the error `fail` gives. */
function fakeCodeHub(fail?: (repositoryId: number) => Error | undefined): CodeHub {
  return {
    async startMirrorSync(repositoryId) {
      const error = fail?.(repositoryId);
      if (error) throw error;
      return { jid: `jid-${repositoryId}` };
    },
  };
}

describe('createLastTriggers', () => {
  it('answers undefined for a repository never triggered', () => {
    // Prepare
    const triggers = createLastTriggers();
    // Act
    const trigger = triggers.get(1001);
    // Assess
    expect(trigger).toBeUndefined();
  });

  it('keeps the latest trigger of each repository', () => {
    // Prepare
    const triggers = createLastTriggers();
    triggers.record(1001, { jid: 'first', at: NOW, source: 'github.com/acme/api' });
    triggers.record(1002, { jid: 'other', at: NOW + 500 });
    // Act
    triggers.record(1001, { jid: 'second', at: NOW + 1000, source: 'github.com/acme/api' });
    // Assess
    expect(triggers.get(1001)).toEqual({ jid: 'second', at: NOW + 1000, source: 'github.com/acme/api' });
    expect(triggers.get(1002)?.jid).toBe('other');
  });

  it('ignores a trigger older than the one recorded (answers arriving out of order)', () => {
    // Prepare
    const triggers = createLastTriggers();
    triggers.record(1001, { jid: 'later', at: NOW + 1000 });
    // Act
    triggers.record(1001, { jid: 'earlier', at: NOW });
    // Assess
    expect(triggers.get(1001)?.jid).toBe('later');
  });

  it('forgets the least recently triggered repository beyond maxEntries', () => {
    // Prepare
    const triggers = createLastTriggers({ maxEntries: 2 });
    triggers.record(1, { jid: 'a', at: NOW });
    triggers.record(2, { jid: 'b', at: NOW + 1 });
    triggers.record(1, { jid: 'a2', at: NOW + 2 });
    // Act
    triggers.record(3, { jid: 'c', at: NOW + 3 });
    // Assess
    expect([triggers.get(1)?.jid, triggers.get(2)?.jid, triggers.get(3)?.jid]).toEqual(['a2', undefined, 'c']);
  });

  it('finds the last trigger of a mirror configured by path, with the repository id it resolved to', () => {
    // Prepare
    const triggers = createLastTriggers();
    triggers.recordJob({ repository_id: 4242, jid: 'by-path', target: 'acme-mirror/api', at: NOW, source: 'github.com/acme/api' });
    // Act
    const trigger = triggers.getByTarget('acme-mirror/api');
    // Assess
    expect(trigger).toEqual({ repositoryId: 4242, jid: 'by-path', at: NOW, source: 'github.com/acme/api', target: 'acme-mirror/api' });
    expect(triggers.getByTarget('acme-mirror/other')).toBeUndefined();
  });

  it('does not share its records with the caller', () => {
    // Prepare
    const triggers = createLastTriggers();
    const recorded = { jid: 'j', at: NOW };
    triggers.record(7, recorded);
    // Act
    recorded.jid = 'changed';
    // Assess
    expect(triggers.get(7)?.jid).toBe('j');
  });
});

describe('createMirrorSyncer onJob', () => {
  it('reports every started job with its time and pushed source, and fills the last triggers', async () => {
    // Prepare
    const triggers = createLastTriggers();
    const reported: TriggeredJob[] = [];
    const syncMirrors = createMirrorSyncer({
      codehub: fakeCodeHub(),
      logger: silentLogger,
      now: () => NOW,
      resolver: { resolve: async () => 4242 },
      onJob: (job) => {
        reported.push(job);
        triggers.recordJob(job);
      },
    });
    // Act
    await syncMirrors([idMirror('github.com/acme/api', 1001), pathMirror('github.com/acme/api', 'acme-mirror/api')], NOW + 8000);
    // Assess
    expect(reported).toEqual([
      { repository_id: 1001, jid: 'jid-1001', at: NOW, source: 'github.com/acme/api' },
      { repository_id: 4242, jid: 'jid-4242', target: 'acme-mirror/api', at: NOW, source: 'github.com/acme/api' },
    ]);
    expect(triggers.get(1001)).toMatchObject({ jid: 'jid-1001', at: NOW });
    expect(triggers.getByTarget('acme-mirror/api')).toMatchObject({ repositoryId: 4242, jid: 'jid-4242' });
  });

  it('reports no job for a failed sync', async () => {
    // Prepare
    const reported: TriggeredJob[] = [];
    const syncMirrors = createMirrorSyncer({
      codehub: fakeCodeHub(() => new CodeHubError(ErrorCodes.CODEHUB_REJECTED, 'CodeHub said no', { status: 404, serviceCode: 'CH.004404' })),
      logger: silentLogger,
      onJob: (job) => reported.push(job),
    });
    // Act
    const outcome = await syncMirrors([idMirror('github.com/acme/api', 1001)], Date.now() + 8000);
    // Assess
    expect(outcome.failures).toHaveLength(1);
    expect(reported).toEqual([]);
  });

  it('still answers the job when onJob throws, and logs why', async () => {
    // Prepare
    const lines: string[] = [];
    const syncMirrors = createMirrorSyncer({
      codehub: fakeCodeHub(),
      logger: createLogger({ level: 'error', write: (line) => lines.push(line) }),
      onJob: () => {
        throw new Error('observer broke');
      },
    });
    // Act
    const outcome = await syncMirrors([idMirror('github.com/acme/api', 1001)], Date.now() + 8000);
    // Assess
    expect(outcome).toEqual({ jobs: [{ repository_id: 1001, jid: 'jid-1001' }], failures: [] });
    expect(lines.join('\n')).toContain('observer broke');
  });
});
