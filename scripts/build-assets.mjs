// Copies the files the gateway reads at run time into the build output, at the same path under
// dist/ as in the repository (tsc's rootDir is the repository, its outDir dist/), so a module
// finds its asset at the same URL relative to itself whether it runs from src/ (vitest) or from
// dist/src/ (npm start, the image). The originals stay the one copy people edit and read:
//   - every file under src/ that is not TypeScript (the Avro schemas Spark users read, the status
//     page's html, css, js and svg in src/ui/, …);
//   - models/parity/heldout.csv, whose first rows are the golden set a candidate model must score.
// Run by `npm run build` after tsc; test/build/dist.test.ts fails when dist/ and the originals differ.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const EXTRA = ['models/parity/heldout.csv'];

function* nonTypeScript(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* nonTypeScript(path);
    else if (entry.isFile() && !entry.name.endsWith('.ts')) yield relative(root, path);
  }
}

const assets = [...nonTypeScript(join(root, 'src')), ...EXTRA];
for (const asset of assets) {
  // A page script named like a module would overwrite that module's compiled output.
  if (asset.endsWith('.js') && existsSync(join(root, asset.replace(/\.js$/, '.ts')))) {
    throw new Error(`${asset} would overwrite the compiled ${asset.replace(/\.js$/, '.ts')}: rename one`);
  }
  const to = join(root, 'dist', asset);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(join(root, asset), to);
}
console.log(`build-assets: ${assets.length} files into dist/`);
