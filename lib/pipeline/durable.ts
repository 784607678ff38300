/**
 * The durable pipeline's I/O as every function sets it up once per cold start: the push ledger
 * (`LEDGER_TABLE`), the push queue and its dead-letter queue (`PUSH_QUEUE_URL`, `PUSH_DLQ_URL`), and
 * the confirm settings. None of them set: the stateless bridge (`--param="durable=false"`). Some but
 * not all: a deployment mistake, refused at cold start rather than half-durable.
 *
 * The store and the queue (and the AWS SDK under them, ~550 KB) are imported only when the variables
 * are set, so the stateless bridge's cold start does not load them.
 */
import { confirmSettingsFromEnv, MAX_DELAY_SECONDS, readEnvInteger, type ConfirmSettings } from '../ledger/confirm';
import { ConfigError } from '../errors';
import type { LedgerStore } from './ledger-store';
import type { PushQueue } from './push-queue';
import type { SyncWindows } from './sync-windows';

export interface Durable {
  readonly store: LedgerStore;
  readonly queue: PushQueue;
  readonly confirm: ConfirmSettings;
  /** Coalescing across containers (`COALESCE_WINDOW_SECONDS`, 0 = off): one sync per repository per burst. */
  readonly windows?: SyncWindows | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

const VARIABLES = ['LEDGER_TABLE', 'PUSH_QUEUE_URL', 'PUSH_DLQ_URL'] as const;
/** How long after a trigger its job may still fetch a push: pushes meanwhile join it (see sync-windows.ts). */
const DEFAULT_COALESCE_WINDOW_SECONDS = 10;

/** The durable pipeline of `env`, or undefined when none of its variables is set. Rejects with `ConfigError`. */
export async function durableFromEnv(env: Env): Promise<Durable | undefined> {
  const values = VARIABLES.map((name) => env[name]?.trim() ?? '');
  const missing = VARIABLES.filter((_, i) => values[i] === '');
  if (missing.length === VARIABLES.length) return undefined;
  if (missing.length > 0) throw new ConfigError(missing.join(', '), `must be set with ${VARIABLES.filter((name) => !missing.includes(name)).join(', ')} (the durable pipeline needs all three)`);
  const [tableName = '', queueUrl = '', deadLetterUrl = ''] = values;
  const confirm = confirmSettingsFromEnv(env);
  const windowSeconds = readEnvInteger(env, 'COALESCE_WINDOW_SECONDS', MAX_DELAY_SECONDS, 0) ?? DEFAULT_COALESCE_WINDOW_SECONDS;
  const [{ createLedgerStore }, { createPushQueue }, { createSyncWindows }] = await Promise.all([
    import('./ledger-store'),
    import('./push-queue'),
    import('./sync-windows'),
  ]);
  return {
    store: createLedgerStore({ tableName }),
    queue: createPushQueue({ queueUrl, deadLetterUrl }),
    confirm,
    ...(windowSeconds === 0 ? {} : { windows: createSyncWindows({ tableName, windowMs: windowSeconds * 1000 }) }),
  };
}
