#!/usr/bin/python3
"""Swin, Swin V2, DINOv2, EVA-02 and BEiT forwards in ONNX Runtime (CPU)
against `anyres bench model` on the same weights, in the same run.

Usage: bench/peers/family_onnxruntime.py [--families swin,swinv2,dinov2,eva02,beit]
       [--threads 1,2] [--rounds 3] [--time 2] [--swin-sizes 224x224,256x256,...] [--outputs all|head|both] [--json]

Each family is one timm architecture at its published width (FAMILIES),
built from timm's own source (timm is not a Debian package: TIMM_SRC names
a folder holding the timm package, default .tools/timm; see
bench/peers/README.md) on Debian's python3-torch 1.13, which lacks
scaled_dot_product_attention: the script spells it out. The weights are
random (seed 0; layer scales, relative-position tables and position tables
drawn large enough that a wrong index or resampling shows) and written once
as a hub folder (config.json + model.safetensors, as timm saves a
checkpoint) in .tools/ort/families/, which anyres.Load reads as it is.

For each image size, timm re-creates the model at that size and loads the
same weights through its checkpoint filter (what timm does to run a
checkpoint at another size: the position table resampled bicubic with
antialias, BEiT's relative-position tables resized; Swin instead runs its
one model, built with strict_img_size=False, at any size), and torch.onnx.export
(opset 17, constant folding) writes one graph per size: the resampled
tables, RoPE angles, Swin masks and V2's continuous bias are constants
there. anyres loads the hub folder once and runs every size from it.

Before any timing both sides run the same image (the pattern of
onnxruntime_run.js and `anyres bench model`) and their logits are compared:
a case whose cosine is below 0.9999 is reported as a disagreement, not
timed. Where the export or ONNX Runtime fails, the row says so with the
error. Then the sides alternate --rounds times, each measurement a fresh
process (a warm-up forward, then at least 2 forwards and --time seconds):
ratio = ORT ms / anyres ms (above 1: anyres faster), the same from CPU time,
and each process's resident peak while running.

--swin-sizes adds the Swin cost-per-token sweep (one thread): Swin v1 at
sizes whose stage grids fill whole 7×7 windows (224², 448×224, 448²) and
at sizes that do not (padded windows); rows give µs per token of both
sides and the share of window slots that are padding.
"""
import argparse, json, math, os, statistics, subprocess, sys, tempfile

import peerlib

peerlib.ensure(["python3-torch", "libopenblas0-pthread"], peerlib.openblas_torch)
import numpy as np
import torch
import torch.nn.functional as F

FAMILY_DIR = os.path.join(peerlib.ORT_DIR, "families")

# family: (timm model, build arguments, sizes (H, W)): the training size and a
# larger non-square one. Swin is built once with strict_img_size=False and
# run at every size (timm fixes each stage's window and shift from img_size,
# as anyres does); the others are re-created at each size (at_size).
FAMILIES = {
    "swin": ("swin_tiny_patch4_window7_224", {"strict_img_size": False}, [(224, 224), (320, 448)]),
    "swinv2": ("swinv2_tiny_window8_256", {"strict_img_size": False}, [(256, 256), (320, 448)]),
    "dinov2": ("vit_small_patch14_dinov2", {"num_classes": 1000}, [(518, 518), (392, 532)]),
    "eva02": ("eva02_small_patch14_224", {"num_classes": 1000}, [(224, 224), (336, 448)]),
    "beit": ("beit_base_patch16_224", {}, [(224, 224), (288, 384)]),
}
SWIN_SWEEP = "224x224,448x224,448x448,256x256,288x288,320x320,384x384"
MIN_COSINE = 0.9999


def import_timm():
    src = os.environ.get("TIMM_SRC", os.path.join(peerlib.REPO, ".tools", "timm"))
    if os.path.basename(os.path.normpath(src)) == "timm" and os.path.exists(os.path.join(src, "__init__.py")):
        # The timm package itself (as `git archive HEAD timm` unpacks it)
        # rather than the folder holding it: take the folder above.
        src = os.path.dirname(os.path.normpath(src))
    if not os.path.exists(os.path.join(src, "timm", "__init__.py")):
        # Said in the output, not failed: `anyres bench report` runs every
        # peer and shows this line where the table would be.
        print(f"not run: timm's source is not in {src}; set TIMM_SRC to a folder holding the timm package "
              "(a checkout of github.com/huggingface/pytorch-image-models)", flush=True)
        sys.exit(0)
    sys.path.insert(0, src)
    if not hasattr(F, "scaled_dot_product_attention"):  # torch < 2.0: the same math, spelled out
        def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
            s = (q @ k.transpose(-2, -1)) * (scale if scale is not None else q.shape[-1] ** -0.5)
            if attn_mask is not None:
                s = s.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else s + attn_mask
            return s.softmax(-1) @ v
        F.scaled_dot_product_attention = sdpa
    # timm's layers import torchvision (FrozenBatchNorm2d) unconditionally.
    peerlib.ensure(["python3-torchvision"], peerlib.importable("torchvision"))
    import timm
    return timm


