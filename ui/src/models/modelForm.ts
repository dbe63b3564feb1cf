// The "Add asset" / "Edit model" form's state: drafts of the fields, the checks the API schema
// makes (so most mistakes are caught before sending), and the bodies sent. Errors are keyed by the
// API's own field paths ("deployments.0.base_url"), so a 422 lands on the same field.
import type { components } from '../api/schema';
import type { Deployment, Model, ModelCreate, ModelKind, ModelSpec } from './model';

export type Source = 'internal' | 'external';
export type ConnectionTest = components['schemas']['ConnectionTest'];

export interface DeploymentDraft {
  /** Stable React key. */
  id: number;
  baseUrl: string;
  upstreamModel: string;
  credentialEnv: string;
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
const CURRENCY = /^[A-Z]{3}$/;
const DECIMAL = /^\d+(\.\d{1,12})?$/;
const MAX_TOKENS = 100_000_000;
const DESCRIPTION_MAX = 2000;
export const MAX_DEPLOYMENTS = 64;

let nextId = 1;

export function newDeployment(original?: Deployment): DeploymentDraft {
  return {
    id: nextId++,
    baseUrl: original?.base_url ?? '',
    upstreamModel: original?.upstream_model ?? '',
    credentialEnv: original?.credential_env ?? '',
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
  const env = deployment.credentialEnv.trim();
  if (!env && source === 'external') errors[`${prefix}credential_env`] = 'An external provider needs the variable holding its API key.';
  else if (env && !ENV_NAME.test(env)) errors[`${prefix}credential_env`] = 'Letters, digits and _, not starting with a digit.';
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

function deploymentBody(deployment: DeploymentDraft): Deployment {
  return {
    ...deployment.original,
    // the form edits an OpenAI-compatible server's fields; a deployment of another provider keeps
    // its provider and its own fields (api_version, region, credential) as they were
    provider: deployment.original?.provider ?? 'openai',
    responses_api: deployment.original?.responses_api ?? false,
    base_url: deployment.baseUrl.trim(),
    upstream_model: deployment.upstreamModel.trim(),
    credential_env: deployment.credentialEnv.trim() || null,
    weight: Number(deployment.weight),
  };
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

export function connectionBody(deployment: DeploymentDraft): ConnectionTest {
  const env = deployment.credentialEnv.trim();
  return {
    provider: 'openai',
    responses_api: false,
    base_url: deployment.baseUrl.trim(),
    upstream_model: deployment.upstreamModel.trim(),
    ...(env ? { credential_env: env } : {}),
  };
}
