// The catalog's types (generated from the API schema) and how a model reads in the console.
import type { components } from '../api/schema';
import { formatMoney } from '../components/format';

export type Model = components['schemas']['ModelRead'];
export type ModelSpec = components['schemas']['ModelSpec'];
export type ModelCreate = components['schemas']['ModelCreate'];
export type Deployment = components['schemas']['DeploymentSpec'];
export type ModelRuntime = components['schemas']['ModelRuntimeRead'];
export type DeploymentRuntime = components['schemas']['DeploymentRuntimeRead'];
export type ModelKind = Model['kind'];

export const KINDS: { value: ModelKind; label: string }[] = [
  { value: 'chat', label: 'Chat' },
  { value: 'completion', label: 'Completion' },
  { value: 'embedding', label: 'Embedding' },
];

export function kindLabel(kind: ModelKind): string {
  return KINDS.find((entry) => entry.value === kind)?.label ?? kind;
}

export function accessLabel(access: Model['access']): string {
  return access === 'restricted' ? 'Restricted' : 'Open';
}

/** "$0.20 / $0.60 per 1M tokens" (input / output). */
export function pricingText(model: Model): string {
  const pricing = model.pricing;
  if (!pricing) return '—';
  const input = formatMoney(pricing.input_per_million, pricing.currency);
  const output = formatMoney(pricing.output_per_million, pricing.currency);
  return `${input} / ${output} per 1M tokens`;
}

/** The console route of a model's details (a name may hold "/": it is one encoded segment). */
export function modelPath(name: string): string {
  return `/ai-assets/models/${encodeURIComponent(name)}`;
}

/** A model as the API reads it, turned back into the spec a PUT replaces it with (nothing lost). */
export function specOf(model: Model): ModelSpec {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { name, created_at, updated_at, ...spec } = model;
  return spec;
}

/** The same model with another status, every other field kept. */
export function withStatus(model: Model, status: Model['status']): ModelSpec {
  return { ...specOf(model), status };
}
