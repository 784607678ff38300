import { createHash, createHmac, hash, timingSafeEqual } from 'node:crypto';

/** Inputs from this size go through `createHash`: Node documents one-shot `hash` as slower for large data. */
const ONE_SHOT_LIMIT = 1024 * 1024;

/**
 * SHA-256 of `data` (a string as UTF-8). Small inputs use one-shot `crypto.hash` (Node 20.12+),
 * a quarter of `createHash`'s cost: it allocates no Hash object, and the signer and idempotency
 * key hash a few short strings on every delivery.
 */
export function sha256(data: string | Uint8Array, encoding: 'hex' | 'base64url'): string {
  return data.length < ONE_SHOT_LIMIT ? hash('sha256', data, encoding) : createHash('sha256').update(data).digest(encoding);
}

/**
 * Constant-time equality of two strings or byte sequences. Different lengths return false at once:
 * the length of a signature is public, its content is not.
 */
export function safeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const left = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
  const right = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

/** HMAC-SHA256 of `data` keyed with `key`, as raw bytes. */
export function hmacSha256(key: string | Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** HMAC-SHA256 as lower-case hex. */
export function hmacSha256Hex(key: string | Uint8Array, data: string | Uint8Array): string {
  return createHmac('sha256', key).update(data).digest('hex');
}
