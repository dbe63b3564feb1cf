// "Export CSV": GET /api/v1/audit/events.csv with the current filters, saved as a file. Fetched with
// the console's own credentials (a plain link would not carry an admin token), then handed to the
// browser as a download.
import { api, unwrap } from '../api/client';
import type { EventQuery } from './filters';

export async function exportCsv(query: EventQuery): Promise<void> {
  const blob = await unwrap(
    api.GET('/api/v1/audit/events.csv', { params: { query }, parseAs: 'blob' }),
  );
  const url = URL.createObjectURL(blob);
  try {
    const link = document.createElement('a');
    link.href = url;
    link.download = `audit-events-${new Date().toISOString().slice(0, 10)}.csv`;
    document.body.appendChild(link);
    link.click();
    link.remove();
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
}
