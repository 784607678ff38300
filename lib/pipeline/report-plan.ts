/**
 * Whether a push's state in a mirror is reported upstream as a commit status: its host has a status
 * API the bridge can set, and the config holds a reporting token for the mirror (its own, else its
 * host's). Apart from the reporting worker so that the webhook asks without loading the reporters.
 */

import { reportSettingsFor, type MirrorIndex } from '../config/mapping';
import type { MirrorTarget } from '../config/types';
import { hostOf } from '../providers/identity';
import type { ProviderId } from '../providers/types';
import { reportHostOf } from '../report/hosts';

export function isReported(index: MirrorIndex, provider: ProviderId | undefined, mirror: Pick<MirrorTarget, 'source' | 'report'>): boolean {
  if (provider === undefined || reportHostOf(provider, hostOf(mirror.source)) === undefined) return false;
  return reportSettingsFor(index, mirror) !== undefined;
}
