/**
 * The commit statuses one mirror's side of a ledger entry comes to, pure: one per distinct commit
 * the mirror waits for (each pushed branch or tag head; a deletion has none), in the state the
 * ledger holds now. A late or repeated report task therefore always reports the truth of its moment,
 * and since the ledger never moves back, neither does a commit's status.
 */

import type { LedgerEntry, LedgerMirror } from '../ledger/types';
import { GiveUpCodes } from '../ledger/confirm';
import { mirrorStatus, type CommitStatus, type MirrorProgress } from '../report/index';

/** Where a status links: `REPORT_TARGET_URL` with `{push_id}` filled in; undefined = no link. */
export function targetUrlOf(template: string | undefined, pushId: string): string | undefined {
  return template === undefined ? undefined : template.replaceAll('{push_id}', encodeURIComponent(pushId));
}

/** The CodeHub repository as people know it: its path when configured by one, else its id. */
export function repositoryLabel(mirror: Pick<LedgerMirror, 'repositoryId' | 'target'>): string {
  return mirror.target ?? `repository ${mirror.repositoryId}`;
}

/**
 * How far the mirroring got: pending until final; success at the confirm time; failure when the
 * mirror never caught up; error when the bridge could not sync it (CodeHub refused, or the mirror
 * left the config), with the reason recorded.
 */
export function progressOf(mirror: Pick<LedgerMirror, 'state' | 'confirmedAt' | 'lastError'>): MirrorProgress {
  switch (mirror.state) {
    case 'received':
    case 'triggered':
      return { state: 'pending' };
    case 'mirrored':
      return { state: 'success', at: mirror.confirmedAt ?? 0 };
    case 'failed': {
      const error = mirror.lastError;
      if (error === undefined) return { state: 'failure', reason: 'not mirrored' };
      return { state: error.code === GiveUpCodes.NOT_MIRRORED ? 'failure' : 'error', reason: error.message };
    }
  }
}

/** Every status to send for `mirror` of `entry` (none when it waits for no commit). */
export function statusesOf(entry: Pick<LedgerEntry, 'pushId' | 'mirrors'>, mirror: LedgerMirror, targetUrlTemplate?: string): CommitStatus[] {
  const shas = new Set<string>();
  for (const ref of mirror.refs) if (ref.expect !== 'absent') shas.add(ref.expect.sha.toLowerCase());
  const progress = progressOf(mirror);
  const targetUrl = targetUrlOf(targetUrlTemplate, entry.pushId);
  return [...shas].map((sha) =>
    mirrorStatus({ sha, repository: repositoryLabel(mirror), progress, fanOut: entry.mirrors.length > 1, targetUrl }),
  );
}
