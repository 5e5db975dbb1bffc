#!/usr/bin/python3
"""PyTorch CPU against `anyres bench resample`, in one run.

    python3 bench/peers/resample_torch.py                 # both shapes, bicubic+antialias and bilinear
    python3 bench/peers/resample_torch.py --rounds 5 --level avx2

Both sides resample the same position tables on one thread, the way timm's
resample_abs_pos_embed does: a (1, H·W, C) table viewed as (1, C, H, W) in
channels-last memory and resized with F.interpolate (bicubic with
antialias, timm's default, and bilinear), for

    14×14×768  → 64×64    (ViT-B/16's table for a 1024² image)
    24×24×1024 → 37×23

The anyres side is posenc.ResampleGrid (api_ms: taps, allocation and the
resampling kernel, GOMAXPROCS capped at 1) — the same work as the torch
call; its kernel-only time (ms, taps prebuilt) is shown next to it. The
two alternate (rounds times); each side's median is taken and
ratio = torch time / anyres time (> 1: anyres is faster).

Needs Debian's python3-torch (installed with apt-get when missing; the script
re-runs itself under /usr/bin/python3, where Debian's torch lives).
"""
import argparse
import json
import statistics

import peerlib

CASES = [((14, 14), (64, 64), 768), ((24, 24), (37, 23), 1024)]
METHODS = [("bicubic", True), ("bilinear", False)]


def torch_measure(src, dst, dim, mode, antialias, min_time):
    """Seconds per table for timm's resample_abs_pos_embed interpolation."""
    import torch
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(src[0] * src[1] * dim)
    table = torch.randn(1, src[0] * src[1], dim, generator=g) * 0.5
    x = table.reshape(1, src[0], src[1], dim).permute(0, 3, 1, 2)  # as timm: channels-last memory
    f = lambda: F.interpolate(x, size=list(dst), mode=mode, antialias=antialias, align_corners=False)
    return peerlib.median_time(f, min_time)


def anyres_measure(anyres, min_time):
    rows = anyres.bench("resample", "-levels", "best", "-threads", "1", "-patch=false", "-time", f"{min_time}s")
    return {(r["from"], r["to"], r["method"], r["antialias"]): r for r in rows if r.get("bench") == "resample"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    peerlib.add_common_args(ap)
    args = ap.parse_args()
    torch, cap = peerlib.torch_one_thread()
    if not args.json:
        print(f"PyTorch {torch.__version__} (CPU capability {cap}, 1 thread) vs anyres, 1 thread; "
              f"median of {args.rounds} alternating rounds of {args.time}s")
        print(f"{'table':>12} {'to':>7} {'method':>11}  {'anyres ms':>9} {'(kernel)':>8} {'torch ms':>8}  {'ratio':>6}  level")
    theirs = {}
    ours = {}
    with peerlib.Anyres(args.level) as anyres:
        for _ in range(args.rounds):
            for src, dst, dim in CASES:
                for mode, aa in METHODS:
                    theirs.setdefault((src, dst, mode), []).append(torch_measure(src, dst, dim, mode, aa, args.time))
            for k, r in anyres_measure(anyres, args.time).items():
                ours.setdefault(k, []).append(r)
        ratios = []
        for src, dst, dim in CASES:
            for mode, aa in METHODS:
                key = (f"{src[0]}×{src[1]}", f"{dst[0]}×{dst[1]}", mode, aa)
                rs = ours[key]
                api = statistics.median(r["api_ms"] for r in rs)
                kern = statistics.median(r["ms"] for r in rs)
                t = statistics.median(theirs[(src, dst, mode)]) * 1e3
                row = {"bench": "resample_torch", "from": key[0], "to": key[1], "dim": dim, "method": mode,
                       "antialias": aa, "level": rs[-1]["level"], "anyres_ms": round(api, 3),
                       "anyres_kernel_ms": round(kern, 3), "torch_ms": round(t, 3), "ratio": round(t / api, 3)}
                ratios.append(row["ratio"])
                if args.json:
                    print(json.dumps(row), flush=True)
                else:
                    print(f"{key[0] + '×' + str(dim):>12} {key[1]:>7} {mode + ('+aa' if aa else ''):>11}  "
                          f"{api:9.3f} {kern:8.3f} {t:8.3f}  {row['ratio']:6.2f}  {row['level']}", flush=True)
        if not args.json:
            print(f"ratio (torch time / anyres time): min {min(ratios):.2f}, median {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
