/** The CodeHub calls the bridge makes, as seen by the handler. Implemented by `createCodeHubClient`. */

/** Body of `POST /v4/repositories/{id}/remote-mirror`, in plain text; the client base64-encodes credentials. */
export interface MirrorSyncRequest {
  readonly forceFetch: boolean;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly endpointUuid?: string | undefined;
}

export interface MirrorSyncResult {
  /** CodeHub's sync job id. */
  readonly jid: string;
}

export interface CallOptions {
  /** Absolute deadline, epoch milliseconds: the call (with any retries) fails with CODEHUB_TIMEOUT past it. */
  readonly deadline?: number | undefined;
}

export interface CodeHub {
  /** Starts a remote-mirror sync. Throws `CodeHubError` on anything but 200 with a `jid`. */
  startMirrorSync(repositoryId: number, request: MirrorSyncRequest, options?: CallOptions): Promise<MirrorSyncResult>;
}
