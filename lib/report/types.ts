/**
 * Commit statuses the bridge reports back to the upstream Git host (issue 13): what a status is, the
 * HTTP request that sets one, and the one interface each host implements. Everything in `report/` is
 * pure: no I/O, no clock. The reporting worker sends the requests, with its own retries and budget.
 */

/** The bridge's own words for a commit's mirror state; each host maps them to its states. */
export type CommitState = 'pending' | 'success' | 'failure' | 'error';

/** The context (GitHub, Gitea), name (GitLab), key (Bitbucket) or context name (Azure DevOps) of every status. */
export const DEFAULT_CONTEXT = 'CodeArts mirror';

/** One status on one commit. */
export interface CommitStatus {
  readonly state: CommitState;
  /** The commit: 40 (SHA-1) or 64 (SHA-256) hex digits, either case. */
  readonly sha: string;
  /**
   * What tells this status apart from other systems' on the same commit: `DEFAULT_CONTEXT`, or
   * `CodeArts mirror (group/name)` when a push fans out to several CodeHub repositories
   * (`statusContext` in describe.ts). Later states of the same mirror must use the same context.
   */
  readonly context: string;
  /** One line for people (`describeMirror`); each host cuts it to its own limit. */
  readonly description: string;
  /** Where the status links: the CodeArts repository page, or the bridge's `GET /pushes/{id}`. */
  readonly targetUrl?: string | undefined;
}

/** The HTTP request that sets a status. The token is in `headers` only: never in `url` or `body`. */
export interface StatusRequest {
  readonly method: 'POST' | 'PUT';
  readonly url: string;
  /** Lower-case names: `authorization` (or the host's token header), `content-type`, `accept`, `user-agent`. */
  readonly headers: Readonly<Record<string, string>>;
  /** JSON. */
  readonly body: string;
}

/**
 * The commit-status APIs the bridge can set. Forgejo speaks Gitea's API (`gitea`); GitHub Enterprise
 * Server is `github` with its own API base. Gitee, GitCode and Gogs have no commit-status API that
 * could be verified, so they have no reporter.
 */
export type ReportHost = 'github' | 'gitlab' | 'gitea' | 'bitbucket' | 'bitbucket-dc' | 'azure-devops';

/**
 * One host's commit-status API. `sourceHost` and `sourcePath` are a source identity's two halves
 * (`host/path`, lib/providers/identity.ts): lower case, so every host must look the path up without
 * regard to case (all of them do).
 */
export interface StatusReporter {
  readonly host: ReportHost;
  /**
   * The API base the requests go to when `report.api_url` is not configured.
   * @throws StatusRequestError (`REPORT_BAD_SOURCE_PATH`) when the path is not one of this host's repositories
   */
  defaultApiUrl(sourceHost: string, sourcePath: string): string;
  /**
   * The request that sets `status` on the repository at `sourcePath`, sent to `apiUrl` (a
   * `defaultApiUrl` or a configured override: http(s), no credentials, query or fragment).
   * @throws StatusRequestError when the API URL, path, SHA, status or token cannot make a request
   */
  request(apiUrl: string, sourcePath: string, status: CommitStatus, token: string): StatusRequest;
}

export const StatusRequestErrorCodes = {
  /** The API URL is not http(s), or carries credentials, a query or a fragment. */
  REPORT_BAD_API_URL: 'REPORT_BAD_API_URL',
  /** The source path is not the shape of a repository on this host (`owner/repo`, …). */
  REPORT_BAD_SOURCE_PATH: 'REPORT_BAD_SOURCE_PATH',
  /** The SHA is not 40 or 64 hex digits. */
  REPORT_BAD_SHA: 'REPORT_BAD_SHA',
  /** An empty context, a target URL that is not http(s), or a time that is no time. */
  REPORT_BAD_STATUS: 'REPORT_BAD_STATUS',
  /** An empty token, or one with a control character (it would break the header). */
  REPORT_BAD_TOKEN: 'REPORT_BAD_TOKEN',
} as const;
export type StatusRequestErrorCode = (typeof StatusRequestErrorCodes)[keyof typeof StatusRequestErrorCodes];

/**
 * A status request that cannot be built: a bug or a configuration mistake, never worth a retry. The
 * message never quotes the token or the API URL (which could hold credentials).
 */
export class StatusRequestError extends Error {
  override name = 'StatusRequestError';
  readonly code: StatusRequestErrorCode;
  constructor(code: StatusRequestErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
