// Fails when src/api/schema.d.ts is not exactly what openapi-typescript makes of docs/openapi.json:
// the console's API types are generated, never edited, and never behind the API.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'hw-api-'));
const fresh = join(dir, 'schema.d.ts');
try {
  execFileSync('npx', ['openapi-typescript', '../docs/openapi.json', '-o', fresh], { stdio: 'pipe' });
  const committed = readFileSync('src/api/schema.d.ts', 'utf8');
  if (readFileSync(fresh, 'utf8') !== committed) {
    console.error('src/api/schema.d.ts differs from docs/openapi.json: run `npm run api:generate` in ui/');
    process.exit(1);
  }
  console.log('API types match docs/openapi.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
