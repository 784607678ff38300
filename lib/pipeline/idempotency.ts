/**
 * The same delivery seen again answers the first answer, without a second CodeHub call.
 *
 * Which answers are kept: only 2xx (a sync started, a ping, a push ignored on purpose). A failure
 * (502/503/504) is never kept, because the Git host's redelivery of a failed delivery is exactly
 * the retry that must reach CodeHub again. Rejections before verification never get here at all:
 * the store is consulted only for verified deliveries, so nobody can read or poison an answer by
 * sending a delivery id without the secret.
 *
 * Two stores behind one interface: in memory per warm container (the default: no cost, no
 * dependency), or DynamoDB through Powertools' idempotency persistence layer when
 * `IDEMPOTENCY_TABLE` is set, so that duplicates landing on different containers are caught too.
 * Powertools and the AWS SDK are imported only then, keeping them off the default cold start.
 */
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import { sha256 } from '../crypto';
import type { HttpResponse } from '../http/event';
import type { Logger } from '../observability/log';

/** How long an answer is replayed. @default 10 minutes */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 10 * 60 * 1000;
/** Answers kept in memory at most; the least recently used go first. @default 1000 */
export const DEFAULT_MAX_ENTRIES = 1000;

export interface OnceOptions {
  /** Epoch ms by which this delivery must be answered; a duplicate waits for the first no longer. */
  readonly deadline: number;
}

export type OnceResult =
  /** `answer` ran: this delivery's own answer (kept when it is a 2xx). */
  | { readonly kind: 'answered'; readonly response: HttpResponse }
  /** Another delivery's answer: a replay, or a concurrent duplicate's. */
  | { readonly kind: 'replayed'; readonly response: HttpResponse }
  /** The first delivery was still being answered at this one's deadline (seen by the persistent store). */
  | { readonly kind: 'in-progress' };

export interface IdempotencyStore {
  readonly kind: 'memory' | 'persistent';
  /**
   * The kept answer for `key`; else runs `answer` and keeps its result when it is a 2xx. A
   * duplicate arriving while the first is still being answered waits for the first, until its deadline.
   */
  once(key: string, answer: () => Promise<HttpResponse>, options: OnceOptions): Promise<OnceResult>;
}

/** Only a 2xx is final; anything else must stay retryable by the host's redelivery. */
export function isKeptAnswer(response: HttpResponse): boolean {
  return response.statusCode >= 200 && response.statusCode < 300;
}

function digest(data: string | Uint8Array): string {
  return sha256(data, 'base64url');
}

/**
 * The idempotency key of a verified delivery: the host, a digest of its delivery id (or of none,
 * for hosts that send none, such as Gitee; digested, so no id can shape or lengthen the key) and a
 * fingerprint of the body. The body is part of the key even when a delivery id exists: a genuine
 * redelivery carries the same bytes, and a wrong hit — a stale answer for a different push — would
 * lose that push, whereas a wrong miss only costs one extra sync.
 */
export function deliveryKey(
  providerId: string,
  deliveryId: string | undefined,
  body: string | Uint8Array | { readonly mac: string },
): string {
  // Where the host signs the payload, its verified MAC already fingerprints it: nothing hashes a
  // 5 MB body a second time. Text hashes as its UTF-8 bytes: one key whichever form it arrived in.
  const content = typeof body === 'string' || body instanceof Uint8Array ? `b${digest(body)}` : `m${body.mac}`;
  return `${providerId}:${digest(deliveryId ?? '')}:${content}`;
}

type MemoryEntry =
  | { readonly state: 'answered'; readonly response: HttpResponse; readonly expiresAt: number }
  | { readonly state: 'running'; readonly answer: Promise<HttpResponse> };

