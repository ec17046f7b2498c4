// Reference benchmark: @vladmandic/face-api on TensorFlow.js's WASM backend,
// on the same PNG frames as laned's Go benchmarks (see internal/bench/frames.json and
// internal/bench/README.md). Prints one JSON object on stdout, progress on stderr.
//
//   node internal/bench/reference/bench.mjs [FRAMES_DIR]
//
// Environment (all optional):
//   LANED_BENCH_FRAMES   frame directory (default <repo>/models/cache/bench)
//   BENCH_ITERS          iterations per measurement (default 10)
//   BENCH_WARMUP         warm-up runs per measurement (default 2)
//   BENCH_MAX_SECONDS    time budget of all timed loops together (default 45);
//                        a measurement stops early when its share is spent,
//                        after at least 3 iterations
//   BENCH_MIN_CONFIDENCE SSD-MobileNet score threshold (default 0.2; see README)
//   LANED_SHARED         shared directory with golden/face-recognition (default <repo>/../shared)
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);

const log = (...a) => process.stderr.write(`bench.mjs: ${a.join(' ')}\n`);
const fail = (msg) => { log(`error: ${msg}`); process.exit(1); };

const envNum = (name, def, min) => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) fail(`${name}=${JSON.stringify(v)}: want a number >= ${min}`);
  return n;
};
const ITERS = Math.floor(envNum('BENCH_ITERS', 10, 1));
const WARMUP = Math.floor(envNum('BENCH_WARMUP', 2, 0));
const MAX_SECONDS = envNum('BENCH_MAX_SECONDS', 45, 1);
const MIN_CONFIDENCE = envNum('BENCH_MIN_CONFIDENCE', 0.2, 0);
const MIN_ITERS = Math.min(3, ITERS);
const framesDir = path.resolve(process.argv[2] || process.env.LANED_BENCH_FRAMES || path.join(repo, 'models', 'cache', 'bench'));
const sharedDir = path.resolve(process.env.LANED_SHARED || path.join(repo, '..', 'shared'));

let tf; let wasm; let faceapi; let PNG;
try {
  tf = require('@tensorflow/tfjs');
  wasm = require('@tensorflow/tfjs-backend-wasm');
  faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  ({ PNG } = require('pngjs'));
} catch (e) {
  fail(`cannot load the reference packages (run \`npm ci\` in ${here}): ${e.message}`);
}
const pkgDir = (name) => path.dirname(require.resolve(`${name}/package.json`));
const pkgVersion = (name) => JSON.parse(fs.readFileSync(path.join(pkgDir(name), 'package.json'), 'utf8')).version;

// readFrame decodes a PNG into an RGB int32 tensor [h, w, 3].
function readFrame(file) {
  const p = path.join(framesDir, file);
  let buf;
  try {
    buf = fs.readFileSync(p);
  } catch (e) {
    fail(`frame ${p}: ${e.code === 'ENOENT' ? 'missing (make it with `go run ./internal/bench/mkframes`)' : e.message}`);
  }
  let png;
  try {
    png = PNG.sync.read(buf);
  } catch (e) {
    fail(`frame ${p}: not a readable PNG: ${e.message}`);
  }
  const { width: w, height: h, data } = png; // RGBA, 8 bit
  const rgb = new Int32Array(w * h * 3);
  for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
    rgb[j] = data[i]; rgb[j + 1] = data[i + 1]; rgb[j + 2] = data[i + 2];
  }
  return { tensor: tf.tensor3d(rgb, [h, w, 3], 'int32'), w, h, path: p };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

const measurements = 5;
const budgetMs = (MAX_SECONDS * 1000) / measurements;

