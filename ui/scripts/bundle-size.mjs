// The first load's size: index.html's entry chunk, the chunks it imports statically and their CSS,
// raw and gzip-compressed, read from Vite's manifest of the last build.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = '../src/headwater/console';
const manifest = JSON.parse(readFileSync(join(dist, '.vite/manifest.json'), 'utf8'));
const seen = new Set();
const files = [];
const visit = (key) => {
  if (seen.has(key)) return;
  seen.add(key);
  const chunk = manifest[key];
  files.push(chunk.file, ...(chunk.css ?? []));
  for (const imported of chunk.imports ?? []) visit(imported);
};
visit('index.html');
let raw = 0;
let gzip = 0;
let js = 0;
for (const file of new Set(files)) {
  const bytes = readFileSync(join(dist, file));
  raw += bytes.length;
  const packed = gzipSync(bytes, { level: 9 }).length;
  gzip += packed;
  if (file.endsWith('.js')) js += packed;
}
const lazy = Object.values(manifest).filter((chunk) => chunk.isDynamicEntry).length;
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`first load: ${new Set(files).size} files, ${kib(raw)} raw, ${kib(gzip)} gzip (JavaScript ${kib(js)} gzip); ${lazy} lazily loaded route chunks`);
