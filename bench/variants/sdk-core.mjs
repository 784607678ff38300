/**
 * Peer: the floor's job with the official SDK core (`@huaweicloud/huaweicloud-sdk-core`): its
 * `BasicCredentials` AK/SK signer and its HTTP client (axios on Node's keep-alive global agent).
 *
 * Wired as `ClientBuilder.build()` wires a generated service client (`HcClient` over
 * `DefaultHttpClient`), but without `ClientBuilder` itself: in sdk-core 3.1.211 it loads
 * `http/DefaultUserAgent.js`, which requires `uuid` without declaring it as a dependency (so it
 * is not installed) and writes an application id under the home directory. Skipping it can only
 * make this peer faster.
 */
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials.js';
import { HcClient } from '@huaweicloud/huaweicloud-sdk-core/HcClient.js';
import { DefaultHttpClient } from '@huaweicloud/huaweicloud-sdk-core/http/DefaultHttpClient.js';
import { answerJobs, readSetup, verifyAndRead } from './common.mjs';

const setup = readSetup();
const endpoints = [setup.endpoint.origin];
const credentials = new BasicCredentials().withAk(setup.ak).withSk(setup.sk).withProjectId(setup.projectId);
const httpClient = new DefaultHttpClient({ disableSslVerification: true, headers: { 'User-Agent': 'huaweicloud-usdk-nodejs/3.0' } }, endpoints);
const client = new HcClient(httpClient).withCredential(credentials).withEndpoints(endpoints);

async function post(repositoryId) {
  const result = await client.sendRequest({
    method: 'POST',
    url: '/v4/repositories/{repository_id}/remote-mirror',
    contentType: 'application/json',
    headers: {},
    pathParams: { repository_id: repositoryId },
    queryParams: {},
    data: { force_fetch: true },
  });
  return JSON.stringify(result);
}

export async function handler(event) {
  const read = verifyAndRead(setup, event);
  if (read.answer) return read.answer;
  return answerJobs(read.ids, await Promise.all(read.ids.map(post)));
}