// measure runs fn WARMUP times, then up to ITERS timed times (at least
// MIN_ITERS) within its share of the time budget (itersFactor times as
// many for a cheap call). perOp divides each sample.
async function measure(name, fn, perOp = 1, itersFactor = 1) {
  for (let i = 0; i < WARMUP * itersFactor; i++) await fn();
  const samples = [];
  const cpu = []; // process CPU time (user+system, all threads): robust to other load
  const start = performance.now();
  for (let i = 0; i < ITERS * itersFactor; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    samples.push((performance.now() - t0) / perOp);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000 / perOp);
    if (samples.length >= MIN_ITERS && performance.now() - start > budgetMs) break;
  }
  const st = {
    median: round(median(samples)),
    mean: round(samples.reduce((a, b) => a + b, 0) / samples.length),
    min: round(Math.min(...samples)),
    cpu_median: round(median(cpu)),
    iterations: samples.length,
  };
  log(`${name.padEnd(30)} median ${st.median.toFixed(2).padStart(8)} ms  mean ${st.mean.toFixed(2).padStart(8)} ms  cpu ${st.cpu_median.toFixed(2).padStart(8)} ms  (n=${st.iterations})`);
  return st;
}

// goldenCheck runs the recogniser on the golden 150×150 crops (when
// ../shared is present) and compares with the reference embeddings: it proves
// the WASM reference computes the same function as the CPU reference.
async function goldenCheck() {
  const dir = path.join(sharedDir, 'golden', 'face-recognition');
  const inF = path.join(dir, 'input-rgb-150.f32');
  const refF = path.join(dir, 'reference-embedding-128.f32');
  if (!fs.existsSync(inF) || !fs.existsSync(refF)) return null;
  const toF32 = (b) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const input = toF32(fs.readFileSync(inF));
  const ref = toF32(fs.readFileSync(refF));
  const n = input.length / (150 * 150 * 3);
  if (!Number.isInteger(n) || ref.length !== n * 128) return { error: `unexpected sizes in ${dir}` };
  let maxDiff = 0;
  for (let k = 0; k < n; k++) {
    const t = tf.tensor3d(input.subarray(k * 67500, (k + 1) * 67500), [150, 150, 3], 'float32');
    const d = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(t);
    t.dispose();
    for (let i = 0; i < 128; i++) maxDiff = Math.max(maxDiff, Math.abs(d[i] - ref[k * 128 + i]));
  }
  return { crops: n, max_abs_diff: maxDiff };
}

