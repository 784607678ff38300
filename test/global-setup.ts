import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * The end-to-end tests run dist/ behind serverless-offline; building it once here, before any test
 * file starts, keeps two files from writing dist/ at the same time.
 */
export default async function buildOnce(): Promise<void> {
  await promisify(execFile)(process.execPath, ['scripts/build.mjs']);
}
