/**
 * Every supported Git host, and which one sent a delivery.
 */

import { bitbucket } from './bitbucket';
import { forgejo, gitea, gogs } from './gitea';
import { gitcode } from './gitcode';
import { gitee } from './gitee';
import { github } from './github';
import { gitlab } from './gitlab';
import type { Headers, Provider } from './types';

/**
 * All providers in detection order, most specific first: Forgejo also sends Gitea's headers, and
 * Gitea sends Gogs' and GitHub's, so the first whose own headers are present is the sender.
 */
export const providers: readonly Provider[] = [forgejo, gitea, gogs, github, gitlab, gitcode, gitee, bitbucket];

/** The provider that sent a delivery with these (lower-case) headers, or undefined for an unknown sender. */
export function detectProvider(headers: Headers): Provider | undefined {
  return providers.find((provider) => provider.detect(headers));
}
