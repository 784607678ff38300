'use strict';
/* global module, __dirname, __filename -- CommonJS, loaded by serverless with require() */
/**
 * IAM statements for serverless.yml (`custom.iam.secretStatements: ${file(./scripts/iam-statements.cjs)}`, given to every function's role):
 * exactly the SSM parameters and Secrets Manager secrets the function reads, nothing wider.
 *
 * - `ssm:GetParameter` on each parameter the mirror config names (`ssm:/path/name`), on
 *   `MIRROR_CONFIG_PARAMETER`, and on those the CODEHUB_* credentials name;
 * - `secretsmanager:GetSecretValue` on each secret named (`secretsmanager:name[#key]`), as
 *   `secret:name-??????` (Secrets Manager appends six random characters to every secret's ARN);
 * - `kms:Decrypt` only on the customer managed keys listed in `SECRETS_KMS_KEY_ARNS` (comma-separated
 *   ARNs), and only through SSM or Secrets Manager. Parameters and secrets encrypted with the AWS
 *   managed keys (aws/ssm, aws/secretsmanager) need no grant: those keys' policies allow every
 *   principal of the account that may call the service.
 *
 * Nothing named, no statements. ARNs are `Fn::Sub` over AWS::Partition, AWS::Region and
 * AWS::AccountId, so packaging needs no AWS credentials. The config is the one the function will read,
 * by its precedence: `MIRROR_CONFIG`, else (for `MIRROR_CONFIG_PARAMETER`, whose text is in SSM and
 * cannot be read offline) the local `MIRROR_CONFIG_FILE` if it exists, else `MIRROR_CONFIG_FILE`
 * (default mirrors.yml). References are found by lib/config itself (loaded through tsx), so the
 * grammar cannot drift from what the function resolves; a config without any skips that entirely.
 */

const REFERENCE_HINT = /ssm:|secretsmanager:/;
const CODEHUB_SECRET_VARIABLES = ['CODEHUB_SK', 'CODEHUB_IAM_PASSWORD', 'CODEHUB_TOKEN', 'CODEHUB_SECURITY_TOKEN'];
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

/**
 * @param {{ env?: Record<string, string | undefined>, serviceDir?: string, warn?: (message: string) => void }} [options]
 * @returns {Promise<object[]>} IAM statements
 */
async function iamStatements(options = {}) {
  const { readFileSync, existsSync } = await import('node:fs');
  const path = await import('node:path');
  const env = options.env ?? process.env;
  const serviceDir = options.serviceDir ?? path.resolve(__dirname, '..');
  const warn = options.warn ?? ((message) => process.stderr.write(`iam-statements: ${message}\n`));
  const set = (name) => (env[name] ?? '').trim() !== '';

  const parameterNames = new Set();
  const secretNames = new Set();
  let configText;
  if (set('MIRROR_CONFIG')) {
    configText = env.MIRROR_CONFIG;
  } else {
    const file = path.resolve(serviceDir, set('MIRROR_CONFIG_FILE') ? env.MIRROR_CONFIG_FILE : 'mirrors.yml');
    const fileText = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    if (set('MIRROR_CONFIG_PARAMETER')) {
      const name = env.MIRROR_CONFIG_PARAMETER.trim().replace(/^ssm:/, '');
      parameterNames.add(name);
      if (fileText === undefined) {
        warn(`MIRROR_CONFIG_PARAMETER ${name} is granted, but its references cannot be read offline and no local ${path.relative(serviceDir, file)} holds a copy: none of them is granted`);
      } else {
        warn(`MIRROR_CONFIG_PARAMETER ${name} is granted; the references in it are taken from ${path.relative(serviceDir, file)} (keep the two the same)`);
      }
    }
    configText = fileText;
  }

  const credentials = CODEHUB_SECRET_VARIABLES.filter((name) => REFERENCE_HINT.test(env[name] ?? ''));
  const hasConfigReferences = configText !== undefined && REFERENCE_HINT.test(configText);
  if (hasConfigReferences || credentials.length > 0) {
    const lib = await loadConfigModules();
    if (hasConfigReferences) {
      try {
        // env undefined: env:NAME is checked for form only; the deploying shell need not hold the secrets.
        const { references } = lib.load.inspectMirrorConfig(configText, undefined, await lib.load.loadYamlParser());
        for (const { reference } of references) (reference.kind === 'ssm' ? parameterNames : secretNames).add(reference.name);
      } catch (error) {
        if (error === null || typeof error !== 'object' || error.name !== 'ConfigError') throw error;
        warn(`the mirror config is invalid, so none of its references is granted (npm run check-config says more): ${error.message}`);
      }
    }
    for (const variable of credentials) {
      const reference = lib.secrets.parseSecretReference(env[variable].trim(), variable);
      if (reference !== undefined) (reference.kind === 'ssm' ? parameterNames : secretNames).add(reference.name);
    }
  }

  const kmsKeys = (env.SECRETS_KMS_KEY_ARNS ?? '')
    .split(',')
    .map((arn) => arn.trim())
    .filter((arn) => arn !== '');
  for (const arn of kmsKeys) {
    if (!KMS_KEY_ARN.test(arn)) throw new Error(`SECRETS_KMS_KEY_ARNS: not a KMS key ARN (arn:aws:kms:region:account:key/id): ${arn}`);
  }

  const statements = [];
  if (parameterNames.size > 0) {
    statements.push({
      Effect: 'Allow',
      Action: ['ssm:GetParameter'],
      Resource: [...parameterNames].sort().map((name) => sub(`arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`)),
    });
  }
  if (secretNames.size > 0) {
    statements.push({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: [...secretNames].sort().map((name) => sub(`arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${name}-??????`)),
    });
  }
  const services = [
    ...(parameterNames.size > 0 ? ['ssm'] : []),
    ...(secretNames.size > 0 ? ['secretsmanager'] : []),
  ];
  if (kmsKeys.length > 0 && services.length > 0) {
    statements.push({
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: [...new Set(kmsKeys)].sort(),
      Condition: { StringEquals: { 'kms:ViaService': services.map((service) => sub(`${service}.\${AWS::Region}.amazonaws.com`)) } },
    });
  }
  return statements;
}

function sub(text) {
  return { 'Fn::Sub': text };
}

/** lib/config is TypeScript; tsx (a devDependency, present wherever `sls package` runs) loads it. */
async function loadConfigModules() {
  const { tsImport } = await import('tsx/esm/api');
  const { pathToFileURL } = await import('node:url');
  const parent = pathToFileURL(__filename).href;
  const [load, secrets] = await Promise.all([tsImport('../lib/config/load.ts', parent), tsImport('../lib/config/secrets.ts', parent)]);
  return { load, secrets };
}

// serverless calls the exported function with its own argument ({ options, resolveVariable, … }),
// which is not ours: always read the real environment then.
module.exports = () => iamStatements();
module.exports.iamStatements = iamStatements;
