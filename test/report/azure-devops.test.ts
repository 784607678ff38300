import { GitStatusState, TypeInfo, type GitStatus, type GitStatusContext } from 'azure-devops-node-api/interfaces/GitInterfaces';
import { ContractSerializer } from 'azure-devops-node-api/Serialization';
import { VsoClient } from 'azure-devops-node-api/VsoClient';
import { RestClient } from 'typed-rest-client/RestClient';
import { describe, expect, it } from 'vitest';
import { parseRepositoryUrl } from '../../lib/providers/identity';
import { AZURE_DEVOPS_GENRE, AZURE_DEVOPS_STATES, azureDevOpsReporter } from '../../lib/report/azure-devops';
import { splitSource } from '../../lib/report/index';
import { StatusRequestError, type CommitState, type CommitStatus, type StatusRequest } from '../../lib/report/types';
import { validate, type Schema } from './json-schema';
import { SHA1, SHA256, TARGET_URL, TOKEN, bodyOf, expectJsonPost, expectTokenOnlyIn, hasLoneSurrogate, interfaceFields, longDescriptionWithEmojiAt, methodSource, packageFile, statusOf } from './support';

/*
 * Microsoft's description of "Statuses - Create" ships as its Node client, `azure-devops-node-api`:
 * `GitStatus` and `GitStatusContext` (d.ts), `GitStatusState` and its wire names in `TypeInfo`, and
 * `GitApi.createCommitStatus`. Everything below is read from the installed package at test time.
 */

/** A state as the REST API spells it: `TypeInfo`'s `enumValues` names, through which the client reads answers. */
type WireState = keyof typeof TypeInfo.GitStatusState.enumValues;
const WIRE_STATES = Object.keys(TypeInfo.GitStatusState.enumValues) as WireState[];

/** The body built from the vendor's types: `tsc` fails when a field the bridge sends leaves them. */
type WireStatus = Readonly<Record<Extract<keyof GitStatus, 'state'>, WireState>> &
  Required<Pick<GitStatus, 'description' | 'targetUrl'>> &
  Readonly<Record<Extract<keyof GitStatus, 'context'>, Required<Pick<GitStatusContext, 'name' | 'genre'>>>>;

/** What each of the bridge's states means, in Microsoft's enum. */
const VENDOR_STATES = {
  pending: GitStatusState.Pending,
  success: GitStatusState.Succeeded,
  failure: GitStatusState.Failed,
  error: GitStatusState.Error,
} as const satisfies Record<CommitState, GitStatusState>;
const STATES = Object.keys(VENDOR_STATES) as CommitState[];

function wireNameOf(state: GitStatusState): WireState | undefined {
  return WIRE_STATES.find((name) => TypeInfo.GitStatusState.enumValues[name] === state);
}

const GIT_INTERFACES = packageFile('azure-devops-node-api/interfaces/GitInterfaces.d.ts');
const GIT_STATUS_FIELDS = interfaceFields(GIT_INTERFACES, 'GitStatus');
const GIT_STATUS_CONTEXT_FIELDS = interfaceFields(GIT_INTERFACES, 'GitStatusContext');

/** Fields of `GitStatus` only; `state` a wire name, `context` of `GitStatusContext`'s fields. The d.ts makes every field optional. */
const VENDOR_BODY: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(GIT_STATUS_FIELDS.map((name) => [name, fieldSchema(name)])),
};

function fieldSchema(name: string): Schema {
  if (name === 'state') return { type: 'string', enum: WIRE_STATES };
  if (name !== 'context') return {};
  const fields = Object.fromEntries(GIT_STATUS_CONTEXT_FIELDS.map((field) => [field, { type: 'string' }]));
  return { type: 'object', additionalProperties: false, properties: fields };
}

