// The status page: polls GET /v1/status once a second, keeps two minutes of polls, and draws
// tiles, tables and small SVG charts from the differences between them.
import { delta, formatCount, formatMiB, formatRate, formatSeconds, formatUptime, quantile, rate, sum } from './stats.js';

const POLL_MS = 1000;
const KEEP_MS = 120_000;
const LATENCY_WINDOW_MS = 10_000;
const CHART_HEIGHT = 150;
const QUALITY_ORDER = ['completeness', 'validity', 'consistency', 'uniqueness'];

/** @type {{ at: number, s: any }[]} polls, oldest first */
const polls = [];
/** @type {{ at: number, tps: number, p50: number | null, p99: number | null }[]} */
const points = [];

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
function setText(id, v) {
  const e = $(id);
  if (e.textContent !== v) e.textContent = v;
}
const esc = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const answered = (s) => (s.transactions.scored ?? 0) + (s.transactions.fallback ?? 0);
const rejected = (s) => sum(s.transactions, (k) => k !== 'scored' && k !== 'fallback');

/** The latest poll at least `ms` older than `at`, else the oldest kept (undefined if none). */
function pollBefore(at, ms) {
  let found = polls[0];
  for (const p of polls) if (p.at <= at - ms) found = p;
  return found;
}

function percentiles(before, s, route) {
  const b = s.latency.routes[route]?.counts;
  if (b === undefined) return { p50: null, p90: null, p99: null };
  const d = delta(before?.s.latency.routes[route]?.counts, b);
  return { p50: quantile(s.latency.le, d, 0.5), p90: quantile(s.latency.le, d, 0.9), p99: quantile(s.latency.le, d, 0.99) };
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(svg) {
  const w = Math.max(200, Math.round(svg.clientWidth || 400));
  svg.setAttribute('viewBox', `0 0 ${w} ${CHART_HEIGHT}`);
  return { w, h: CHART_HEIGHT, left: 44, right: 6, top: 8, bottom: 18 };
}

/**
 * Lines over the last two minutes; series: [{ key, cls, area }]. `log` draws the y axis in
 * decades from `log` up (latency: p50 and p99 are often two orders apart).
 */
function lineChart(svg, series, format, now, log = 0) {
  const f = frame(svg);
  let max = 0;
  for (const p of points) for (const s of series) if (p[s.key] !== null) max = Math.max(max, p[s.key]);
  const lo = log > 0 ? log : 0;
  const hi = log > 0 ? Math.max(lo * 10, 10 ** Math.ceil(Math.log10(max || lo * 10))) : niceMax(max);
  const x = (at) => f.left + ((at - (now - KEEP_MS)) / KEEP_MS) * (f.w - f.left - f.right);
  const share = (v) => (log > 0 ? Math.log10(Math.max(v, lo) / lo) / Math.log10(hi / lo) : v / hi);
  const y = (v) => f.top + (1 - share(v)) * (f.h - f.top - f.bottom);
  const ticks = [];
  if (log > 0) for (let t = lo; t <= hi * 1.001; t *= 10) ticks.push(t);
  else ticks.push(0, hi / 2, hi);
  let out = '';
  for (const t of ticks) {
    out += `<line class="grid-line" x1="${f.left}" x2="${f.w - f.right}" y1="${y(t)}" y2="${y(t)}"/>`;
    out += `<text x="${f.left - 4}" y="${y(t) + 3}" text-anchor="end">${esc(format(t))}</text>`;
  }
  for (const [label, at] of [['−2 min', now - KEEP_MS], ['−1 min', now - KEEP_MS / 2], ['now', now]]) {
    out += `<text x="${x(at)}" y="${f.h - 4}" text-anchor="${at === now ? 'end' : 'start'}">${label}</text>`;
  }
  for (const s of series) {
    const pts = points.filter((p) => p[s.key] !== null).map((p) => `${x(p.at).toFixed(1)},${y(p[s.key]).toFixed(1)}`);
    if (pts.length === 0) continue;
    if (s.area === true && pts.length > 1) {
      const first = points.find((p) => p[s.key] !== null);
      out += `<path class="area" d="M${x(first.at).toFixed(1)},${y(0)}L${pts.join('L')}L${x(points[points.length - 1].at).toFixed(1)},${y(0)}Z"/>`;
    }
    out += `<path class="${s.cls}" d="M${pts.join('L')}"/>`;
  }
  svg.innerHTML = out;
}

/** 20 bins of 0.05, heights on a log scale (most scores sit near 0), coloured by risk band. */
function scoreChart(svg, bins) {
  const f = frame(svg);
  const max = Math.max(1, ...bins);
  const bw = (f.w - f.left - f.right) / bins.length;
  const y = (c) => f.top + (1 - Math.log10(1 + c) / Math.log10(1 + max)) * (f.h - f.top - f.bottom);
  let out = '';
  for (const c of [max, 0]) {
    out += `<line class="grid-line" x1="${f.left}" x2="${f.w - f.right}" y1="${y(c)}" y2="${y(c)}"/>`;
    out += `<text x="${f.left - 4}" y="${y(c) + 3}" text-anchor="end">${esc(formatCount(c))}</text>`;
  }
  bins.forEach((c, i) => {
    const cls = i >= 16 ? 'bin-high' : i >= 10 ? 'bin-medium' : 'bin-low';
    const top = y(c);
    out += `<rect class="${cls}" x="${(f.left + i * bw + 1).toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(y(0) - top).toFixed(1)}"><title>${((i) / 20).toFixed(2)}–${((i + 1) / 20).toFixed(2)}: ${esc(formatCount(c))}</title></rect>`;
  });
  for (const v of [0, 0.5, 0.8, 1]) out += `<text x="${f.left + v * bins.length * bw}" y="${f.h - 4}" text-anchor="${v === 1 ? 'end' : v === 0 ? 'start' : 'middle'}">${v}</text>`;
  svg.innerHTML = out;
}

function rows(id, html) {
  const body = /** @type {HTMLTableElement} */ ($(id)).tBodies[0];
  if (body.innerHTML !== html) body.innerHTML = html;
}

function setPill(cls, label) {
  const e = $('ready');
  e.className = `pill ${cls}`;
  setText('ready', label);
}

const two = (n) => String(n).padStart(2, '0');
/** Local time as 2026-11-27 15:04:22. */
function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
const modelLabel = (m) => (m ? `${m.name} ${m.version}` : '–');

function draw(s) {
  const prev = polls.length > 0 ? polls[polls.length - 1] : undefined;
  polls.push({ at: s.at, s });
  while (polls.length > 0 && polls[0].at < s.at - KEEP_MS - LATENCY_WINDOW_MS) polls.shift();
  const lat = percentiles(pollBefore(s.at, LATENCY_WINDOW_MS), s, 'score');
  const tps = prev === undefined ? 0 : rate(answered(prev.s), answered(s), (s.at - prev.at) / 1000);
  points.push({ at: s.at, tps, p50: lat.p50, p99: lat.p99 });
  while (points.length > 0 && points[0].at < s.at - KEEP_MS) points.shift();

  if (s.ready === null) setPill('ok', 'ready');
  else setPill('bad', `not ready: ${s.ready}`);
  const active = s.model.active;
  setText('model-name', active ? active.name : '–');
  setText('model-version', active ? active.version : '–');
  setText('uptime', formatUptime(s.uptimeS));
  setText('rss', formatMiB(s.memory.rssBytes));
  setText('updated', `updated ${new Date(s.at).toLocaleTimeString('en-GB', { hour12: false })}`);

  setText('throughput', formatRate(tps));
  setText('throughput-peak', formatRate(Math.max(0, ...points.map((p) => p.tps))));
  setText('scored', formatCount(answered(s)));
  setText('fallback-count', formatCount(s.transactions.fallback ?? 0));
  setText('p50', formatSeconds(lat.p50));
  setText('p90', formatSeconds(lat.p90));
  setText('p99', formatSeconds(lat.p99));
  setText('batch-p99', formatSeconds(percentiles(pollBefore(s.at, LATENCY_WINDOW_MS), s, 'batch').p99));
  setText('rejected', formatCount(rejected(s)));
  setText('rejected-rate', formatRate(prev === undefined ? 0 : rate(rejected(prev.s), rejected(s), (s.at - prev.at) / 1000)));
  setText('shed', formatCount(s.shed));
  setText('in-flight', formatCount(s.inFlight));
  setText('queue', formatCount(s.queue));
  setText('ws', formatCount(s.wsConnections));

  lineChart($('chart-throughput'), [{ key: 'tps', cls: 'line', area: true }], formatRate, s.at);
  lineChart($('chart-latency'), [{ key: 'p50', cls: 'line' }, { key: 'p99', cls: 'line p99' }], formatSeconds, s.at, 0.0001);
  scoreChart($('chart-scores'), s.scores);

  const riskTotal = Math.max(1, sum(s.risk));
  for (const c of ['LOW', 'MEDIUM', 'HIGH']) {
    const n = s.risk[c] ?? 0;
    setText(`risk-${c}`, `${formatCount(n)} · ${((100 * n) / riskTotal).toFixed(n > 0 && n < riskTotal / 100 ? 2 : 0)}%`);
    $(`risk-bar-${c}`).style.width = `${(100 * n) / riskTotal}%`;
  }

  const checks = [...QUALITY_ORDER.filter((c) => c in s.quality), ...Object.keys(s.quality).filter((c) => !QUALITY_ORDER.includes(c))];
  rows('quality', checks.map((c) => {
    const q = s.quality[c];
    const pct = q.pass + q.fail > 0 ? ((100 * q.fail) / (q.pass + q.fail)).toFixed(2) : '0.00';
    return `<tr><td>${esc(c)}</td><td>${formatCount(q.pass)}</td><td class="${q.fail > 0 ? 'fail' : ''}">${formatCount(q.fail)}</td><td>${pct}</td></tr>`;
  }).join('') || '<tr><td colspan="4" class="muted">no transactions checked yet</td></tr>');

  const codes = Object.entries(s.transactions).filter(([k]) => k !== 'scored' && k !== 'fallback').sort((a, b) => b[1] - a[1]);
  rows('outcomes', codes.map(([k, n]) => `<tr><td>${esc(k)}</td><td>${formatCount(n)}</td></tr>`).join('') || '<tr><td colspan="2" class="muted">none</td></tr>');

  setText('model-serving', modelLabel(active));
  setText('model-origin', active ? active.origin : '–');
  setText('model-since', when(active?.loadedAt));
  setText('model-challenger', s.model.challenger ? `${modelLabel(s.model.challenger)} (${s.model.challenger.origin})` : 'none');
  const rej = s.model.lastRejection;
  setText('model-rejection', rej ? `${when(rej.at)} ${rej.version ?? ''} ${rej.origin}: ${rej.reason ?? ''}` : 'none');
  rows('model-history', [...s.model.history].reverse().map((h) =>
    `<tr><td>${esc(when(h.at))}</td><td>${esc(h.action)}</td><td>${esc(h.version ?? '–')}</td><td class="wrap">${esc(h.origin)}</td><td class="wrap outcome-${esc(h.outcome)}">${esc(h.outcome)}${h.reason ? `: ${esc(h.reason)}` : ''}</td></tr>`).join(''));

  const k = s.kafka;
  if (k !== null) {
    const parts = k.partitions.map((p) => `<tr><td>${esc(p.topic)}</td><td>${p.partition}</td><td>${formatCount(p.lag)}</td></tr>`).join('');
    const html = `<p>consumer lag <b>${formatCount(k.lag)}</b> · spool <b>${formatCount(k.spoolRecords)}</b> events pending · produced ${formatCount(k.produced)} · send errors ${formatCount(k.sendErrors)}</p>` +
      (parts ? `<table><thead><tr><th>topic</th><th>partition</th><th>lag</th></tr></thead><tbody>${parts}</tbody></table>` : '');
    const e = $('kafka');
    e.className = '';
    if (e.innerHTML !== html) e.innerHTML = html;
  }
  document.body.dataset['polls'] = String(Number(document.body.dataset['polls'] ?? 0) + 1);
}

// With AUTH_METRICS=protected, open /ui#token=<key or JWT with the metrics role>: the token
// stays in this tab (sessionStorage), leaves the address bar, and goes only to /v1/status.
const TOKEN_KEY = 'scoregate.token';
if (location.hash.startsWith('#token=')) {
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(location.hash.slice(7)));
  history.replaceState(null, '', location.pathname);
}

async function poll() {
  try {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const r = await fetch('/v1/status', { cache: 'no-store', headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (r.status === 401 || r.status === 403) {
      setPill('bad', `needs the metrics role (HTTP ${r.status})`);
      setText('updated', 'open /ui#token=<key or JWT>');
    } else if (!r.ok) throw new Error(`HTTP ${r.status}`);
    else draw(await r.json());
  } catch (err) {
    setPill('bad', 'no answer from the gateway');
    setText('updated', String(err instanceof Error ? err.message : err));
  }
  setTimeout(poll, POLL_MS);
}

void poll();
