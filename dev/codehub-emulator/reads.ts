/**
 * ShowBranch, ShowTag and ShowCommit, answered from the mirror's real bare repository. A name is
 * never handed to git as a revision (`main~1`, `:/text` and `@{…}` would resolve to something
 * else): refs are listed with `for-each-ref` and matched exactly, and only a hex string is ever
 * resolved as a commit id.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GitError, gitEnvironment, runGit } from './git';
import type { Reply } from './http';

export type ReadRoute = 'showBranch' | 'showTag' | 'showCommit';

/** The query parameter each read takes its name from. */
export const READ_PARAMETERS: Readonly<Record<ReadRoute, string>> = {
  showBranch: 'branch_name',
  showTag: 'tag_name',
  showCommit: 'sha',
};

const NOT_FOUND: Readonly<Record<ReadRoute, string>> = {
  showBranch: 'Branch Not Found',
  showTag: 'Tag Not Found',
  showCommit: 'Commit Not Found',
};

interface RefEntry {
  readonly refname: string;
  readonly objectId: string;
  readonly objectType: string;
  readonly subject: string;
}

/** The format of `for-each-ref`: fields separated by NUL (`%00` there), which no ref name or subject holds. */
const REF_FORMAT = ['%(refname)', '%(objectname)', '%(objecttype)', '%(contents:subject)'].join('%00');

/** CodeHub's answer for a branch, tag or commit the mirror does not have. */
export function notFound(route: ReadRoute): Reply {
  return { status: 404, body: { error_code: 'CH.004404', error_msg: NOT_FOUND[route] } };
}

async function git(dir: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return (await runGit(['--git-dir', dir, ...args], { env: gitEnvironment(), timeoutMs })).stdout;
}

/** The ref `prefix + name` exactly, or undefined. */
async function findRef(dir: string, prefix: 'refs/heads/' | 'refs/tags/', name: string, timeoutMs: number): Promise<RefEntry | undefined> {
  const stdout = await git(dir, ['for-each-ref', `--format=${REF_FORMAT}`, prefix], timeoutMs);
  for (const line of stdout.split('\n')) {
    const [refname = '', objectId = '', objectType = '', subject = ''] = line.split('\0');
    if (refname === `${prefix}${name}`) return { refname, objectId, objectType, subject };
  }
  return undefined;
}

/** The commit a hex id names (full or unambiguous abbreviation), or undefined. */
async function resolveCommitId(dir: string, hex: string, timeoutMs: number): Promise<string | undefined> {
  try {
    return (await git(dir, ['rev-parse', '--verify', '--quiet', `${hex}^{commit}`], timeoutMs)).trim();
  } catch (error) {
    if (error instanceof GitError) return undefined;
    throw error;
  }
}

/** A commit as ShowCommit (and the `commit` of ShowBranch/ShowTag) shows it. */
async function commitBody(dir: string, sha: string, timeoutMs: number): Promise<Record<string, unknown>> {
  // `%x00` is NUL in `git show` formats.
  const format = ['%H', '%h', '%P', '%s', '%B', '%an', '%ae', '%aI', '%cn', '%ce', '%cI'].join('%x00');
  const stdout = await git(dir, ['show', '-s', `--format=${format}`, sha], timeoutMs);
  const [id = sha, shortId = '', parents = '', title = '', message = '', authorName, authorEmail, authoredDate, committerName, committerEmail, committedDate] =
    stdout.replace(/\n$/, '').split('\0');
  return {
    id,
    short_id: shortId,
    title,
    message,
    author_name: authorName,
    author_email: authorEmail,
    authored_date: authoredDate,
    committer_name: committerName,
    committer_email: committerEmail,
    committed_date: committedDate,
    created_at: committedDate,
    parent_ids: parents === '' ? [] : parents.split(' '),
  };
}

export interface ReadContext {
  /** The bare mirror repository. */
  readonly mirrorDir: string;
  readonly defaultBranch: string | null;
  readonly gitTimeoutMs: number;
}

/** Answers one read; `name` is the query parameter, already decoded. */
export async function answerRead(route: ReadRoute, name: string, context: ReadContext): Promise<Reply> {
  const dir = context.mirrorDir;
  const timeoutMs = context.gitTimeoutMs;
  // Never synced: no repository yet, so nothing in it.
  if (!existsSync(join(dir, 'HEAD'))) return notFound(route);
  switch (route) {
    case 'showBranch': {
      const ref = await findRef(dir, 'refs/heads/', name, timeoutMs);
      if (!ref || ref.objectType !== 'commit') return notFound(route);
      return {
        status: 200,
        body: {
          name,
          commit: await commitBody(dir, ref.objectId, timeoutMs),
          default: name === context.defaultBranch,
          protected: false,
          merged: false,
          developers_can_push: true,
          developers_can_merge: true,
        },
      };
    }
    case 'showTag': {
      const ref = await findRef(dir, 'refs/tags/', name, timeoutMs);
      if (!ref) return notFound(route);
      const annotated = ref.objectType === 'tag';
      // Peeled to the commit through any chain of tags; a tag of a tree or blob has none.
      const commitId = await resolveCommitId(dir, ref.objectId, timeoutMs);
      if (commitId === undefined) return notFound(route);
      return {
        status: 200,
        body: { name, message: annotated ? ref.subject : '', target: ref.objectId, commit: await commitBody(dir, commitId, timeoutMs) },
      };
    }
    case 'showCommit': {
      // As GitLab: a commit id first, then a branch, then a tag.
      let sha = /^[0-9a-f]{4,64}$/i.test(name) ? await resolveCommitId(dir, name, timeoutMs) : undefined;
      if (sha === undefined) {
        const ref = (await findRef(dir, 'refs/heads/', name, timeoutMs)) ?? (await findRef(dir, 'refs/tags/', name, timeoutMs));
        if (ref) sha = await resolveCommitId(dir, ref.objectId, timeoutMs);
      }
      return sha === undefined ? notFound(route) : { status: 200, body: await commitBody(dir, sha, timeoutMs) };
    }
  }
}
