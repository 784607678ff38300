/**
 * Fault injection for CodeHub API calls (not IAM, not the admin API), globally or per repository:
 * latency, throttling, server errors, dropped connections, and expiring every token.
 */
import { isRecord } from './http';

/** What to inject. Fields left out keep their current value; `0` turns a fault off. */
export interface FaultSpec {
  /** Scope: calls to this repository only. Absent: every CodeHub call. */
  readonly repositoryId?: number;
  /** Milliseconds to wait before answering each call (until cleared). */
  readonly latencyMs?: number;
  /** Answer the next N calls 429 `APIG.0308` with `Retry-After`. */
  readonly throttle?: number;
  /** `Retry-After` seconds sent with a 429. @default 1 */
  readonly retryAfterSeconds?: number;
  /** Answer the next N calls (or every call) 500 `CH.000001`. */
  readonly serverError?: number | 'always';
  /** Destroy the socket of the next N calls without answering. */
  readonly dropConnection?: number;
  /** Once, now: every current token becomes invalid and answers 401 (global only). */
  readonly expireTokens?: boolean;
}

export interface FaultState {
  readonly latencyMs: number;
  readonly throttle: number;
  readonly retryAfterSeconds: number;
  readonly serverError: number | 'always';
  readonly dropConnection: number;
}

export interface FaultsSnapshot {
  readonly global: FaultState;
  /** Per repository id. */
  readonly repositories: Readonly<Record<string, FaultState>>;
}

/** The fault a call gets; counters were consumed when this was returned. */
export interface FaultPlan {
  readonly latencyMs: number;
  readonly action: { readonly kind: 'drop' } | { readonly kind: 'throttle'; readonly retryAfterSeconds: number } | { readonly kind: 'serverError' } | undefined;
}

export interface Faults {
  /** Merges `spec` into its scope's faults; returns every scope's state. */
  set(spec: FaultSpec): FaultsSnapshot;
  /** Clears one repository's faults, or (no argument) every fault, and restores configured tokens. */
  clear(repositoryId?: number): FaultsSnapshot;
  snapshot(): FaultsSnapshot;
}

export interface FaultController extends Faults {
  /** For the server: the fault for the next call to `repositoryId` (or a call with no repository). */
  next(repositoryId: number | undefined): FaultPlan;
}

const NO_FAULTS: FaultState = { latencyMs: 0, throttle: 0, retryAfterSeconds: 1, serverError: 0, dropConnection: 0 };
const SPEC_KEYS = new Set(['repositoryId', 'latencyMs', 'throttle', 'retryAfterSeconds', 'serverError', 'dropConnection', 'expireTokens']);
const MAX_LATENCY_MS = 120_000;

function count(value: unknown, field: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${field} must be an integer 0..${max}`);
  }
  return value;
}

/** Validates a fault spec from JSON; throws `RangeError` naming the field at fault (unknown keys too). */
export function parseFaultSpec(value: unknown): FaultSpec {
  if (!isRecord(value)) throw new RangeError('the body must be a JSON object');
  const unknown = Object.keys(value).filter((key) => !SPEC_KEYS.has(key));
  if (unknown.length > 0) throw new RangeError(`unknown field(s): ${unknown.join(', ')}; expected ${[...SPEC_KEYS].join(', ')}`);
  const spec: { -readonly [K in keyof FaultSpec]: FaultSpec[K] } = {};
  if (value.repositoryId !== undefined) spec.repositoryId = count(value.repositoryId, 'repositoryId', 2_147_483_647);
  if (value.latencyMs !== undefined) spec.latencyMs = count(value.latencyMs, 'latencyMs', MAX_LATENCY_MS);
  if (value.throttle !== undefined) spec.throttle = count(value.throttle, 'throttle');
  if (value.retryAfterSeconds !== undefined) spec.retryAfterSeconds = count(value.retryAfterSeconds, 'retryAfterSeconds', 86_400);
  if (value.serverError !== undefined) {
    spec.serverError = value.serverError === 'always' ? 'always' : count(value.serverError, 'serverError (or "always")');
  }
  if (value.dropConnection !== undefined) spec.dropConnection = count(value.dropConnection, 'dropConnection');
  if (value.expireTokens !== undefined) {
    if (typeof value.expireTokens !== 'boolean') throw new RangeError('expireTokens must be a boolean');
    spec.expireTokens = value.expireTokens;
  }
  if (spec.expireTokens === true && spec.repositoryId !== undefined) {
    throw new RangeError('expireTokens is global: tokens are not per repository');
  }
  return spec;
}

export interface FaultControllerOptions {
  /** Called for `expireTokens: true`. */
  readonly expireTokens: () => void;
  /** Called when every fault is cleared. */
  readonly onClearAll: () => void;
}

export function createFaults(options: FaultControllerOptions): FaultController {
  let global: FaultState = NO_FAULTS;
  const perRepository = new Map<number, FaultState>();

  function snapshot(): FaultsSnapshot {
    const repositories: Record<string, FaultState> = {};
    for (const [id, state] of [...perRepository].sort(([a], [b]) => a - b)) repositories[String(id)] = state;
    return { global, repositories };
  }

  function merge(state: FaultState, spec: FaultSpec): FaultState {
    return {
      latencyMs: spec.latencyMs ?? state.latencyMs,
      throttle: spec.throttle ?? state.throttle,
      retryAfterSeconds: spec.retryAfterSeconds ?? state.retryAfterSeconds,
      serverError: spec.serverError ?? state.serverError,
      dropConnection: spec.dropConnection ?? state.dropConnection,
    };
  }

  /** Takes one of the counted faults from `state`; the new state and what was taken. */
  function take(state: FaultState): { state: FaultState; action: FaultPlan['action'] } {
    if (state.dropConnection > 0) return { state: { ...state, dropConnection: state.dropConnection - 1 }, action: { kind: 'drop' } };
    if (state.throttle > 0) {
      return { state: { ...state, throttle: state.throttle - 1 }, action: { kind: 'throttle', retryAfterSeconds: state.retryAfterSeconds } };
    }
    if (state.serverError === 'always') return { state, action: { kind: 'serverError' } };
    if (state.serverError > 0) return { state: { ...state, serverError: state.serverError - 1 }, action: { kind: 'serverError' } };
    return { state, action: undefined };
  }

  return {
    set(spec) {
      // Validates programmatic callers the same way as the admin API.
      const checked = parseFaultSpec({ ...spec });
      if (checked.expireTokens === true) options.expireTokens();
      if (checked.repositoryId === undefined) global = merge(global, checked);
      else perRepository.set(checked.repositoryId, merge(perRepository.get(checked.repositoryId) ?? NO_FAULTS, checked));
      return snapshot();
    },
    clear(repositoryId) {
      if (repositoryId !== undefined) {
        perRepository.delete(repositoryId);
        return snapshot();
      }
      global = NO_FAULTS;
      perRepository.clear();
      options.onClearAll();
      return snapshot();
    },
    snapshot,
    next(repositoryId) {
      const scoped = repositoryId === undefined ? undefined : perRepository.get(repositoryId);
      const latencyMs = (scoped?.latencyMs ?? 0) + global.latencyMs;
      if (scoped && repositoryId !== undefined) {
        const taken = take(scoped);
        if (taken.action) {
          perRepository.set(repositoryId, taken.state);
          return { latencyMs, action: taken.action };
        }
      }
      const taken = take(global);
      global = taken.state;
      return { latencyMs, action: taken.action };
    },
  };
}