async function main() {
  const t00 = performance.now();
  const wasmDir = path.join(pkgDir('@tensorflow/tfjs-backend-wasm'), 'dist') + path.sep;
  wasm.setWasmPaths(wasmDir); // binaries from node_modules, never a CDN
  if (!(await tf.setBackend('wasm'))) fail('TensorFlow.js WASM backend did not initialise');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const threads = wasm.getThreadsCount();
  const binary = simd && multithread ? 'tfjs-backend-wasm-threaded-simd.wasm' : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  log(`backend ${tf.getBackend()} (${binary}): SIMD ${simd}, multithreading ${multithread}, XNNPACK threads ${threads}`);

  const modelDir = path.join(pkgDir('@vladmandic/face-api'), 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  const opts = new faceapi.SsdMobilenetv1Options({ minConfidence: MIN_CONFIDENCE });

  const f1080 = readFrame('1080p-3faces.png');
  const f640 = readFrame('640x480.png');
  if (f1080.w !== 1920 || f1080.h !== 1080) fail(`${f1080.path}: ${f1080.w}x${f1080.h}, want 1920x1080`);
  if (f640.w !== 640 || f640.h !== 480) fail(`${f640.path}: ${f640.w}x${f640.h}, want 640x480`);
  log(`frames from ${framesDir}; setup ${Math.round(performance.now() - t00)} ms`);

  const full = (t) => faceapi.detectAllFaces(t, opts).withFaceLandmarks().withFaceDescriptors();
  const res1080 = await full(f1080.tensor);
  const res640 = await full(f640.tensor);
  const faces1080 = res1080.length;
  const faces640 = res640.length;
  log(`faces found: 1080p ${faces1080} [${res1080.map((r) => r.detection.score.toFixed(2)).join(' ')}], 640x480 ${faces640} [${res640.map((r) => r.detection.score.toFixed(2)).join(' ')}]`);
  if (faces1080 === 0) fail('no face found on the 1080p frame: cannot time the per-face descriptor');

  // 150×150 aligned face chips, cut the way face-api's own pipeline does
  // (landmark-aligned box), resized to the recogniser's input size.
  const chips = await faceapi.extractFaceTensors(f1080.tensor, res1080.map((r) => r.alignedRect));
  const crops = chips.map((c) => tf.tidy(() => tf.image.resizeBilinear(c, [150, 150])));
  tf.dispose(chips);

  const tensorsBefore = tf.memory().numTensors;
  const tStart = performance.now();
  const st = {};
  // One sample per face (3 per iteration): more samples for a cheap call.
  let next = 0;
  st.face_descriptor = await measure('descriptor per face (150x150)', async () => {
    await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(crops[next++ % crops.length]);
  }, 1, crops.length);
  st.frame_1080p_3faces = await measure('full frame 1080p', () => full(f1080.tensor));
  st.frame_640x480 = await measure('full frame 640x480', () => full(f640.tensor));
  st.detect_1080p = await measure('detect 1080p', () => faceapi.detectAllFaces(f1080.tensor, opts));
  st.detect_640x480 = await measure('detect 640x480', () => faceapi.detectAllFaces(f640.tensor, opts));
  const timedSeconds = (performance.now() - tStart) / 1000;
  const leaked = tf.memory().numTensors - tensorsBefore;

  const golden = await goldenCheck();
  if (golden && golden.max_abs_diff !== undefined) log(`golden check: ${golden.crops} crops, max |descriptor - reference| = ${golden.max_abs_diff.toExponential(2)}`);
  tf.dispose([...crops, f1080.tensor, f640.tensor]);

  // Landmarks + alignment + descriptor per face inside the full pipeline.
  const perFaceInPipeline = (fr, det, n) => (n > 0 ? round((fr.median - det.median) / n) : null);
  const out = {
    ms_per_face_descriptor: st.face_descriptor.median,
    ms_per_frame_1080p_3faces: st.frame_1080p_3faces.median,
    ms_per_frame_640x480: st.frame_640x480.median,
    ms_detect_1080p: st.detect_1080p.median,
    ms_detect_640x480: st.detect_640x480.median,
    cpu_ms_per_face_descriptor: st.face_descriptor.cpu_median,
    cpu_ms_per_frame_1080p_3faces: st.frame_1080p_3faces.cpu_median,
    ms_per_face_in_pipeline_1080p: perFaceInPipeline(st.frame_1080p_3faces, st.detect_1080p, faces1080),
    faces_found_1080p: faces1080,
    faces_found_640x480: faces640,
    stats_ms: st,
    backend: {
      name: tf.getBackend(),
      wasm_binary: binary,
      simd,
      multithreading: multithread,
      threads,
      note: 'tfjs-backend-wasm turns multithreading off under Node (tfjs issue 3830); forcing it fails (ERR_WORKER_PATH), so the reference runs one XNNPACK thread with SIMD',
    },
    detector: { model: 'ssdMobilenetv1', min_confidence: MIN_CONFIDENCE },
    versions: {
      node: process.versions.node,
      'face-api': pkgVersion('@vladmandic/face-api'),
      'tfjs': pkgVersion('@tensorflow/tfjs'),
      'tfjs-core': tf.version_core,
      'tfjs-backend-wasm': pkgVersion('@tensorflow/tfjs-backend-wasm'),
      pngjs: pkgVersion('pngjs'),
    },
    frames_dir: framesDir,
    iterations: ITERS,
    warmup: WARMUP,
    timed_seconds: round(timedSeconds, 1),
    total_seconds: round((performance.now() - t00) / 1000, 1),
    tensors_leaked: leaked,
    golden,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch((e) => fail(e.stack || String(e)));
