// Summarises one benchmark run: Go benchmark output (go test -bench) beside
// the JavaScript reference's JSON (bench.mjs), as a table on stdout and as
// JSON in a file. Used by internal/bench/bench.sh.
//
//   node internal/bench/reference/summary.mjs GO_BENCH.txt JS.json OUT.json
//
// Exit status 1 only when BENCH_STRICT=1 and a goal is missed or missing.
import fs from 'node:fs';
import path from 'node:path';

const [goFile, jsFile, outFile] = process.argv.slice(2);
if (!goFile || !jsFile || !outFile) {
  process.stderr.write('usage: summary.mjs GO_BENCH.txt JS.json OUT.json\n');
  process.exit(2);
}

// parseGoBench reads `go test -bench` output: every "BenchmarkName-P  N  v unit ..." line.
function parseGoBench(text) {
  const out = {};
  let pkg = '';
  for (const line of text.split('\n')) {
    const p = line.match(/^pkg: (\S+)/);
    if (p) { pkg = p[1]; continue; }
    const m = line.match(/^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.+)$/);
    if (!m) continue;
    const metrics = {};
    const f = m[3].trim().split(/\s+/);
    for (let i = 0; i + 1 < f.length; i += 2) {
      const v = Number(f[i]);
      if (Number.isFinite(v)) metrics[f[i + 1]] = v;
    }
    if (metrics['ns/op'] === undefined) continue;
    out[m[1]] = { pkg, iterations: Number(m[2]), ms_per_op: metrics['ns/op'] / 1e6, metrics };
  }
  return out;
}

const readText = (f) => { try { return fs.readFileSync(f, 'utf8'); } catch { return ''; } };
const goRuns = parseGoBench(readText(goFile));
let js = {};
try {
  js = JSON.parse(readText(jsFile) || '{}');
} catch (e) {
  process.stderr.write(`summary: ${jsFile}: not JSON (${e.message}); JavaScript figures n/a\n`);
}

// goAll lists the runs of the first benchmark present: the benchmark itself,
// else its sub-benchmarks (Name/sub) in the order they ran, the first being
// the default case. A custom "ms/face" metric wins over ns/op.
function goAll(names, perFace = false) {
  const ms = (b) => (perFace && b.metrics['ms/face'] !== undefined ? b.metrics['ms/face'] : b.ms_per_op);
  for (const n of names) {
    if (goRuns[n]) return [{ name: n, ms: ms(goRuns[n]) }];
    const subs = Object.keys(goRuns).filter((k) => k.startsWith(`${n}/`));
    if (subs.length) return subs.map((k) => ({ name: k, ms: ms(goRuns[k]) }));
  }
  return [];
}
// goMetric: the first benchmark (or, failing that, its first sub-benchmark,
// the default case) that reports the named custom metric.
function goMetric(names, metric) {
  for (const n of names) {
    const k = goRuns[n] ? n : Object.keys(goRuns).find((x) => x.startsWith(`${n}/`));
    const b = k && goRuns[k];
    if (b && b.metrics[metric] !== undefined) return { name: `${k} ${metric}`, ms: b.metrics[metric] };
  }
  return { name: null, ms: null };
}
const goMs = (names, perFace) => goAll(names, perFace)[0] || { name: null, ms: null };

const frameRuns = goAll(['BenchmarkPipeline1080p3Faces']);
const faceRuns = goAll(['BenchmarkAlignEmbed', 'BenchmarkEmbed'], true);
const rows = [
  { key: 'per_face', label: 'per face: align+embed vs descriptor', go: faceRuns[0] || { name: null, ms: null }, js: js.ms_per_face_descriptor, goalGoMs: 8, goalRatio: 4 },
  // The other recogniser engines (the reference OpenCV path), no goal.
  ...faceRuns.slice(1).map((g) => ({ key: `per_face:${g.name.split('/').slice(1).join('/')}`, label: `  ${g.name.split('/').slice(1).join('/')}`, go: g, js: js.ms_per_face_descriptor })),
  // CPU time (all threads) instead of wall time: less sensitive to other load.
  { key: 'per_face_cpu', label: 'per face, CPU time', go: goMetric(['BenchmarkAlignEmbed', 'BenchmarkEmbed'], 'cpu-ms/face'), js: js.cpu_ms_per_face_descriptor },
  { key: 'per_frame_1080p_3faces', label: 'per frame 1920x1080, 3 faces', go: frameRuns[0] || { name: null, ms: null }, js: js.ms_per_frame_1080p_3faces, goalGoMs: 60 },
  // Other cases of the same benchmark (e.g. detector options), no goal.
  ...frameRuns.slice(1).map((g) => ({ key: `per_frame_1080p_3faces:${g.name.split('/').slice(1).join('/')}`, label: `  ${g.name.split('/').slice(1).join('/')}`, go: g, js: js.ms_per_frame_1080p_3faces })),
  { key: 'per_frame_640x480', label: 'per frame 640x480, 3 faces', go: goMs(['BenchmarkPipeline640x480']), js: js.ms_per_frame_640x480 },
  { key: 'detect_640x480', label: 'detect 640x480', go: goMs(['BenchmarkDetect640x480']), js: js.ms_detect_640x480, goalGoMs: 15 },
  { key: 'detect_1080p', label: 'detect 1920x1080', go: goMs(['BenchmarkDetect1920x1080']), js: js.ms_detect_1080p },
];

