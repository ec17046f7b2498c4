// Cross-check of the golden vectors with TensorFlow Lite's own runtime (the
// WASM build shipped in @tensorflow/tfjs-tflite, XNNPACK delegate), run in
// Node. Not part of the test suite; see README.md for how to run it.
//
//   node tflite-runtime-check.js NODE_MODULES MobileFaceNet.tflite
'use strict';
const fs = require('fs');
const path = require('path');
const [modules, modelPath] = process.argv.slice(2);
const wasmDir = path.join(modules, '@tensorflow', 'tfjs-tflite', 'wasm');
const factory = require(path.join(wasmDir, 'tflite_web_api_cc.js'));
const side = 112, dim = 192, px = side * side * 3;
const f32 = (p) => { const b = fs.readFileSync(p); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
(async () => {
  const M = await factory({ wasmBinary: fs.readFileSync(path.join(wasmDir, 'tflite_web_api_cc.wasm')) });
  const model = fs.readFileSync(modelPath);
  const p = M._malloc(model.length);
  M.HEAPU8.set(model, p);
  const r = M.TFLiteWebModelRunner.CreateFromBufferAndOptions(p, model.length, { numThreads: 1, enableProfiling: false, maxProfilingBufferEntries: 1024 });
  if (!r.ok()) throw new Error(r.errorMessage());
  const runner = r.value();
  const inp = f32(path.join(__dirname, 'input-rgb-112.f32'));
  const ref = f32(path.join(__dirname, 'reference-embedding-192.f32'));
  const n = inp.length / px;
  const out = [];
  for (let k = 0; k < n; k += 2) { // the graph's batch is 2
    const d = runner.GetInputs().get(0).data();
    for (let b = 0; b < 2; b++) {
      const kk = Math.min(k + b, n - 1);
      for (let i = 0; i < px; i++) d[b * px + i] = (inp[kk * px + i] - 127.5) / 128; // MyUtil.normalizeImage
    }
    runner.Infer();
    const o = runner.GetOutputs().get(0).data();
    for (let b = 0; b < 2 && k + b < n; b++) out.push(...o.slice(b * dim, (b + 1) * dim));
  }
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - out[i]));
  console.log(`TFLite runtime vs golden: max abs diff ${maxDiff.toExponential(3)} over ${ref.length} values`);
  process.exit(maxDiff <= 1e-4 ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });
