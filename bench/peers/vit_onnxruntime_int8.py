#!/usr/bin/python3
"""ViT-B/16 in int8: ONNX Runtime's dynamic quantization against anyres's, speed and accuracy.

Usage: bench/peers/vit_onnxruntime_int8.py [--sizes 224x224,384x384,518x392,1024x1024]
       [--threads 1,2] [--rounds 3] [--time 3] [--cos-floor 0.99] [--outliers K]
       [--level best|avx512|avx2] [--reduce-range [--anyres-8bit]] [--outputs all|head|both] [--json]

The model is vit_onnxruntime.py's: vit_torch.py's ViT-B/16 with the random
weights of seed 0, exported per image size (opset 17) with a second output,
"features" (every token after the final norm). This script writes that
graph's int8 form the way onnxruntime.quantization.quantize_dynamic does with
its defaults (onnxruntime's Python package is not a Debian package, so the
rewrite is done here with python3-onnx; what it follows is listed under
rewrite() below), and gives anyres the same weights: a safetensors file with
timm's names and a timm config.json (dynamic_img_pad), run by
`anyres run -dtype f32|int8 -input image.npy`. Both sides get the same input,
onnxruntime_run.js's pattern (i % 251)/125 − 1.

Accuracy, per size: the cosine of each side's int8 features (and logits) to
its own float32 on that input. The script refuses to report (exits non-zero)
when anyres's float32 features differ from ONNX Runtime's float32 (cosine
below 0.9999: not the same model) or when either int8 cosine falls below
--cos-floor (a broken rewrite or build; with --outliers, anyres's only: ONNX
Runtime's falling is the finding). --outliers K runs both sides on the same
model given post-LayerNorm outlier channels by an exact rewrite
(vit_onnxruntime.seeded_vit).

Speed: for each thread count and size the sides alternate --rounds times,
`anyres bench vit -dtype int8` (random weights; the time does not depend on
the values) and ONNX Runtime on the int8 graph (onnxruntime_run.js), each a
fresh process; medians. ratio = ORT ms / anyres ms (> 1: anyres is faster),
cpu ratio the same from the CPU time per forward. The int8 graph's logits
are what a classifier reads (its features output is the final norm's, an
intermediate it computes anyway); --outputs head (or both: a row each,
size/h) times anyres asked for the logits alone (`-head-only`,
Output.HeadOnly: its last block on the class token).

--level avx2 holds both sides to AVX2 on an AVX-512 machine: anyres with
ANYRES_KERNELS=avx2, ONNX Runtime under cpuid_avx2.so (vit_onnxruntime.py's
shim: MLAS then takes its AVX2 int8 kernels); accuracy is measured at that
level too. There ONNX Runtime's u8·s8 products saturate with its default
8-bit weights; --reduce-range writes the graph as quantize_dynamic(...,
reduce_range=True) does, its documented answer for CPUs without VNNI, and
runs anyres with its own 7-bit weights too (`-reduce-range`: per output row,
max |w| / 64; its AVX2 kernel then takes two groups of K at a time);
--anyres-8bit keeps anyres's 8-bit weights against ORT's 7-bit ones.
"""
import argparse, json, os, shutil, statistics, struct, subprocess, sys, tempfile

import peerlib

peerlib.ensure(["python3-onnx", "python3-numpy"], peerlib.importable("onnx", "numpy"))
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import vit_onnxruntime as ortpeer

HERE = os.path.dirname(os.path.abspath(__file__))

# The float32 cosine below which the two sides are not running one model.
SAME_MODEL_COS = 0.9999


