import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalEngines, type LocalEngines } from '../../dev/engines';
import { startEmulator, type Emulator } from '../../dev/codehub-emulator/index';
import { createUpstream, type Upstream } from '../../dev/upstream';
import { createStaticTokenAuthenticator } from '../../lib/codehub/auth';
import { createCodeHubClient, type CodeHubClient } from '../../lib/codehub/client';
import { closeTransportPools } from '../../lib/codehub/transport';
import { pushIdOf, pushKey } from '../../lib/ledger/push-id';
import { refToConfirm } from '../../lib/ledger/refs';
import type { LedgerEntry, LedgerMirror } from '../../lib/ledger/types';
import { createDynamoDbClient, createLedgerStore, type LedgerStore } from '../../lib/pipeline/ledger-store';
import type { RefChange } from '../../lib/providers/types';
import { provisionLocal } from '../../scripts/provision-local';

/**
 * What the status tests run against: the real local DynamoDB engine (dynalite) with the ledger
 * table provisioned from serverless.yml, reached the standard way (AWS_ENDPOINT_URL_DYNAMODB and
 * friends, set for the test file), and the CodeHub emulator with a real upstream repository.
 */

const ENV_NAMES = ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;
const TOKEN = 'status-tests-codehub-token';

export interface StatusBackends {
  readonly store: LedgerStore;
  readonly tableName: string;
  readonly emulator: Emulator;
  readonly codehub: CodeHubClient;
  readonly upstream: Upstream;
  /** Registers a fresh emulator repository (fetching from the upstream) and answers its id. */
  addRepository(): number;
  /** A store whose SDK client is sent to `endpoint` (one try, short timeouts), for `act` only. */
  atEndpoint<T>(endpoint: string, act: (store: LedgerStore) => Promise<T>, options?: { tableName?: string }): Promise<T>;
  close(): Promise<void>;
}

export async function startStatusBackends(): Promise<StatusBackends> {
  const root = await mkdtemp(join(tmpdir(), 'status-ledger-'));
  const engines: LocalEngines = await startLocalEngines();
  const saved = new Map(ENV_NAMES.map((name) => [name, process.env[name]]));
  Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: engines.dynamodbEndpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  const variables = await provisionLocal({ env: { AWS_ENDPOINT_URL_SQS: engines.sqsEndpoint, AWS_ENDPOINT_URL_DYNAMODB: engines.dynamodbEndpoint }, warn: () => undefined });
  const tableName = variables.LEDGER_TABLE ?? '';
  const store = createLedgerStore({ tableName });
  const upstream = await createUpstream(join(root, 'upstream'));
  await upstream.commit('initial');
  const emulator = await startEmulator({ dataDir: join(root, 'codehub'), credentials: { accessKeys: {}, tokens: [TOKEN] } });
  const codehub = createCodeHubClient({ endpoint: emulator.url, auth: createStaticTokenAuthenticator(TOKEN) });
  let nextId = 5000;
  return {
    store,
    tableName,
    emulator,
    codehub,
    upstream,
    addRepository() {
      nextId += 1;
      return emulator.addRepository({ id: nextId, group: 'acme', name: `status-${nextId}`, upstream: upstream.path }).id;
    },
    async atEndpoint(endpoint, act, options = {}) {
      const before = process.env.AWS_ENDPOINT_URL_DYNAMODB;
      process.env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
      const other = createLedgerStore({ tableName: options.tableName ?? tableName, client: createDynamoDbClient({ requestTimeoutMs: 200, connectionTimeoutMs: 200, maxAttempts: 1 }) });
      try {
        return await act(other);
      } finally {
        other.close();
        process.env.AWS_ENDPOINT_URL_DYNAMODB = before;
      }
    },
    async close() {
      store.close();
      await closeTransportPools();
      await emulator.close();
      await engines.close();
      for (const [name, value] of saved) {
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A TCP server on a free loopback port that keeps every connection open and never answers. */
export async function silentServer(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A loopback endpoint nothing listens on (a port that was just free): connections are refused. */
export async function refusingEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await new Promise((resolve) => server.close(resolve));
  return endpoint;
}

/** A mirror of a push: by CodeHub path (`target`) or by repository id. */
export type MirrorRef = { readonly target: string } | { readonly repositoryId: number };

let counter = 0;

/** A new push (a distinct SHA each call) of `source` to `ref`, in the given mirrors, arriving at `arrivedAt`. */
export function newPush(mirrors: readonly MirrorRef[], arrivedAt: number, options: { source?: string; ref?: string; before?: string; after?: string } = {}): LedgerEntry {
  counter += 1;
  const refs: RefChange[] = [{ ref: options.ref ?? 'refs/heads/main', before: options.before ?? 'a'.repeat(40), after: options.after ?? counter.toString(16).padStart(40, '0'), deleted: false }];
  const source = options.source ?? 'github.com/acme/app';
  const key = pushKey(source, refs);
  const ledgerMirrors = mirrors.map(
    (mirror): LedgerMirror => ({
      repositoryId: 'repositoryId' in mirror ? mirror.repositoryId : 0,
      ...('target' in mirror ? { target: mirror.target } : {}),
      state: 'received',
      refs: refs.flatMap((change) => refToConfirm(change) ?? []),
      jids: [],
      attempts: 0,
    }),
  );
  return { pushId: pushIdOf(key), key, source, refs, arrivedAt, state: 'received', mirrors: ledgerMirrors };
}
