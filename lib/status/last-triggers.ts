/**
 * The last sync the bridge started for each CodeHub repository, as the status page shows it.
 * In memory, so per container: Lambda keeps a warm container for a while and runs several at
 * once, and each knows only the syncs it started itself. CodeHub's own mirror state (read by the
 * status page) is the authoritative, shared view; this is the bridge's side of the story.
 */
import type { TriggeredJob } from '../pipeline/sync';

export interface LastTrigger {
  /** CodeHub's sync job id. */
  readonly jid: string;
  /** Epoch ms at which CodeHub answered with the job. */
  readonly at: number;
  /** The pushed source (normalised identity) that caused the sync. */
  readonly source?: string | undefined;
  /** The configured CodeHub path, for a mirror configured by `target`. */
  readonly target?: string | undefined;
}

export interface LastTriggers {
  /** Keeps `trigger` unless a later one is already recorded for the repository. */
  record(repositoryId: number, trigger: LastTrigger): void;
  /** `record` for a job as `createMirrorSyncer` reports it (its `onJob` option). */
  recordJob(job: TriggeredJob): void;
  get(repositoryId: number): LastTrigger | undefined;
  /** The last trigger of a mirror configured by `target: group/name`, with the id it resolved to. */
  getByTarget(target: string): (LastTrigger & { readonly repositoryId: number }) | undefined;
}

export interface LastTriggersOptions {
  /**
   * Repositories remembered; the least recently triggered are forgotten first. Wildcard mirrors can
   * reach any number of repositories, so the store is bounded. @default 1000
   */
  readonly maxEntries?: number | undefined;
}

const DEFAULT_MAX_ENTRIES = 1000;

export function createLastTriggers(options: LastTriggersOptions = {}): LastTriggers {
  const maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  // Map order is insertion order: re-inserting on each record keeps the oldest first, for eviction.
  const byRepository = new Map<number, LastTrigger>();
  const repositoryByTarget = new Map<string, number>();

  /** Keeps `trigger` itself: callers hand over an object of their own. */
  function keep(repositoryId: number, trigger: LastTrigger): void {
    const known = byRepository.get(repositoryId);
    // Two deliveries' answers can arrive out of order; the later job is the one to show.
    if (known !== undefined && known.at > trigger.at) return;
    byRepository.delete(repositoryId);
    byRepository.set(repositoryId, trigger);
    if (trigger.target !== undefined) {
      repositoryByTarget.delete(trigger.target);
      repositoryByTarget.set(trigger.target, repositoryId);
    }
    while (byRepository.size > maxEntries) {
      const oldest = byRepository.keys().next();
      if (oldest.done === true) break;
      byRepository.delete(oldest.value);
    }
    while (repositoryByTarget.size > maxEntries) {
      const oldest = repositoryByTarget.keys().next();
      if (oldest.done === true) break;
      repositoryByTarget.delete(oldest.value);
    }
  }

  return {
    record(repositoryId, trigger) {
      keep(repositoryId, { ...trigger });
    },
    recordJob(job) {
      keep(job.repository_id, { jid: job.jid, at: job.at, source: job.source, target: job.target });
    },
    get(repositoryId) {
      return byRepository.get(repositoryId);
    },
    getByTarget(target) {
      const repositoryId = repositoryByTarget.get(target);
      if (repositoryId === undefined) return undefined;
      const trigger = byRepository.get(repositoryId);
      return trigger === undefined ? undefined : { ...trigger, repositoryId };
    },
  };
}
