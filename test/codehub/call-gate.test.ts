import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../dev/codehub-emulator/index';
import { createIamAuthenticator, createStaticTokenAuthenticator, type Authenticator } from '../../lib/codehub/auth';
import { createCodeHubClient, type CodeHubClient, type CodeHubClientOptions } from '../../lib/codehub/client';
import { closeTransportPools } from '../../lib/codehub/transport';
import type { CallGate, CallKind } from '../../lib/codehub/types';
import { CodeHubError, ErrorCodes } from '../../lib/errors';
import { codeHubErrorOf } from '../support/codehub';
import { commit, git } from '../support/git';

/**
 * The client's `CallGate` seam (issue 12, "Storms") against the CodeHub emulator: the gate admits
 * every HTTP attempt, and with a gate a 429 is handed to the gate instead of being retried.
 */

const TOKEN = 'call-gate-test-TOKEN';
const IAM_USER = { domain: 'acme-account', name: 'bridge-bot', password: 'iam-PASSWORD-hunter2' };
const ID = 12;
/** The client's clock, frozen so that the gate's `until` and the deadline are exact. */
const NOW = Date.parse('2026-03-01T10:00:00Z');
const DEADLINE = NOW + 30_000;

interface Admission {
  readonly kind: CallKind;
  readonly operation: string;
  readonly deadline: number | undefined;
}

interface RecordingGate extends CallGate {
  readonly admissions: Admission[];
  /** The `until` of every `throttled` call. */
  readonly pauses: number[];
}

/** A gate that admits everything and records what it was told; `refuse(n)` may refuse admission `n` (1 = the first). */
function recordingGate(refuse: (admission: number) => CodeHubError | undefined = () => undefined): RecordingGate {
  const admissions: Admission[] = [];
  const pauses: number[] = [];
  return {
    admissions,
    pauses,
    async admit(kind, operation, deadline) {
      admissions.push({ kind, operation, deadline });
      const refusal = refuse(admissions.length);
      if (refusal) throw refusal;
    },
    async throttled(until) {
      pauses.push(until);
    },
  };
}

let root: string;
let emulator: Emulator;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'call-gate-'));
  const upstream = join(root, 'upstream');
  await git(root, 'init', '-q', '-b', 'main', upstream);
  await commit(upstream, 'first');
  emulator = await startEmulator({
    dataDir: join(root, 'data'),
    credentials: { tokens: [TOKEN], iamUsers: [IAM_USER] },
    repositories: [{ id: ID, name: 'gated', upstream }],
  });
});

afterEach(async () => {
  await emulator.waitForIdle();
  // Also restores the configured token after `expireTokens`.
  emulator.faults.clear();
  emulator.clearCalls();
});

afterAll(async () => {
  await emulator?.close();
  await closeTransportPools();
  if (root) await rm(root, { recursive: true, force: true });
});

function client(options: Partial<CodeHubClientOptions> = {}): CodeHubClient {
  return createCodeHubClient({
    endpoint: emulator.url,
    auth: createStaticTokenAuthenticator(TOKEN),
    now: () => NOW,
    sleep: async () => undefined,
    retry: { random: () => 0 },
    ...options,
  });
}

function iam(): Authenticator {
  return createIamAuthenticator({ iamEndpoint: emulator.url, user: IAM_USER.name, password: IAM_USER.password, domain: IAM_USER.domain, project: 'cn-north-4' });
}

const codehubStatuses = (): number[] => emulator.callsTo('codehub').map((call) => call.status);