export interface MemoryIdempotencyStoreOptions {
  /** @default DEFAULT_IDEMPOTENCY_TTL_MS */
  readonly ttlMs?: number;
  /** @default DEFAULT_MAX_ENTRIES */
  readonly maxEntries?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Answers kept in this container's memory. A Lambda container answers one delivery at a time, so
 * concurrent duplicates meet here only outside Lambda (serverless-offline, tests); redeliveries
 * that land on another container are not seen (configure the DynamoDB store for that).
 */
export function createMemoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): IdempotencyStore {
  const ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
  const maxEntries = Math.max(1, options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  const now = options.now ?? Date.now;
  // A Map iterates in insertion order: re-inserting on use makes the first key the least recently used.
  const entries = new Map<string, MemoryEntry>();

  function dropExpired(at: number): void {
    for (const [key, entry] of entries) {
      if (entry.state !== 'answered' || entry.expiresAt > at) break;
      entries.delete(key);
    }
  }

  function remember(key: string, entry: MemoryEntry): void {
    entries.delete(key);
    entries.set(key, entry);
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done === true) break;
      entries.delete(oldest.value);
    }
  }

  return {
    kind: 'memory',
    async once(key, answer) {
      const at = now();
      dropExpired(at);
      const entry = entries.get(key);
      if (entry?.state === 'answered' && entry.expiresAt > at) {
        remember(key, entry);
        return { kind: 'replayed', response: entry.response };
      }
      if (entry?.state === 'running') return { kind: 'replayed', response: await entry.answer };

      const running: MemoryEntry = { state: 'running', answer: answer() };
      remember(key, running);
      let response: HttpResponse;
      try {
        response = await running.answer;
      } catch (error) {
        if (entries.get(key) === running) entries.delete(key);
        throw error;
      }
      // Evicted meanwhile: leave it gone rather than push out a newer answer.
      if (entries.get(key) === running) {
        if (isKeptAnswer(response)) remember(key, { state: 'answered', response, expiresAt: now() + ttlMs });
        else entries.delete(key);
      }
      return { kind: 'answered', response };
    },
  };
}

/** What Powertools keeps as the answer: JSON data. */
type StoredAnswer = Parameters<BasePersistenceLayer['saveSuccess']>[1];
type IdempotencyRecord = Awaited<ReturnType<BasePersistenceLayer['getRecord']>>;

