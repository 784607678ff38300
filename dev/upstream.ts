/**
 * A throwaway upstream Git repository for the demo and the end-to-end tests: a plain working
 * repository that the emulator fetches from by path, changed the way a developer's pushes would.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitEnvironment, runGit } from './codehub-emulator/git';

export interface Upstream {
  readonly path: string;
  /** Commits a change to `branch` (created from the current HEAD when new); returns the new SHA. */
  commit(message: string, branch?: string): Promise<string>;
  tag(name: string): Promise<string>;
  /** Replaces the last commit of `branch` with another: what a force-push publishes. Returns the new SHA. */
  rewriteLastCommit(message: string, branch?: string): Promise<string>;
  deleteBranch(name: string): Promise<void>;
  resolve(ref: string): Promise<string>;
}

const ENV = {
  ...gitEnvironment(),
  GIT_AUTHOR_NAME: 'Demo', GIT_AUTHOR_EMAIL: 'demo@example.com',
  GIT_COMMITTER_NAME: 'Demo', GIT_COMMITTER_EMAIL: 'demo@example.com',
};

export async function createUpstream(path: string): Promise<Upstream> {
  await mkdir(path, { recursive: true });
  const git = async (...args: string[]): Promise<string> =>
    (await runGit(['-C', path, ...args], { env: ENV, timeoutMs: 30_000 })).stdout.trim();
  await git('init', '-q', '--initial-branch=main');
  let counter = 0;

  const checkout = async (branch: string): Promise<void> => {
    const exists = (await git('branch', '--list', branch)) !== '';
    if (exists) await git('checkout', '-q', branch);
    else await git('checkout', '-q', '-b', branch);
  };
  const resolve = (ref: string): Promise<string> => git('rev-parse', ref);

  return {
    path,
    resolve,
    async commit(message, branch = 'main') {
      if (counter > 0 || (await git('branch', '--list')) !== '') await checkout(branch);
      counter += 1;
      await writeFile(join(path, 'CHANGES.txt'), `${message} #${counter} ${Date.now()}\n`, { flag: 'a' });
      await git('add', 'CHANGES.txt');
      await git('commit', '-q', '-m', message);
      return resolve('HEAD');
    },
    async tag(name) {
      await git('tag', name);
      return resolve(`refs/tags/${name}`);
    },
    async rewriteLastCommit(message, branch = 'main') {
      await checkout(branch);
      await git('reset', '-q', '--hard', 'HEAD~1');
      counter += 1;
      await writeFile(join(path, 'REWRITTEN.txt'), `${message} #${counter} ${Date.now()}\n`);
      await git('add', 'REWRITTEN.txt');
      await git('commit', '-q', '-m', message);
      return resolve('HEAD');
    },
    async deleteBranch(name) {
      await git('checkout', '-q', 'main');
      await git('branch', '-q', '-D', name);
    },
  };
}
