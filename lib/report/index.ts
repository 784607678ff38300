/**
 * The commit-status reporter for each Git host, and which one a source's provider and host call
 * for. Wired in by the reporting worker (issue 13); pure like the rest of `report/`.
 */

import { hostOf } from '../providers/identity';
import { azureDevOpsReporter } from './azure-devops';
import { bitbucketReporter } from './bitbucket';
import { bitbucketDcReporter } from './bitbucket-dc';
import { giteaReporter } from './gitea';
import { githubReporter } from './github';
import { gitlabReporter } from './gitlab';
import type { ReportHost, StatusReporter } from './types';

export { reportHostOf } from './hosts';
export { describeMirror, mirrorStatus, statusContext, type MirrorProgress, type MirrorStatusOptions } from './describe';
export {
  DEFAULT_CONTEXT,
  StatusRequestError,
  StatusRequestErrorCodes,
  type CommitState,
  type CommitStatus,
  type ReportHost,
  type StatusReporter,
  type StatusRequest,
  type StatusRequestErrorCode,
} from './types';

/** Every host's reporter. */
export const REPORTERS: Readonly<Record<ReportHost, StatusReporter>> = {
  github: githubReporter,
  gitlab: gitlabReporter,
  gitea: giteaReporter,
  bitbucket: bitbucketReporter,
  'bitbucket-dc': bitbucketDcReporter,
  'azure-devops': azureDevOpsReporter,
};

/** The reporter for `host`. */
export function reporterFor(host: ReportHost): StatusReporter {
  return REPORTERS[host];
}

/** A source identity's two halves, as `StatusReporter` takes them: `github.com` and `acme/api`. */
export function splitSource(identity: string): { readonly host: string; readonly path: string } {
  const host = hostOf(identity);
  return { host, path: identity.slice(host.length + 1) };
}
