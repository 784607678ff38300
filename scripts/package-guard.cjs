'use strict';
/* global module */
/**
 * A local serverless plugin (serverless.yml `plugins: [./scripts/package-guard.cjs]`): before
 * `sls package` (and so `sls deploy`) builds the artefact, it checks that the artefact can work:
 *
 * - every function's handler file exists (`dist/webhook.js` …), else: run `npm run package`, which
 *   builds first, or `npm run build`;
 * - the function will have a mirror config: `MIRROR_CONFIG` (the text), `MIRROR_CONFIG_PARAMETER`
 *   (an SSM parameter), or the file `MIRROR_CONFIG_FILE` names (default `mirrors.yml`), which must
 *   exist inside this folder, since it is packaged and read relative to the function's root.
 *
 * Each problem is one message saying what to provide; nothing needs AWS credentials.
 */

const NO_CONFIG =
  'no mirror config to package: create mirrors.yml (cp mirrors.example.yml mirrors.yml, then edit it), ' +
  'or set MIRROR_CONFIG_FILE to a config file in this folder, MIRROR_CONFIG to the config text, ' +
  'or MIRROR_CONFIG_PARAMETER to the SSM parameter that holds it';

/**
 * What stops the artefact from working, in words, or undefined when nothing does.
 * @param {{ env: Record<string, string | undefined>, serviceDir: string, handlers: string[] }} input
 *   `handlers` as serverless.yml writes them (`dist/webhook.handler`)
 * @returns {Promise<string | undefined>}
 */
async function packagingProblem({ env, serviceDir, handlers }) {
  const [{ existsSync: exists }, path] = await Promise.all([import('node:fs'), import('node:path')]);
  const missing = handlers.map((handler) => `${handler.slice(0, handler.lastIndexOf('.'))}.js`).filter((file) => !exists(path.resolve(serviceDir, file)));
  if (missing.length > 0) {
    return `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not built: run \`npm run package\` (builds, then packages) or \`npm run build\` first`;
  }
  const set = (name) => (env[name] ?? '').trim() !== '';
  if (set('MIRROR_CONFIG') || set('MIRROR_CONFIG_PARAMETER')) return undefined;
  const named = set('MIRROR_CONFIG_FILE') ? env.MIRROR_CONFIG_FILE : 'mirrors.yml';
  const relative = path.relative(serviceDir, path.resolve(serviceDir, named));
  if (relative.split(path.sep)[0] === '..' || path.isAbsolute(relative)) {
    return `MIRROR_CONFIG_FILE (${named}) must be a file inside ${serviceDir}: it is packaged with the function and read from there`;
  }
  if (!exists(path.resolve(serviceDir, named))) return set('MIRROR_CONFIG_FILE') ? `MIRROR_CONFIG_FILE names ${named}, which does not exist; ${NO_CONFIG}` : NO_CONFIG;
  return undefined;
}

class PackageGuard {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:initialize': () => this.check() };
  }

  async check() {
    const { service, classes } = this.serverless;
    const problem = await packagingProblem({
      env: process.env,
      serviceDir: this.serverless.serviceDir ?? this.serverless.config.servicePath,
      handlers: Object.values(service.functions ?? {}).map((fn) => fn.handler).filter((handler) => typeof handler === 'string'),
    });
    if (problem !== undefined) throw new classes.Error(problem, 'PACKAGE_GUARD');
  }
}

module.exports = PackageGuard;
module.exports.packagingProblem = packagingProblem;
