/**
 * The commit-status reporter for each Git host, and which one a source's provider and host call
 * for. Wired in by the reporting worker (issue 13); pure like the rest of `report/`.
 */

import { hostOf } from '../providers/identity';
import { ProviderIds, type ProviderId } from '../providers/types';
import { azureDevOpsReporter } from './azure-devops';
import { bitbucketReporter } from './bitbucket';
import { bitbucketDcReporter } from './bitbucket-dc';
import { giteaReporter } from './gitea';
import { githubReporter } from './github';
import { gitlabReporter } from './gitlab';
import type { ReportHost, StatusReporter } from './types';

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

const BITBUCKET_CLOUD_HOST = 'bitbucket.org';

/**
 * Which status API a push's provider and source host call for; undefined for Gitee, GitCode and
 * Gogs, which have no commit-status API that could be verified. (CodeCommit pushes come from no
 * provider, and report nothing.)
 */
export function reportHostOf(provider: ProviderId, sourceHost: string): ReportHost | undefined {
  switch (provider) {
    case ProviderIds.github:
      return 'github';
    case ProviderIds.gitlab:
      return 'gitlab';
    case ProviderIds.gitea:
    case ProviderIds.forgejo:
      return 'gitea';
    case ProviderIds.bitbucket:
      return sourceHost === BITBUCKET_CLOUD_HOST ? 'bitbucket' : 'bitbucket-dc';
    case ProviderIds.azureDevops:
      return 'azure-devops';
    case ProviderIds.gogs:
    case ProviderIds.gitee:
    case ProviderIds.gitcode:
      return undefined;
  }
}

/** A source identity's two halves, as `StatusReporter` takes them: `github.com` and `acme/api`. */
export function splitSource(identity: string): { readonly host: string; readonly path: string } {
  const host = hostOf(identity);
  return { host, path: identity.slice(host.length + 1) };
}
