// The usage API's dimensions (docs/usage.md, "Dimensions"): how each is named in the console, and
// which of them each usage page offers to group and filter by.

export type Dimension =
  | 'model'
  | 'user'
  | 'group'
  | 'serviceAccount'
  | 'key'
  | 'costCenter'
  | 'policy'
  | 'provider'
  | 'deployment';

export const DIMENSION_LABELS: Record<Dimension, string> = {
  model: 'Model',
  user: 'User',
  group: 'Group',
  serviceAccount: 'Service account',
  key: 'API key',
  costCenter: 'Cost center',
  policy: 'Policy',
  provider: 'Provider',
  deployment: 'Deployment',
};

/** The label inside a sentence ("filter by this API key"). */
export function dimensionNoun(dimension: Dimension): string {
  return dimension === 'key' ? 'API key' : DIMENSION_LABELS[dimension].toLowerCase();
}

/** Organization usage: every dimension. */
export const ORGANISATION_DIMENSIONS: Dimension[] = [
  'model',
  'user',
  'group',
  'serviceAccount',
  'key',
  'costCenter',
  'policy',
  'provider',
  'deployment',
];

/** My usage: a caller's own calls, by model or by key. */
export const MY_DIMENSIONS: Dimension[] = ['model', 'key'];

/** The dimensions `GET /usage/top` ranks, as the admin page offers them. */
export type TopDimension = 'user' | 'key' | 'group';

export const TOP_DIMENSIONS: { value: TopDimension; label: string; noun: string }[] = [
  { value: 'user', label: 'Users', noun: 'users' },
  { value: 'key', label: 'API keys', noun: 'API keys' },
  { value: 'group', label: 'Groups', noun: 'groups' },
];

export function isDimension(value: string | null, allowed: readonly Dimension[]): value is Dimension {
  return value !== null && (allowed as readonly string[]).includes(value);
}
