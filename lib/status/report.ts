/**
 * What `GET /mirrors` shows, as data: one row per configured mirror with CodeHub's remote-mirror
 * state, the last sync this container started and, with the durable pipeline, the mirror's pushes
 * in the ledger. Building the report is pure: the CodeHub states and ledger views come in already
 * read (./mirror-states, ./ledger-view).
 */
import type { MirrorConfig } from '../config/types';
import type { LastTrigger, LastTriggers } from './last-triggers';
import { LEDGER_WINDOW, type LedgerView } from './ledger-view';

/** The mirrors to show: a loaded `MirrorConfig`, or (as tests build it) just its id mirrors. */
export type StatusConfig = Pick<MirrorConfig, 'mirrors'> & Partial<Pick<MirrorConfig, 'pathMirrors' | 'wildcardMirrors'>>;

/** CodeHub's `GET remote-mirror` answer, minus the fields that may carry credentials (`url`, `endpoint_uuid`). */
export interface CodeHubMirrorState {
  readonly update_status: string | null;
  readonly last_update_at: string | null;
  readonly last_successful_update_at: string | null;
  readonly number_of_failures: number | null;
  readonly last_error: string | null;
  readonly mirroring_enabled: boolean | null;
}

/** Why CodeHub's state of one mirror is missing; the other mirrors are shown all the same. */
export interface CodeHubStateError {
  readonly error: string;
  /** The bridge's code, e.g. CODEHUB_TIMEOUT, CODEHUB_REJECTED. */
  readonly code: string;
  /** CodeHub's own `error_code` (e.g. CH.004404), when it sent one. */
  readonly error_code: string | null;
}

export type CodeHubState = CodeHubMirrorState | CodeHubStateError;

/** A CodeHub state and when it was read (epoch ms); `readAt` is undefined for a state not read at all. */
export interface ReadState {
  readonly state: CodeHubState;
  readonly readAt: number | undefined;
}

export interface MirrorStatusRow {
  /** The configured source; for a wildcard mirror, its pattern. */
  readonly source: string;
  /** For mirrors configured by CodeHub path: the path (a wildcard mirror: its template). */
  readonly target?: string;
  /** Null for a mirror by path that this container has not resolved (no push for it here yet). */
  readonly repository_id: number | null;
  /** Null when the repository id is not known. */
  readonly codehub: CodeHubState | null;
  /** When `codehub` was read from CodeHub: states are kept a short while, so a page may show an older read. */
  readonly codehub_read_at: string | null;
  readonly last_trigger: { readonly jid: string; readonly at: string } | null;
  /** The mirror's pushes in the ledger (or why they could not be read); null without a ledger, and for a wildcard. */
  readonly ledger: LedgerView | null;
}

export interface StatusReport {
  readonly generated_at: string;
  /** Last triggers are kept in memory: another container (or a cold start) has its own. */
  readonly last_trigger_scope: 'this container';
  /** Pushes read from the ledger per mirror, newest first (`pending` counts among them); null without a ledger. */
  readonly ledger_window: number | null;
  readonly mirrors: readonly MirrorStatusRow[];
}

/** A configured mirror whose CodeHub state is to be shown, with its repository id when known. */
interface PlannedRow {
  readonly source: string;
  readonly target?: string;
  readonly repositoryId: number | undefined;
  readonly trigger: LastTrigger | undefined;
  /** The name the mirror goes by in the ledger (`mirrorKeyOf`); undefined for a wildcard. */
  readonly mirrorKey: string | undefined;
}

export interface ReportPlan {
  readonly rows: readonly PlannedRow[];
  /** The repositories to read, once each however many mirrors (sources) share one. */
  readonly repositoryIds: readonly number[];
  /** The mirrors to read from the ledger, once each. */
  readonly mirrorKeys: readonly string[];
}

/** The rows of the page, in config order, and the repositories whose state they need. */
export function planReport(config: StatusConfig, lastTriggers: Pick<LastTriggers, 'get' | 'getByTarget'>): ReportPlan {
  const idRows: PlannedRow[] = config.mirrors.map((mirror) => ({
    source: mirror.source,
    repositoryId: mirror.repositoryId,
    trigger: lastTriggers.get(mirror.repositoryId),
    mirrorKey: String(mirror.repositoryId),
  }));
  const pathRows: PlannedRow[] = (config.pathMirrors ?? []).map((mirror) => {
    const trigger = lastTriggers.getByTarget(mirror.target);
    return { source: mirror.source, target: mirror.target, repositoryId: trigger?.repositoryId, trigger, mirrorKey: mirror.target };
  });
  // A wildcard stands for any number of repositories: listed for completeness, not looked up.
  const wildcardRows: PlannedRow[] = (config.wildcardMirrors ?? []).map((mirror) => ({
    source: mirror.pattern,
    target: mirror.target,
    repositoryId: undefined,
    trigger: undefined,
    mirrorKey: undefined,
  }));
  const rows = [...idRows, ...pathRows, ...wildcardRows];
  const repositoryIds = [...new Set(rows.map((row) => row.repositoryId).filter((id): id is number => id !== undefined))];
  const mirrorKeys = [...new Set(rows.map((row) => row.mirrorKey).filter((key): key is string => key !== undefined))];
  return { rows, repositoryIds, mirrorKeys };
}

/**
 * The report of `plan`, each row with the state of its repository (`states` holds every id of the
 * plan) and its ledger view (`ledger` holds every mirror key of the plan; undefined: no ledger).
 */
export function buildReport(plan: ReportPlan, states: ReadonlyMap<number, ReadState>, generatedAt: number, ledger?: ReadonlyMap<string, LedgerView>): StatusReport {
  const mirrors = plan.rows.map((row): MirrorStatusRow => {
    const read = row.repositoryId === undefined ? undefined : states.get(row.repositoryId);
    return {
      source: row.source,
      ...(row.target === undefined ? {} : { target: row.target }),
      repository_id: row.repositoryId ?? null,
      codehub: read?.state ?? null,
      codehub_read_at: read?.readAt === undefined ? null : new Date(read.readAt).toISOString(),
      last_trigger: row.trigger === undefined ? null : { jid: row.trigger.jid, at: new Date(row.trigger.at).toISOString() },
      ledger: row.mirrorKey === undefined ? null : (ledger?.get(row.mirrorKey) ?? null),
    };
  });
  return { generated_at: new Date(generatedAt).toISOString(), last_trigger_scope: 'this container', ledger_window: ledger === undefined ? null : LEDGER_WINDOW, mirrors };
}

/** Every configured value that must never be shown: source passwords, mirror secrets, endpoint ids, the key. */
export function configuredSecrets(config: StatusConfig, statusKey: string | undefined): string[] {
  const all: string[] = statusKey ? [statusKey] : [];
  for (const mirror of [...config.mirrors, ...(config.pathMirrors ?? []), ...(config.wildcardMirrors ?? [])]) {
    if (mirror.password) all.push(mirror.password);
    if (mirror.endpointUuid) all.push(mirror.endpointUuid);
    all.push(...(mirror.secrets ?? []));
  }
  // Longest first, so that a secret containing another is replaced whole.
  return [...new Set(all)].sort((a, b) => b.length - a.length);
}
