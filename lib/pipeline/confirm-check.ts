/**
 * One confirm check's look at a mirror: which refs a later push has superseded (the ledger), what
 * CodeHub shows for the others (ShowBranch, ShowTag), and — only when a ref is behind — whether the
 * mirror's job is still running (`GET remote-mirror`). Then `decideConfirm` decides.
 *
 * CodeHub's quota is shared by every tenant, so the look is frugal: superseded refs are not read,
 * and reads stop at the first failure (the check cannot conclude then anyway). A failure a repeat
 * cannot fix (an AK/SK signature, credentials) is reported as `final`: more than five signature
 * failures in a row lock the access key, so the worker must give up rather than look again.
 */

import type { MirrorStatus } from '../codehub/client';
import type { RepositoryResolver } from '../codehub/repository-resolver';
import type { CallOptions, CodeHub, MirrorRefReader } from '../codehub/types';
import { mirrorsFor, pathMirrorsFor, type MirrorIndex } from '../config/mapping';
import { BridgeError, ErrorCodes } from '../errors';
import { decideConfirm, type ConfirmDecision, type ConfirmSettings, type RefHead } from '../ledger/confirm';
import type { RefToConfirm } from '../ledger/refs';
import type { LedgerEntry, LedgerError, LedgerMirror } from '../ledger/types';
import { mirrorKeyOf } from './ledger-items';
import type { LedgerStore } from './ledger-store';
import type { SyncTarget } from './sync';

/** The CodeHub calls a confirm check and its re-trigger make. `CodeHubClient` is one. */
export type ConfirmCodeHub = CodeHub &
  MirrorRefReader & {
    getMirrorStatus(repositoryId: number, options?: CallOptions): Promise<MirrorStatus>;
  };

/** A CodeHub read that failed: the bridge's code, and whether a repeat could ever succeed. */
export interface ReadFailure {
  readonly code: string;
  readonly message: string;
  /** A signature or credentials failure: never repeated. */
  readonly final: boolean;
}

/** Codes a repeat cannot fix and must not try: an AK/SK signature failure counts towards the key's lock. */
const FINAL_READ_CODES: ReadonlySet<string> = new Set([ErrorCodes.CODEHUB_SIGNATURE_FAILED, ErrorCodes.CODEHUB_AUTH_FAILED]);

export function readFailureOf(error: unknown): ReadFailure {
  // The client's messages are already redacted (lib/codehub/response.ts); anything else is not shown.
  if (error instanceof BridgeError) return { code: error.code, message: error.message, final: FINAL_READ_CODES.has(error.code) };
  return { code: ErrorCodes.INTERNAL_ERROR, message: 'unexpected failure while reading the mirror', final: false };
}

export function ledgerErrorOf(failure: Pick<ReadFailure, 'code' | 'message'>, at: number): LedgerError {
  return { code: failure.code, message: failure.message, at };
}

/** The mirror's configuration by its ledger key, among the source's mirrors as configured now; undefined = no longer configured. */
export function configuredMirror(index: MirrorIndex, source: string, mirrorKey: string): SyncTarget | undefined {
  return [...mirrorsFor(index, source), ...pathMirrorsFor(index, source)].find((mirror) => mirrorKeyOf(mirror) === mirrorKey);
}

export interface CheckContext {
  readonly store: LedgerStore;
  readonly codehub: ConfirmCodeHub;
  readonly resolver: RepositoryResolver | undefined;
  readonly settings: ConfirmSettings;
  readonly now: () => number;
}

export interface CheckInput {
  readonly entry: LedgerEntry;
  readonly mirror: LedgerMirror;
  readonly mirrorKey: string;
  readonly attempt: number;
  /** Absolute deadline (epoch ms) of every CodeHub call of the check. */
  readonly deadline: number;
  /** Read the job's status when a ref is behind; false when the worker may not trigger anyway. */
  readonly readJobStatus: boolean;
}

export type CheckResult =
  | {
      readonly kind: 'decided';
      readonly decision: ConfirmDecision;
      /** The first read that failed, for the mirror's `lastError`. */
      readonly failure: ReadFailure | undefined;
    }
  /** A read failed in a way no repeat can fix: the check must not be made again. */
  | { readonly kind: 'final'; readonly failure: ReadFailure };

