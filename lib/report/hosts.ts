/**
 * Which commit-status API a push's provider and source host call for. Apart from the reporters, so
 * that the webhook can tell whether a push is reported without loading them.
 */

import { ProviderIds, type ProviderId } from '../providers/types';
import type { ReportHost } from './types';

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
