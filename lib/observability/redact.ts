/**
 * Redaction, in one place. Two rules: structured fields are replaced by name (`redact`, and the
 * logger's `redactingReplacer`), and free text that may echo a credential (CodeHub's and IAM's
 * messages, a canonical request, a mirror's last error) goes through `redactText`.
 */

/** What replaces the value of a secret-named field. */
export const REDACTED = '[redacted]';

/** What replaces a credential found in free text. */
const REDACTED_TEXT = '<redacted>';

const SECRET_FIELD = /secret|token|password|passwd|authorization|signature|^sk$|credential|cookie/i;

/** Whether a field of this name may hold a secret, so that its value is never written. */
export function isSecretFieldName(name: string): boolean {
  return SECRET_FIELD.test(name);
}

function describeError(error: Error): Record<string, unknown> {
  return { name: error.name, message: error.message, code: (error as { code?: unknown }).code };
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * A copy of `value` with the values of secret-named fields replaced, at any depth (to 8 levels),
 * and errors described as `{name, message, code}`. Only plain objects and arrays are walked; other
 * objects (a Date, a Buffer) are kept as they are.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return describeError(value);
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item: unknown) => redact(item, depth + 1));
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = isSecretFieldName(key) ? REDACTED : redact(item, depth + 1);
  return copy;
}

/** `redact` as a `JSON.stringify` replacer, for writing a log line in one pass. */
export function redactingReplacer(this: Readonly<Record<string, unknown>>, key: string, value: unknown): unknown {
  if (key !== '' && isSecretFieldName(key)) return REDACTED;
  // `this[key]` is the value before any toJSON(): errors are described alike, HttpError included.
  const original = this[key];
  return original instanceof Error ? describeError(original) : value;
}

/** Header lines of a canonical request that carry a token (`|`- or newline-separated, as APIG reports it). */
const TOKEN_HEADER_LINE = /(^|[|\n])(x-security-token|x-auth-token|authorization):[^|\n]*/gi;

/**
 * The userinfo of a URL in any scheme (`https://user:pass@host`, `ssh://git@host`): everything from
 * `://` to the last `@` before the path. Linear: each try starts at a `://` and stops at the next
 * `/`, so no two tries scan the same characters.
 */
const URL_USERINFO = /:\/\/[^/?#\s]*@/g;

/** Shorter strings would mangle ordinary words without protecting anything. */
const MIN_SECRET_LENGTH = 4;

/** The ways a secret is seen written: as is, base64 (padded or not), base64url and percent-encoded. */
function writtenForms(secret: string): string[] {
  const base64 = Buffer.from(secret, 'utf8').toString('base64');
  return [secret, base64, base64.replace(/=+$/, ''), Buffer.from(secret, 'utf8').toString('base64url'), encodeURIComponent(secret)];
}

/**
 * `text` without credentials: always without URL userinfo and the values of token-bearing header
 * lines; and without each of `secrets` in any of its written forms (as is, base64, base64url,
 * percent-encoded). Each is replaced with `<redacted>`.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let result = text
    .replace(TOKEN_HEADER_LINE, (_match, separator: string, name: string) => `${separator}${name}:${REDACTED_TEXT}`)
    .replace(URL_USERINFO, `://${REDACTED_TEXT}@`);
  const forms = new Set(secrets.flatMap(writtenForms).filter((form) => form.length >= MIN_SECRET_LENGTH));
  // Longest first, so that a secret containing another is replaced whole.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) result = result.split(form).join(REDACTED_TEXT);
  return result;
}