/** Looks at the mirror and decides (see the module comment). Ledger errors are thrown. */
export async function checkMirror(context: CheckContext, input: CheckInput): Promise<CheckResult> {
  const { entry, mirror } = input;
  const supersededRefs = await supersededRefsOf(context.store, input.mirrorKey, entry.pushId, mirror.refs);
  const toRead = mirror.refs.filter((target) => !supersededRefs.has(target.ref));
  let heads: ReadonlyMap<string, RefHead> = new Map();
  let failure: ReadFailure | undefined;
  let repositoryId: number | undefined;
  if (toRead.length > 0) {
    const resolved = await repositoryIdOf(context.resolver, mirror, input.deadline);
    if (resolved.kind === 'failed') failure = resolved.failure;
    else {
      repositoryId = resolved.repositoryId;
      ({ heads, failure } = await readHeads(context.codehub, repositoryId, toRead, input.deadline));
    }
  }
  if (failure?.final === true) return { kind: 'final', failure };

  const base = { refs: mirror.refs, heads, supersededRefs, jobStatus: undefined, arrivedAt: entry.arrivedAt, attempt: input.attempt, settings: context.settings };
  const decision = decideConfirm({ ...base, now: context.now() });
  // Only 'retrigger' turns on the job's status (a ref is behind): a running job means wait instead.
  if (decision.kind !== 'retrigger' || !input.readJobStatus || repositoryId === undefined) return { kind: 'decided', decision, failure };
  const status = await readJobStatus(context.codehub, repositoryId, input.deadline);
  if (status.kind === 'failed' && status.failure.final) return { kind: 'final', failure: status.failure };
  const jobStatus = status.kind === 'read' ? status.updateStatus : undefined;
  return { kind: 'decided', decision: decideConfirm({ ...base, jobStatus, now: context.now() }), failure: failure ?? (status.kind === 'failed' ? status.failure : undefined) };
}

/** Refs whose newest push (for this mirror) is another one: this push's expectation of them no longer holds. */
async function supersededRefsOf(store: LedgerStore, mirrorKey: string, pushId: string, refs: readonly RefToConfirm[]): Promise<Set<string>> {
  const latest = await Promise.all(refs.map(async (target) => ({ ref: target.ref, pushId: await store.latestPushForRef(mirrorKey, target.ref) })));
  return new Set(latest.filter((pointer) => pointer.pushId !== undefined && pointer.pushId !== pushId).map((pointer) => pointer.ref));
}

type Resolved = { readonly kind: 'resolved'; readonly repositoryId: number } | { readonly kind: 'failed'; readonly failure: ReadFailure };

/** The ledger's id once known; a mirror by path not yet triggered has 0 there, and its `target` is resolved (cached). */
async function repositoryIdOf(resolver: RepositoryResolver | undefined, mirror: LedgerMirror, deadline: number): Promise<Resolved> {
  if (mirror.repositoryId > 0) return { kind: 'resolved', repositoryId: mirror.repositoryId };
  if (mirror.target === undefined || resolver === undefined) {
    return { kind: 'failed', failure: { code: ErrorCodes.CODEHUB_REJECTED, message: `no repository id or resolvable target for mirror ${mirror.target ?? '0'}`, final: false } };
  }
  try {
    return { kind: 'resolved', repositoryId: await resolver.resolve(mirror.target, { deadline }) };
  } catch (error) {
    return { kind: 'failed', failure: readFailureOf(error) };
  }
}

/** Heads one ref at a time, stopping at the first failure: the refs after it stay unknown. */
async function readHeads(
  codehub: MirrorRefReader,
  repositoryId: number,
  refs: readonly RefToConfirm[],
  deadline: number,
): Promise<{ heads: ReadonlyMap<string, RefHead>; failure: ReadFailure | undefined }> {
  const heads = new Map<string, RefHead>();
  for (const target of refs) {
    try {
      const head = target.kind === 'branch' ? await codehub.getBranchHead(repositoryId, target.name, { deadline }) : await codehub.getTagHead(repositoryId, target.name, { deadline });
      heads.set(target.ref, head === undefined ? 'absent' : { sha: head.sha, target: head.target });
    } catch (error) {
      return { heads, failure: readFailureOf(error) };
    }
  }
  return { heads, failure: undefined };
}

type JobStatusRead = { readonly kind: 'read'; readonly updateStatus: string | undefined } | { readonly kind: 'failed'; readonly failure: ReadFailure };

async function readJobStatus(codehub: ConfirmCodeHub, repositoryId: number, deadline: number): Promise<JobStatusRead> {
  try {
    return { kind: 'read', updateStatus: (await codehub.getMirrorStatus(repositoryId, { deadline })).updateStatus };
  } catch (error) {
    return { kind: 'failed', failure: readFailureOf(error) };
  }
}
