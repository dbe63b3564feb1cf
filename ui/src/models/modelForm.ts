// The "Add asset" / "Edit model" form's state: drafts of the fields, the checks the API schema
// makes (so most mistakes are caught before sending), and the bodies sent. Errors are keyed by the
// API's own field paths ("deployments.0.base_url"), so a 422 lands on the same field.
import type { components } from '../api/schema';
import type { Deployment, Model, ModelCreate, ModelKind, ModelSpec } from './model';
import { type Provider, takesResponsesApi } from './providers';

export type Source = 'internal' | 'external';
export type ConnectionTest = components['schemas']['ConnectionTest'];
/** Where a deployment's credential comes from: a variable of the server's environment, or stored in Headwater. */
export type CredentialSource = 'env' | 'stored';

export interface DeploymentDraft {
  /** Stable React key. */
  id: number;
  provider: Provider;
  baseUrl: string;
  upstreamModel: string;
  credentialSource: CredentialSource;
  credentialEnv: string;
  /** The stored credential's name (credentialSource "stored"). */
  credential: string;
  /** azure-openai: the api-version. */
  apiVersion: string;
  /** bedrock: the region requests are signed for. */
  region: string;
  /** openai, azure-openai: the server implements /v1/responses. */
  responsesApi: boolean;
  weight: string;
  /** The deployment being edited: what the form does not show (timeout, deadline) is kept. */
  original?: Deployment;
}

export interface ModelDraft {
  source: Source;
  name: string;
  kind: ModelKind;
  access: Model['access'];
  description: string;
  inputPerMillion: string;
  outputPerMillion: string;
  currency: string;
  contextWindow: string;
  maxOutputTokens: string;
  deployments: DeploymentDraft[];
}