/** What `GitApi.createCommitStatus` asks the location service for, and the HTTP method it sends the body with. */
function createCommitStatusCall(): { apiVersion: string; area: string; locationId: string; routeValues: string[]; httpMethod: string } {
  const source = methodSource(packageFile('azure-devops-node-api/GitApi.js'), 'createCommitStatus', 'gitCommitStatusToCreate, commitId, repositoryId, project');
  const versioning = /getVersioningData\("([^"]+)", "([^"]+)", "([^"]+)", routeValues\)/.exec(source);
  const routeValues = /let routeValues = \{([^}]*)\}/.exec(source)?.[1] ?? '';
  const restMethod = /this\.rest\.(\w+)\(url, gitCommitStatusToCreate, options\)/.exec(source)?.[1] ?? '';
  const rest = methodSource(packageFile('typed-rest-client/RestClient.js'), restMethod, 'resource, resources, options');
  return {
    apiVersion: versioning?.[1] ?? '',
    area: versioning?.[2] ?? '',
    locationId: versioning?.[3] ?? '',
    routeValues: [...routeValues.matchAll(/(\w+): \w+/g)].map((match) => match[1] ?? ''),
    httpMethod: (/this\.client\.(\w+)\(url, data, headers\)/.exec(rest)?.[1] ?? '').toUpperCase(),
  };
}
const CREATE_COMMIT_STATUS = createCommitStatusCall();

/**
 * The route of that location. The package asks the server for it at run time (`OPTIONS {base}/_apis/git`),
 * so it is written here: "Statuses - Create" (7.1) as documented, in the location service's form.
 */
const ROUTE_TEMPLATE = '{project}/_apis/{area}/repositories/{repositoryId}/commits/{commitId}/{resource}';

/** The vendor client's own URL building (`getRequestUrl`, protected there) over an API base. */
class VendorRoutes extends VsoClient {
  constructor(apiUrl: string) {
    super(apiUrl, new RestClient('codehub-mirror-bridge-test'));
  }

  urlOf(values: Readonly<Record<string, string>>): string {
    return this.getRequestUrl(ROUTE_TEMPLATE, CREATE_COMMIT_STATUS.area, 'statuses', { ...values });
  }
}

/** `major.minor` and whether it is a preview, of an api-version such as `7.2-preview.2`. */
function versionOf(apiVersion: string): { readonly number: readonly [number, number]; readonly preview: boolean } {
  const [, major = 'NaN', minor = 'NaN', preview] = /^(\d+)\.(\d+)(-preview(?:\.\d+)?)?$/.exec(apiVersion) ?? [];
  return { number: [Number(major), Number(minor)], preview: preview !== undefined };
}

/** The request for the repository a service hook's `remoteUrl` names, to its default API base. */
function requestFor(remoteUrl: string, state: CommitState = 'pending', overrides: Partial<CommitStatus> = {}): { apiUrl: string; request: StatusRequest } {
  const source = parseRepositoryUrl(remoteUrl);
  const { host, path } = splitSource('identity' in source ? source.identity : '');
  const apiUrl = azureDevOpsReporter.defaultApiUrl(host, path);
  return { apiUrl, request: azureDevOpsReporter.request(apiUrl, path, statusOf(state, overrides), TOKEN) };
}

