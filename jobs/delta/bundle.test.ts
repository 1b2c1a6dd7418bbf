/**
 * The Databricks Asset Bundle (databricks.yml) checked without a workspace: check_bundle.py loads
 * each job with databricks-bundles' typed models (generated from the bundle schema: unknown
 * fields and wrong types are refused) and checks the variables; a broken copy must fail.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../test/support/gateway.js';

const exec = promisify(execFile);
const DIR = join(ROOT, 'jobs/delta');
let python = '';

beforeAll(async () => {
  python = (await exec('bash', [join(DIR, 'venv.sh'), 'bundle-requirements.txt'], { timeout: 600_000 })).stdout.trim();
}, 600_000);

async function check(file: string): Promise<{ ok: boolean; problems: string[] }> {
  const r = await exec(python, [join(DIR, 'check_bundle.py'), file]).catch((e: { stdout: string }) => e);
  return JSON.parse(r.stdout) as { ok: boolean; problems: string[] };
}

describe('Databricks Asset Bundle', () => {
  it('databricks.yml passes: the sink job with Kafka and registry settings as bundle variables', async () => {
    expect(await check(join(DIR, 'databricks.yml'))).toEqual({ file: join(DIR, 'databricks.yml'), ok: true, problems: [] });
    const text = readFileSync(join(DIR, 'databricks.yml'), 'utf8');
    for (const v of ['kafka_bootstrap_servers', 'schema_registry_url', 'scored_topic', 'dlq_topic']) expect(text).toContain(`\${var.${v}}`);
  });

  it('a wrong field, nested or not, and an undeclared variable fail the check', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bundle-'));
    copyFileSync(join(DIR, 'sink.py'), join(dir, 'sink.py'));
    const good = readFileSync(join(DIR, 'databricks.yml'), 'utf8');
    const bad = good.replace('python_file: ./sink.py', 'python_file: ./sink.py\n            pyhton_params: []').replace('${var.dlq_topic}', '${var.dead_letter_topic}');
    writeFileSync(join(dir, 'databricks.yml'), bad);
    const r = await check(join(dir, 'databricks.yml'));
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/Unexpected field 'pyhton_params'/);
    expect(r.problems.join('\n')).toMatch(/var\.dead_letter_topic\} is used but not declared/);
  });
});
