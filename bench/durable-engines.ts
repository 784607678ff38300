/**
 * The local SQS and DynamoDB engines for the durable bench, in a process of their own (on the
 * bench's CPU, not the measured one), with the resources of serverless.yml. Prints one JSON line
 * `{ sqsEndpoint, dynamodbEndpoint, variables }` once ready; stops when its stdin closes.
 */
import { startLocalEngines } from '../dev/engines';
import { provisionLocal } from '../scripts/provision-local';

const engines = await startLocalEngines();
const env = { AWS_ENDPOINT_URL_SQS: engines.sqsEndpoint, AWS_ENDPOINT_URL_DYNAMODB: engines.dynamodbEndpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
Object.assign(process.env, env);
const variables = await provisionLocal({ env, warn: () => undefined });
process.stdout.write(`${JSON.stringify({ env, variables })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void engines.close().then(() => process.exit(0));
});