def randomize(m):
    """timm's own initialisation, except for what it starts at zero, near
    identity or scaled down (relative-position tables, layer scales, EVA's
    and BEiT's head), which would leave a wrong index or resampling
    invisible in the outputs."""
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "relative_position_bias_table" in n or n.endswith(("pos_embed", "cls_token")):
                p.normal_(0, 0.5)
            elif n.endswith(("gamma", "gamma_1", "gamma_2", "ls1.gamma", "ls2.gamma")):
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif n in ("head.weight", "head.fc.weight"):
                p.normal_(0, 0.02)


def hub_folder(timm, fam):
    """The family's hub folder (made once): config.json and model.safetensors."""
    name, kwargs, _ = FAMILIES[fam]
    d = os.path.join(FAMILY_DIR, fam)
    if os.path.exists(os.path.join(d, "model.safetensors")):
        return d
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    m = timm.create_model(name, pretrained=False, **kwargs).eval()
    randomize(m)
    from timm.models._hub import save_config_for_hf
    from pathlib import Path
    save_config_for_hf(m, Path(d) / "config.json", model_args=kwargs or None)
    peerlib.write_safetensors(os.path.join(d, "model.safetensors"),
                              {k: v for k, v in m.state_dict().items() if v.dtype.is_floating_point})
    return d


def state_dict(folder):
    import struct
    with open(os.path.join(folder, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    return {k: torch.from_numpy(np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], np.float32).reshape(v["shape"]).copy())
            for k, v in hdr.items() if k != "__metadata__"}


def at_size(timm, fam, folder, h, w):
    """timm's model re-created at h×w with the folder's weights through timm's checkpoint filter."""
    name, kwargs, _ = FAMILIES[fam]
    if kwargs.get("strict_img_size") is False:  # one model at every size
        m = timm.create_model(name, pretrained=False, **kwargs).eval()
        sd = state_dict(folder)
    else:
        m = timm.create_model(name, pretrained=False, **dict(kwargs, img_size=(h, w))).eval()
        sd = sys.modules[type(m).__module__].checkpoint_filter_fn(state_dict(folder), m)
    r = m.load_state_dict(sd, strict=False)
    bad = [k for k in r.missing_keys if not any(s in k for s in ("relative_position_index", "attn_mask", "relative_coords_table", "rope"))]
    if bad or r.unexpected_keys:
        raise RuntimeError(f"weights do not fit {name} at {h}x{w}: missing {bad}, unexpected {r.unexpected_keys}")
    return m


def export(timm, fam, folder, h, w):
    """The ONNX graph of the family at h×w (made once), or an exception."""
    path = os.path.join(peerlib.ORT_MODELS, f"{fam}_{h}x{w}_opset17.onnx")
    if os.path.exists(path):
        return path
    os.makedirs(peerlib.ORT_MODELS, exist_ok=True)
    m = at_size(timm, fam, folder, h, w)
    tmp = path + ".tmp"
    import warnings
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on timm's shape asserts
        torch.onnx.export(m, torch.from_numpy(peerlib.bench_image(h, w)), tmp, opset_version=17, do_constant_folding=True,
                          input_names=["image"], output_names=["logits"])
    os.replace(tmp, path)
    return path


