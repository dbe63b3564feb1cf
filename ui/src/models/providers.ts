// The providers a deployment may call (docs/providers.md): their labels, what each expects in the
// shared fields, and which take the Responses API flag or a connection test.
import type { Deployment } from './model';

export type Provider = Deployment['provider'];

export interface ProviderInfo {
  value: Provider;
  label: string;
  baseUrlHelper: string;
  baseUrlPlaceholder: string;
  upstreamHelper: string;
  upstreamPlaceholder: string;
}

export const PROVIDERS: ProviderInfo[] = [
  {
    value: 'openai',
    label: 'OpenAI-compatible',
    baseUrlHelper: 'Up to and including /v1: a vLLM, TGI or Ollama server, or https://api.openai.com/v1.',
    baseUrlPlaceholder: 'http://vllm:8000/v1',
    upstreamHelper: 'The model’s name on that server.',
    upstreamPlaceholder: 'ibm-granite/granite-3.1-8b-instruct',
  },
  {
    value: 'azure-openai',
    label: 'Azure OpenAI',
    baseUrlHelper: 'The resource endpoint, such as https://NAME.openai.azure.com (without /openai or a path).',
    baseUrlPlaceholder: 'https://contoso-eastus.openai.azure.com',
    upstreamHelper: 'The name of the Azure deployment.',
    upstreamPlaceholder: 'gpt-4o-prod',
  },
  {
    value: 'anthropic',
    label: 'Anthropic',
    baseUrlHelper: 'Up to and including /v1: https://api.anthropic.com/v1, or a compatible server’s.',
    baseUrlPlaceholder: 'https://api.anthropic.com/v1',
    upstreamHelper: 'The model as Anthropic names it.',
    upstreamPlaceholder: 'claude-sonnet-4-5',
  },
  {
    value: 'bedrock',
    label: 'AWS Bedrock',
    baseUrlHelper: 'The Bedrock runtime endpoint of the region, such as https://bedrock-runtime.us-east-1.amazonaws.com.',
    baseUrlPlaceholder: 'https://bedrock-runtime.us-east-1.amazonaws.com',
    upstreamHelper: 'The model id or inference profile id (or its ARN).',
    upstreamPlaceholder: 'us.anthropic.claude-3-5-sonnet-20241022-v2:0',
  },
];

export function providerInfo(provider: Provider): ProviderInfo {
  return PROVIDERS.find((entry) => entry.value === provider) ?? (PROVIDERS[0] as ProviderInfo);
}

export function providerLabel(provider: Provider): string {
  return providerInfo(provider).label;
}

/** Servers speaking OpenAI's wire may implement /v1/responses themselves. */
export function takesResponsesApi(provider: Provider): boolean {
  return provider === 'openai' || provider === 'azure-openai';
}

/** "Test connection" asks for OpenAI's model list: only OpenAI-compatible servers answer it. */
export function testsConnection(provider: Provider): boolean {
  return provider === 'openai';
}

/** "Azure OpenAI, api version 2024-10-21", "AWS Bedrock, us-east-1", "OpenAI-compatible, Responses API". */
export function providerText(deployment: Deployment): string {
  const parts = [providerLabel(deployment.provider)];
  if (deployment.api_version) parts.push(`api version ${deployment.api_version}`);
  if (deployment.region) parts.push(deployment.region);
  if (deployment.responses_api) parts.push('Responses API');
  return parts.join(', ');
}
