/**
 * The status report as the small self-contained HTML page a browser gets: one table, inline CSS,
 * no script, every value escaped (./html).
 */
import { cell, escapeHtml, htmlDocument } from './html';
import type { LedgerView } from './ledger-view';
import { STATE_TTL_MS } from './mirror-states';
import type { StatusReport } from './report';

/** A row class from CodeHub's undocumented `update_status` (values seen: init, running, success, failed). */
function toneOf(updateStatus: string | null): string {
  if (updateStatus === null) return '';
  const status = updateStatus.toLowerCase();
  if (status.includes('fail') || status.includes('error')) return 'bad';
  return status.startsWith('success') ? 'ok' : '';
}

const LEDGER_COLUMNS = 6;

/** The ledger's cells of a row: the last push, the last confirmed push and its lag, the pending pushes. */
function ledgerCells(ledger: LedgerView | null): string {
  if (ledger === null) return `<td class="ledger-unknown" colspan="${LEDGER_COLUMNS}">a wildcard: each repository it reaches has its own pushes</td>`;
  if ('error' in ledger) return `<td class="ledger-error" colspan="${LEDGER_COLUMNS}">${escapeHtml(ledger.error)} (${escapeHtml(ledger.code)})</td>`;
  const last = ledger.last_push;
  const confirmed = ledger.last_confirmed;
  const refs = last === null || last.refs.length === 0 ? '' : `<br><span class="refs">${last.refs.map(escapeHtml).join(', ')}</span>`;
  const ids = ledger.pending_push_ids.length === 0 ? '' : `<br><span class="id">${ledger.pending_push_ids.map(escapeHtml).join('<br>')}</span>`;
  return [
    last === null ? cell('last-push', null) : `<td class="last-push"><span class="id">${escapeHtml(last.push_id)}</span>${refs}</td>`,
    cell('push-state', last?.state),
    cell('arrived-at', last?.arrived_at),
    confirmed === null ? cell('last-confirmed', null) : `<td class="last-confirmed"><span class="id">${escapeHtml(confirmed.push_id)}</span><br>${escapeHtml(confirmed.confirmed_at)}</td>`,
    cell('lag', confirmed === null ? null : `${confirmed.lag_seconds} s`),
    `<td class="pending"><span class="count">${escapeHtml(ledger.pending)}</span>${ids}</td>`,
  ].join('');
}

function renderRow(row: StatusReport['mirrors'][number], withLedger: boolean): string {
  const state = row.codehub;
  const trigger = row.last_trigger;
  const repository = row.repository_id ?? (row.target === undefined ? null : `${row.target} (not resolved here)`);
  const codehubCells =
    state === null
      ? `<td class="codehub-unknown" colspan="6">repository id not known in this container</td>`
      : 'error' in state
        ? `<td class="codehub-error" colspan="6">${escapeHtml(state.error)}${state.error_code === null ? '' : ` (${escapeHtml(state.error_code)})`}</td>`
        : [
            cell('update-status', state.update_status),
            cell('last-update', state.last_update_at),
            cell('last-success', state.last_successful_update_at),
            cell('failures', state.number_of_failures),
            cell('last-error', state.last_error),
            cell('enabled', state.mirroring_enabled),
          ].join('');
  const tone = state === null ? '' : 'error' in state ? 'bad' : toneOf(state.update_status);
  const ledger = withLedger ? ledgerCells(row.ledger) : '';
  return `<tr class="${tone}">${cell('source', row.source)}${cell('repository', repository)}${codehubCells}${cell('read-at', row.codehub_read_at)}${cell('jid', trigger?.jid)}${cell('triggered-at', trigger?.at)}${ledger}</tr>`;
}

const STYLE = `td.jid, td.last-error { font-family: ui-monospace, monospace; word-break: break-all; }
td.last-update, td.last-success, td.read-at, td.triggered-at, td.arrived-at, td.lag { white-space: nowrap; }
td.last-push .id, td.last-confirmed .id, td.pending .id { white-space: nowrap; word-break: normal; }
tr.ok td.update-status { color: #1a7f37; font-weight: 600; }
tr.bad td.update-status, td.codehub-error, td.ledger-error { color: #d1242f; }
td.codehub-unknown, td.ledger-unknown { color: #8c959f; }
th.ledger { background: #eef6ff; }
.refs { color: #59636e; font-size: .9em; }`;

/** The report as a page: one table, inline CSS, no script; every value escaped. The ledger's columns only with a ledger. */
export function renderStatusHtml(report: StatusReport): string {
  const withLedger = report.ledger_window !== null;
  const ledgerHeads = withLedger
    ? ['Last push', 'Push state', 'Arrived', 'Last confirmed', 'Lag', 'Pending'].map((name) => `<th class="ledger">${name}</th>`).join('')
    : '';
  const ledgerNote = withLedger ? ` The last push, last confirmed push and pending pushes come from the push ledger, shared by every container (the newest ${escapeHtml(report.ledger_window)} pushes of each mirror).` : '';
  return htmlDocument(
    'CodeHub mirrors',
    STYLE,
    `<h1>CodeHub mirrors</h1>
<p>Generated ${escapeHtml(report.generated_at)}. CodeHub's state of a mirror is read again after ${STATE_TTL_MS / 1000} s at the earliest; last triggers are those of ${escapeHtml(report.last_trigger_scope)} only.${ledgerNote}</p>
<table>
<thead><tr><th>Source</th><th>CodeHub repository</th><th>Status</th><th>Last update</th><th>Last success</th><th>Failures</th><th>Last error</th><th>Enabled</th><th>Read from CodeHub</th><th>Last trigger (jid)</th><th>Triggered at</th>${ledgerHeads}</tr></thead>
<tbody>
${report.mirrors.map((row) => renderRow(row, withLedger)).join('\n')}
</tbody>
</table>`,
  );
}
