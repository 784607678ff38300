/**
 * AWS CodeCommit pushes, as EventBridge delivers them ("CodeCommit Repository State Change").
 * Pure: no signature to check, since only EventBridge may invoke the function (IAM is the trust);
 * this reads the event into the same `Push` the webhook providers produce.
 */

import { PayloadError } from '../errors';
import { sourceIdentity } from './identity';
import { isJsonObject, objectField, requireString, stringField, ZERO_SHA } from './shared';
import type { Push } from './types';

/** EventBridge's `source` for CodeCommit events. */
export const CODECOMMIT_EVENT_SOURCE = 'aws.codecommit';
/** EventBridge's `detail-type` for ref changes (and unreferenced merge commits). */
export const CODECOMMIT_STATE_CHANGE = 'CodeCommit Repository State Change';

export type CodeCommitReadResult =
  | { readonly kind: 'push'; readonly push: Push }
  /** An event the bridge has no use for (another source, detail-type or `detail.event`). */
  | { readonly kind: 'ignored'; readonly reason: string };

const REFERENCE_EVENTS = ['referenceCreated', 'referenceUpdated', 'referenceDeleted'] as const;
type ReferenceEvent = (typeof REFERENCE_EVENTS)[number];

// Both go into a host name and a path, so they are held to what AWS allows.
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
/** CodeCommit's own rule for repository names. */
const REPOSITORY_NAME = /^[\w.-]{1,100}$/;

function isReferenceEvent(value: string | undefined): value is ReferenceEvent {
  return REFERENCE_EVENTS.some((event) => event === value);
}

/** The host of CodeCommit's HTTPS Git endpoint in `region`; China regions are under amazonaws.com.cn. */
export function codeCommitGitHost(region: string): string {
  return `git-codecommit.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

/**
 * Reads an EventBridge event: a CodeCommit `referenceCreated`, `referenceUpdated` or
 * `referenceDeleted` → one push of one ref; any other event → ignored. Throws `PayloadError` for
 * an event that is not an object, or a reference event without the fields CodeCommit always sends.
 */
export function readCodeCommitEvent(event: unknown): CodeCommitReadResult {
  if (!isJsonObject(event)) throw new PayloadError('event is not an object');
  const source = stringField(event, 'source');
  if (source !== CODECOMMIT_EVENT_SOURCE) {
    return { kind: 'ignored', reason: `event source "${source ?? '(none)'}" is not ${CODECOMMIT_EVENT_SOURCE}` };
  }
  const detailType = stringField(event, 'detail-type');
  if (detailType !== CODECOMMIT_STATE_CHANGE) {
    return { kind: 'ignored', reason: `CodeCommit event "${detailType ?? '(none)'}" is not a repository state change` };
  }
  const detail = objectField(event, 'detail');
  if (detail === undefined) throw new PayloadError('event has no detail');
  const change = stringField(detail, 'event');
  if (!isReferenceEvent(change)) {
    return { kind: 'ignored', reason: `CodeCommit event "${change ?? '(none)'}" changes no reference` };
  }

  const region = requireString(event, 'region', 'region');
  if (!REGION.test(region)) throw new PayloadError('event region is not an AWS region');
  const repositoryName = requireString(detail, 'repositoryName', 'detail.repositoryName');
  if (!REPOSITORY_NAME.test(repositoryName)) throw new PayloadError('event detail.repositoryName is not a CodeCommit repository name');
  const ref = requireString(detail, 'referenceFullName', 'detail.referenceFullName');
  if (!ref.startsWith('refs/')) throw new PayloadError('event detail.referenceFullName is not a full ref name');
  // A created ref has no old commit and a deleted one no new commit; CodeCommit leaves them out.
  const before = change === 'referenceCreated' ? ZERO_SHA : requireString(detail, 'oldCommitId', 'detail.oldCommitId');
  const after = change === 'referenceDeleted' ? ZERO_SHA : requireString(detail, 'commitId', 'detail.commitId');

  // The identity is the HTTPS clone URL's host and path, as a configured source would name it.
  // No `defaultBranch`: the event does not name the repository's default branch.
  const host = codeCommitGitHost(region);
  const path = `v1/repos/${repositoryName}`;
  return {
    kind: 'push',
    push: {
      source: sourceIdentity(host, path),
      refs: [{ ref, before, after, deleted: change === 'referenceDeleted' }],
      cloneUrl: `https://${host}/${path}`,
    },
  };
}
