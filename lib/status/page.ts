/**
 * The status report as the small self-contained HTML page a browser gets: one table, inline CSS,
 * no script, every value escaped. And the `Accept` negotiation that picks it over JSON.
 */
import { STATE_TTL_MS } from './mirror-states';
import type { StatusReport } from './report';

/**
 * Whether `Accept` prefers HTML to JSON: `text/html` with a q above 0, and above JSON's (or equal
 * and listed first). Browsers send `text/html,…,*\/*;q=0.8`; curl and fetch send `*\/*` (JSON).
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  const weights = new Map<string, { q: number; order: number }>();
  accept.split(',').forEach((range, order) => {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    const qParameter = parameters.find((p) => p.startsWith('q='));
    const q = qParameter === undefined ? 1 : Number(qParameter.slice(2));
    if (!weights.has(type)) weights.set(type, { q: Number.isFinite(q) ? q : 0, order });
  });
  const html = weights.get('text/html');
  if (html === undefined || html.q <= 0) return false;
  const json = weights.get('application/json');
  if (json === undefined) return true;
  return html.q > json.q || (html.q === json.q && html.order < json.order);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe inside HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/** A row class from CodeHub's undocumented `update_status` (values seen: init, running, success, failed). */
function toneOf(updateStatus: string | null): string {
  if (updateStatus === null) return '';
  const status = updateStatus.toLowerCase();
  if (status.includes('fail') || status.includes('error')) return 'bad';
  return status.startsWith('success') ? 'ok' : '';
}

function cell(field: string, value: string | number | boolean | null | undefined): string {
  return `<td class="${field}">${value === null || value === undefined ? '<span class="none">—</span>' : escapeHtml(value)}</td>`;
}

function renderRow(row: StatusReport['mirrors'][number]): string {
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
  return `<tr class="${tone}">${cell('source', row.source)}${cell('repository', repository)}${codehubCells}${cell('read-at', row.codehub_read_at)}${cell('jid', trigger?.jid)}${cell('triggered-at', trigger?.at)}</tr>`;
}

/** The report as a page: one table, inline CSS, no script; every value escaped. */
export function renderStatusHtml(report: StatusReport): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CodeHub mirrors</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
p { color: #59636e; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d1d9e0; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.jid, td.last-error { font-family: ui-monospace, monospace; word-break: break-all; }
td.last-update, td.last-success, td.read-at, td.triggered-at { white-space: nowrap; }
tr.ok td.update-status { color: #1a7f37; font-weight: 600; }
tr.bad td.update-status, td.codehub-error { color: #d1242f; }
td.codehub-unknown, .none { color: #8c959f; }
</style>
</head>
<body>
<h1>CodeHub mirrors</h1>
<p>Generated ${escapeHtml(report.generated_at)}. CodeHub's state of a mirror is read again after ${STATE_TTL_MS / 1000} s at the earliest; last triggers are those of ${escapeHtml(report.last_trigger_scope)} only.</p>
<table>
<thead><tr><th>Source</th><th>CodeHub repository</th><th>Status</th><th>Last update</th><th>Last success</th><th>Failures</th><th>Last error</th><th>Enabled</th><th>Read from CodeHub</th><th>Last trigger (jid)</th><th>Triggered at</th></tr></thead>
<tbody>
${report.mirrors.map(renderRow).join('\n')}
</tbody>
</table>
</body>
</html>
`;
}