describe('azureDevOpsReporter against Microsoft\'s azure-devops-node-api', () => {
  it('sends only states the vendor names, spelt as on the wire', () => {
    // Assess
    expect(WIRE_STATES).toEqual(expect.arrayContaining(Object.values(AZURE_DEVOPS_STATES)));
  });

  it.each(STATES)('sends %s as the GitStatus the vendor describes, which its client reads back as that state', (state) => {
    // Prepare
    const expected: WireStatus = {
      state: wireNameOf(VENDOR_STATES[state]) ?? 'notSet',
      description: 'mirroring to CodeArts group/name',
      targetUrl: TARGET_URL,
      context: { name: 'CodeArts mirror', genre: AZURE_DEVOPS_GENRE },
    };

    // Act
    const { request } = requestFor('https://fabrikam@dev.azure.com/fabrikam/Fiber/_git/Web', state);

    // Assess
    expectJsonPost(request);
    expect(request.method).toBe(CREATE_COMMIT_STATUS.httpMethod);
    expect(validate(bodyOf(request), VENDOR_BODY)).toEqual([]);
    expect(bodyOf(request)).toEqual(expected);
    // The client's own reading of a GitStatus from JSON (unknown names become NotSet).
    const read: unknown = ContractSerializer.deserialize(bodyOf(request), TypeInfo.GitStatus, false, false);
    expect(read).toMatchObject({ state: VENDOR_STATES[state] });
  });

  it('has checks that would refuse a wrong body (so the tests above can fail)', () => {
    // Prepare
    // @ts-expect-error: GitHub's spelling of the state is no GitStatusState name
    const wrongState: WireStatus = { state: 'success', description: '', targetUrl: '', context: { name: 'a', genre: 'b' } };
    // @ts-expect-error: GitHub's spelling of the URL is no field of GitStatus
    const wrongField: WireStatus = { state: 'pending', description: '', target_url: '', context: { name: 'a', genre: 'b' } };

    // Act
    const problems = [wrongState, wrongField, { state: 'pending', context: { name: 'a', kind: 'b' } }].map((body) => validate(body, VENDOR_BODY));

    // Assess
    expect(problems.map((found) => found.length > 0)).toEqual([true, true, true]);
  });

  it('fills the route values Microsoft\'s client fills, at the location it asks for', () => {
    // Assess
    expect(CREATE_COMMIT_STATUS.area).toBe('git');
    expect(CREATE_COMMIT_STATUS.locationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const templated = [...ROUTE_TEMPLATE.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).filter((name) => name !== 'area' && name !== 'resource');
    expect(templated.sort()).toEqual([...CREATE_COMMIT_STATUS.routeValues].sort());
  });

  it.each([
    ['https://dev.azure.com/fabrikam/Fiber/_git/Web', { project: 'fiber', repositoryId: 'web' }],
    ['https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo', { project: 'my project', repositoryId: 'my repo' }],
    ['https://dev.azure.com/fabrikam/_git/Fiber', { project: 'fiber', repositoryId: 'fiber' }],
    ['https://fabrikam.visualstudio.com/DefaultCollection/Fiber/_git/Web', { project: 'fiber', repositoryId: 'web' }],
    ['https://tfs.example.com:8443/tfs/DefaultCollection/Fiber/_git/Web', { project: 'fiber', repositoryId: 'web' }],
  ])('builds the URL Microsoft\'s client builds for %s', (remoteUrl, values) => {
    // Act
    const { apiUrl, request } = requestFor(remoteUrl);

    // Assess
    const url = new URL(request.url);
    expect(`${url.origin}${url.pathname}`).toBe(new VendorRoutes(apiUrl).urlOf({ ...values, commitId: SHA1 }));
  });

  it('asks for a released api-version no newer than the one Microsoft\'s client asks for', () => {
    // Prepare
    const vendor = versionOf(CREATE_COMMIT_STATUS.apiVersion);

    // Act
    const sent = versionOf(new URL(requestFor('https://dev.azure.com/fabrikam/Fiber/_git/Web').request.url).searchParams.get('api-version') ?? '');

    // Assess
    expect(vendor.number.every(Number.isInteger)).toBe(true);
    expect(sent.preview).toBe(false);
    const [major, minor] = sent.number;
    expect(major < vendor.number[0] || (major === vendor.number[0] && minor <= vendor.number[1])).toBe(true);
  });
});

describe('azureDevOpsReporter', () => {
  it.each([
    [
      'dev.azure.com',
      'https://fabrikam@dev.azure.com/fabrikam/Fiber/_git/Web',
      'https://dev.azure.com/fabrikam',
      `https://dev.azure.com/fabrikam/fiber/_apis/git/repositories/web/commits/${SHA1}/statuses?api-version=7.1`,
    ],
    [
      'a project and a repository with spaces',
      'https://dev.azure.com/fabrikam/My%20Project/_git/My%20Repo',
      'https://dev.azure.com/fabrikam',
      `https://dev.azure.com/fabrikam/my%20project/_apis/git/repositories/my%20repo/commits/${SHA1}/statuses?api-version=7.1`,
    ],
    [
      'a repository named like its project, without the project',
      'https://dev.azure.com/fabrikam/_git/Fiber',
      'https://dev.azure.com/fabrikam',
      `https://dev.azure.com/fabrikam/fiber/_apis/git/repositories/fiber/commits/${SHA1}/statuses?api-version=7.1`,
    ],
    [
      'an organization named like its project',
      'https://dev.azure.com/fiber/Fiber/_git/Web',
      'https://dev.azure.com/fiber',
      `https://dev.azure.com/fiber/fiber/_apis/git/repositories/web/commits/${SHA1}/statuses?api-version=7.1`,
    ],
    [
      'the old visualstudio.com form with a collection',
      'https://fabrikam.visualstudio.com/DefaultCollection/Fiber/_git/Web',
      'https://fabrikam.visualstudio.com/defaultcollection',
      `https://fabrikam.visualstudio.com/defaultcollection/fiber/_apis/git/repositories/web/commits/${SHA1}/statuses?api-version=7.1`,
    ],
    [
      'Azure DevOps Server under a virtual directory',
      'https://tfs.example.com:8443/tfs/DefaultCollection/Fiber/_git/Web',
      'https://tfs.example.com:8443/tfs/defaultcollection',
      `https://tfs.example.com:8443/tfs/defaultcollection/fiber/_apis/git/repositories/web/commits/${SHA1}/statuses?api-version=7.1`,
    ],
  ])('sends a status for %s to its project and repository', (_, remoteUrl, apiUrl, url) => {
    // Act
    const built = requestFor(remoteUrl);

    // Assess
    expect(built.apiUrl).toBe(apiUrl);
    expect(built.request.url).toBe(url);
  });

  it('takes a project-less path against an API URL that names the collection (api_url override)', () => {
    // Act
    const request = azureDevOpsReporter.request('https://tfs.example.com/tfs/DefaultCollection', 'tfs/defaultcollection/_git/web', statusOf('success'), TOKEN);

    // Assess
    expect(request.url).toBe(`https://tfs.example.com/tfs/DefaultCollection/web/_apis/git/repositories/web/commits/${SHA1}/statuses?api-version=7.1`);
  });

  it('takes a 64-hex SHA-256 commit', () => {
    // Act
    const { request } = requestFor('https://dev.azure.com/fabrikam/Fiber/_git/Web', 'success', { sha: SHA256 });

    // Assess
    expect(request.url).toContain(`/commits/${SHA256}/statuses?`);
  });

  it('cuts a long description without splitting a surrogate pair', () => {
    // Act
    const { request } = requestFor('https://dev.azure.com/fabrikam/Fiber/_git/Web', 'failure', { description: longDescriptionWithEmojiAt(255) });

    // Assess
    const sent = String(bodyOf(request)['description']);
    expect(sent.length).toBeLessThanOrEqual(255);
    expect(hasLoneSurrogate(sent)).toBe(false);
  });

  it('puts the token in the Authorization header only, as Basic base64(":" + PAT)', () => {
    // Act
    const { request } = requestFor('https://dev.azure.com/fabrikam/Fiber/_git/Web');

    // Assess
    const header = request.headers['authorization'] ?? '';
    expectTokenOnlyIn(request, 'authorization', header);
    expect(header.startsWith('Basic ')).toBe(true);
    expect(Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8')).toBe(`:${TOKEN}`);
  });

  it.each(['fabrikam/fiber/web', 'fabrikam/_git/fiber/extra', '_git/web'])('refuses %s on dev.azure.com, which names no repository there', (path) => {
    // Act
    const build = (): unknown => azureDevOpsReporter.defaultApiUrl('dev.azure.com', path);

    // Assess
    expect(build).toThrow(StatusRequestError);
  });
});
