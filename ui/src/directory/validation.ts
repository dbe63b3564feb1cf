// What the admin API requires of directory fields (src/headwater/directory/schemas.py and
// headwater.names), checked before sending; the API's own 422 answers land on the same fields.
import { ApiError } from '../api/errors';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export type FieldErrors = Record<string, string>;

export function nameError(value: string): string | null {
  if (!value.trim()) return 'Enter a name.';
  if (!NAME.test(value)) {
    return 'Use at most 128 letters, digits, ".", "_", "@" or "-", starting with a letter or digit.';
  }
  return null;
}

export function emailError(value: string): string | null {
  if (!value) return null;
  if (value.length > 254 || !EMAIL.test(value)) return 'Enter an email address such as alice@example.com.';
  return null;
}

export function lengthError(value: string, max: number): string | null {
  return value.length > max ? `Use at most ${max.toLocaleString('en-US')} characters.` : null;
}

/** Only the fields that have an error. */
export function collect(errors: Record<string, string | null>): FieldErrors {
  const found: FieldErrors = {};
  for (const [field, message] of Object.entries(errors)) if (message) found[field] = message;
  return found;
}

/** The API's 422 messages by form field ("groups.0" is the groups field); other errors as none. */
export function apiFieldErrors(error: unknown): FieldErrors {
  if (!(error instanceof ApiError)) return {};
  const found: FieldErrors = {};
  for (const [path, message] of Object.entries(error.fields)) {
    const field = path.split('.')[0] ?? path;
    found[field] ??= message;
  }
  return found;
}

/** Empty text as null, for optional API fields. */
export function orNull(value: string): string | null {
  const trimmed = value.trim();
  return trimmed ? trimmed : null;
}
