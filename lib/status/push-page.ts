/**
 * `GET /pushes/{push_id}` as the page a browser gets: the push, its refs, and per mirror what the
 * bridge did and saw. Self-contained like the mirrors page (./html): inline CSS, no script, every
 * value escaped.
 */
import type { PushStatus } from '../ledger/types';
import { cell, escapeHtml, htmlDocument, NONE } from './html';

type MirrorStatus = PushStatus['mirrors'][number];

/** Values one per line in a cell, each escaped; a dash for none. */
function lines(field: string, values: readonly string[]): string {
  return `<td class="${field}">${values.length === 0 ? NONE : values.map(escapeHtml).join('<br>')}</td>`;
}

function headsOf(mirror: MirrorStatus): string[] {
  return Object.entries(mirror.confirmed_heads ?? {}).map(([ref, head]) => `${ref}: ${typeof head === 'string' ? head : head.sha}`);
}

function mirrorRow(mirror: MirrorStatus): string {
  const error = mirror.last_error;
  return `<tr class="${escapeHtml(mirror.state)}">${[
    // A mirror by path records id 0 until its path is resolved (before its first trigger).
    cell('repository', mirror.repository_id === 0 ? 'not resolved yet' : mirror.repository_id),
    cell('target', mirror.target),
    cell('mirror-state', mirror.state),
    lines('waits-for', mirror.waits_for),
    lines('jids', mirror.jids),
    cell('attempts', mirror.attempts),
    lines('confirmed-heads', headsOf(mirror)),
    cell('confirmed-at', mirror.confirmed_at),
    error === null ? cell('last-error', null) : `<td class="last-error">${escapeHtml(error.code)}: ${escapeHtml(error.message)}<br>${escapeHtml(error.at)}</td>`,
  ].join('')}</tr>`;
}

function refRow(change: PushStatus['refs'][number]): string {
  return `<tr>${cell('ref', change.ref)}${cell('before', change.before)}${cell('after', change.after)}${cell('deleted', change.deleted)}</tr>`;
}

const STYLE = `td.before, td.after, td.jids, td.confirmed-heads { font-family: ui-monospace, monospace; word-break: break-all; }
td.confirmed-at { white-space: nowrap; }
.state { font-weight: 600; }
.state.mirrored, tr.mirrored td.mirror-state { color: #1a7f37; }
.state.failed, tr.failed td.mirror-state, td.last-error { color: #d1242f; }`;

/** The push status (`pushStatusOf`) as a page. */
export function renderPushHtml(status: PushStatus): string {
  return htmlDocument(
    `Push ${status.push_id}`,
    STYLE,
    `<h1>Push <span class="id push-id">${escapeHtml(status.push_id)}</span>: <span class="state ${escapeHtml(status.state)}">${escapeHtml(status.state)}</span></h1>
<p>From <span class="source">${escapeHtml(status.source)}</span>, arrived <span class="arrived-at">${escapeHtml(status.arrived_at)}</span>. Read from the push ledger, which every container shares.</p>
<h2>Refs</h2>
<table class="refs">
<thead><tr><th>Ref</th><th>Before</th><th>After</th><th>Deleted</th></tr></thead>
<tbody>
${status.refs.map(refRow).join('\n')}
</tbody>
</table>
<h2>Mirrors</h2>
<table class="mirrors">
<thead><tr><th>CodeHub repository</th><th>Target</th><th>State</th><th>Waits for</th><th>Jobs (jid)</th><th>Checks</th><th>Confirmed heads</th><th>Confirmed at</th><th>Last error</th></tr></thead>
<tbody>
${status.mirrors.map(mirrorRow).join('\n')}
</tbody>
</table>`,
  );
}
