/**
 * Real local AWS engines, in this process, for the durable pipeline: fauxqs (SQS: delays, FIFO,
 * dead-letter queues and redrive) and dynalite (DynamoDB on LevelDB: conditional writes, queries,
 * secondary indexes). Both listen on 127.0.0.1 on ports the OS picks; nothing is downloaded at run time.
 *
 * Point the AWS SDK at them with the standard variables: AWS_ENDPOINT_URL_SQS={sqsEndpoint},
 * AWS_ENDPOINT_URL_DYNAMODB={dynamodbEndpoint} (then `npm run provision-local` creates the resources).
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildApp, type BuildAppOptions } from 'fauxqs';

export interface LocalEnginesOptions {
  /**
   * Where the DynamoDB engine keeps its LevelDB files (`{dataDir}/dynamodb`), so the ledger outlives a
   * restart. Omitted: in memory. The SQS engine is in memory either way (fauxqs has no store on disk):
   * queues and messages are gone after close().
   */
  readonly dataDir?: string;
}

export interface LocalEngines {
  /** `http://127.0.0.1:{port}`; queue URLs it hands out are under it, so they resolve anywhere. */
  readonly sqsEndpoint: string;
  readonly dynamodbEndpoint: string;
  /** Stops both engines (and closes the LevelDB store). */
  close(): Promise<void>;
}

interface DynaliteOptions {
  readonly path?: string;
  readonly createTableMs?: number;
  readonly deleteTableMs?: number;
  readonly updateTableMs?: number;
}
type Dynalite = (options: DynaliteOptions) => Server;

// dynalite is CommonJS without types: a function returning a plain node:http server.
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

const LOOPBACK = '127.0.0.1';

export async function startLocalEngines(options: LocalEnginesOptions = {}): Promise<LocalEngines> {
  const sqs = await startSqsEngine();
  try {
    const dynamodb = await startDynamoDbEngine(options.dataDir);
    return {
      sqsEndpoint: sqs.endpoint,
      dynamodbEndpoint: dynamodb.endpoint,
      async close() {
        await Promise.all([sqs.close(), dynamodb.close()]);
      },
    };
  } catch (error) {
    await sqs.close();
    throw error;
  }
}

interface RunningEngine {
  readonly endpoint: string;
  close(): Promise<void>;
}

type FauxqsStores = NonNullable<BuildAppOptions['stores']>;
interface FauxqsStoreModules {
  readonly SqsStore: new () => FauxqsStores['sqsStore'];
  readonly SnsStore: new () => FauxqsStores['snsStore'];
  readonly S3Store: new () => FauxqsStores['s3Store'];
}

/**
 * fauxqs names every queue `http://sqs.<region>.localhost:PORT/…` unless its store's host is empty;
 * then it takes the request's Host header, i.e. `127.0.0.1:PORT`, which resolves on any machine (many
 * resolvers do not know `*.localhost`). Its options cannot empty the host (an empty one is ignored), so
 * the stores are built here from fauxqs's own modules, beside its entry point (pinned to 1.9.x; the
 * engine tests assert the URLs).
 */
async function fauxqsStoresWithRequestHost(): Promise<FauxqsStores> {
  const entry = import.meta.resolve('fauxqs');
  const load = async <T>(path: string): Promise<T> => (await import(new URL(path, entry).href)) as T;
  const [{ SqsStore }, { SnsStore }, { S3Store }] = await Promise.all([
    load<Pick<FauxqsStoreModules, 'SqsStore'>>('./sqs/sqsStore.js'),
    load<Pick<FauxqsStoreModules, 'SnsStore'>>('./sns/snsStore.js'),
    load<Pick<FauxqsStoreModules, 'S3Store'>>('./s3/s3Store.js'),
  ]);
  const sqsStore = new SqsStore();
  sqsStore.host = '';
  return { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() };
}

async function startSqsEngine(): Promise<RunningEngine> {
  const app = buildApp({ logger: false, stores: await fauxqsStoresWithRequestHost() });
  await app.listen({ port: 0, host: LOOPBACK });
  const { port } = app.server.address() as AddressInfo;
  return { endpoint: `http://${LOOPBACK}:${port}`, close: () => app.close() };
}

async function startDynamoDbEngine(dataDir: string | undefined): Promise<RunningEngine> {
  let path: string | undefined;
  if (dataDir !== undefined) {
    path = join(dataDir, 'dynamodb');
    mkdirSync(path, { recursive: true });
  }
  // Tables are ACTIVE at once: the CREATING state real DynamoDB passes through only slows tests down.
  const server = dynalite({ ...(path === undefined ? {} : { path }), createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${LOOPBACK}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
