// Times one ONNX graph in ONNX Runtime's CPU execution provider (npm
// onnxruntime-node, its bundled MLAS build); run by vit_onnxruntime.py and
// family_onnxruntime.py (through peerlib.ORT).
//
//	node onnxruntime_run.js MODEL.onnx H W THREADS SECONDS [OUT]
//
// With OUT it writes each output NAME of the warm-up forward as raw
// little-endian float32 to OUT.NAME.f32 (the peers compare them with
// anyres's) and reports their shapes in "outputs"; SECONDS 0 then stops
// there, without timing.
//
// Loads the model with intraOpNumThreads = THREADS (interOpNumThreads 1,
// sequential execution, all graph optimisations), runs one warm-up forward,
// then forwards until at least 2 have run and SECONDS have passed (at most
// 50), and prints one JSON line: the median and every time in ms, the
// session's load time, and this process's resident-memory peak in MB while
// loading and, counted afresh after the load, while running. With OUT, the
// warm-up forward's first output is written there as raw little-endian
// float32 (its shape in the JSON line), for comparing with anyres.
"use strict";
const path = require("path");
// onnxruntime-node as peerlib.py installs it: in $ANYRES_ORT_DIR,
// by default .tools/ort under the module root.
const ortDir = process.env.ANYRES_ORT_DIR || path.join(__dirname, "..", "..", ".tools", "ort");
const ortPkg = path.join(ortDir, "node_modules", "onnxruntime-node");
const ort = require(ortPkg);

const fs = require("fs");

// peakRSSMB is this process's resident-memory high-water mark (VmHWM) in
// MB; getrusage's maxRSS would also count the pages of the (large) Python
// parent copied at fork.
function peakRSSMB() {
  const m = fs.readFileSync("/proc/self/status", "utf8").match(/VmHWM:\s*(\d+) kB/);
  return m ? Math.round(Number(m[1]) / 1024) : Math.round(process.resourceUsage().maxRSS / 1024);
}

// resetPeakRSS restarts the high-water mark at the current resident size
// (Linux: 5 written to /proc/self/clear_refs), as anyres bench vit does
// after loading its model.
function resetPeakRSS() {
  try {
    fs.writeFileSync("/proc/self/clear_refs", "5");
  } catch (e) {}
}

async function main() {
  const [model, h, w, threads, seconds, outPrefix] = process.argv.slice(2);
  const H = Number(h), W = Number(w), T = Number(threads), budget = Number(seconds) * 1e3;
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["cpu"],
    intraOpNumThreads: T,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const loadMs = performance.now() - t0;
  const loadRSS = peakRSSMB();
  if (global.gc) global.gc();
  resetPeakRSS();
  const pix = new Float32Array(3 * H * W);
  for (let i = 0; i < pix.length; i++) pix[i] = (i % 251) / 125 - 1;
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", pix, [1, 3, H, W]) };
  const first = await session.run(feeds); // warm-up
  let outputs = null;
  if (outPrefix) {
    outputs = {};
    for (const name of session.outputNames) {
      const y = first[name];
      fs.writeFileSync(`${outPrefix}.${name}.f32`, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
      outputs[name] = y.dims;
    }
    if (budget === 0) {
      console.log(JSON.stringify({ outputs, ort_version: require(path.join(ortPkg, "package.json")).version }));
      return;
    }
  }
  const times = [];
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (times.length < 2 || (performance.now() - start < budget && times.length < 50)) {
    const s = performance.now();
    await session.run(feeds);
    times.push(performance.now() - s);
  }
  const cpu = process.cpuUsage(cpu0);
  const sorted = [...times].sort((a, b) => a - b);
  console.log(JSON.stringify({
    ms: sorted[Math.floor(sorted.length / 2)],
    times: times.map((t) => Math.round(t * 10) / 10),
    load_ms: Math.round(loadMs),
    cpu_ms: (cpu.user + cpu.system) / 1e3 / times.length,
    load_peak_rss_mb: loadRSS,
    run_peak_rss_mb: peakRSSMB(),
    ort_version: require(path.join(ortPkg, "package.json")).version,
    outputs,
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
