#!/usr/bin/python3
"""PyTorch CPU against `anyres bench softmax|layernorm|gelu|gelu_tanh|exp`, in one run.

    python3 bench/peers/elementwise_torch.py                    # every op, every ViT size
    python3 bench/peers/elementwise_torch.py --ops softmax --n 197,4097 --rounds 5
    python3 bench/peers/elementwise_torch.py --level avx2       # ANYRES_KERNELS=avx2

Both sides run one thread (torch.set_num_threads(1)) on the same float32
matrices and the same operations, each into a separate output:

    softmax     N×N scores, softmax over rows (anyres: SoftmaxTo with scale
                1/8 folded in; torch: aten._softmax.out on pre-scaled scores)
    layernorm   N×768, weight and bias, eps 1e-6 (torch: F.layer_norm)
    gelu        N×768, erf form (torch: gelu(out=), approximate='none')
    gelu_tanh   N×768, tanh form
    exp         N×768 (torch: exp(out=))

for N = 197, 577, 1025, 4097 (ViT-B/16 at 224², 384², 512², 1024²). It
alternates the two (rounds times), takes each side's median and prints
elements/ns and ratio = torch time / anyres time (> 1: anyres is faster),
with anyres's time over a copy of the same matrix (the memory bound).

Needs Debian's python3-torch (installed with apt-get when missing; the script
re-runs itself under /usr/bin/python3, where Debian's torch lives).
"""
import argparse
import json
import statistics

import peerlib

OPS = ["softmax", "layernorm", "gelu", "gelu_tanh", "exp"]
SIZES = [197, 577, 1025, 4097]


def torch_measure(op, rows, cols, min_time):
    """Seconds per matrix for op in PyTorch at one thread."""
    import torch
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(rows * cols)
    x = torch.randn(rows, cols, generator=g) * 3
    y = torch.empty_like(x)
    if op == "softmax":
        x = x * 0.125  # anyres folds the scale into its one pass
        f = lambda: torch.ops.aten._softmax.out(x, -1, False, out=y)
    elif op == "layernorm":
        w = 1 + 0.1 * torch.randn(cols, generator=g)
        b = 0.1 * torch.randn(cols, generator=g)
        f = lambda: F.layer_norm(x, (cols,), w, b, 1e-6)
    elif op == "gelu":
        f = lambda: torch._C._nn.gelu(x, approximate="none", out=y)
    elif op == "gelu_tanh":
        f = lambda: torch._C._nn.gelu(x, approximate="tanh", out=y)
    elif op == "exp":
        f = lambda: torch.exp(x, out=y)
    else:
        raise ValueError(op)
    return peerlib.median_time(f, min_time)


def anyres_measure(anyres, op, n, min_time):
    return anyres.bench(op, "-n", str(n), "-time", f"{min_time}s")[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ops", default=",".join(OPS), help="comma-separated: " + ", ".join(OPS))
    ap.add_argument("--n", default=",".join(map(str, SIZES)), help="comma-separated token counts N")
    peerlib.add_common_args(ap, rounds_help="alternations per size (medians are taken)")
    args = ap.parse_args()
    torch, cap = peerlib.torch_one_thread()
    if not args.json:
        print(f"PyTorch {torch.__version__} (CPU capability {cap}, 1 thread) vs anyres, 1 thread; "
              f"median of {args.rounds} alternating rounds of {args.time}s")
        print(f"{'':>21}  {'elements/ns':^15}")
        print(f"{'op':>9} {'rows':>5} {'cols':>5}  {'anyres':>7} {'torch':>7}  {'ratio':>6}  {'anyres/copy':>11}  level")
    ratios = []
    with peerlib.Anyres(args.level) as anyres:
        for op in args.ops.split(","):
            for n in [int(s) for s in args.n.split(",")]:
                cols = n if op == "softmax" else 768
                ours, theirs, last = [], [], None
                for _ in range(args.rounds):
                    theirs.append(torch_measure(op, n, cols, args.time))
                    last = anyres_measure(anyres, op, n, args.time)
                    ours.append(last["ms"] / 1e3)
                o, t = statistics.median(ours), statistics.median(theirs)
                elems = n * cols
                row = {"op": op, "rows": n, "cols": cols, "level": last["level"],
                       "anyres_elem_per_ns": round(elems / o / 1e9, 3), "torch_elem_per_ns": round(elems / t / 1e9, 3),
                       "ratio": round(t / o, 3), "anyres_bound_ratio": last["bound_ratio"]}
                ratios.append(row)
                if args.json:
                    print(json.dumps(row), flush=True)
                else:
                    print(f"{op:>9} {n:5d} {cols:5d}  {row['anyres_elem_per_ns']:7.3f} {row['torch_elem_per_ns']:7.3f}  "
                          f"{row['ratio']:6.2f}  {row['anyres_bound_ratio']:11.2f}  {row['level']}", flush=True)
    if not args.json and ratios:
        worst = min(ratios, key=lambda r: r["ratio"])
        print(f"ratio (torch time / anyres time): min {worst['ratio']:.2f} ({worst['op']} {worst['rows']}×{worst['cols']}), "
              f"median {statistics.median(r['ratio'] for r in ratios):.2f}")


if __name__ == "__main__":
    main()
