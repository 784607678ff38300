import { readFileSync } from 'node:fs';
import type { Delivery, Headers } from '../../lib/providers/types';

/** The exact bytes of a file in test/fixtures. */
export function fixtureBytes(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
}

/** A delivery as the pipeline hands it to a provider; `now` defaults to a fixed instant. */
export function makeDelivery(headers: Headers, body: string | Buffer, now = Date.UTC(2024, 4, 20, 2, 12, 33)): Delivery {
  return { headers, rawBody: typeof body === 'string' ? Buffer.from(body, 'utf8') : body, now };
}

/** A form-encoded body carrying `json` in its `payload` field, encoded as Go's url.Values does. */
export function formBody(json: string): string {
  return `payload=${encodeURIComponent(json).replace(/%20/g, '+')}`;
}

/**
 * A delivery that arrived as text, as most do: `bodyText` beside bytes that are never read (reading
 * them throws), so a test proves the provider worked from the text alone.
 */
export function makeTextDelivery(headers: Headers, body: string, now = Date.UTC(2024, 4, 20, 2, 12, 33)): Delivery {
  return {
    headers,
    bodyText: body,
    now,
    get rawBody(): Buffer {
      throw new Error('the bytes of a text delivery were read');
    },
  };
}
