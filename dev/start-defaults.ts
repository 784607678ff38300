/** Values `npm start`, `npm run demo` and the README agree on; development values, not secrets. */
export const DEMO_SECRET_DEFAULT = 'local-demo-secret';
/** The bearer key of `GET /mirrors` in the demo (`MIRRORS_STATUS_KEY` overrides it). */
export const DEMO_STATUS_KEY_DEFAULT = 'local-status-key';

/** One demo mirror: a source on a host `npm run send` can sign for, and its own emulator repository. */
export interface DemoMirror {
  /** `--host` of `npm run send`. */
  readonly host: 'github' | 'gitlab' | 'gitee' | 'gitea';
  /** `--repo` of `npm run send`. */
  readonly repo: string;
  /** The configured source: the host's public server and `repo`. */
  readonly source: string;
  readonly repositoryId: number;
  /** The emulator repository's name (group `acme`). */
  readonly name: string;
}

/** The mirrors of `npm start`'s demo config: one per host of the README's `npm run send` examples. */
export const DEMO_MIRRORS: readonly DemoMirror[] = [
  { host: 'github', repo: 'acme/demo', source: 'github.com/acme/demo', repositoryId: 1001, name: 'demo' },
  { host: 'gitlab', repo: 'acme/demo', source: 'gitlab.com/acme/demo', repositoryId: 1002, name: 'demo-gitlab' },
  { host: 'gitee', repo: 'acme/demo', source: 'gitee.com/acme/demo', repositoryId: 1003, name: 'demo-gitee' },
  { host: 'gitea', repo: 'acme/demo', source: 'gitea.com/acme/demo', repositoryId: 1004, name: 'demo-gitea' },
];

/** The CodeHub repository github.com/acme/demo maps to (`npm run demo` follows this one). */
export const DEMO_REPOSITORY_ID = 1001;
