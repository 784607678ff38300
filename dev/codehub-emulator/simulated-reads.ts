/**
 * ShowBranch, ShowTag and ShowCommit for a simulated repository, from its mirror's refs map, in
 * the shapes `./reads` answers for a git mirror. There are no commit objects: a commit is its SHA,
 * dated when the upstream got it, with no parents; a tag is lightweight and shows no `target`.
 */
import type { Reply } from './http';
import { notFound } from './reads';
import type { ReadRoute } from './reads';
import type { SimulatedMirror, SimulatedRef } from './simulated';

const AUTHOR = { name: 'Simulated Upstream', email: 'upstream@emulator.invalid' } as const;

function commitBody(head: SimulatedRef): Record<string, unknown> {
  const title = `simulated commit ${head.sha.slice(0, 8)}`;
  return {
    id: head.sha,
    // GitLab's (and so CodeHub's) short id: 8 hex digits.
    short_id: head.sha.slice(0, 8),
    title,
    message: `${title}\n`,
    author_name: AUTHOR.name,
    author_email: AUTHOR.email,
    authored_date: head.at,
    committer_name: AUTHOR.name,
    committer_email: AUTHOR.email,
    committed_date: head.at,
    created_at: head.at,
    parent_ids: [],
  };
}

/** The head a hex id names: a ref's SHA in full, or a prefix of exactly one SHA the mirror holds. */
function headByCommitId(mirror: SimulatedMirror, hex: string): SimulatedRef | undefined {
  const lower = hex.toLowerCase();
  let found: SimulatedRef | undefined;
  for (const head of mirror.refs.values()) {
    if (head.sha === lower) return head;
    if (!head.sha.startsWith(lower)) continue;
    // Two different commits share the prefix: ambiguous, as git says.
    if (found !== undefined && found.sha !== head.sha) return undefined;
    found = head;
  }
  return found;
}

export interface SimulatedReadContext {
  readonly mirror: SimulatedMirror;
  readonly defaultBranch: string | null;
}

/** Answers one read; `name` is the query parameter, already decoded, matched exactly. */
export function answerSimulatedRead(route: ReadRoute, name: string, context: SimulatedReadContext): Reply {
  const { refs } = context.mirror;
  switch (route) {
    case 'showBranch': {
      const head = refs.get(`refs/heads/${name}`);
      if (!head) return notFound(route);
      const body = {
        name,
        commit: commitBody(head),
        default: name === context.defaultBranch,
        protected: false,
        merged: false,
        developers_can_push: true,
        developers_can_merge: true,
      };
      return { status: 200, body };
    }
    case 'showTag': {
      const head = refs.get(`refs/tags/${name}`);
      return head ? { status: 200, body: { name, message: '', commit: commitBody(head) } } : notFound(route);
    }
    case 'showCommit': {
      // As for a git mirror: a commit id first, then a branch, then a tag.
      const head =
        (/^[0-9a-f]{4,64}$/i.test(name) ? headByCommitId(context.mirror, name) : undefined) ??
        refs.get(`refs/heads/${name}`) ??
        refs.get(`refs/tags/${name}`);
      return head ? { status: 200, body: commitBody(head) } : notFound(route);
    }
  }
}
