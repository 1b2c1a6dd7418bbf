// Build step: the status page's static files go beside the compiled src/ui/routes.js, which
// reads them from there at start (nothing is read from the source tree at run time).
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';

const from = new URL('../src/ui/', import.meta.url);
const to = new URL('../dist/src/ui/', import.meta.url);
mkdirSync(to, { recursive: true });
const files = readdirSync(from);
for (const f of files) {
  if (!/\.(html|css|js|svg)$/.test(f)) continue;
  // A page script named like a module would overwrite that module's compiled output.
  if (f.endsWith('.js') && files.includes(f.replace(/\.js$/, '.ts'))) throw new Error(`src/ui/${f} would overwrite the compiled ${f.replace(/\.js$/, '.ts')}: rename one`);
  copyFileSync(new URL(f, from), new URL(f, to));
}
