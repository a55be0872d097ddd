#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (onnxruntime-node, installed by scripts/fetch-models under
// $EAVE_CACHE/npm): the independent peer that the reference interpreter and compiled code are
// compared against on real models, and the peer the benchmarks measure.
//
//   node tools/ort_run.js MODEL.onnx --input NAME=FILE.npy ... --output-dir DIR [options]
//   node tools/ort_run.js MODEL.onnx --input NAME=FILE.npy ... --bench RUNS [options]
//   node tools/ort_run.js --check
//
// Outputs are written as DIR/NAME.npy with '/' and '\' in NAME replaced by '_', the naming of
// `eave run-reference --output-dir`. --bench prints one JSON line
// {"median_ms", "p90_ms", "min_ms", "peak_rss_mb"} after warm-up runs. Options: --threads N
// (intra-op threads, default 1), --graph-opt disabled|basic|extended|all (default all;
// `disabled` runs the graph as written, a second opinion with different rounding that checks the
// comparison harness). --check runs a tiny built-in model and prints the ORT version: exit 0
// means the native binding loads and runs.
// Exit codes: 0 ok, 1 bad model/input or ORT error, 2 usage error, 3 onnxruntime-node missing.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const ORT_VERSION = '1.30.0';

const USAGE = `usage: node tools/ort_run.js MODEL.onnx --input NAME=FILE.npy ... --output-dir DIR [options]
       node tools/ort_run.js MODEL.onnx --input NAME=FILE.npy ... --bench RUNS [options]
       node tools/ort_run.js --check
options: --threads N (intra-op threads, default 1)
         --graph-opt disabled|basic|extended|all (ORT graph optimizations, default all)
`;

const GRAPH_OPT_LEVELS = ['disabled', 'basic', 'extended', 'all'];

class UsageError extends Error {}

function loadOrt() {
  const cache = process.env.EAVE_CACHE || path.join(os.homedir(), '.cache', 'eave');
  const dir = path.join(cache, 'npm', 'node_modules', 'onnxruntime-node');
  try {
    return require(dir);
  } catch (e) {
    process.stderr.write(`ort_run: cannot load onnxruntime-node from ${dir} ` +
                         `(run scripts/fetch-models): ${e.message}\n`);
    process.exit(3);
  }
}

// ---- .npy files (format versions 1-3, little-endian, C order) ----

// npy descr -> [ORT tensor type, typed array constructor]
const NPY_TYPES = {
  '<f4': ['float32', Float32Array],
  '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array],
  '<i4': ['int32', Int32Array],
  '|i1': ['int8', Int8Array],
  '|u1': ['uint8', Uint8Array],
  '|b1': ['bool', Uint8Array],
};
const DESCR_OF_TYPE = Object.fromEntries(Object.entries(NPY_TYPES).map(([d, [t]]) => [t, d]));
const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);  // "\x93NUMPY"

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(NPY_MAGIC))
    throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const lenBytes = major === 1 ? 2 : 4;
  const headerLen = lenBytes === 2 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = 8 + lenBytes + headerLen;
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', 8 + lenBytes, start);
  const field = (key) => {
    const m = header.match(new RegExp(`'${key}'\\s*:\\s*('[^']*'|True|False|\\([^)]*\\))`));
    if (!m) throw new Error(`${file}: .npy header has no '${key}': ${header.trim()}`);
    return m[1];
  };
  const descr = field('descr').slice(1, -1);
  if (!(descr in NPY_TYPES))
    throw new Error(`${file}: unsupported .npy dtype '${descr}' (supported: ` +
                    `${Object.keys(NPY_TYPES).join(' ')})`);
  if (field('fortran_order') !== 'False')
    throw new Error(`${file}: Fortran-order .npy files are not supported`);
  const dims = field('shape').slice(1, -1).split(',').map((s) => s.trim()).filter((s) => s)
                   .map(Number);
  const [type, Ctor] = NPY_TYPES[descr];
  const count = dims.reduce((a, b) => a * b, 1);
  const bytes = count * Ctor.BYTES_PER_ELEMENT;
  if (buf.length - start < bytes)
    throw new Error(`${file}: truncated: ${bytes} data bytes expected, ${buf.length - start} found`);
  // Copy so the typed array is aligned whatever the header length was.
  const data = new Ctor(count);
  new Uint8Array(data.buffer).set(buf.subarray(start, start + bytes));
  return { type, dims, data };
}

