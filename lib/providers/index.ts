/**
 * Every supported Git host, and which one sent a delivery.
 */

import { azureDevops } from './azure-devops';
import { bitbucket } from './bitbucket';
import { forgejo, gitea, gogs } from './gitea';
import { gitcode } from './gitcode';
import { gitee } from './gitee';
import { github } from './github';
import { gitlab } from './gitlab';
import type { Headers, Provider } from './types';

/**
 * All providers in detection order, most specific first: Forgejo also sends Gitea's headers, and
 * Gitea sends Gogs' and GitHub's, so the first whose own headers are present is the sender. Azure
 * DevOps has no header of its own (it is known by Basic credentials, which others may carry too),
 * so it comes last and never takes a delivery another host claims.
 */
export const providers: readonly Provider[] = [
  forgejo,
  gitea,
  gogs,
  github,
  gitlab,
  gitcode,
  gitee,
  bitbucket,
  azureDevops,
];

/** The provider that sent a delivery with these (lower-case) headers, or undefined for an unknown sender. */
export function detectProvider(headers: Headers): Provider | undefined {
  return providers.find((provider) => provider.detect(headers));
}
