/** The record of API calls the emulator received: what tests and the demo count. Never holds a secret. */

export type CallApi = 'codehub' | 'iam';

export interface CallRecord {
  /** 1, 2, 3, ... in the order the calls arrived. */
  readonly seq: number;
  /** When the call arrived, ISO 8601 (the emulator's clock). */
  readonly at: string;
  readonly api: CallApi;
  readonly method: string;
  /** Path and query as received (CodeHub's queries carry no secrets). */
  readonly path: string;
  /** The status answered; 0 when the connection was dropped. */
  readonly status: number;
  readonly durationMs: number;
  readonly repositoryId?: number;
  /** How the call authenticated (CodeHub calls that got as far as the check). */
  readonly auth?: 'aksk' | 'token' | 'none';
  /** `error_code` (or v1 `error.code`) of an error answer. */
  readonly errorCode?: string;
  /** The fault injected, if any. */
  readonly fault?: 'latency' | 'throttle' | 'serverError' | 'drop' | 'rateLimit';
}

export interface CallLog {
  add(call: Omit<CallRecord, 'seq'>): CallRecord;
  list(api?: CallApi): CallRecord[];
  clear(): void;
}

const MAX_CALLS = 10_000;

/** The latest `MAX_CALLS` calls are kept. */
export function createCallLog(): CallLog {
  let calls: CallRecord[] = [];
  let seq = 0;
  // Trimmed in batches, not on every call past the limit: a storm's tens of thousands of calls would copy the log each time.
  const latest = (): CallRecord[] => (calls.length > MAX_CALLS ? calls.slice(-MAX_CALLS) : calls);
  return {
    add(call) {
      seq += 1;
      const record: CallRecord = { seq, ...call };
      calls.push(record);
      if (calls.length >= 2 * MAX_CALLS) calls = calls.slice(-MAX_CALLS);
      return record;
    },
    list: (api) => (api === undefined ? [...latest()] : latest().filter((call) => call.api === api)),
    clear() {
      calls = [];
    },
  };
}
