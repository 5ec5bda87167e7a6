// Times one ONNX model on ONNX Runtime's CPU execution provider with the settings of
// bench/ort/README.md and prints one JSON line: the baseline sparoa's CPU kernels are compared
// with (scripts/bench-vs-ort.sh).
//
//   node ort_bench.mjs MODEL.onnx INPUT_DIR [--runs N] [--warmup N] [--threads N]
//
// INPUT_DIR holds input_K.pb files (serialized onnx.TensorProto, as `sparoa run --save-inputs`
// writes them), so both runtimes see the same bytes.
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';

function argValue(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

// A minimal protobuf reader for the TensorProto fields sparoa writes: dims (1), data_type (2),
// name (8), raw_data (9).
function readVarint(buf, pos) {
  let value = 0n, shift = 0n;
  for (;;) {
    const b = buf[pos++];
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, pos];
    shift += 7n;
  }
}

function readTensorProto(file) {
  const buf = fs.readFileSync(file);
  const dims = [];
  let type = 0, name = '', raw = null;
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n), wire = Number(key & 7n);
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      if (field === 1) dims.push(Number(v));
      if (field === 2) type = Number(v);
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const bytes = buf.subarray(pos, pos + Number(len));
      pos += Number(len);
      if (field === 1) {  // packed dims
        let p = 0;
        while (p < bytes.length) { let v; [v, p] = readVarint(bytes, p); dims.push(Number(v)); }
      } else if (field === 8) {
        name = bytes.toString('utf8');
      } else if (field === 9) {
        raw = bytes;
      }
    } else if (wire === 5) {
      pos += 4;
    } else if (wire === 1) {
      pos += 8;
    } else {
      throw new Error(`${file}: unsupported protobuf wire type ${wire}`);
    }
  }
  if (raw === null) throw new Error(`${file}: no raw_data`);
  const copy = Uint8Array.from(raw);
  const kinds = {1: ['float32', Float32Array], 7: ['int64', BigInt64Array], 6: ['int32', Int32Array], 9: ['bool', Uint8Array]};
  if (!kinds[type]) throw new Error(`${file}: element type ${type} not handled`);
  const [ortType, Ctor] = kinds[type];
  const data = new Ctor(copy.buffer, 0, copy.byteLength / Ctor.BYTES_PER_ELEMENT);
  return {name, tensor: new ort.Tensor(ortType, ortType === 'bool' ? Uint8Array.from(data) : data, dims)};
}

const [modelPath, inputDir] = process.argv.slice(2, 4);
if (!modelPath || !inputDir) {
  console.error('usage: node ort_bench.mjs MODEL.onnx INPUT_DIR [--runs N] [--warmup N] [--threads N]');
  process.exit(2);
}
const runs = argValue('--runs', 50), warmup = argValue('--warmup', 5), threads = argValue('--threads', 2);
const session = await ort.InferenceSession.create(modelPath, {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
});
const feeds = {};
for (let k = 0; fs.existsSync(path.join(inputDir, `input_${k}.pb`)); ++k) {
  const {name, tensor} = readTensorProto(path.join(inputDir, `input_${k}.pb`));
  feeds[name || session.inputNames[k]] = tensor;
}
for (let i = 0; i < warmup; ++i) await session.run(feeds);
const times = [];
for (let i = 0; i < runs; ++i) {
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({
  model: path.basename(modelPath), runtime: 'onnxruntime-node', version: ort.env.versions?.common ?? '1.30.0',
  threads, runs, median_ms: times[Math.floor(times.length / 2)], min_ms: times[0],
}));
