#!/usr/bin/python3
"""ViT-B/16 forward in ONNX Runtime (CPU) against `anyres bench vit`, in the same run.

Usage: bench/peers/vit_onnxruntime.py [--sizes 224x224,384x384,518x392,1024x1024]
       [--threads 1,2] [--dtypes f32,bf16,int8] [--rounds 3] [--time 3]
       [--level best|avx512|avx2] [--ort-isa native|avx2] [--avx2-sizes 224x224,384x384]
       [--outputs all|head|both] [--json]

The model is the ViT-B/16 of vit_torch.py (timm's vit_base_patch16_224 in
plain torch.nn, random weights, seed 0), exported with Debian's python3-torch
(torch.onnx.export, opset 17, constant folding) into one graph per image
size, as one deploys ONNX models: the input shape is fixed, so the
zero-padding to whole patches and the position table resampled to the grid
(bicubic, antialias: torch 1.13 cannot export the antialiased resize) are
computed in torch at export time and stored in the graph as constants.

ONNX Runtime is npm's onnxruntime-node (its bundled CPU build, MLAS kernels),
installed by this script with `npm install --ignore-scripts` into
.tools/ort (the install script only fetches an optional CUDA build) and run
from Node (onnxruntime_run.js, through peerlib.ort_run) with intraOpNumThreads = T,
interOpNumThreads = 1, sequential execution, all graph optimisations.

anyres runs once per --dtypes entry (`anyres bench vit -dtype D`: its Linear
layers in float32, bfloat16 weights, or int8 W8A8; ONNX Runtime always runs
the float32 graph), so each case prints one row per anyres dtype against the
same ONNX Runtime float32 figures.

For each thread count and size the sides alternate --rounds times (anyres in
each dtype, then ORT), each measurement a fresh process (one warm-up forward,
then at least 2 forwards and --time seconds; its median). Printed: each
side's median of those medians, ratio = ORT ms / anyres ms (>= 1: anyres is
at least as fast), the
same from the CPU time each process used per forward (cpu ratio; all its
threads, so with T threads it sums them; it leaves out the time spent
waiting for a core, which on a shared machine moves wall times by 2× and
more), and the peak resident memory of each side's process (VmHWM, read by the process
itself): "RSS" is the peak while running, counted afresh (clear_refs) once
the model is loaded, so it holds the weights, the runtime and the working
memory of a forward (ORT's includes Node); "load RSS" is the peak while
loading (ORT: the session built from the .onnx file; anyres bench: random
weights made, then packed). The Go heap high-water mark that `anyres bench
vit` reports is shown too.

The graph's one output is the logits. anyres's pass computes every
token's features too unless --outputs head (or both) asks it for the
logits alone (`anyres bench vit -head-only`, Output.HeadOnly): its last
block then runs on the class token, the computation the graph's output
needs; its GFLOP/s still counts the whole forward's operations.

AVX2 on an AVX-512 machine: with --level avx2 anyres runs its AVX2 kernels
(ANYRES_KERNELS=avx2) and ONNX Runtime runs under cpuid_avx2.so (built here
with gcc into .tools/), an LD_PRELOAD shim that hides the AVX-512 and AMX
CPUID bits, so MLAS picks its AVX2 kernels too: both sides at the same
instruction set. After the --level rows, the script adds such AVX2 rows
for --avx2-sizes when the machine has AVX-512 and CPUID faulting
(cpuid_fault in /proc/cpuinfo); --avx2-sizes "" skips them.
"""
import argparse, json, os, statistics, sys

import peerlib

peerlib.ensure(["python3-torch", "libopenblas0-pthread"], peerlib.openblas_torch)
import torch

HERE = peerlib.HERE
MODEL_DIR = peerlib.ORT_MODELS


