/**
 * Where the gateway's CPU goes on POST /v1/score at saturation: the gateway (default settings,
 * as the load test runs it) under `node --cpu-prof`, wrk with the load test's score.lua at 50
 * connections after a warm-up, then the profile summarised (loadtest/profile-top.ts) and drawn
 * (loadtest/flame.ts):
 *
 *   node dist/loadtest/profile.js [--seconds 10] [--out loadtest/results/profile]
 *
 * Writes OUT/score.cpuprofile, OUT/flame.svg and OUT/top.md (the top functions by self time,
 * with the run's throughput and CPU). The profiler costs the gateway some throughput; the
 * figures to compare are the load test's, the shares are this run's.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Traffic } from './traffic.js';
import { runWrk, writeScoreData, wrkPath, wrkScript } from './wrk.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : def;
};
const SECONDS = Number(opt('--seconds', '10'));
const OUT = resolve(opt('--out', join(ROOT, 'loadtest', 'results', 'profile')));

async function main(): Promise<void> {
  if (wrkPath() === null) throw new Error('wrk is not installed (apt-get install wrk)');
  const tmp = mkdtempSync(join(os.tmpdir(), 'scoregate-profile-'));
  const profDir = join(tmp, 'prof');
  mkdirSync(OUT, { recursive: true });
  try {
    const traffic = new Traffic({ users: 30_000, seed: 20261127, badShare: 0.02 });
    const data = join(tmp, 'wrk-score.lua');
    writeScoreData(traffic, data, 60_000);
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    // The heap limit flag keeps src/main.ts from re-executing itself: one process, one profile.
    const gw = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--max-old-space-size=2048', join(ROOT, 'dist/src/main.js')], {
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(tmp, 'data'), SPOOL_DIR: join(tmp, 'spool'), MODEL_CACHE_DIR: join(tmp, 'models'), KAFKA_BROKERS: '', MLFLOW_TRACKING_URI: '', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if ((await fetch(`${url}/readyz`).then((r) => r.status, () => 0)) === 200) break;
      if (i > 600) throw new Error('the gateway did not get ready in 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const wrk = (seconds: number, tag: string) => runWrk({ url: `${url}/v1/score`, script: wrkScript(ROOT, 'score.lua'), data, connections: 50, threads: 1, seconds, tag });
    await wrk(3, `pw${Date.now().toString(36)}`);
    const stat0 = procCpu(gw.pid!);
    const r = await wrk(SECONDS, `pr${Date.now().toString(36)}`);
    const targetCpu = (procCpu(gw.pid!) - stat0) / r.durationS;
    gw.kill('SIGTERM');
    await new Promise((r) => gw.once('exit', r));
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('no profile written');
    const prof = join(OUT, 'score.cpuprofile');
    renameSync(join(profDir, file), prof);
    const top = execFileSync(process.execPath, [join(ROOT, 'dist/loadtest/profile-top.js'), prof, '30'], { encoding: 'utf8' });
    execFileSync(process.execPath, [join(ROOT, 'dist/loadtest/flame.js'), prof, join(OUT, 'flame.svg'), `scoregate POST /v1/score at saturation (wrk, 50 connections, ${SECONDS} s)`], { stdio: 'inherit' });
    const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
    const head = [
      `# Profile: POST /v1/score at saturation`,
      '',
      `\`node dist/loadtest/profile.js --seconds ${SECONDS}\`, ${new Date().toISOString()}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, Node ${process.version}, load average ${load} at the end.`,
      `The gateway with default settings under \`--cpu-prof\`, wrk (1 thread, 50 connections, score.lua) for ${SECONDS} s after a 3 s warm-up: ${Math.round(r.rps).toLocaleString('en-US')} req/s, gateway CPU ${(targetCpu * 100).toFixed(0)}% of a core (${((targetCpu * 1e6) / r.rps).toFixed(0)} µs a request), wrk ${((r.cpuSeconds / r.durationS) * 100).toFixed(0)}%.`,
      'The flame graph: [flame.svg](flame.svg). Self time by function:',
      '',
    ];
    writeFileSync(join(OUT, 'top.md'), head.join('\n') + top);
    console.log(head.join('\n') + top);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** CPU seconds a process used so far (/proc/PID/stat utime + stime). */
function procCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
