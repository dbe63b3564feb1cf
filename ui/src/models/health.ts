// A deployment's health as the runtime scrape last saw its server (GET /api/v1/models/{name}/runtime).
import type { DeploymentRuntime, ModelRuntime } from './model';

export type Health = 'healthy' | 'unreachable' | 'unknown';

export const HEALTH_LABEL: Record<Health, { text: string; color: 'green' | 'red' | 'grey' }> = {
  healthy: { text: 'Healthy', color: 'green' },
  unreachable: { text: 'Unreachable', color: 'red' },
  unknown: { text: 'Unknown', color: 'grey' },
};

/**
 * Healthy: its server's metrics were read at the last scrape. Unreachable: the last scrape failed.
 * Unknown: never scraped (or scraping is off), or the server answered without runtime metrics
 * (Ollama, a hosted provider): it may well serve, but nothing says so.
 */
export function deploymentHealth(runtime: DeploymentRuntime | undefined): Health {
  if (!runtime?.scraped_at) return 'unknown';
  if (runtime.up) return 'healthy';
  if (runtime.exposed === false) return 'unknown';
  return 'unreachable';
}

/** Why a deployment reads as it does, for a tooltip or a details cell. */
export function healthReason(runtime: DeploymentRuntime | undefined, scrapeIntervalS?: number): string {
  if (scrapeIntervalS === 0) return 'Runtime metrics are not scraped (HEADWATER_RUNTIME_SCRAPE_INTERVAL_S is 0).';
  if (!runtime?.scraped_at) return 'Not scraped yet.';
  if (runtime.up) return 'Its server reported runtime metrics at the last scrape.';
  return runtime.error ?? 'The last scrape failed.';
}

/** A model's health: unreachable when any deployment is, healthy when one is and none is unreachable. */
export function modelHealth(runtime: ModelRuntime | undefined, deployments: number): Health {
  if (!runtime || runtime.scrape_interval_s === 0) return 'unknown';
  const states = Array.from({ length: deployments }, (_unused, index) => deploymentHealth(runtime.deployments[index]));
  if (states.includes('unreachable')) return 'unreachable';
  if (states.includes('healthy')) return 'healthy';
  return 'unknown';
}
