#!/usr/bin/python3
"""ViT-B/16 forward in PyTorch CPU against `anyres bench vit`, in the same run.

Usage: bench/peers/vit_torch.py [--sizes 224x224,384x384,518x392,1024x1024] [--threads 1,2] [--time 3] [--json]

The model is timm's vit_base_patch16_224 (dim 768, depth 12, 12 heads,
MLP 3072, class token, learned position table, final norm, token pooling,
1000 classes) written with plain torch.nn modules, since timm is not a
Debian package. It runs the way timm runs a dynamic-size ViT: the image is
zero-padded to whole patches (dynamic_img_pad), the 14x14 position table is
resampled to the image's grid on every forward (bicubic, antialias, as timm's
resample_abs_pos_embed does), attention is timm's unfused path (q·kᵀ,
softmax, ·v; torch 1.13 has no scaled_dot_product_attention). Weights are
random; the timing does not depend on them.

Prints the median milliseconds of each side, the ratio torch_ms / anyres_ms
(>= 1 means anyres is at least as fast) and the peak resident memory of the
torch process; --json prints one JSON object per case instead of the table. Installs python3-torch with apt-get when it is missing.
"""
import argparse, json, resource, statistics, time

import peerlib

peerlib.ensure(["python3-torch", "python3-threadpoolctl", "libopenblas0-pthread"],
               lambda: peerlib.openblas_torch() and peerlib.importable("threadpoolctl")())
import torch
from threadpoolctl import threadpool_limits, threadpool_info

# torch runs its linear layers on OpenBLAS: make sure it is not the
# generic core an old OpenBLAS picks on a CPU it does not know.
peerlib.openblas_core_fallback(next((i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"), None))
import torch.nn as nn
import torch.nn.functional as F

class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))

class Block(nn.Module):
    def __init__(self, dim, heads, mlp):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))
    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))

class ViT(nn.Module):
    def __init__(self, patch=16, dim=768, depth=12, heads=12, mlp=3072, classes=1000, grid=14):
        super().__init__()
        self.patch, self.grid = patch, grid
        self.proj = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + grid * grid, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)
    def pos(self, gh, gw):
        if (gh, gw) == (self.grid, self.grid):
            return self.pos_embed
        cls, table = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        dim = table.shape[-1]
        t = table.reshape(1, self.grid, self.grid, dim).permute(0, 3, 1, 2)
        t = F.interpolate(t, size=(gh, gw), mode="bicubic", antialias=True, align_corners=False)
        return torch.cat([cls, t.permute(0, 2, 3, 1).reshape(1, gh * gw, dim)], dim=1)
    def forward(self, x):
        H, W = x.shape[-2:]
        p = self.patch
        x = F.pad(x, (0, (p - W % p) % p, 0, (p - H % p) % p))  # timm dynamic_img_pad
        x = self.proj(x)
        gh, gw = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos(gh, gw)
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])

def time_torch(model, h, w, budget):
    """Median wall milliseconds of a forward, and the CPU seconds it used per
    wall second (how many cores torch really kept busy)."""
    x = torch.randn(1, 3, h, w)
    with torch.inference_mode():
        model(x)
        times, start, cpu0 = [], time.perf_counter(), time.process_time()
        while len(times) < 2 or (time.perf_counter() - start < budget and len(times) < 50):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
        cores = (time.process_time() - cpu0) / (time.perf_counter() - start)
    return statistics.median(times) * 1e3, cores

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="224x224,384x384,518x392,1024x1024")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--time", type=float, default=3.0, help="seconds per size and thread count")
    ap.add_argument("--json", action="store_true", help="one JSON object per case")
    a = ap.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
    threads = [int(t) for t in a.threads.split(",")]
    torch.manual_seed(0)
    model = ViT().eval()
    print(f"ViT-B/16 forward: PyTorch {torch.__version__} (plain torch.nn, timm semantics) vs anyres, median ms; ratio = torch/anyres")
    if not a.json:
        print(f"{'size':>10} {'thr':>3} {'tokens':>6} {'torch ms':>9} {'anyres ms':>9} {'ratio':>6} {'anyres GF/s':>11} {'torch RSS MB':>12} {'anyres heap MB':>14}")
    with peerlib.Anyres() as anyres:
        for t in threads:
            # torch.set_num_threads sets torch's own (OpenMP) threads, but
            # Debian's torch runs its linear layers on the pthreads OpenBLAS,
            # whose pool keeps one thread per core unless limited too.
            torch.set_num_threads(t)
            blas = threadpool_limits(limits=t, user_api="blas")
            for (h, w) in sizes:
                r = anyres.bench("vit", "-size", f"{h}x{w}", "-threads", str(t), "-time", f"{a.time}s")[-1]
                tm, cores = time_torch(model, h, w, a.time)
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                if a.json:
                    print(json.dumps({"bench": "vit-torch", "size": f"{h}x{w}", "threads": t, "tokens": r["tokens"],
                                      "torch_ms": round(tm, 1), "anyres_ms": r["ms"], "ratio": round(tm / r["ms"], 2), "torch_cores": round(cores, 2),
                                      "anyres_gflops": r["gflops"], "torch_peak_rss_mb": round(rss),
                                      "anyres_heap_peak_mb": r["heap_peak_mb"], "anyres_workspace_mb": r["workspace_mb"]}), flush=True)
                    continue
                print(f"{h}x{w:<5} {t:>3} {r['tokens']:>6} {tm:>9.1f} {r['ms']:>9.1f} {tm / r['ms']:>6.2f} {r['gflops']:>11.1f} {rss:>12.0f} {r['heap_peak_mb']:>14.0f}",
                      flush=True)
            blas.restore_original_limits()

if __name__ == "__main__":
    main()
