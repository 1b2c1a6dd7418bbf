#!/usr/bin/env node
// Rewrites README's configuration table from the code's settings (npm run build first).
import { readFileSync, writeFileSync } from 'node:fs';
const { configTable } = await import('../dist/src/core/config.js');
const path = new URL('../README.md', import.meta.url);
const s = readFileSync(path, 'utf8');
const start = s.indexOf('| variable | default | meaning |');
const end = s.indexOf('\n\n(This table is generated');
if (start < 0 || end < 0) throw new Error('README has no configuration table markers');
writeFileSync(path, s.slice(0, start) + configTable() + s.slice(end));
