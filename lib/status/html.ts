/**
 * What the status routes' HTML pages share: the `Accept` negotiation that picks HTML over JSON,
 * escaping, the table cell, the stylesheet and the answer's headers. Pages are small and
 * self-contained: inline CSS, no script, every value escaped.
 */
import type { HttpResponse } from '../http/event';

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

export const NONE = '<span class="none">—</span>';

/** A cell of class `field` holding `value` escaped, or a dash for none. */
export function cell(field: string, value: string | number | boolean | null | undefined): string {
  return `<td class="${field}">${value === null || value === undefined ? NONE : escapeHtml(value)}</td>`;
}

/** The stylesheet both pages start from. */
export const BASE_STYLE = `body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1f2328; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
h2 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
p { color: #59636e; margin: 0 0 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d1d9e0; padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.none { color: #8c959f; }
.id { font-family: ui-monospace, monospace; word-break: break-all; }`;

/** A whole page: `title` (escaped here), `style` appended to the base stylesheet, `body` already escaped. */
export function htmlDocument(title: string, style: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
${BASE_STYLE}
${style}
</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** A 200 page with the headers that keep it inert. */
export function htmlResponse(body: string, headers: Readonly<Record<string, string>>): HttpResponse {
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      // The page has no script, image or external asset: nothing else may load, even if injected.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      ...headers,
    },
    body,
  };
}
