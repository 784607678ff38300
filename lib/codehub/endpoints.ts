/**
 * Where CodeHub (CodeArts Repo) and IAM live per region. The hostnames follow three naming
 * generations (Huawei Cloud's "Regions and Endpoints" page); a configured `CODEHUB_ENDPOINT` overrides this table.
 */
import { ConfigError } from '../errors';

const CODEHUB_HOST_PREFIX = {
  'cn-east-2': 'codehub-ext',
  'cn-south-1': 'codehub-ext',
  'cn-east-3': 'codehub-ext',
  'cn-north-4': 'codehub-ext',
  'cn-north-1': 'codehub-ext',
  'cn-south-2': 'codehub-ext',
  'cn-southwest-2': 'codehub-ext',
  'sa-brazil-1': 'codehub-ext',
  'la-north-2': 'codehub-ext',
  'ap-southeast-3': 'codehub-ext',
  'la-south-2': 'codeartsrepo-ext',
  'tr-west-1': 'codeartsrepo-ext',
  'eu-west-101': 'codeartsrepo-ext',
  'me-east-1': 'repo',
  'af-south-1': 'repo',
  'af-north-1': 'repo',
} as const;

export type CodeHubRegion = keyof typeof CODEHUB_HOST_PREFIX;

/** The 16 regions CodeHub's public API is served in. */
export const CODEHUB_REGIONS = Object.keys(CODEHUB_HOST_PREFIX) as readonly CodeHubRegion[];

export function isCodeHubRegion(region: string): region is CodeHubRegion {
  return Object.hasOwn(CODEHUB_HOST_PREFIX, region);
}

/**
 * CodeHub's base URL for a region, e.g. `https://codehub-ext.cn-north-4.myhuaweicloud.com`.
 * Throws `ConfigError` at `CODEHUB_REGION` for a region outside the table.
 */
export function codehubEndpointForRegion(region: string): string {
  if (!isCodeHubRegion(region)) {
    throw new ConfigError(
      'CODEHUB_REGION',
      `unknown CodeHub region "${region}"; expected one of ${CODEHUB_REGIONS.join(', ')}, or set CODEHUB_ENDPOINT`,
    );
  }
  return `https://${CODEHUB_HOST_PREFIX[region]}.${region}.myhuaweicloud.com`;
}

/** IAM's regional endpoint, e.g. `https://iam.cn-north-4.myhuaweicloud.com`. */
export function iamEndpointForRegion(region: string): string {
  // Region ids go into a hostname: refuse anything that could change which host that is.
  if (!/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(region)) {
    throw new ConfigError('CODEHUB_REGION', `"${region}" is not a region id (like cn-north-4)`);
  }
  return `https://iam.${region}.myhuaweicloud.com`;
}
