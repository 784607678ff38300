/**
 * The irreducible work every variant shares, written by hand with node:crypto only:
 * - verify: HMAC-SHA256 of the body against `X-Hub-Signature-256`, compared in constant time;
 * - read: one `JSON.parse` of the body, then `host/full_name` looked up in a Map built at init;
 * - sign: the `SDK-HMAC-SHA256` signature CodeHub's gateway checks (SHA-256 of the body, of the
 *   canonical request, and an HMAC of the string to sign with the SK);
 * - answer: the job id(s) as JSON.
 * The variants differ only in the HTTP client that carries the signed POST.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Reads the same environment the bridge reads (`MIRROR_CONFIG` JSON, `CODEHUB_*`). */
export function readSetup(env = process.env) {
  const config = JSON.parse(env.MIRROR_CONFIG);
  const bySource = new Map();
  for (const mirror of config.mirrors) {
    const ids = bySource.get(mirror.source);
    if (ids) ids.push(mirror.repository_id);
    else bySource.set(mirror.source, [mirror.repository_id]);
  }
  const endpoint = new URL(env.CODEHUB_ENDPOINT);
  return {
    secret: config.webhooks['github.com'].secret,
    bySource,
    endpoint,
    ak: env.CODEHUB_AK,
    sk: env.CODEHUB_SK,
    projectId: env.CODEHUB_PROJECT_ID,
  };
}

/** Verifies and reads a GitHub push: the repository ids to sync, or the answer to give instead. */
export function verifyAndRead(setup, event) {
  const body = event.body;
  const header = event.headers['x-hub-signature-256'] ?? '';
  const expected = createHmac('sha256', setup.secret).update(body).digest();
  const received = Buffer.from(header.slice(7), 'hex');
  if (received.length !== expected.length || !timingSafeEqual(received, expected)) {
    return { answer: { statusCode: 401, body: '{"error":"signature mismatch"}' } };
  }
  const push = JSON.parse(body);
  const host = push.repository.html_url.split('/')[2];
  const ids = setup.bySource.get(`${host}/${push.repository.full_name}`.toLowerCase());
  if (!ids) return { answer: { statusCode: 202, body: '{"status":"ignored"}' } };
  return { ids };
}

function sha256Hex(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** `YYYYMMDDTHHMMSSZ` */
function sdkDate(now) {
  const iso = new Date(now).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

export const MIRROR_BODY = Buffer.from('{"force_fetch":true}');

/** The path of the mirror call and the headers that sign it (content-type, host, x-project-id, x-sdk-date). */
export function signedMirrorCall(setup, repositoryId) {
  const path = `/v4/repositories/${repositoryId}/remote-mirror`;
  const date = sdkDate(Date.now());
  const canonical = `POST\n${path}/\n\ncontent-type:application/json\nhost:${setup.endpoint.host}\nx-project-id:${setup.projectId}\nx-sdk-date:${date}\n\ncontent-type;host;x-project-id;x-sdk-date\n${sha256Hex(MIRROR_BODY)}`;
  const signature = createHmac('sha256', setup.sk).update(`SDK-HMAC-SHA256\n${date}\n${sha256Hex(canonical)}`).digest('hex');
  return {
    path,
    headers: {
      'content-type': 'application/json',
      'x-project-id': setup.projectId,
      'x-sdk-date': date,
      authorization: `SDK-HMAC-SHA256 Access=${setup.ak}, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=${signature}`,
    },
  };
}

/** The job id(s) CodeHub answered, as the bridge's answer carries them. */
export function answerJobs(ids, answers) {
  const jobs = answers.map((text, i) => {
    const { jid } = JSON.parse(text);
    if (typeof jid !== 'string') throw new Error(`CodeHub answered without a jid: ${text}`);
    return { repository_id: ids[i], jid };
  });
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(jobs.length === 1 ? { jid: jobs[0].jid, jobs } : { jobs }),
  };
}
