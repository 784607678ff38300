/**
 * The fetch of a git-backed mirror: `git fetch` of the upstream into a bare repository (created on
 * first use), following the upstream's HEAD, and reading the mirror's refs back. The job around it
 * (lifecycle, delays, state) is `./mirror`.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GitError, gitEnvironment, runGit } from './git';
import type { SourceCredentials } from './git';
import type { MirrorRefs, SyncRequest } from './mirror-types';

/** Whether git would treat `upstream` as a URL (or scp-like `user@host:path`) rather than a local path. */
function isGitUrl(upstream: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(upstream) || /^[^/:]+@[^/:]+:/.test(upstream);
}

function isHttpUrl(upstream: string): boolean {
  return /^https?:\/\//i.test(upstream);
}

/** A local path made absolute (against `baseDir`, default the working directory); URLs as they are. */
export function normaliseUpstream(upstream: string, baseDir?: string): string {
  if (isGitUrl(upstream)) return upstream;
  return baseDir === undefined ? resolve(upstream) : resolve(baseDir, upstream);
}

/** Removes credentials from text git printed: URL user-info, and each secret that was in play. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let result = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
  for (const secret of secrets) if (secret.length >= 3) result = result.split(secret).join('***');
  return result;
}

/** Every spelling of the source credentials that git could print. */
export function secretsOf(credentials: SourceCredentials | undefined): string[] {
  if (!credentials) return [];
  const basic = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
  return [credentials.password, Buffer.from(credentials.password, 'utf8').toString('base64'), basic];
}

export interface GitFetchOptions {
  /** The bare mirror repository. */
  readonly dir: string;
  readonly upstream: string;
  readonly request: SyncRequest;
  readonly timeoutMs: number;
  /** Stops git when the emulator closes. */
  readonly signal: AbortSignal;
}

/** Points the mirror's HEAD at the upstream's default branch and returns it; best effort. */
async function followUpstreamHead(options: GitFetchOptions, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const { dir, upstream, timeoutMs, signal } = options;
  try {
    const { stdout } = await runGit(['--git-dir', dir, 'ls-remote', '--symref', '--', upstream, 'HEAD'], { env, timeoutMs, signal });
    const head = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(stdout)?.[1];
    if (head === undefined) return undefined;
    await runGit(['--git-dir', dir, 'symbolic-ref', 'HEAD', head], { env, timeoutMs });
    return head.slice('refs/heads/'.length);
  } catch {
    // An upstream without a HEAD (empty, or a server that hides it) leaves the mirror's as it was.
    return undefined;
  }
}

/**
 * `git fetch` of the upstream's branches and tags: forced and pruned when `forceFetch`, else
 * fast-forward only (a force-push upstream then fails). Resolves to the upstream's default branch
 * when it shows one; rejects with `GitError`.
 */
export async function fetchIntoGitMirror(options: GitFetchOptions): Promise<{ defaultBranch: string | undefined }> {
  const { dir, upstream, request, timeoutMs, signal } = options;
  const env = gitEnvironment(isHttpUrl(upstream) ? request.credentials : undefined);
  if (!existsSync(join(dir, 'HEAD'))) {
    await mkdir(dir, { recursive: true });
    await runGit(['init', '--bare', '--quiet', dir], { env, timeoutMs, signal });
  }
  const refspecs = request.forceFetch
    ? ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*']
    : ['refs/heads/*:refs/heads/*', 'refs/tags/*:refs/tags/*'];
  const force = request.forceFetch ? ['--force', '--prune'] : [];
  await runGit(['--git-dir', dir, 'fetch', '--no-write-fetch-head', '--no-recurse-submodules', ...force, '--', upstream, ...refspecs], {
    env,
    timeoutMs,
    signal,
  });
  return { defaultBranch: await followUpstreamHead(options, env) };
}

/** The bare mirror's refs (`git for-each-ref`) and HEAD's branch; empty before the first sync. */
export async function readGitMirrorRefs(dir: string, timeoutMs: number): Promise<MirrorRefs> {
  const refs: Record<string, string> = {};
  if (!existsSync(join(dir, 'HEAD'))) return { head: null, refs };
  const env = gitEnvironment();
  const { stdout } = await runGit(['--git-dir', dir, 'for-each-ref', '--format=%(objectname) %(refname)'], { env, timeoutMs });
  for (const line of stdout.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) refs[line.slice(space + 1)] = line.slice(0, space);
  }
  let head: string | null = null;
  try {
    head = (await runGit(['--git-dir', dir, 'symbolic-ref', '--quiet', 'HEAD'], { env, timeoutMs })).stdout.trim();
  } catch (error) {
    // A detached HEAD has no branch; anything else is a real failure.
    if (!(error instanceof GitError)) throw error;
  }
  return { head, refs };
}