function writeNpy(file, type, dims, data) {
  const descr = DESCR_OF_TYPE[type];
  if (!descr) throw new Error(`cannot write ${file}: unsupported output type ${type}`);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Version 1.0: magic, version, uint16 header length; header padded with spaces and ended
  // with '\n' so the data starts on a 64-byte boundary.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  NPY_MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

// ---- command line ----

function parseArgs(argv) {
  const opts = { model: null, inputs: [], outputDir: null, threads: 1, bench: 0, check: false,
                 graphOpt: 'all' };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    const count = (s, min) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < min) throw new UsageError(`${a}: expected an integer >= ${min}, got '${s}'`);
      return n;
    };
    if (a === '--input') {
      const s = value();
      const eq = s.indexOf('=');
      if (eq <= 0) throw new UsageError(`--input: expected NAME=FILE.npy, got '${s}'`);
      opts.inputs.push([s.slice(0, eq), s.slice(eq + 1)]);
    } else if (a === '--output-dir') {
      opts.outputDir = value();
    } else if (a === '--threads') {
      opts.threads = count(value(), 1);
    } else if (a === '--bench') {
      opts.bench = count(value(), 1);
    } else if (a === '--graph-opt') {
      opts.graphOpt = value();
      if (!GRAPH_OPT_LEVELS.includes(opts.graphOpt))
        throw new UsageError(`--graph-opt: expected one of ${GRAPH_OPT_LEVELS.join(', ')}`);
    } else if (a === '--check') {
      opts.check = true;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else if (a.startsWith('-')) {
      throw new UsageError(`unknown option ${a}`);
    } else if (opts.model === null) {
      opts.model = a;
    } else {
      throw new UsageError(`unexpected argument '${a}'`);
    }
  }
  if (!opts.check && opts.model === null) throw new UsageError('no model given');
  if (!opts.check && !opts.bench && opts.outputDir === null)
    throw new UsageError('give --output-dir DIR or --bench RUNS');
  return opts;
}

// ---- --check: a one-node Identity model, encoded by hand (protobuf wire format) ----

function varint(n) {
  const out = [];
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return Buffer.from(out);
}
const pbVarint = (field, n) => Buffer.concat([varint(field << 3), varint(n)]);
const pbBytes = (field, b) => {
  b = Buffer.isBuffer(b) ? b : Buffer.from(b, 'utf8');
  return Buffer.concat([varint((field << 3) | 2), varint(b.length), b]);
};

function identityModel() {
  const FLOAT = 1;
  const valueInfo = (name) => Buffer.concat([
    pbBytes(1, name),
    pbBytes(2, pbBytes(1, Buffer.concat([pbVarint(1, FLOAT),                  // TypeProto.tensor_type
                                         pbBytes(2, pbBytes(1, pbVarint(1, 3)))]))),  // shape [3]
  ]);
  const node = Buffer.concat([pbBytes(1, 'x'), pbBytes(2, 'y'), pbBytes(4, 'Identity')]);
  const graph = Buffer.concat([pbBytes(1, node), pbBytes(2, 'check'), pbBytes(11, valueInfo('x')),
                               pbBytes(12, valueInfo('y'))]);
  return new Uint8Array(Buffer.concat([pbVarint(1, 8), pbBytes(7, graph),
                                       pbBytes(8, Buffer.concat([pbBytes(1, ''), pbVarint(2, 17)]))]));
}

async function check(ort) {
  const session = await ort.InferenceSession.create(identityModel());
  const x = new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [3]);
  const { y } = await session.run({ x });
  if (y.data.length !== 3 || y.data[2] !== 3) throw new Error('the check model gave a wrong result');
  const version = ort.env.versions.common;
  process.stdout.write(`onnxruntime-node ${version} loads and runs\n`);
  if (version !== ORT_VERSION) {
    process.stderr.write(`ort_run: expected onnxruntime-node ${ORT_VERSION}, found ${version}\n`);
    return 1;
  }
  return 0;
}

// ---- running ----

function percentile(sorted, p) {  // nearest rank
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

async function run(ort, opts) {
  const session = await ort.InferenceSession.create(opts.model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: opts.graphOpt,
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const feeds = {};
  for (const [name, file] of opts.inputs) {
    if (!session.inputNames.includes(name))
      throw new Error(`--input ${name}: the model has no input named '${name}' ` +
                      `(inputs: ${session.inputNames.join(', ')})`);
    const { type, dims, data } = readNpy(file);
    feeds[name] = new ort.Tensor(type, data, dims);
  }
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length) throw new Error(`no --input given for model input(s) ${missing.join(', ')}`);

  if (opts.bench) {
    for (let i = 0; i < Math.min(3, opts.bench); ++i) await session.run(feeds);  // warm-up
    const ms = [];
    for (let i = 0; i < opts.bench; ++i) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    const round = (x) => Math.round(x * 1000) / 1000;
    process.stdout.write(JSON.stringify({
      median_ms: round(percentile(ms, 0.5)),
      p90_ms: round(percentile(ms, 0.9)),
      min_ms: round(ms[0]),
      peak_rss_mb: round(process.resourceUsage().maxRSS / 1024),  // maxRSS is in KiB
    }) + '\n');
  }
  if (opts.outputDir !== null) {
    const results = await session.run(feeds);
    fs.mkdirSync(opts.outputDir, { recursive: true });
    for (const name of session.outputNames) {
      const t = results[name];
      const safe = name.replace(/[/\\]/g, '_');
      writeNpy(path.join(opts.outputDir, `${safe}.npy`), t.type, t.dims, t.data);
      process.stdout.write(`${name}: ${t.type}[${t.dims.join(',')}]\n`);
    }
  }
  return 0;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`ort_run: ${e.message} (see --help)\n`);
    return 2;
  }
  const ort = loadOrt();
  try {
    return opts.check ? await check(ort) : await run(ort, opts);
  } catch (e) {
    process.stderr.write(`ort_run: ${e.message}\n`);
    return 1;
  }
}

main().then((code) => process.exit(code));