const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const fmt = (x, d = 2) => (x === null ? 'n/a' : x.toFixed(d));
let missed = false;
const summary = {};
for (const r of rows) {
  const goV = num(r.go.ms);
  const jsV = num(r.js);
  const ratio = goV !== null && jsV !== null && goV > 0 ? jsV / goV : null;
  const goals = [];
  if (r.goalGoMs !== undefined) goals.push({ what: `go <= ${r.goalGoMs} ms`, met: goV === null ? null : goV <= r.goalGoMs });
  if (r.goalRatio !== undefined) goals.push({ what: `js/go >= ${r.goalRatio}`, met: ratio === null ? null : ratio >= r.goalRatio });
  for (const g of goals) if (g.met !== true) missed = true;
  summary[r.key] = { go_benchmark: r.go.name, go_ms: goV, js_ms: jsV, ratio_js_over_go: ratio === null ? null : Math.round(ratio * 100) / 100, goals };
  r.out = { goV, jsV, ratio, goals };
}

const w = [38, 10, 10, 9, 0];
const line = (c) => c.map((s, i) => (i < 1 ? String(s).padEnd(w[i]) : i < 4 ? String(s).padStart(w[i]) : `  ${s}`)).join(' ');
const lines = [];
const be = js.backend || {};
lines.push(`JS reference: face-api ${js.versions?.['face-api'] ?? '?'} on tfjs ${js.versions?.tfjs ?? '?'} ${be.name ?? '?'} (SIMD ${be.simd ?? '?'}, threads ${be.threads ?? '?'}), node ${js.versions?.node ?? '?'}; faces found 1080p ${js.faces_found_1080p ?? 'n/a'}, 640x480 ${js.faces_found_640x480 ?? 'n/a'}`);
lines.push(line(['', 'Go ms', 'JS ms', 'JS/Go', 'goals (Go benchmark)']));
for (const r of rows) {
  const g = r.out.goals.map((x) => `${x.what}: ${x.met === null ? 'n/a' : x.met ? 'ok' : 'MISSED'}`).join(', ');
  lines.push(line([r.label, fmt(r.out.goV), fmt(r.out.jsV), r.out.ratio === null ? 'n/a' : `${r.out.ratio.toFixed(1)}x`, `${g}${g ? ' ' : ''}(${r.go.name ?? 'no Go benchmark'})`]));
}
const loadavg = { before_go: process.env.BENCH_LOAD_GO ?? null, before_js: process.env.BENCH_LOAD_JS ?? null, end: process.env.BENCH_LOAD_END ?? null };
if (loadavg.before_go) lines.push(`load average (1/5/15 min) before Go: ${loadavg.before_go}; before JS: ${loadavg.before_js}; end: ${loadavg.end} — on this 2-core machine, figures from a loaded run are slow and their ratios noisy`);
process.stdout.write(`${lines.join('\n')}\n`);

const doc = {
  time: new Date().toISOString(),
  loadavg,
  summary,
  go: goRuns,
  js,
};
fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
fs.writeFileSync(outFile, `${JSON.stringify(doc, null, 2)}\n`);
if (process.env.BENCH_STRICT === '1' && missed) {
  process.stderr.write('summary: a goal is missed or has no figure (BENCH_STRICT=1)\n');
  process.exit(1);
}
