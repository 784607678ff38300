/**
 * The durable pipeline's I/O as every function sets it up once per cold start: the push ledger
 * (`LEDGER_TABLE`), the push queue and its dead-letter queue (`PUSH_QUEUE_URL`, `PUSH_DLQ_URL`), and
 * the confirm settings. None of them set: the stateless bridge (`--param="durable=false"`). Some but
 * not all: a deployment mistake, refused at cold start rather than half-durable.
 */
import { confirmSettingsFromEnv, type ConfirmSettings } from '../ledger/confirm';
import { ConfigError } from '../errors';
import { createLedgerStore, type LedgerStore } from './ledger-store';
import { createPushQueue, type PushQueue } from './push-queue';

export interface Durable {
  readonly store: LedgerStore;
  readonly queue: PushQueue;
  readonly confirm: ConfirmSettings;
}

type Env = Readonly<Record<string, string | undefined>>;

const VARIABLES = ['LEDGER_TABLE', 'PUSH_QUEUE_URL', 'PUSH_DLQ_URL'] as const;

/** The durable pipeline of `env`, or undefined when none of its variables is set. Throws `ConfigError`. */
export function durableFromEnv(env: Env): Durable | undefined {
  const values = VARIABLES.map((name) => env[name]?.trim() ?? '');
  const missing = VARIABLES.filter((_, i) => values[i] === '');
  if (missing.length === VARIABLES.length) return undefined;
  if (missing.length > 0) throw new ConfigError(missing.join(', '), `must be set with ${VARIABLES.filter((name) => !missing.includes(name)).join(', ')} (the durable pipeline needs all three)`);
  const [tableName = '', queueUrl = '', deadLetterUrl = ''] = values;
  return {
    store: createLedgerStore({ tableName }),
    queue: createPushQueue({ queueUrl, deadLetterUrl }),
    confirm: confirmSettingsFromEnv(env),
  };
}
