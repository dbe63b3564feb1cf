// The admin API answers errors as {"detail": "text"} or, for invalid input, FastAPI's
// {"detail": [{"loc": [...], "msg": "...", "type": "..."}]}. One readable message from either.

export class ApiError extends Error {
  readonly status: number;
  readonly fields: Record<string, string>;

  constructor(status: number, message: string, fields: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.fields = fields;
  }
}

interface FieldError {
  loc?: unknown[];
  msg?: unknown;
}

function fieldName(loc: unknown[] | undefined): string {
  const parts = (loc ?? []).filter((part) => part !== 'body' && part !== 'query' && part !== 'path');
  return parts.map(String).join('.');
}

export function apiError(status: number, body: unknown): ApiError {
  const detail = typeof body === 'object' && body !== null ? (body as { detail?: unknown }).detail : undefined;
  if (typeof detail === 'string') return new ApiError(status, detail);
  if (Array.isArray(detail)) {
    const fields: Record<string, string> = {};
    const lines = (detail as FieldError[]).map((item) => {
      const field = fieldName(item.loc);
      const message = typeof item.msg === 'string' ? item.msg : 'is invalid';
      if (field) fields[field] = message;
      return field ? `${field}: ${message}` : message;
    });
    return new ApiError(status, lines.join('; ') || 'The request was refused.', fields);
  }
  if (status === 0) return new ApiError(0, 'Headwater could not be reached.');
  return new ApiError(status, `The request failed (HTTP ${status}).`);
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
