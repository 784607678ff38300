/**
 * The sync jobs: each one's record (the latest 5000 kept), and the runs under way, which
 * `waitForIdle` and closing wait for. What a job does is `./mirror`.
 */
import { randomUUID } from 'node:crypto';
import type { JobInfo, JobStatus } from './mirror-types';

/** A job as its run updates it. */
export interface MutableJob {
  jid: string;
  repositoryId: number;
  status: JobStatus;
  forceFetch: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  fetchedAt: string | null;
  error: string | null;
}

export interface JobRegistry {
  /** A new queued job, remembered (the oldest ended one forgotten past the limit). */
  create(repositoryId: number, forceFetch: boolean, createdAt: string): MutableJob;
  get(jid: string): JobInfo | undefined;
  list(): JobInfo[];
  /** Runs `run` now-ish (after the caller's synchronous work), counted as pending until it settles. */
  start(run: () => Promise<void>): void;
  pending(): number;
  /** Resolves when no job is queued or running; rejects after `timeoutMs`. */
  waitForIdle(timeoutMs?: number): Promise<void>;
  /** Resolves once every run under way has settled. */
  settled(): Promise<void>;
}

const MAX_KEPT_JOBS = 5000;

export function snapshotJob(job: MutableJob): JobInfo {
  return { ...job };
}

export function createJobRegistry(): JobRegistry {
  const jobs = new Map<string, MutableJob>();
  const active = new Set<Promise<void>>();

  function remember(job: MutableJob): void {
    jobs.set(job.jid, job);
    if (jobs.size <= MAX_KEPT_JOBS) return;
    for (const [jid, old] of jobs) {
      if (old.status === 'success' || old.status === 'failed') {
        jobs.delete(jid);
        break;
      }
    }
  }

  return {
    create(repositoryId, forceFetch, createdAt) {
      const job: MutableJob = {
        jid: randomUUID(),
        repositoryId,
        status: 'queued',
        forceFetch,
        createdAt,
        startedAt: null,
        finishedAt: null,
        fetchedAt: null,
        error: null,
      };
      remember(job);
      return job;
    },
    get(jid) {
      const job = jobs.get(jid);
      return job ? snapshotJob(job) : undefined;
    },
    list: () => [...jobs.values()].map(snapshotJob),
    start(run) {
      // The run records its own failures; the catch only keeps a surprise from going unhandled.
      const running = Promise.resolve()
        .then(run)
        .catch(() => undefined);
      active.add(running);
      void running.finally(() => active.delete(running));
    },
    pending: () => active.size,
    async waitForIdle(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (active.size > 0) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`${active.size} sync job(s) still queued or running after ${timeoutMs} ms`);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...active]),
          new Promise<void>((done) => {
            timer = setTimeout(done, remaining);
          }),
        ]);
        clearTimeout(timer);
      }
    },
    async settled() {
      await Promise.allSettled([...active]);
    },
  };
}
