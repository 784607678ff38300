/**
 * Running git for the emulator: `execFile` (no shell), no terminal prompts, a timeout, and source
 * credentials passed through the environment (`GIT_CONFIG_*`) so they never show in `ps`.
 */
import { execFile } from 'node:child_process';
import type { ExecFileException } from 'node:child_process';

export interface GitOutput {
  readonly stdout: string;
  readonly stderr: string;
}

export class GitError extends Error {
  override name = 'GitError';
  /** git's stderr (or the reason it did not run), as git printed it: scrub before showing it. */
  readonly stderr: string;
  constructor(message: string, stderr: string, options?: { cause?: unknown }) {
    super(message, options);
    this.stderr = stderr;
  }
}

export interface RunGitOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** Variables that would point git at another repository or inject configuration. */
const INHERITED_GIT_VARIABLES =
  /^(GIT_(DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|COMMON_DIR|NAMESPACE|PREFIX|QUARANTINE_PATH|CONFIG_PARAMETERS|CONFIG_COUNT|CONFIG_KEY_\d+|CONFIG_VALUE_\d+|ASKPASS|TERMINAL_PROMPT)|SSH_ASKPASS)$/;

export interface SourceCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * The environment for one git run: this process's, minus anything that would retarget git, with
 * prompts off, credential helpers off (nothing is stored or asked for), no auto gc, and, when
 * given, source credentials as a preemptive `http.extraHeader` for http(s) upstreams.
 */
export function gitEnvironment(credentials?: SourceCredentials): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !INHERITED_GIT_VARIABLES.test(name)) env[name] = value;
  }
  const config: [string, string][] = [
    ['credential.helper', ''],
    ['gc.auto', '0'],
    ['maintenance.auto', 'false'],
  ];
  if (credentials) {
    const basic = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
    config.push(['http.extraHeader', `Authorization: Basic ${basic}`]);
  }
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], index) => {
    env[`GIT_CONFIG_KEY_${index}`] = key;
    env[`GIT_CONFIG_VALUE_${index}`] = value;
  });
  env.GIT_TERMINAL_PROMPT = '0';
  env.GCM_INTERACTIVE = 'never';
  // Stable, English messages in last_error.
  env.LC_ALL = 'C';
  return env;
}

/** Runs `git ...args`; rejects with `GitError` on a non-zero exit, a timeout or an abort. */
export function runGit(args: readonly string[], options: RunGitOptions): Promise<GitOutput> {
  return new Promise<GitOutput>((resolve, reject) => {
    execFile(
      'git',
      [...args],
      {
        env: options.env,
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
        windowsHide: true,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (error: ExecFileException | null, stdout: string, stderr: string) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        const command = `git ${args[0] === '--git-dir' ? (args[2] ?? '') : (args[0] ?? '')}`;
        if (error.killed && error.signal === 'SIGKILL' && error.code !== 'ABORT_ERR') {
          reject(new GitError(`${command} timed out after ${options.timeoutMs} ms`, stderr, { cause: error }));
        } else if (error.code === 'ABORT_ERR' || error.name === 'AbortError') {
          reject(new GitError(`${command} was stopped: the emulator is closing`, stderr, { cause: error }));
        } else if (error.code === 'ENOENT') {
          reject(new GitError('git is not installed (or not on PATH)', '', { cause: error }));
        } else {
          reject(new GitError(`${command} exited with ${String(error.code)}`, stderr, { cause: error }));
        }
      },
    );
  });
}