def check(anyres, folder, model, h, w):
    """Runs the bench image through both sides; returns (cosine, max abs diff, max abs logit)."""
    with tempfile.TemporaryDirectory() as tmp:
        x, ya, yo = (os.path.join(tmp, n) for n in ("in.npy", "anyres.npy", "ort"))
        np.save(x, peerlib.bench_image(h, w))
        r = subprocess.run([anyres.binary, "run", "-weights", folder, "-input", x, "-out", ya, "-save", "logits"],
                           cwd=peerlib.REPO, env=anyres.env, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(f"anyres run failed: {r.stderr.strip()[-300:]}")
        first = next(iter(peerlib.ort_run(model, h, w, 2, 0, out=yo)["outputs"]))  # the graph's first output: the logits
        a, o = np.load(ya), np.fromfile(f"{yo}.{first}.f32", np.float32)
    cos, diff = peerlib.agreement(a, o)
    return cos, diff, float(np.abs(o).max())


def time_case(anyres, folder, model, h, w, t, rounds, seconds, heads=(False,)):
    """Alternates the two sides (anyres once per entry of heads: whole outputs, or the head alone);
    returns one row of timing fields per entry of heads, all against the same ORT runs."""
    om, oc, orss, version = [], [], 0, None
    side = {hd: {"ms": [], "cpu": [], "rss": 0, "row": None} for hd in heads}
    for _ in range(rounds):
        for hd in heads:
            row = anyres.bench("model", "-weights", folder, "-size", f"{h}x{w}", "-threads", str(t), "-time", f"{seconds}s",
                               *peerlib.head_only_flag(hd))[-1]
            sd = side[hd]
            sd["row"] = row
            sd["ms"].append(row["ms"]); sd["cpu"].append(row.get("cpu_ms") or 0); sd["rss"] = max(sd["rss"], row.get("run_peak_rss_mb", 0))
        o = peerlib.ort_run(model, h, w, t, seconds)
        om.append(o["ms"]); oc.append(o["cpu_ms"]); orss = max(orss, o["run_peak_rss_mb"]); version = o["ort_version"]
    o_ms, o_cpu = statistics.median(om), statistics.median(oc)
    out = []
    for hd in heads:
        sd = side[hd]
        a_ms, a_cpu = statistics.median(sd["ms"]), statistics.median(sd["cpu"])
        out.append({"outputs": "head" if hd else "all", "tokens": sd["row"]["tokens"], "ort_ms": round(o_ms, 1), "anyres_ms": round(a_ms, 1),
                    "ratio": round(o_ms / a_ms, 3), "ort_cpu_ms": round(o_cpu, 1), "anyres_cpu_ms": round(a_cpu, 1),
                    "cpu_ratio": round(o_cpu / a_cpu, 3) if a_cpu else None,
                    "ort_ms_all": [round(v, 1) for v in om], "anyres_ms_all": [round(v, 1) for v in sd["ms"]],
                    "ort_run_rss_mb": round(orss), "anyres_run_rss_mb": round(sd["rss"]), "ort_version": version})
    return out


def window_padding(h, w, patch=4, window=7, stages=4):
    """Share of Swin v1's window slots (summed over blocks' tokens) that are padding at h×w."""
    real = padded = 0
    depths = (2, 2, 6, 2)
    gh, gw = h // patch, w // patch
    for s in range(stages):
        wh, ww = min(window, gh), min(window, gw)
        real += depths[s] * gh * gw
        padded += depths[s] * math.ceil(gh / wh) * wh * math.ceil(gw / ww) * ww
        gh, gw = (gh + 1) // 2, (gw + 1) // 2
    return 1 - real / padded


# The JSON keys in a fixed order (a row that failed has the same columns,
# empty), so `anyres bench report` makes one table per kind.
KEYS = ["family", "model", "size", "threads", "outputs", "tokens", "ort_ms", "anyres_ms", "ratio", "ort_cpu_ms", "anyres_cpu_ms",
        "cpu_ratio", "cosine", "max_abs_diff", "max_abs_logit", "ort_ms_all", "anyres_ms_all", "ort_run_rss_mb",
        "anyres_run_rss_mb"]
SWEEP_KEYS = ["patch_tokens", "anyres_us_per_token", "ort_us_per_token", "window_padding"]


def emit(a, row):
    if a.json:
        keys = ["bench"] + KEYS + (SWEEP_KEYS if row["bench"] == "swin-tokens" else []) + ["ort_version", "error"]
        print(json.dumps({k: row.get(k) for k in keys}), flush=True)
        return
    if row.get("error"):
        print(f"{row['family']:>7} {row['size']:>9} {row.get('threads', ''):>3}  {row['error']}", flush=True)
        return
    extra = f" {row['anyres_us_per_token']:>9.1f} {row['ort_us_per_token']:>9.1f} {row['window_padding']:>6.3f}" if "window_padding" in row else ""
    fam = row["family"] + ("/h" if row.get("outputs") == "head" else "")
    print(f"{fam:>7} {row['size']:>9} {row['threads']:>3} {row['tokens']:>6} {row['ort_ms']:>8.1f} {row['anyres_ms']:>9.1f} {row['ratio']:>6.3f}"
          f" {row['ort_cpu_ms']:>10.1f} {row['anyres_cpu_ms']:>13.1f} {row['cpu_ratio'] or 0:>9.3f} {row['cosine']:>9.6f} {row['max_abs_diff']:>9.2e}"
          f" {row['ort_run_rss_mb']:>6} {row['anyres_run_rss_mb']:>6}{extra}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=3, help="alternations per case (medians are taken)")
    ap.add_argument("--time", type=float, default=2.0, help="seconds per measurement (at least 2 forwards after a warm-up)")
    ap.add_argument("--sizes", default="", help="sizes HxW for every family instead of FAMILIES' two")
    ap.add_argument("--swin-sizes", default=SWIN_SWEEP, help="Swin v1 cost-per-token sweep, one thread (\"\" for none)")
    ap.add_argument("--prepare", action="store_true", help="make the hub folders and graphs and check them, time nothing")
    peerlib.add_outputs_arg(ap, "family/h")
    ap.add_argument("--json", action="store_true", help="one JSON object per case")
    a = ap.parse_args()
    fams = [f.strip() for f in a.families.split(",") if f.strip()]
    for f in fams:
        if f not in FAMILIES:
            ap.error(f"--families: {f!r} is not one of {', '.join(FAMILIES)}")
    threads = [int(t) for t in a.threads.split(",")]
    parse = lambda s: [tuple(int(v) for v in x.split("x")) for x in s.split(",") if x]
    timm = import_timm()
    peerlib.ensure_ort()
    cases = [(f, s, t, "family-onnxruntime") for f in fams for t in threads for s in (parse(a.sizes) or FAMILIES[f][2])]
    cases += [("swin", s, 1, "swin-tokens") for s in parse(a.swin_sizes)]
    if not a.json:
        print(f"{'family':>7} {'size':>9} {'thr':>3} {'tokens':>6} {'ORT ms':>8} {'anyres ms':>9} {'ratio':>6} {'ORT cpu ms':>10} {'anyres cpu ms':>13}"
              f" {'cpu ratio':>9} {'cosine':>9} {'max diff':>9} {'ORT MB':>6} {'any MB':>6} [us/token anyres, ORT, window padding]", flush=True)
    with peerlib.Anyres() as anyres:
        checked = {}
        for fam, (h, w), t, kind in cases:
            row = {"bench": kind, "family": fam, "model": FAMILIES[fam][0], "size": f"{h}x{w}", "threads": t}
            folder = hub_folder(timm, fam)
            try:
                model = export(timm, fam, folder, h, w)
            except Exception as e:  # an op torch 1.13 cannot export, or timm refusing the size
                emit(a, dict(row, error=f"export failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}"))
                continue
            try:
                if (fam, h, w) not in checked:
                    checked[(fam, h, w)] = check(anyres, folder, model, h, w)
                cos, diff, scale = checked[(fam, h, w)]
                row.update(cosine=round(cos, 7), max_abs_diff=float(f"{diff:.3g}"), max_abs_logit=round(scale, 3))
                if cos < MIN_COSINE:
                    emit(a, dict(row, error=f"outputs disagree (cosine {cos:.6f}, max abs diff {diff:.3g}): not timed"))
                    continue
                if a.prepare:
                    print(f"{fam} {h}x{w}: {model}, cosine {cos:.7f}, max abs diff {diff:.3g}", flush=True)
                    continue
                heads = peerlib.heads(a) if kind == "family-onnxruntime" else (False,)
                timed = time_case(anyres, folder, model, h, w, t, a.rounds, a.time, heads)
            except subprocess.CalledProcessError as e:
                emit(a, dict(row, error=f"{os.path.basename(str(e.cmd[0]))} failed: exit {e.returncode}"))
                continue
            except RuntimeError as e:
                emit(a, dict(row, error=str(e)))
                continue
            for fields in timed:
                r = dict(row, **fields)
                if kind == "swin-tokens":
                    n = (h // 4) * (w // 4)  # the first stage's patch tokens: what the image costs
                    r["patch_tokens"] = n
                    r["anyres_us_per_token"] = round(r["anyres_cpu_ms"] * 1e3 / n, 2)
                    r["ort_us_per_token"] = round(r["ort_cpu_ms"] * 1e3 / n, 2)
                    r["window_padding"] = round(window_padding(h, w), 3)
                emit(a, r)
    if not a.json:
        print("ratio = ORT ms / anyres ms (above 1: anyres faster), medians of --rounds alternations; cosine/max diff: logits of both on the same image")


if __name__ == "__main__":
    main()
