#!/usr/bin/python3
"""OpenBLAS sgemm (numpy float32 matmul) against `anyres bench gemm`, in one run.

    python3 bench/peers/gemm_openblas.py                 # AVX-512 anyres vs OpenBLAS's own pick
    python3 bench/peers/gemm_openblas.py --level avx2    # ANYRES_KERNELS=avx2 vs OPENBLAS_CORETYPE=Haswell
    python3 bench/peers/gemm_openblas.py --shapes vit --threads 1 --rounds 5

For every shape and thread count it alternates the two (rounds times), takes
each side's median GFLOP/s and prints anyres/OpenBLAS; also from each side's
fastest call, and with one thread from process CPU time per call (which
leaves out the time spent waiting for a core on a shared machine). Both compute the same
row-major C = A·B with A M×K and B K×N, B unpacked (anyres: Sgemm), unless
--packed, which measures anyres's GemmPacked (B packed once, as a linear
layer runs) against the same OpenBLAS call.

Needs Debian's python3-numpy and libopenblas0-pthread (installed with apt-get
when missing; numpy must load the pthread OpenBLAS, checked with
threadpoolctl when it is there).
"""
import argparse
import json
import os
import statistics
import sys
import time

import peerlib

VIT = [(m, n, k) for m in (197, 577, 1025, 4097) for n, k in ((768, 768), (2304, 768), (3072, 768), (768, 3072))]
SQUARES = [(s, s, s) for s in (256, 512, 1024, 2048)]


def have_openblas_numpy():
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/openblas-pthread") and not os.path.exists("/usr/lib/aarch64-linux-gnu/openblas-pthread"):
        return False
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            return lib
    return None


class OpenBLAS:
    def __init__(self):
        import numpy as np
        from threadpoolctl import threadpool_limits
        self.np, self.limits = np, threadpool_limits

    def measure(self, m, n, k, threads, min_time):
        np = self.np
        rng = np.random.default_rng(m * n + k)
        a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
        c = np.empty((m, n), np.float32)
        with self.limits(limits=threads, user_api="blas"):
            np.matmul(a, b, out=c)
            times = []
            start = time.perf_counter()
            cpu0 = time.process_time()
            while len(times) < 3 or time.perf_counter() - start < min_time:
                t0 = time.perf_counter()
                np.matmul(a, b, out=c)
                times.append(time.perf_counter() - t0)
            cpu = (time.process_time() - cpu0) / len(times)
        flop = 2.0 * m * n * k
        return flop / statistics.median(times) / 1e9, flop / min(times) / 1e9, (flop / cpu / 1e9 if threads == 1 else None)