describe('a CodeHub client with a call gate', () => {
  it('asks the gate before a sync as a trigger and before a read as a read, with the operation and deadline', async () => {
    // Prepare
    const gate = recordingGate();
    const codehub = client({ gate });
    // Act
    await codehub.startMirrorSync(ID, { forceFetch: true }, { deadline: DEADLINE });
    await codehub.getMirrorStatus(ID);
    // Assess
    expect(gate.admissions).toEqual([
      { kind: 'trigger', operation: `start mirror sync of repository ${ID}`, deadline: DEADLINE },
      { kind: 'read', operation: `read mirror status of repository ${ID}`, deadline: undefined },
    ]);
    expect(codehubStatuses()).toEqual([200, 200]);
  });

  it('admits every retry: a 5xx then a 200 is two admissions and two calls', async () => {
    // Prepare
    const gate = recordingGate();
    const codehub = client({ gate });
    emulator.faults.set({ serverError: 1 });
    // Act
    const result = await codehub.startMirrorSync(ID, { forceFetch: true }, { deadline: DEADLINE });
    // Assess
    expect(result.jid).toBeTruthy();
    expect(gate.admissions.map((admission) => admission.kind)).toEqual(['trigger', 'trigger']);
    expect(codehubStatuses()).toEqual([500, 200]);
    expect(gate.pauses).toEqual([]);
  });

  it('hands a 429 to the gate with its Retry-After and does not retry it: one call, CODEHUB_THROTTLED', async () => {
    // Prepare
    const gate = recordingGate();
    const codehub = client({ gate });
    emulator.faults.set({ throttle: 3, retryAfterSeconds: 3 });
    // Act
    const error = await codeHubErrorOf(codehub.startMirrorSync(ID, { forceFetch: true }, { deadline: DEADLINE }));
    // Assess
    expect(error.code).toBe(ErrorCodes.CODEHUB_THROTTLED);
    expect(error.retryAfterSeconds).toBe(3);
    expect(gate.pauses).toEqual([NOW + 3_000]);
    expect(gate.admissions).toHaveLength(1);
    expect(codehubStatuses()).toEqual([429]);
  });

  it('does not retry a 429 even when the retry option asks to: the gate decides for every caller', async () => {
    // Prepare
    const gate = recordingGate();
    const codehub = client({ gate, retry: { random: () => 0, retryThrottled: true } });
    emulator.faults.set({ throttle: 2, retryAfterSeconds: 1 });
    // Act
    const error = await codeHubErrorOf(codehub.getMirrorStatus(ID, { deadline: DEADLINE }));
    // Assess
    expect(error.code).toBe(ErrorCodes.CODEHUB_THROTTLED);
    expect(codehubStatuses()).toEqual([429]);
  });

  it('sends nothing when the gate refuses, and rejects with the refusal itself', async () => {
    // Prepare
    const refusal = new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, 'the CodeHub budget is spent until later', { retryAfterSeconds: 20 });
    const gate = recordingGate(() => refusal);
    const codehub = client({ gate });
    // Act
    const outcome = codehub.startMirrorSync(ID, { forceFetch: true }, { deadline: DEADLINE });
    // Assess
    await expect(outcome).rejects.toBe(refusal);
    expect(gate.admissions).toHaveLength(1);
    expect(emulator.callsTo('codehub')).toHaveLength(0);
  });

  it('stops at a refused retry and rejects with the refusal unchanged, not as a failed retry', async () => {
    // Prepare
    const refusal = new CodeHubError(ErrorCodes.CODEHUB_THROTTLED, 'the CodeHub budget is spent until later', { retryAfterSeconds: 20 });
    const gate = recordingGate((admission) => (admission === 2 ? refusal : undefined));
    const codehub = client({ gate });
    emulator.faults.set({ serverError: 1 });
    // Act
    const outcome = codehub.getMirrorStatus(ID, { deadline: DEADLINE });
    // Assess
    await expect(outcome).rejects.toBe(refusal);
    expect(gate.admissions).toHaveLength(2);
    expect(codehubStatuses()).toEqual([500]);
  });

  it('admits the repeat after a token renewal too, and not the IAM token calls', async () => {
    // Prepare
    const gate = recordingGate();
    const codehub = client({ gate, auth: iam() });
    await codehub.getMirrorStatus(ID);
    emulator.faults.set({ expireTokens: true });
    // Act
    const status = await codehub.getMirrorStatus(ID);
    // Assess
    expect(status.repositoryId).toBe(ID);
    expect(codehubStatuses()).toEqual([200, 401, 200]);
    expect(emulator.callsTo('iam')).toHaveLength(2);
    expect(gate.admissions.map((admission) => admission.kind)).toEqual(['read', 'read', 'read']);
  });
});

describe('a CodeHub client without a call gate', () => {
  it('still retries a 429 inside its deadline', async () => {
    // Prepare
    const codehub = client();
    emulator.faults.set({ throttle: 1, retryAfterSeconds: 1 });
    // Act
    const status = await codehub.getMirrorStatus(ID, { deadline: DEADLINE });
    // Assess
    expect(status.repositoryId).toBe(ID);
    expect(codehubStatuses()).toEqual([429, 200]);
  });
});