export type FieldErrors = Record<string, string>;

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@+-]*(\/[A-Za-z0-9][A-Za-z0-9._:@+-]*)*$/;
const MODEL_NAME_MAX = 128;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,255}$/;
const API_VERSION = /^[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/;
const CURRENCY = /^[A-Z]{3}$/;
const DECIMAL = /^\d+(\.\d{1,12})?$/;
const MAX_TOKENS = 100_000_000;
const DESCRIPTION_MAX = 2000;
export const MAX_DEPLOYMENTS = 64;

let nextId = 1;

export function newDeployment(original?: Deployment): DeploymentDraft {
  return {
    id: nextId++,
    provider: original?.provider ?? 'openai',
    baseUrl: original?.base_url ?? '',
    upstreamModel: original?.upstream_model ?? '',
    credentialSource: original?.credential ? 'stored' : 'env',
    credentialEnv: original?.credential_env ?? '',
    credential: original?.credential ?? '',
    apiVersion: original?.api_version ?? '',
    region: original?.region ?? '',
    responsesApi: original?.responses_api ?? false,
    weight: String(original?.weight ?? 1),
    original,
  };
}

export function emptyDraft(): ModelDraft {
  return {
    source: 'internal',
    name: '',
    kind: 'chat',
    access: 'open',
    description: '',
    inputPerMillion: '0',
    outputPerMillion: '0',
    currency: 'USD',
    contextWindow: '',
    maxOutputTokens: '',
    deployments: [newDeployment()],
  };
}

/** A plain decimal as typed: "0.200000000000" reads "0.2". */
function plain(amount: string | undefined): string {
  if (amount === undefined) return '0';
  return amount.includes('.') ? amount.replace(/0+$/, '').replace(/\.$/, '') : amount;
}

export function draftOf(model: Model): ModelDraft {
  return {
    // Only a new asset is chosen as internal or external; an edited one may mix both kinds of server.
    source: 'internal',
    name: model.name,
    kind: model.kind,
    access: model.access,
    description: model.description,
    inputPerMillion: plain(model.pricing?.input_per_million),
    outputPerMillion: plain(model.pricing?.output_per_million),
    currency: model.pricing?.currency ?? 'USD',
    contextWindow: model.context_window ? String(model.context_window) : '',
    maxOutputTokens: model.max_output_tokens ? String(model.max_output_tokens) : '',
    deployments: model.deployments.map((deployment) => newDeployment(deployment)),
  };
}

function urlProblem(value: string): string | null {
  if (!value.trim()) return 'Enter the server’s base URL.';
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return 'Enter a full URL, such as http://vllm:8000/v1.';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'The URL must start with http:// or https://.';
  if (url.search || url.hash) return 'The URL must not have a query or fragment.';
  return null;
}

function countProblem(value: string, low: number, high: number): string | null {
  if (!/^\d+$/.test(value.trim())) return 'Enter a whole number.';
  const count = Number(value);
  if (count < low || count > high) return `Enter a number from ${low.toLocaleString('en-US')} to ${high.toLocaleString('en-US')}.`;
  return null;
}

/** The checks of one deployment's server fields (also those of "Test connection"). */
export function deploymentErrors(deployment: DeploymentDraft, source: Source, prefix: string): FieldErrors {
  const errors: FieldErrors = {};
  const url = urlProblem(deployment.baseUrl);
  if (url) errors[`${prefix}base_url`] = url;
  const upstream = deployment.upstreamModel.trim();
  if (!upstream) errors[`${prefix}upstream_model`] = 'Enter the model’s name on the server.';
  else if (upstream.length > 256) errors[`${prefix}upstream_model`] = 'At most 256 characters.';
  if (deployment.provider === 'azure-openai') {
    const version = deployment.apiVersion.trim();
    if (!version) errors[`${prefix}api_version`] = 'Enter Azure’s api-version, such as 2024-10-21.';
    else if (!API_VERSION.test(version)) errors[`${prefix}api_version`] = 'A date as YYYY-MM-DD, optionally followed by -preview.';
  }
  if (deployment.provider === 'bedrock') {
    const region = deployment.region.trim();
    if (!region) errors[`${prefix}region`] = 'Enter the AWS region, such as us-east-1.';
    else if (!REGION.test(region)) errors[`${prefix}region`] = 'An AWS region in lower case, such as us-east-1 or eu-west-3.';
  }
  // Bedrock has no default credential chain: it is always called with one.
  const needsCredential = source === 'external' || deployment.provider === 'bedrock';
  if (deployment.credentialSource === 'stored') {
    if (!deployment.credential) errors[`${prefix}credential`] = 'Choose a stored credential.';
  } else {
    const env = deployment.credentialEnv.trim();
    if (!env && needsCredential) {
      errors[`${prefix}credential_env`] =
        source === 'external' ? 'An external provider needs the variable holding its API key.' : 'AWS Bedrock needs the variable holding its credential.';
    } else if (env && !ENV_NAME.test(env)) errors[`${prefix}credential_env`] = 'Letters, digits and _, not starting with a digit.';
  }
  return errors;
}

export function validate(draft: ModelDraft, isNew: boolean): FieldErrors {
  const errors: FieldErrors = {};
  const name = draft.name.trim();
  if (isNew) {
    if (!name) errors.name = 'Enter the name callers will use.';
    else if (name.length > MODEL_NAME_MAX) errors.name = `At most ${MODEL_NAME_MAX} characters.`;
    else if (!MODEL_NAME.test(name)) errors.name = 'Letters, digits and ._:@+- in segments separated by single slashes, each starting with a letter or digit.';
  }
  if (draft.description.length > DESCRIPTION_MAX) errors.description = `At most ${DESCRIPTION_MAX} characters.`;
  for (const [field, value] of [
    ['pricing.input_per_million', draft.inputPerMillion],
    ['pricing.output_per_million', draft.outputPerMillion],
  ] as const) {
    if (value.trim() && !DECIMAL.test(value.trim())) errors[field] = 'Enter an amount of 0 or more, such as 0.20.';
  }
  if (!CURRENCY.test(draft.currency.trim())) errors['pricing.currency'] = 'Three capital letters (ISO 4217), such as USD.';
  if (draft.contextWindow.trim()) {
    const problem = countProblem(draft.contextWindow, 1, MAX_TOKENS);
    if (problem) errors.context_window = problem;
  }
  if (draft.maxOutputTokens.trim()) {
    const problem = countProblem(draft.maxOutputTokens, 1, MAX_TOKENS);
    if (problem) errors.max_output_tokens = problem;
  }
  if (draft.deployments.length === 0) errors.deployments = 'A model needs at least one deployment.';
  draft.deployments.forEach((deployment, index) => {
    const prefix = `deployments.${index}.`;
    Object.assign(errors, deploymentErrors(deployment, draft.source, prefix));
    const weight = countProblem(deployment.weight, 1, 1000);
    if (weight) errors[`${prefix}weight`] = weight;
  });
  return errors;
}

function optionalCount(value: string): number | null {
  return value.trim() ? Number(value.trim()) : null;
}

/** The provider's own fields and the credential, as the API spells them: each one named, null when unused. */
function serverFields(deployment: DeploymentDraft) {
  const stored = deployment.credentialSource === 'stored';
  return {
    provider: deployment.provider,
    responses_api: takesResponsesApi(deployment.provider) && deployment.responsesApi,
    base_url: deployment.baseUrl.trim(),
    upstream_model: deployment.upstreamModel.trim(),
    credential_env: stored ? null : deployment.credentialEnv.trim() || null,
    credential: stored ? deployment.credential || null : null,
    api_version: deployment.provider === 'azure-openai' ? deployment.apiVersion.trim() : null,
    region: deployment.provider === 'bedrock' ? deployment.region.trim() : null,
  };
}

function deploymentBody(deployment: DeploymentDraft): Deployment {
  // what the form does not show (timeout, deadline) is kept as it was
  return { ...deployment.original, ...serverFields(deployment), weight: Number(deployment.weight) };
}

/** The spec the form describes; `previous` (when editing) keeps what the form does not show. */
export function specBody(draft: ModelDraft, previous?: ModelSpec): ModelSpec {
  return {
    ...previous,
    kind: draft.kind,
    access: draft.access,
    description: draft.description.trim(),
    context_window: optionalCount(draft.contextWindow),
    max_output_tokens: optionalCount(draft.maxOutputTokens),
    pricing: {
      input_per_million: draft.inputPerMillion.trim() || '0',
      output_per_million: draft.outputPerMillion.trim() || '0',
      currency: draft.currency.trim(),
    },
    status: previous?.status ?? 'active',
    deployments: draft.deployments.map(deploymentBody),
  };
}

export function createBody(draft: ModelDraft): ModelCreate {
  return { ...specBody(draft), name: draft.name.trim() };
}

/** "Test connection"'s body: only the fields it uses (the server, its model and the credential). */
export function connectionBody(deployment: DeploymentDraft): ConnectionTest {
  const { credential_env, credential, api_version, region, ...rest } = serverFields(deployment);
  return {
    ...rest,
    ...(credential_env ? { credential_env } : {}),
    ...(credential ? { credential } : {}),
    ...(api_version ? { api_version } : {}),
    ...(region ? { region } : {}),
  };
}
