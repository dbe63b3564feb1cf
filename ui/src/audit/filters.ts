// The audit log's filters: kept in the page's URL (so a filtered view can be shared) and turned
// into the query of GET /api/v1/audit/events and /audit/events.csv.
import type { components } from '../api/schema';

export type AuditEvent = components['schemas']['AuditEventRead'];
export type Outcome = AuditEvent['outcome'];

export const OUTCOMES: readonly Outcome[] = ['success', 'denied', 'failure'];

export interface AuditFilters {
  actor: string;
  action: string;
  target: string;
  /** A day, YYYY-MM-DD, from its start (local time). */
  from: string;
  /** A day, YYYY-MM-DD, up to its end (local time). */
  to: string;
  outcome: Outcome | '';
}

export type FilterName = keyof AuditFilters;
export const FILTER_NAMES: readonly FilterName[] = ['actor', 'action', 'target', 'from', 'to', 'outcome'];

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function isOutcome(value: string): value is Outcome {
  return (OUTCOMES as readonly string[]).includes(value);
}

/** A valid YYYY-MM-DD day, as the local midnight that starts it; else null. */
export function dayStart(day: string): Date | null {
  if (!DAY.test(day)) return null;
  const date = new Date(`${day}T00:00:00`);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function readFilters(params: URLSearchParams): AuditFilters {
  const outcome = params.get('outcome') ?? '';
  const day = (name: string) => {
    const value = params.get(name) ?? '';
    return dayStart(value) ? value : '';
  };
  return {
    actor: params.get('actor') ?? '',
    action: params.get('action') ?? '',
    target: params.get('target') ?? '',
    from: day('from'),
    to: day('to'),
    outcome: isOutcome(outcome) ? outcome : '',
  };
}

/** The URL's search params with one filter changed (removed when empty). */
export function withFilter(params: URLSearchParams, name: FilterName, value: string): URLSearchParams {
  const next = new URLSearchParams(params);
  if (value) next.set(name, value);
  else next.delete(name);
  return next;
}

/** Why the date range cannot be asked for, or null. */
export function rangeError(filters: AuditFilters): string | null {
  const from = dayStart(filters.from);
  const to = dayStart(filters.to);
  if (from && to && from > to) return 'The "From" day must not be after the "To" day.';
  return null;
}

export interface EventQuery {
  actor?: string;
  action?: string;
  target?: string;
  from?: string;
  to?: string;
  outcome?: Outcome;
}

/** The API's filter parameters: exact actor and target, action exact or a prefix ending in ".",
 * `from` inclusive and `to` exclusive, both with a timezone (the "To" day is included whole). */
export function eventQuery(filters: AuditFilters): EventQuery {
  const query: EventQuery = {};
  const actor = filters.actor.trim();
  const action = filters.action.trim();
  const target = filters.target.trim();
  if (actor) query.actor = actor;
  if (action) query.action = action;
  if (target) query.target = target;
  const from = dayStart(filters.from);
  if (from) query.from = from.toISOString();
  const to = dayStart(filters.to);
  if (to) {
    const end = new Date(to);
    end.setDate(end.getDate() + 1);
    query.to = end.toISOString();
  }
  if (filters.outcome) query.outcome = filters.outcome;
  return query;
}