export interface PersistentIdempotencyStoreOptions {
  /** A Powertools persistence layer: `DynamoDBPersistenceLayer` in production, a fake in tests. */
  readonly persistenceStore: BasePersistenceLayer;
  /** @default DEFAULT_IDEMPOTENCY_TTL_MS */
  readonly ttlMs?: number;
  /** How often a duplicate looks whether the first has answered. @default 200 */
  readonly pollIntervalMs?: number;
  /** Prefix of every key in the table, so that one table can serve several functions. @default 'webhook-delivery' */
  readonly keyPrefix?: string;
  readonly logger?: Logger | undefined;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

function isNamedError(error: unknown, name: string): error is Error & { existingRecord?: IdempotencyRecord } {
  return error instanceof Error && error.name === name;
}

function isHttpResponse(value: unknown): value is HttpResponse {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { statusCode?: unknown; body?: unknown };
  return typeof candidate.statusCode === 'number' && typeof candidate.body === 'string';
}

/** A JSON copy of an answer: what the table holds, and what comes back out of it. */
function toStoredAnswer(response: HttpResponse): StoredAnswer {
  return JSON.parse(JSON.stringify(response)) as StoredAnswer;
}

/**
 * Answers kept in a Powertools persistence layer (DynamoDB): every container sees them. A
 * duplicate finds the first's record IN_PROGRESS and polls until it completes, is deleted (the
 * first failed: this one then answers) or its own deadline comes (`in-progress`; the pipeline
 * answers 409). If the table cannot be reached, the delivery is answered without it: a missed
 * duplicate costs one extra sync, a failed delivery could cost a push.
 */
export async function createPersistentIdempotencyStore(options: PersistentIdempotencyStoreOptions): Promise<IdempotencyStore> {
  const { IdempotencyConfig, IdempotencyRecordStatus } = await import('@aws-lambda-powertools/idempotency');
  const store = options.persistenceStore;
  const ttlMs = options.ttlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS;
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const logger = options.logger;
  store.configure({
    config: new IdempotencyConfig({ expiresAfterSeconds: Math.max(1, Math.round(ttlMs / 1000)) }),
    keyPrefix: options.keyPrefix ?? 'webhook-delivery',
  });

  type Claim = { readonly kind: 'claimed' } | { readonly kind: 'found'; readonly record: IdempotencyRecord | undefined } | { readonly kind: 'unavailable' };

  async function claim(data: { key: string }, deadline: number): Promise<Claim> {
    try {
      // The in-progress lock lapses a little after our deadline: if this invocation dies, the
      // host's redelivery is not shut out for the rest of the TTL.
      await store.saveInProgress(data, Math.max(1, deadline - now()) + 1000);
      return { kind: 'claimed' };
    } catch (error) {
      if (!isNamedError(error, 'IdempotencyItemAlreadyExistsError')) {
        logger?.warn('idempotency store unavailable; answering without it', { error });
        return { kind: 'unavailable' };
      }
      if (error.existingRecord !== undefined) return { kind: 'found', record: error.existingRecord };
      try {
        return { kind: 'found', record: await store.getRecord(data) };
      } catch (lookup) {
        // Deleted between the two calls (the first failed): claim again on the next turn.
        if (isNamedError(lookup, 'IdempotencyItemNotFoundError')) return { kind: 'found', record: undefined };
        logger?.warn('idempotency store unavailable; answering without it', { error: lookup });
        return { kind: 'unavailable' };
      }
    }
  }

  function statusOf(record: IdempotencyRecord | undefined): string | undefined {
    try {
      return record?.getStatus();
    } catch {
      return undefined;
    }
  }

  async function answerAndKeep(data: { key: string }, answer: () => Promise<HttpResponse>): Promise<HttpResponse> {
    let response: HttpResponse;
    try {
      response = await answer();
    } catch (error) {
      await forget(data);
      throw error;
    }
    if (!isKeptAnswer(response)) {
      await forget(data);
      return response;
    }
    try {
      await store.saveSuccess(data, toStoredAnswer(response));
    } catch (error) {
      logger?.warn('could not keep the answer in the idempotency store', { error });
    }
    return response;
  }

  /** Removes the in-progress lock, so that the host's redelivery is answered afresh. */
  async function forget(data: { key: string }): Promise<void> {
    try {
      await store.deleteRecord(data);
    } catch (error) {
      // The lock lapses by itself shortly after the deadline.
      logger?.warn('could not release the idempotency lock', { error });
    }
  }

  return {
    kind: 'persistent',
    async once(key, answer, { deadline }) {
      const data = { key };
      let quickTurns = 0;
      for (;;) {
        const outcome = await claim(data, deadline);
        if (outcome.kind === 'claimed') return { kind: 'answered', response: await answerAndKeep(data, answer) };
        if (outcome.kind === 'unavailable') return { kind: 'answered', response: await answer() };
        const status = statusOf(outcome.record);
        if (status === IdempotencyRecordStatus.COMPLETED) {
          const stored = outcome.record?.getResponse();
          if (isHttpResponse(stored)) return { kind: 'replayed', response: stored };
          logger?.warn('idempotency record holds no usable answer; answering afresh');
          return { kind: 'answered', response: await answer() };
        }
        // No record (deleted meanwhile) or an expired one: claiming again should succeed at once.
        if ((status === undefined || status === IdempotencyRecordStatus.EXPIRED) && quickTurns < 3) {
          quickTurns += 1;
          continue;
        }
        if (now() + pollIntervalMs > deadline) return { kind: 'in-progress' };
        await sleep(pollIntervalMs);
      }
    },
  };
}

/**
 * The store the environment asks for: DynamoDB (via Powertools) when `IDEMPOTENCY_TABLE` names a
 * table, else memory. The AWS SDK is loaded only in the first case.
 */
export async function idempotencyStoreFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: { readonly logger?: Logger } = {},
): Promise<IdempotencyStore> {
  const tableName = env['IDEMPOTENCY_TABLE']?.trim();
  if (tableName === undefined || tableName === '') return createMemoryIdempotencyStore();
  const { DynamoDBPersistenceLayer } = await import('@aws-lambda-powertools/idempotency/dynamodb');
  return createPersistentIdempotencyStore({
    persistenceStore: new DynamoDBPersistenceLayer({ tableName }),
    logger: options.logger,
  });
}
