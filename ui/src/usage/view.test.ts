import { describe, expect, it } from 'vitest';

import { MY_DIMENSIONS, ORGANISATION_DIMENSIONS } from './dimensions';
import { isoWeek, periodOf, recentMonths, reportFilename, weekDays } from './report';
import { customRangeError, readView, windowParams, writeView } from './view';

const NOW = new Date('2026-11-18T15:30:00Z');

describe('the usage view in the URL', () => {
  it('reads what the page offers and drops the rest', () => {
    const view = readView(new URLSearchParams('range=7d&by=user&metric=cost&costCenter=CC-1&user=bob&colour=red'), MY_DIMENSIONS, NOW);
    expect(view).toEqual({ range: '7d', from: '', to: '', by: 'model', metric: 'cost', filters: {} });
    const org = readView(new URLSearchParams('range=7d&by=user&costCenter=CC-1&user=bob'), ORGANISATION_DIMENSIONS, NOW);
    expect(org.by).toBe('user');
    expect(org.filters).toEqual({ user: 'bob', costCenter: 'CC-1' });
  });

  it('writes only what differs from the defaults, and reads it back the same', () => {
    const view = readView(new URLSearchParams(''), ORGANISATION_DIMENSIONS, NOW);
    expect(writeView(view, ORGANISATION_DIMENSIONS).toString()).toBe('');
    const chosen = { ...view, range: 'custom' as const, from: '2026-11-01', to: '2026-11-07', by: 'group' as const, filters: { model: 'm' } };
    const search = writeView(chosen, ORGANISATION_DIMENSIONS);
    expect(search.toString()).toBe('range=custom&from=2026-11-01&to=2026-11-07&by=group&model=m');
    expect(readView(search, ORGANISATION_DIMENSIONS, NOW)).toEqual(chosen);
  });

  it('asks for whole UTC days in a custom range, and replaces an invalid one by the last 7 days', () => {
    const view = readView(new URLSearchParams('range=custom&from=2026-11-01&to=2026-11-30'), MY_DIMENSIONS, NOW);
    expect(windowParams(view)).toEqual({ from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' });
    const invalid = readView(new URLSearchParams('range=custom&from=2026-11-09&to=2026-11-02'), MY_DIMENSIONS, NOW);
    expect([invalid.from, invalid.to]).toEqual(['2026-11-12', '2026-11-18']);
    expect(windowParams({ ...view, range: '1y' })).toEqual({ range: '1y' });
  });

  it('explains a custom range it cannot ask for', () => {
    expect(customRangeError('2026-11-01', '2026-11-01')).toBeNull();
    expect(customRangeError('2026-02-30', '2026-03-01')).toBe('Enter the first day as YYYY-MM-DD.');
    expect(customRangeError('2026-03-01', '')).toBe('Enter the last day as YYYY-MM-DD.');
    expect(customRangeError('2026-03-02', '2026-03-01')).toBe('The first day must not be after the last day.');
  });
});

describe('chargeback periods', () => {
  it('names ISO weeks as the API takes them', () => {
    expect(isoWeek('2026-11-18')).toBe('2026-W47');
    expect(isoWeek('2026-11-16')).toBe('2026-W47'); // Monday
    expect(isoWeek('2026-11-22')).toBe('2026-W47'); // Sunday
    expect(isoWeek('2027-01-01')).toBe('2026-W53'); // a Friday: still the last week of 2026
    expect(isoWeek('2024-12-30')).toBe('2025-W01'); // a Monday: the first week of 2025
    expect(weekDays('2026-11-18')).toBe('Nov 16, 2026 – Nov 22, 2026');
  });

  it('offers this month and the two years before it, and a period per kind', () => {
    const months = recentMonths(NOW);
    expect(months).toHaveLength(25);
    expect(months[0]).toEqual({ value: '2026-11', label: 'November 2026' });
    expect(months[24]).toEqual({ value: '2024-11', label: 'November 2024' });
    expect(periodOf('month', '2026-10', '')).toBe('2026-10');
    expect(periodOf('week', '', '2026-11-18')).toBe('2026-W47');
    expect(periodOf('day', '', '2026-11-18')).toBe('2026-11-18');
    expect(periodOf('day', '', '2026-11-1')).toBeNull();
  });

  it("names the file as the server does, or after the period and dimension", () => {
    expect(reportFilename('attachment; filename="usage-2026-11-costCenter.csv"', '2026-11', 'costCenter', 'csv')).toBe(
      'usage-2026-11-costCenter.csv',
    );
    expect(reportFilename(null, '2026-W47', 'model', 'json')).toBe('usage-2026-W47-model.json');
  });
});