class Fixed(torch.nn.Module):
    """The ViT at one input size: padding and the resampled position table
    are constants, the rest is the model's own forward."""

    def __init__(self, vit, h, w, features=False):
        super().__init__()
        self.vit, self.p, self.features = vit, vit.patch, features
        self.pad = ((self.p - w % self.p) % self.p, (self.p - h % self.p) % self.p)
        gh, gw = (h + self.pad[1]) // self.p, (w + self.pad[0]) // self.p
        with torch.no_grad():
            self.register_buffer("pos", vit.pos(gh, gw).detach().clone())

    def forward(self, x):
        v = self.vit
        x = torch.nn.functional.pad(x, (0, self.pad[0], 0, self.pad[1]))
        x = v.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([v.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = v.norm(v.blocks(x))
        if self.features:
            return v.head(x[:, 0]), x
        return v.head(x[:, 0])


def seeded_vit(outliers=0):
    """vit_torch.py's ViT-B/16 with the random weights of seed 0: every
    graph exported here, and the checkpoint the int8 peer gives anyres.
    With outliers = k, three channels (1, 256, 512) of every block's norm1
    and norm2 get k times their gain and bias and the layer reading the
    norm (qkv, mlp.0) 1/k times those input columns: the same float32
    function, with the post-LayerNorm outlier channels of trained ViTs (the
    rewrite of anyres_outlier_test.go)."""
    sys.path.insert(0, HERE)
    import vit_torch
    torch.manual_seed(0)
    m = vit_torch.ViT().eval()
    if outliers:
        with torch.no_grad():
            for b in m.blocks:
                for norm, reader in ((b.norm1, b.attn.qkv), (b.norm2, b.mlp[0])):
                    d = norm.weight.shape[0]
                    for c in (1, d // 3, 2 * d // 3):
                        norm.weight[c] *= outliers
                        norm.bias[c] *= outliers
                        reader.weight[:, c] /= outliers
    return m


def export(h, w, features=False, outliers=0):
    """The ONNX graph for an h×w image (made once, kept in MODEL_DIR); with
    features, a second output "features" holds every token after the final
    norm (what the int8 peer compares with float32); outliers as in
    seeded_vit."""
    tag = ("_features" if features else "") + (f"_outliers{outliers:g}" if outliers else "")
    path = os.path.join(MODEL_DIR, f"vit_b16_{h}x{w}_opset17{tag}.onnx")
    if os.path.exists(path):
        return path
    os.makedirs(MODEL_DIR, exist_ok=True)
    model = Fixed(seeded_vit(outliers), h, w, features).eval()
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, torch.randn(1, 3, h, w), tmp, opset_version=17, do_constant_folding=True,
                          input_names=["image"], output_names=["logits", "features"] if features else ["logits"])
    os.replace(tmp, path)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="224x224,384x384,518x392,1024x1024")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--dtypes", default="f32,bf16,int8", help="anyres Linear-layer formats, one row each (ORT runs float32)")
    ap.add_argument("--rounds", type=int, default=3, help="alternations per case (medians are taken)")
    ap.add_argument("--time", type=float, default=3.0, help="seconds per measurement (at least 2 forwards after a warm-up)")
    ap.add_argument("--level", choices=["best", "avx512", "avx2", "generic"], default="best", help="anyres kernel level (ANYRES_KERNELS)")
    ap.add_argument("--ort-isa", choices=["native", "avx2"], default=None,
                    help="ONNX Runtime's instruction set: avx2 hides AVX-512 from it (default: avx2 when --level is avx2)")
    ap.add_argument("--avx2-sizes", default="224x224,384x384",
                    help="sizes also run with both sides at AVX2 on an AVX-512 machine (\"\" for none)")
    peerlib.add_outputs_arg(ap, "dtype/h")
    ap.add_argument("--json", action="store_true", help="one JSON object per case")
    a = ap.parse_args()
    outputs = peerlib.heads(a)
    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
    threads = [int(t) for t in a.threads.split(",")]
    dtypes = [d.strip() for d in a.dtypes.split(",")]
    for d in dtypes:
        if d not in ("f32", "bf16", "int8"):
            ap.error(f"--dtypes: {d!r} is not f32, bf16 or int8")
    peerlib.ensure_ort()
    cases = [(a.level, a.ort_isa or ("avx2" if a.level == "avx2" else "native"), t, s) for t in threads for s in sizes]
    shim = None
    if any(c[1] == "avx2" for c in cases):
        shim = peerlib.avx2_shim()
        if shim is None:
            sys.exit("--ort-isa avx2 needs an x86 CPU with AVX-512 and CPUID faulting (cpuid_fault in /proc/cpuinfo)")
    if a.avx2_sizes and a.level in ("best", "avx512"):
        shim = shim or peerlib.avx2_shim()
        if shim:
            more = [tuple(int(v) for v in s.split("x")) for s in a.avx2_sizes.split(",")]
            cases += [("avx2", "avx2", t, s) for t in threads for s in more]
    models = {s: export(*s) for (_, _, _, s) in cases}
    with peerlib.Anyres(a.level) as anyres:
        version = None
        if not a.json:
            print(f"{'size':>10} {'thr':>3} {'isa':>6} {'tokens':>6} {'dtype':>5} {'ORT ms':>8} {'anyres ms':>9} {'ratio':>6} {'ORT cpu ms':>10} {'anyres cpu ms':>13} {'cpu ratio':>9} {'ORT GF/s':>8} {'anyres GF/s':>11}"
                  f" {'ORT RSS MB':>10} {'anyres RSS MB':>13} {'anyres heap MB':>14} {'load RSS ORT/anyres':>19}", flush=True)
        for level, ort_isa, t, (h, w) in cases:
            any_env = dict(anyres.env)
            if level != a.level:
                any_env["ANYRES_KERNELS"] = level
            isa = "avx2" if level == ort_isa == "avx2" else "native" if ort_isa == "native" and level in ("best", "avx512") else f"{level}/{ort_isa}"
            ort_ms, ort_cpu, ort_rss, ort_load = [], [], 0, 0
            variants = [(d, head) for d in dtypes for head in outputs]
            side = {v: {"ms": [], "cpu": [], "rss": 0, "load": 0, "heap": 0, "row": None} for v in variants}
            for _ in range(a.rounds):
                for v in variants:
                    d, head = v
                    row = peerlib.run_json([anyres.binary, "bench", "vit", "-size", f"{h}x{w}", "-threads", str(t),
                                    "-dtype", d, "-time", f"{a.time}s", "-json"] + peerlib.head_only_flag(head), env=any_env)
                    sd = side[v]
                    sd["row"] = row
                    sd["ms"].append(row["ms"])
                    sd["cpu"].append(row.get("cpu_ms") or 0)
                    sd["rss"], sd["load"] = max(sd["rss"], row["run_peak_rss_mb"]), max(sd["load"], row["load_peak_rss_mb"])
                    sd["heap"] = max(sd["heap"], row["heap_peak_mb"])
                o = peerlib.ort_run(models[(h, w)], h, w, t, a.time, shim=shim if ort_isa == "avx2" else None)
                ort_ms.append(o["ms"])
                ort_cpu.append(o["cpu_ms"])
                ort_rss, ort_load = max(ort_rss, o["run_peak_rss_mb"]), max(ort_load, o["load_peak_rss_mb"])
                version = o["ort_version"]
            om, oc = statistics.median(ort_ms), statistics.median(ort_cpu)
            for v in variants:
                d, head = v
                sd, row = side[v], side[v]["row"]
                am, ac = statistics.median(sd["ms"]), statistics.median(sd["cpu"])
                gflop = row["gflops"] * row["ms"] / 1e3  # the forward's GFLOP, from anyres's count
                if a.json:
                    print(json.dumps({"bench": "vit-onnxruntime", "size": f"{h}x{w}", "threads": t, "isa": isa, "tokens": row["tokens"],
                                      "anyres_dtype": d, "anyres_outputs": "head" if head else "all",
                                      "ort_ms": round(om, 1), "anyres_ms": round(am, 1), "ratio": round(om / am, 3),
                                      "ort_cpu_ms": round(oc, 1), "anyres_cpu_ms": round(ac, 1), "cpu_ratio": round(oc / ac, 3) if ac else None,
                                      "ort_ms_all": [round(x, 1) for x in ort_ms], "anyres_ms_all": [round(x, 1) for x in sd["ms"]],
                                      "ort_gflops": round(gflop / om * 1e3, 1), "anyres_gflops": round(gflop / am * 1e3, 1),
                                      "ort_run_rss_mb": round(ort_rss), "anyres_run_rss_mb": round(sd["rss"]),
                                      "ort_load_rss_mb": round(ort_load), "anyres_load_rss_mb": round(sd["load"]),
                                      "anyres_heap_peak_mb": sd["heap"], "ort_version": version, "level": level, "ort_isa": ort_isa}), flush=True)
                    continue
                label = d + ("/h" if head else "")
                print(f"{h}x{w:<5} {t:>3} {isa:>6} {row['tokens']:>6} {label:>5} {om:>8.1f} {am:>9.1f} {om / am:>6.3f} {oc:>10.1f} {ac:>13.1f} {oc / ac if ac else 0:>9.3f}"
                      f" {gflop / om * 1e3:>8.1f} {gflop / am * 1e3:>11.1f}"
                      f" {ort_rss:>10.0f} {sd['rss']:>13.0f} {sd['heap']:>14.0f} {ort_load:>9.0f}/{sd['load']:<9.0f}", flush=True)
        if not a.json:
            print(f"ONNX Runtime {version} (onnxruntime-node, CPU EP, float32) vs anyres (kernels: {a.level}; dtypes {','.join(dtypes)}),"
                  f" median ms of {a.rounds} alternations; ratio = ORT/anyres; isa avx2: anyres ANYRES_KERNELS=avx2, ORT under cpuid_avx2.so;"
                  f" dtype /h: anyres asked for the logits alone (-head-only), as the graph outputs")


if __name__ == "__main__":
    main()