def anyres_measure(anyres, m, n, k, threads, min_time, packed):
    args = ["-m", str(m), "-n", str(n), "-k", str(k), "-threads", str(threads), "-time", f"{min_time}s"]
    if packed:
        args.append("-packed")
    r = anyres.bench("gemm", *args)[-1]
    return r["gflops"], r["gflops_best"], r.get("gflops_cpu"), r["level"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--level", choices=["best", "avx512", "avx2"], default="best",
                    help="avx2: ANYRES_KERNELS=avx2 against OPENBLAS_CORETYPE=Haswell")
    ap.add_argument("--shapes", choices=["vit", "squares", "all"], default="all")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--rounds", type=int, default=3, help="alternations per shape (medians are taken)")
    ap.add_argument("--time", type=float, default=0.3, help="seconds per measurement")
    ap.add_argument("--packed", action="store_true", help="anyres: GemmPacked (B packed once) instead of Sgemm")
    ap.add_argument("--json", action="store_true", help="one JSON object per shape")
    args = ap.parse_args()

    if args.level == "avx2" and os.environ.get("OPENBLAS_CORETYPE") != "Haswell":
        # The core type is read when OpenBLAS loads: start again with it set.
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    peerlib.ensure(["python3-numpy", "libopenblas0-pthread", "python3-threadpoolctl"], have_openblas_numpy)
    info = blas_info()
    if info is None or info.get("internal_api") != "openblas":
        sys.exit(f"numpy does not use OpenBLAS (threadpoolctl says {info}); install libopenblas0-pthread")
    peerlib.openblas_core_fallback(info.get("architecture"))
    if info.get("threading_layer") != "pthreads":
        print(f"warning: OpenBLAS threading layer is {info.get('threading_layer')}, not pthreads", file=sys.stderr)

    shapes = {"vit": VIT, "squares": SQUARES, "all": VIT + SQUARES}[args.shapes]
    threads = [int(t) for t in args.threads.split(",")]
    blas = OpenBLAS()
    op = "GemmPacked" if args.packed else "Sgemm"
    print(f"OpenBLAS {info.get('version')} ({info.get('threading_layer')}, core {info.get('architecture')}"
          f"{', OPENBLAS_CORETYPE=' + os.environ['OPENBLAS_CORETYPE'] if 'OPENBLAS_CORETYPE' in os.environ else ''})"
          f" vs anyres {op}; GFLOP/s, median of {args.rounds} alternating rounds of {args.time}s")
    if not args.json:
        print(f"{'':>22}  {'median GFLOP/s':^24}   {'best call GFLOP/s':^24}   {'CPU-time GFLOP/s (1 thr)':^24}")
        print(f"{'M':>5} {'N':>5} {'K':>5} {'thr':>3}" + f"  {'anyres':>8} {'OpenBLAS':>8}  {'ratio':>6} " * 3)
    rows = []
    with peerlib.Anyres(args.level) as anyres:
        for t in threads:
            for (m, n, k) in shapes:
                ours, theirs, ours_best, theirs_best, ours_cpu, theirs_cpu, level = [], [], [], [], [], [], None
                for _ in range(args.rounds):
                    med, best, cpu = blas.measure(m, n, k, t, args.time)
                    theirs.append(med)
                    theirs_best.append(best)
                    theirs_cpu.append(cpu)
                    med, best, cpu, level = anyres_measure(anyres, m, n, k, t, args.time, args.packed)
                    ours.append(med)
                    ours_best.append(best)
                    ours_cpu.append(cpu)
                o, b = statistics.median(ours), statistics.median(theirs)
                ob, bb = max(ours_best), max(theirs_best)
                row = {"m": m, "n": n, "k": k, "threads": t, "level": level, "op": op,
                       "anyres_gflops": round(o, 1), "openblas_gflops": round(b, 1), "ratio": round(o / b, 3),
                       "anyres_best": round(ob, 1), "openblas_best": round(bb, 1), "ratio_best": round(ob / bb, 3)}
                cpu_cols = ""
                if None not in ours_cpu and None not in theirs_cpu:
                    oc, bc = statistics.median(ours_cpu), statistics.median(theirs_cpu)
                    row.update(anyres_cpu=round(oc, 1), openblas_cpu=round(bc, 1), ratio_cpu=round(oc / bc, 3))
                    cpu_cols = f"   {oc:8.1f} {bc:8.1f}  {oc / bc:6.3f}"
                rows.append(row)
                if args.json:
                    print(json.dumps(row), flush=True)
                else:
                    print(f"{m:5d} {n:5d} {k:5d} {t:3d}  {o:8.1f} {b:8.1f}  {o / b:6.3f}   {ob:8.1f} {bb:8.1f}  {ob / bb:6.3f}{cpu_cols}", flush=True)

    if args.json:
        return
    # Summary: the goals.
    by = {(r["m"], r["n"], r["k"], r["threads"]): r for r in rows}
    for label, group in (("ViT", VIT), ("squares", SQUARES)):
        for t in threads:
            for key, what in (("ratio", "medians"), ("ratio_best", "best calls"), ("ratio_cpu", "CPU time")):
                rs = [by[s + (t,)][key] for s in group if key in by.get(s + (t,), {})]
                if rs:
                    print(f"{t} thread(s), {label}, anyres/OpenBLAS from {what}: min {min(rs):.3f} median {statistics.median(rs):.3f}")
    for key, what in (("anyres_gflops", "medians"), ("anyres_best", "best calls")):
        scal = [by[s + (2,)][key] / by[s + (1,)][key]
                for s in VIT if s[0] >= 577 and s + (1,) in by and s + (2,) in by]
        if scal:
            print(f"anyres 2-thread speed-up on ViT shapes with M ≥ 577 ({what}): min {min(scal):.2f}×, median {statistics.median(scal):.2f}×")


if __name__ == "__main__":
    main()
