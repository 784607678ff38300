import type { ReceivedHeaders } from '../../lib/codehub/verify';

/** The bridge's own call, as the CodeArts Repo API docs give it (the official Node SDK signer). */
export const BRIDGE_VECTOR = {
  method: 'POST',
  url: 'https://codehub-ext.cn-north-4.myhuaweicloud.com/v4/repositories/2111111/remote-mirror',
  headers: { 'content-type': 'application/json', 'X-Project-Id': '0123456789abcdef0123456789abcdef' },
  body: '{"force_fetch":true}',
  ak: 'AccessKey',
  sk: 'SecretKey',
  date: Date.UTC(2024, 0, 1, 0, 0, 0),
} as const;

/** What a server receives for a request signed with `signRequest`: node:http's lower-case headers. */
export function received(
  input: { method: string; url: string; headers: Readonly<Record<string, string>>; body: string },
  added: Readonly<Record<string, string>>,
): { method: string; pathAndQuery: string; headers: ReceivedHeaders; body: string } {
  const url = new URL(input.url);
  const headers: Record<string, string> = { host: url.host };
  for (const [name, value] of Object.entries({ ...input.headers, ...added })) headers[name.toLowerCase()] = value;
  return { method: input.method, pathAndQuery: `${url.pathname}${url.search}`, headers, body: input.body };
}
