/**
 * The Kubernetes manifests: valid against the API's schemas (kubernetes-validate from PyPI, in
 * a venv under ~/.cache/scoregate keyed by its version; it ships the schemas, no cluster), and
 * saying what the design needs — owner addressing through the headless service, readiness on
 * /readyz, the seed's autoscaling policy, settings the gateway accepts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS } from '../../src/core/config.js';
import { ROOT } from '../../test/support/gateway.js';

const run = promisify(execFile);
const DIR = join(ROOT, 'deploy/k8s');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort();

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const docs: Doc[] = FILES.flatMap((f) => parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => d.toJS() as Doc));
const one = (kind: string, name?: string): Doc => {
  const d = docs.find((x) => x['kind'] === kind && (name === undefined || x['metadata']['name'] === name));
  if (d === undefined) throw new Error(`no ${kind} ${name ?? ''}`);
  return d;
};

let validator = '';

async function validate(files: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await run(validator, ['--strict', '--no-warn', ...files]);
    return { ok: true, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  const r = await run('bash', [join(ROOT, 'scripts/services/kubernetes-validate-venv.sh')]);
  validator = r.stdout.trim();
}, 300_000);

describe('Kubernetes manifests (deploy/k8s)', () => {
  it('every manifest passes kubernetes-validate --strict (schemas of Kubernetes 1.37)', async () => {
    const r = await validate(FILES.map((f) => join(DIR, f)));
    expect(r.out).not.toMatch(/ERROR|failed/);
    expect(r.ok).toBe(true);
    for (const kind of ['Namespace', 'ConfigMap', 'Secret', 'Service', 'StatefulSet', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']) {
      expect(r.out.toLowerCase()).toContain(`passed for resource ${kind.toLowerCase()}/`);
    }
  }, 60_000);

  it('the validator refuses what is wrong (an unknown field, a wrong type): the check is not vacuous', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'k8s-'));
    const bad = readFileSync(join(DIR, 'hpa.yaml'), 'utf8').replace('minReplicas: 2', 'minReplicas: "two"\n  minReplica: 2');
    writeFileSync(join(tmp, 'hpa.yaml'), bad);
    const r = await validate([join(tmp, 'hpa.yaml')]);
    expect(r.ok).toBe(false);
  }, 60_000);

  it('StatefulSet behind a headless service: each pod has a stable name it advertises as its owner address', () => {
    const sts = one('StatefulSet');
    const headless = one('Service', sts['spec']['serviceName']);
    expect(headless['spec']['clusterIP']).toBe('None');
    expect(headless['spec']['selector']).toEqual(sts['spec']['template']['metadata']['labels']);
    const c = sts['spec']['template']['spec']['containers'][0];
    const advertised = c['env'].find((e: Doc) => e['name'] === 'CLUSTER_ADVERTISED_URL');
    expect(advertised['value']).toBe(`http://$(POD_NAME).${headless['metadata']['name']}.${sts['metadata']['namespace']}.svc:8080`);
    expect(c['env'].findIndex((e: Doc) => e['name'] === 'POD_NAME')).toBeLessThan(c['env'].indexOf(advertised)); // $(VAR) needs it defined first
    expect(c['readinessProbe']['httpGet']['path']).toBe('/readyz');
    expect(c['livenessProbe']['httpGet']['path']).toBe('/healthz');
  });

  it('the HPA follows the seed (2–20 replicas, 70% CPU, cooldowns 300 s up / 600 s down) and a PDB keeps disruptions to one pod', () => {
    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa['spec']['scaleTargetRef']).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: one('StatefulSet')['metadata']['name'] });
    expect([hpa['spec']['minReplicas'], hpa['spec']['maxReplicas']]).toEqual([2, 20]);
    expect(hpa['spec']['metrics'][0]['resource']).toEqual({ name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } });
    expect(hpa['spec']['behavior']['scaleUp']['stabilizationWindowSeconds']).toBe(300);
    expect(hpa['spec']['behavior']['scaleDown']['stabilizationWindowSeconds']).toBe(600);
    // More pods than input partitions would own nothing.
    expect(hpa['spec']['maxReplicas']).toBeLessThanOrEqual(Number(one('ConfigMap')['data']['TOPIC_TRANSACTIONS_PARTITIONS']));
    const pdb = one('PodDisruptionBudget');
    expect(pdb['spec']['maxUnavailable']).toBe(1);
    expect(pdb['spec']['selector']['matchLabels']).toEqual(one('StatefulSet')['spec']['selector']['matchLabels']);
  });

  it('the ConfigMap and Secret hold only settings the gateway knows, and together they load as a valid configuration', () => {
    const known = new Set<string>(SETTINGS.map((s) => s.env));
    const cm = one('ConfigMap')['data'] as Record<string, string>;
    const sts = one('StatefulSet');
    const c = sts['spec']['template']['spec']['containers'][0];
    const secret = one('Secret')['stringData'] as Record<string, string>;
    const fromEnv = Object.fromEntries((c['env'] as Doc[]).filter((e) => e['name'] !== 'POD_NAME').map((e) => [e['name'], e['value'] ?? secret[e['valueFrom']['secretKeyRef']['key']]]));
    for (const k of [...Object.keys(cm), ...Object.keys(fromEnv)]) expect(known.has(k), `${k} is not a setting`).toBe(true);
    const secretKeys = new Set(Object.keys(one('Secret')['stringData']));
    for (const e of c['env'] as Doc[]) if (e['valueFrom']?.['secretKeyRef'] !== undefined) expect(secretKeys.has(e['valueFrom']['secretKeyRef']['key'])).toBe(true);
    const env = { ...cm, ...fromEnv, CLUSTER_ADVERTISED_URL: 'http://scoregate-0.scoregate-headless.scoregate.svc:8080' };
    // The Secret's placeholders are refused where one would open a door: the forward route's.
    expect(() => loadConfig(env)).toThrow(/CLUSTER_SECRET.*placeholder/);
    const config = loadConfig({ ...env, CLUSTER_SECRET: 'k8s-test-secret-0123456789abcdefghijklmnopqrstuvwxyz' });
    expect(config).toMatchObject({ clusterShards: true, kafkaScoreInput: true, kafkaReplicationFactor: 3, kafkaMinInsyncReplicas: 2, topicTransactionsPartitions: 24, host: '0.0.0.0' });
  });
});