def rewrite(model, reduce_range=False):
    """The graph as onnxruntime.quantization.quantize_dynamic(model_input,
    model_output) writes it with its defaults (onnxruntime
    python/tools/quantization: quantize.py quantize_dynamic, registry.py
    IntegerOpsRegistry, operators/matmul.py MatMulInteger, operators/conv.py
    ConvInteger, onnx_quantizer.py, quant_utils.py):

    - QuantizationMode.IntegerOps, dynamic: activations uint8, asymmetric,
      per tensor, by DynamicQuantizeLinear (one per quantized tensor, shared
      by every node that reads it);
    - weight_type QInt8, per_channel False, reduce_range False,
      WeightSymmetric True: one scale per weight tensor, max|w| / 127,
      zero point 0, round half to even, clipped to [−127, 127] (with
      reduce_range, quant_utils' reduced int8 range [−64, 64]: max|w| / 64;
      activations keep their 8 bits);
    - op types: IntegerOpsRegistry's Conv (ConvInteger) and MatMul
      (MatMulInteger); Gemm is not among them, so the head (a Gemm on the
      class token) stays float32;
    - MatMulConstBOnly, True for dynamic mode: a MatMul is quantized only
      when its B is an initializer, so attention's Q·Kᵀ and P·V stay float32;
    - each quantized node becomes XInteger(x_q, w_q, x_zp, w_zp) → Cast to
      float → Mul by (x_scale · w_scale), the original output name kept;
      a Conv's bias is reshaped to 1×C×1×1 and added after.

    Where this differs: quantize_dynamic first runs ONNX shape inference
    and warns about the pre-processing step (onnxruntime.quantization.shape_
    inference); neither changes which nodes are quantized here, since the
    export already has constant-folded, fixed-shape weights. ONNX Runtime
    then fuses DynamicQuantizeLinear + MatMulInteger + Cast + Mul (+ bias
    Add) into its DynamicQuantizeMatMul / MatMulIntegerToFloat kernels when
    it loads the graph (all optimisations on), as it does for
    quantize_dynamic's output.

    Returns the new model and the names of the quantized nodes."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    new_inits, nodes, done = [], [], []
    act = {}  # activation tensor -> (quantized, scale, zero point)

    def quant_act(name):
        if name not in act:
            q, s, z = name + "_quantized", name + "_scale", name + "_zero_point"
            nodes.append(helper.make_node("DynamicQuantizeLinear", [name], [q, s, z], name + "_QuantizeLinear"))
            act[name] = (q, s, z)
        return act[name]

    def quant_weight(name):
        w = numpy_helper.to_array(inits[name]).astype(np.float32)
        m = max(abs(float(w.min(initial=0))), abs(float(w.max(initial=0))))
        # (rmax − rmin) / (qmax − qmin) in float32, as compute_scale_zp.
        lim = 64 if reduce_range else 127
        scale = np.float32(2 * m) / np.float32(2 * lim) if m > 0 else np.float32(1)
        q = np.clip(np.round(w / scale), -lim, lim).astype(np.int8)
        new_inits.extend([numpy_helper.from_array(q, name + "_quantized"),
                          numpy_helper.from_array(np.array(scale, np.float32), name + "_scale"),
                          numpy_helper.from_array(np.array(0, np.int8), name + "_zero_point")])
        return name + "_quantized", name + "_scale", name + "_zero_point"

    def is_float_init(name):
        return name in inits and inits[name].data_type == TensorProto.FLOAT

    for n in g.node:
        quantize = (n.op_type == "MatMul" and is_float_init(n.input[1])) or \
                   (n.op_type == "Conv" and is_float_init(n.input[1]))
        if not quantize:
            nodes.append(n)
            continue
        xq, xs, xz = quant_act(n.input[0])
        wq, ws, wz = quant_weight(n.input[1])
        out = n.output[0]
        integer = "MatMulInteger" if n.op_type == "MatMul" else "ConvInteger"
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        nodes.append(helper.make_node(integer, [xq, wq, xz, wz], [out + "_output_quantized"], n.name + "_quant", **attrs))
        nodes.append(helper.make_node("Cast", [out + "_output_quantized"], [out + "_output_quantized_cast_output"],
                                      out + "_output_quantized_cast", to=TensorProto.FLOAT))
        nodes.append(helper.make_node("Mul", [xs, ws], [n.name + "_quant_scales_mul:0"], n.name + "_quant_scales_mul"))
        has_bias = n.op_type == "Conv" and len(n.input) == 3
        scaled = out + "quant_scaled_output" if has_bias else out
        nodes.append(helper.make_node("Mul", [out + "_output_quantized_cast_output", n.name + "_quant_scales_mul:0"], [scaled],
                                      n.name + "_quant_output_scale_mul"))
        if has_bias:
            shape = np.ones(len(inits[n.input[1]].dims), np.int64)
            shape[1] = -1
            new_inits.append(numpy_helper.from_array(shape, out + "_bias_reshape_shape"))
            nodes.append(helper.make_node("Reshape", [n.input[2], out + "_bias_reshape_shape"], [out + "_bias_reshape_output"]))
            nodes.append(helper.make_node("Add", [scaled, out + "_bias_reshape_output"], [out], out + "_bias_add"))
        done.append(n.name)
    # The float weights now unread are dropped, as quantize_dynamic does.
    read = {i for n in nodes for i in n.input}
    keep = [t for t in g.initializer if t.name in read] + new_inits
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(keep)
    opset = {o.domain: o.version for o in model.opset_import}
    if opset.get("", 0) < 10:
        raise ValueError("MatMulInteger needs opset 10 or later")
    onnx.checker.check_model(model)
    return model, done


def int8_graph(h, w, outliers=0, reduce_range=False):
    """The int8 graph for h×w, written next to its float32 graph once."""
    src = ortpeer.export(h, w, features=True, outliers=outliers)
    path = src.replace(".onnx", "_int8dyn_rr.onnx" if reduce_range else "_int8dyn.onnx")
    if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(__file__):
        m, done = rewrite(onnx.load(src), reduce_range)
        kinds = {}
        for n in m.graph.node:
            kinds[n.op_type] = kinds.get(n.op_type, 0) + 1
        # ViT-B/16: the patch Conv and 4 MatMuls per block; 24 attention
        # MatMuls and the Gemm head stay float32.
        if kinds.get("ConvInteger") != 1 or kinds.get("MatMulInteger") != 48 or kinds.get("MatMul") != 24 or kinds.get("Gemm") != 1:
            raise SystemExit(f"{src}: the rewrite quantized {len(done)} nodes ({kinds}); want 1 ConvInteger, 48 MatMulInteger, 24 float MatMul, 1 Gemm")
        tmp = path + ".tmp"
        onnx.save(m, tmp)
        os.replace(tmp, path)
    return src, path


def timm_name(name):
    """vit_torch.py's parameter name as timm's vit_base_patch16_224 has it."""
    if name.startswith("proj."):
        return "patch_embed." + name
    return name.replace(".mlp.0.", ".mlp.fc1.").replace(".mlp.2.", ".mlp.fc2.")


def write_checkpoint(folder, outliers=0):
    """seeded_vit(outliers)'s weights as timm's vit_base_patch16_224 (safetensors
    with timm's names, config.json with dynamic_img_pad: the padding the
    exported graphs do)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.safetensors")
    if os.path.exists(path):
        return folder
    header, blobs, off = {}, [], 0
    for name, t in ortpeer.seeded_vit(outliers).state_dict().items():
        name = timm_name(name)
        a = t.detach().contiguous().numpy().astype("<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"architecture": "vit_base_patch16_224", "num_classes": 1000, "model_args": {"dynamic_img_pad": True}}, f)
    os.replace(tmp, path)
    return folder


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        lo, hi = v["data_offsets"]
        out[k] = np.frombuffer(data[lo:hi], dtype="<f4").reshape(v["shape"])
    return out


def accuracy(anyres, ckpt, tmp, h, w, f32_graph, i8_graph, shim=None, rr=()):
    """Features and logits of both sides in float32 and int8 on the same
    input (anyres's int8 with the flags rr); the cosines, checked."""
    pix = ((np.arange(3 * h * w) % 251) / 125 - 1).astype(np.float32).reshape(1, 3, h, w)
    x = os.path.join(tmp, f"x_{h}x{w}.npy")
    np.save(x, pix)
    got = {}
    for dt in ("f32", "int8"):
        out = os.path.join(tmp, f"anyres_{dt}_{h}x{w}.safetensors")
        subprocess.run([anyres.binary, "run", "-weights", ckpt, "-input", x, "-dtype", dt, "-threads", "1", "-out", out] + (list(rr) if dt == "int8" else []),
                       check=True, cwd=peerlib.REPO, env=anyres.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t = read_safetensors(out)
        got[("anyres", dt)] = (t["features"], t["logits"])
    version = None
    for dt, graph in (("f32", f32_graph), ("int8", i8_graph)):
        dump = os.path.join(tmp, f"ort_{dt}_{h}x{w}")
        o = peerlib.ort_run(graph, h, w, 1, 0, shim=shim, out=dump)
        version = o["ort_version"]
        feats = np.fromfile(dump + ".features.f32", dtype="<f4").reshape(o["outputs"]["features"])
        logits = np.fromfile(dump + ".logits.f32", dtype="<f4").reshape(o["outputs"]["logits"])
        got[("ort", dt)] = (feats, logits)
    same = cosine(got[("anyres", "f32")][0], got[("ort", "f32")][0])
    if got[("anyres", "f32")][0].shape != got[("ort", "f32")][0].shape or same < SAME_MODEL_COS:
        raise SystemExit(f"{h}x{w}: anyres float32 features {got[('anyres', 'f32')][0].shape} vs ONNX Runtime's "
                         f"{got[('ort', 'f32')][0].shape}, cosine {same:.6f} < {SAME_MODEL_COS}: not the same model; refusing to compare")
    r = {"f32_cos_anyres_ort": same, "ort_version": version}
    for side in ("anyres", "ort"):
        r[side + "_features_cos"] = cosine(got[(side, "int8")][0], got[(side, "f32")][0])
        r[side + "_logits_cos"] = cosine(got[(side, "int8")][1], got[(side, "f32")][1])
    return r


def report(a, h, w, t, row, head, ort_ms, ort_cpu, any_ms, any_cpu, c):
    """Prints one case: ORT's runs against anyres's (whole outputs, or the logits alone when head)."""
    om, am = statistics.median(ort_ms), statistics.median(any_ms)
    oc, ac = statistics.median(ort_cpu), statistics.median(any_cpu)
    if a.json:
        print(json.dumps({"bench": "vit-onnxruntime-int8", "size": f"{h}x{w}", "threads": t, "tokens": row["tokens"], "outliers": a.outliers,
                          "anyres_outputs": "head" if head else "all",
                          "ort_ms": round(om, 1), "anyres_ms": round(am, 1), "ratio": round(om / am, 3),
                          "ort_cpu_ms": round(oc, 1), "anyres_cpu_ms": round(ac, 1), "cpu_ratio": round(oc / ac, 3) if ac else None,
                          "ort_cos": round(c["ort_features_cos"], 5), "anyres_cos": round(c["anyres_features_cos"], 5),
                          "ort_logits_cos": round(c["ort_logits_cos"], 5), "anyres_logits_cos": round(c["anyres_logits_cos"], 5),
                          "ort_ms_all": [round(x, 1) for x in ort_ms], "anyres_ms_all": [round(x, 1) for x in any_ms],
                          "f32_cos_anyres_ort": round(c["f32_cos_anyres_ort"], 6), "ort_version": c["ort_version"],
                          "level": a.level, "reduce_range": a.reduce_range, "anyres_reduce_range": bool(anyres_rr(a))}), flush=True)
        return
    size = f"{h}x{w}" + ("/h" if head else "")
    print(f"{size:<10} {t:>3} {row['tokens']:>6} {om:>11.1f} {am:>14.1f} {om / am:>6.3f} {oc / ac if ac else 0:>9.3f}"
          f" {c['ort_features_cos']:>8.5f} {c['anyres_features_cos']:>10.5f} {c['ort_logits_cos']:>14.5f} {c['anyres_logits_cos']:>17.5f}", flush=True)


def anyres_rr(a):
    """anyres's flags for --reduce-range: its 7-bit weights too, unless --anyres-8bit."""
    return ["-reduce-range"] if a.reduce_range and not a.anyres_8bit else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="224x224,384x384,518x392,1024x1024")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3, help="alternations per case (medians are taken)")
    ap.add_argument("--time", type=float, default=3.0, help="seconds per measurement (at least 2 forwards after a warm-up)")
    ap.add_argument("--cos-floor", type=float, default=0.99, help="refuse to report when an int8 features cosine to float32 is below this")
    ap.add_argument("--outliers", type=int, default=0,
                    help="give the model post-LayerNorm outlier channels this many times the rest (an exact rewrite, see seeded_vit); 0: none")
    ap.add_argument("--level", choices=["best", "avx512", "avx2"], default="best",
                    help="anyres kernel level (ANYRES_KERNELS); avx2 also hides AVX-512 from ONNX Runtime")
    ap.add_argument("--reduce-range", action="store_true",
                    help="7-bit weights: ONNX Runtime's as quantize_dynamic(reduce_range=True) writes them, anyres's with -reduce-range")
    ap.add_argument("--anyres-8bit", action="store_true", help="with --reduce-range: anyres keeps its 8-bit weights")
    peerlib.add_outputs_arg(ap, "size/h")
    ap.add_argument("--json", action="store_true", help="one JSON object per case")
    a = ap.parse_args()
    if a.anyres_8bit and not a.reduce_range:
        sys.exit("--anyres-8bit is for --reduce-range (without it anyres has 8-bit weights anyway)")
    heads = peerlib.heads(a)
    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
    threads = [int(t) for t in a.threads.split(",")]
    peerlib.ensure_ort()
    shim = None
    if a.level == "avx2" and "avx512f" in peerlib.cpu_flags():
        shim = peerlib.avx2_shim()
        if shim is None:
            sys.exit("--level avx2 needs CPUID faulting (cpuid_fault in /proc/cpuinfo) to hide AVX-512 from ONNX Runtime")
    graphs = {s: int8_graph(*s, outliers=a.outliers, reduce_range=a.reduce_range) for s in sizes}
    ckpt = write_checkpoint(os.path.join(ortpeer.MODEL_DIR, "vit_b16_seed0_timm" + (f"_outliers{a.outliers:g}" if a.outliers else "")), a.outliers)
    tmp = tempfile.mkdtemp()
    try:
        with peerlib.Anyres(a.level) as anyres:
            acc = {s: accuracy(anyres, ckpt, tmp, *s, *graphs[s], shim=shim, rr=anyres_rr(a)) for s in sizes}
            for s in sizes:
                # With outlier channels ONNX Runtime's per-tensor activation
                # scale is expected to fall short: that is what is measured.
                low = acc[s]["anyres_features_cos"] if a.outliers else min(acc[s]["anyres_features_cos"], acc[s]["ort_features_cos"])
                if low < a.cos_floor:
                    raise SystemExit(f"{s[0]}x{s[1]}: int8 features cosine {low:.5f} < --cos-floor {a.cos_floor} ({acc[s]}); refusing to report")
            if not a.json:
                print(f"{'size':>10} {'thr':>3} {'tokens':>6} {'ORT int8 ms':>11} {'anyres int8 ms':>14} {'ratio':>6} {'cpu ratio':>9}"
                      f" {'ORT cos':>8} {'anyres cos':>10} {'ORT logits cos':>14} {'anyres logits cos':>17}", flush=True)
            for t in threads:
                for (h, w) in sizes:
                    ort_ms, ort_cpu, row = [], [], None
                    side = {hd: ([], []) for hd in heads}
                    for _ in range(a.rounds):
                        for hd in heads:
                            row = peerlib.run_json([anyres.binary, "bench", "vit", "-size", f"{h}x{w}", "-threads", str(t),
                                                    "-dtype", "int8", "-time", f"{a.time}s", "-json"] + anyres_rr(a) + peerlib.head_only_flag(hd), env=anyres.env)
                            side[hd][0].append(row["ms"])
                            side[hd][1].append(row.get("cpu_ms") or 0)
                        o = peerlib.ort_run(graphs[(h, w)][1], h, w, t, a.time, shim=shim)
                        ort_ms.append(o["ms"])
                        ort_cpu.append(o["cpu_ms"])
                    for hd in heads:
                        report(a, h, w, t, row, hd, ort_ms, ort_cpu, *side[hd], acc[(h, w)])
            if not a.json:
                v = next(iter(acc.values()))["ort_version"]
                print(f"ONNX Runtime {v} (onnxruntime-node, CPU EP) on quantize_dynamic's int8 graph"
                      f"{' (reduce_range)' if a.reduce_range else ''} vs anyres -dtype int8 {' '.join(anyres_rr(a))}"
                      f"{' (both at AVX2: ANYRES_KERNELS=avx2, ORT under cpuid_avx2.so)' if shim else ''}, median ms of {a.rounds} alternations;"
                      " ratio = ORT/anyres; cos = int8 features (every token) to the same side's float32, same weights and input")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
