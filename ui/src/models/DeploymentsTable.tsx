// A model's deployments (admins and auditors): its provider, where it runs, which credential it is
// called with (a name: no value exists in the API), its weight, and what the runtime
// scrape last read from its server (health, requests in flight, KV cache, generation speed).
import { Label, Tooltip } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';

import { formatNumber, formatPercent, formatRelative } from '../components/format';
import { deploymentHealth, HEALTH_LABEL, healthReason } from './health';
import type { Deployment, DeploymentRuntime, ModelRuntime } from './model';
import { providerText } from './providers';

/** A URL as shown: a user:password inside it is a credential, never displayed. */
export function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    return url.replace(/\/\/[^/@]*@/, '//[redacted]@');
  } catch {
    return url;
  }
}

/** "openai-prod (stored)", "HEADWATER_UPSTREAM_X (environment)" or "None". */
export function credentialText(deployment: Deployment): string {
  if (deployment.credential) return `${deployment.credential} (stored)`;
  if (deployment.credential_env) return `${deployment.credential_env} (environment)`;
  return 'None';
}

function runtimeText(runtime: DeploymentRuntime | undefined): string {
  if (!runtime?.up) return '—';
  const parts: string[] = [];
  if (runtime.requests_running != null) parts.push(`${formatNumber(runtime.requests_running)} running`);
  if (runtime.requests_waiting != null) parts.push(`${formatNumber(runtime.requests_waiting)} waiting`);
  if (runtime.kv_cache_usage_ratio != null) parts.push(`KV cache ${formatPercent(runtime.kv_cache_usage_ratio)}`);
  if (runtime.generation_tokens_per_second != null)
    parts.push(`${formatNumber(Math.round(runtime.generation_tokens_per_second * 10) / 10)} tokens/s`);
  return parts.length > 0 ? parts.join(' · ') : '—';
}

export function DeploymentsTable({ deployments, runtime }: { deployments: Deployment[]; runtime: ModelRuntime | undefined }) {
  return (
    <Table aria-label="Deployments" variant="compact">
      <Thead>
        <Tr>
          <Th modifier="wrap">Provider</Th>
          <Th modifier="wrap">Base URL</Th>
          <Th modifier="wrap">Upstream model</Th>
          <Th modifier="wrap">Credential</Th>
          <Th modifier="wrap">Weight</Th>
          <Th modifier="wrap">Health</Th>
          <Th modifier="wrap">Runtime</Th>
          <Th modifier="wrap">Last scraped</Th>
        </Tr>
      </Thead>
      <Tbody>
        {deployments.map((deployment, index) => {
          const reading = runtime?.deployments[index];
          const health = HEALTH_LABEL[runtime ? deploymentHealth(reading) : 'unknown'];
          return (
            <Tr key={`${deployment.base_url} ${deployment.upstream_model} ${String(index)}`}>
              <Td dataLabel="Provider">{providerText(deployment)}</Td>
              <Td dataLabel="Base URL" modifier="breakWord">
                {shownUrl(deployment.base_url)}
              </Td>
              <Td dataLabel="Upstream model" modifier="breakWord">
                {deployment.upstream_model}
              </Td>
              <Td dataLabel="Credential" modifier="breakWord">
                {credentialText(deployment)}
              </Td>
              <Td dataLabel="Weight">{deployment.weight}</Td>
              <Td dataLabel="Health">
                <Tooltip content={healthReason(reading, runtime?.scrape_interval_s)}>
                  <Label color={health.color} isCompact tabIndex={0}>
                    {health.text}
                  </Label>
                </Tooltip>
              </Td>
              <Td dataLabel="Runtime">{runtimeText(reading)}</Td>
              <Td dataLabel="Last scraped">{reading?.scraped_at ? formatRelative(reading.scraped_at) : 'Never'}</Td>
            </Tr>
          );
        })}
      </Tbody>
    </Table>
  );
}
