"""What every peer script shares: its Debian packages, the anyres binary it
measures, and the timing and summing up of one side.

    import peerlib
    peerlib.ensure(["python3-torch"], peerlib.importable("torch"))
    with peerlib.Anyres(level) as anyres:
        row = anyres.bench("softmax", "-n", "197")[-1]

Debian's python3-numpy and python3-torch live in /usr/bin/python3's
dist-packages, so a script started by another python re-runs itself there
before installing anything.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DEBIAN_PY = "/usr/bin/python3"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_REEXEC = "ANYRES_PEER_REEXEC"  # set once the script has re-run under DEBIAN_PY


def _debian_python():
    """Re-runs the importing script under DEBIAN_PY when another python3
    started it (a pyenv or venv python3 first on PATH has its own numpy,
    not Debian's on the pthread OpenBLAS, and no python3-torch): every peer
    measures Debian's packages, whatever `python3` means here."""
    if not os.path.exists(DEBIAN_PY) or os.environ.get(_REEXEC):
        return
    if os.path.realpath(sys.executable) == os.path.realpath(DEBIAN_PY):
        return
    os.environ[_REEXEC] = "1"
    os.execv(DEBIAN_PY, [DEBIAN_PY] + sys.argv)


_debian_python()


def importable(*modules):
    """A check for ensure: whether every module imports."""
    def check():
        try:
            for m in modules:
                __import__(m)
        except ImportError:
            return False
        return True
    return check


def ensure(packages, have):
    """Make have() true: re-run under Debian's python, then install the
    Debian packages with apt-get when still missing and re-run."""
    if have():
        return
    if sys.executable != DEBIAN_PY and os.path.exists(DEBIAN_PY) and not os.environ.get(_REEXEC):
        os.environ[_REEXEC] = "1"
        os.execv(DEBIAN_PY, [DEBIAN_PY] + sys.argv)
    print(f"installing {' '.join(packages)} with apt-get", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq"] + list(packages), check=True, env=env)
    os.execv(DEBIAN_PY, [DEBIAN_PY] + sys.argv)


class Anyres:
    """`go run ./cmd/anyres`, built once into a temporary directory (removed
    on exit) and run with ANYRES_KERNELS=level unless level is "best"."""

    def __init__(self, level="best"):
        self.env = dict(os.environ)
        if level != "best":
            self.env["ANYRES_KERNELS"] = level

    def __enter__(self):
        self.tmp = tempfile.mkdtemp()
        self.binary = os.path.join(self.tmp, "anyres")
        subprocess.run(["go", "build", "-o", self.binary, "./cmd/anyres"], check=True, cwd=REPO)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def bench(self, name, *args):
        """Runs `anyres bench name args... -json` and returns its JSON objects, one per line."""
        out = subprocess.run([self.binary, "bench", name, *args, "-json"], check=True, capture_output=True,
                             text=True, env=self.env, cwd=REPO).stdout
        return [json.loads(l) for l in out.splitlines() if l.startswith("{")]


def median_time(f, min_time, min_calls=5):
    """Seconds per call of f: the median over at least min_calls calls and
    min_time seconds, after one call that warms caches and page tables."""
    f()
    times = []
    start = time.perf_counter()
    while len(times) < min_calls or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def torch_capability(torch):
    """PyTorch's CPU capability line (e.g. AVX512), or "?"."""
    return next((l.split(":")[1].strip() for l in torch.__config__.show().splitlines() if "CPU capability" in l), "?")


def openblas_torch():
    """A check for ensure: torch imports and the BLAS it loads is Debian's
    pthread OpenBLAS. python3-torch depends only on libblas3, the netlib
    reference BLAS, which runs torch's matmuls ~50× slower (exporting the
    1024² ViT for ONNX Runtime took over 10 minutes of tracing on it)."""
    if not any(os.path.exists(f"/usr/lib/{a}-linux-gnu/openblas-pthread") for a in ("x86_64", "aarch64")):
        return False
    return importable("torch")()


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (empty where unknown)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def openblas_core_fallback(architecture):
    """Re-runs the script with OPENBLAS_CORETYPE set when OpenBLAS loaded a
    generic core on a CPU with AVX2 or AVX-512: OpenBLAS 0.3.21 does not
    know newer CPUs (an Emerald Rapids Xeon, family 6 model 207, gets
    "Prescott", SSE3 kernels at ~11 GFLOP/s, a fifth of its speed), which
    would make every OpenBLAS-backed peer (numpy, torch's linear layers) a
    straw man. SkylakeX is its AVX-512 SGEMM, Haswell its AVX2 one."""
    if os.environ.get("OPENBLAS_CORETYPE") or architecture not in ("Prescott", "Core2", "Katmai", "Coppermine", "Northwood", "Penryn", "Dunnington", "Nehalem", "Sandybridge"):
        return
    flags = cpu_flags()
    core = None
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        core = "SkylakeX"
    elif {"avx2", "fma"} <= flags:
        core = "Haswell"
    if core is None:
        return
    print(f"OpenBLAS picked its {architecture} core on this CPU; restarting with OPENBLAS_CORETYPE={core}", file=sys.stderr)
    os.environ["OPENBLAS_CORETYPE"] = core
    os.execv(sys.executable, [sys.executable] + sys.argv)


def add_common_args(ap, rounds_help="alternations (medians are taken)"):
    """The flags every single-thread PyTorch peer takes: --level, --rounds,
    --time, --json."""
    ap.add_argument("--level", choices=["best", "avx512", "avx2", "generic"], default="best",
                    help="anyres kernel level (ANYRES_KERNELS)")
    ap.add_argument("--rounds", type=int, default=3, help=rounds_help)
    ap.add_argument("--time", type=float, default=0.3, help="seconds per measurement")
    ap.add_argument("--json", action="store_true", help="one JSON object per case")


def add_outputs_arg(ap, label):
    """--outputs, for peers whose graphs output the logits: what anyres's
    pass computes, all (tokens, pooled, logits), head (the logits alone:
    `-head-only`, Output.HeadOnly) or both (a row each, marked label).
    heads(a) lists the passes to time: False whole, True head alone."""
    ap.add_argument("--outputs", choices=list(_OUTPUTS), default="all",
                    help=f"what anyres's pass computes: all (tokens, pooled, logits), head (the logits alone, Output.HeadOnly)"
                         f" or both (a row each, {label} for the head alone)")


_OUTPUTS = {"all": (False,), "head": (True,), "both": (False, True)}


def heads(a):
    """The passes --outputs asks for (add_outputs_arg): False whole, True the head alone."""
    return _OUTPUTS[a.outputs]


def head_only_flag(head):
    """The anyres bench arguments for a pass asking for the head alone (or not)."""
    return ["-head-only"] if head else []


def torch_one_thread():
    """Import Debian's PyTorch (installing it when missing) held to one
    thread, and return it with its CPU capability string."""
    ensure(["python3-torch"], importable("torch"))
    import torch
    torch.set_num_threads(1)
    return torch, torch_capability(torch)


# ONNX Runtime: npm's onnxruntime-node (its bundled CPU build, MLAS kernels)
# in .tools/ort, run from Node by onnxruntime_run.js. Shared by the ORT peers.
ORT_DIR = os.path.join(REPO, ".tools", "ort")
ORT_MODELS = os.path.join(ORT_DIR, "models")
HERE = os.path.dirname(os.path.abspath(__file__))


def ensure_ort():
    """Installs onnxruntime-node into ORT_DIR with npm when missing
    (--ignore-scripts: its install script only fetches an optional CUDA
    build from a host these machines cannot reach)."""
    if os.path.exists(os.path.join(ORT_DIR, "node_modules", "onnxruntime-node", "package.json")):
        return
    if not shutil.which("node") or not shutil.which("npm"):
        ensure(["nodejs", "npm"], lambda: bool(shutil.which("node") and shutil.which("npm")))
    os.makedirs(ORT_DIR, exist_ok=True)
    print(f"installing onnxruntime-node into {ORT_DIR} with npm", file=sys.stderr)
    subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefix", ORT_DIR, "onnxruntime-node"],
                   check=True, stdout=sys.stderr)


def avx2_shim():
    """Builds cpuid_avx2.so (see its source) into .tools/ when missing or
    older than the source, and returns its path; None when this machine
    cannot hide AVX-512 that way."""
    flags = cpu_flags()
    if "avx512f" not in flags or "cpuid_fault" not in flags:
        return None
    src = os.path.join(HERE, "cpuid_avx2.c")
    out = os.path.join(REPO, ".tools", "cpuid_avx2.so")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        ensure(["gcc"], lambda: bool(shutil.which("gcc")))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", out, src], check=True)
    return out


def run_json(cmd, env=None):
    """Runs cmd from the module root and returns the last JSON object it printed."""
    out = subprocess.run(cmd, stdout=subprocess.PIPE, env=env, cwd=REPO, text=True, check=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")][-1]


def ort_run(model, h, w, threads, seconds, shim=None, out=None):
    """Times the ONNX graph model (input 1×3×h×w) in a fresh Node process
    (onnxruntime_run.js) and returns its JSON line; with shim (avx2_shim())
    MLAS sees an AVX2-only CPU; with out, each output NAME of the warm-up
    forward is written to out.NAME.f32 as raw float32 (shapes in the JSON's
    "outputs"; seconds 0 then stops there)."""
    env = dict(os.environ, ANYRES_ORT_DIR=ORT_DIR)
    cmd = [shutil.which("node")]
    if shim:
        # The shim's SIGSEGV handler must see CPUID's faults, not V8's.
        env["LD_PRELOAD"] = shim
        cmd.append("--disable-wasm-trap-handler")
    cmd += [os.path.join(HERE, "onnxruntime_run.js"), model, str(h), str(w), str(threads), str(seconds)]
    if out:
        cmd.append(out)
    return run_json(cmd, env=env)


def bench_image(h, w, c=3):
    """The image both `anyres bench model` and onnxruntime_run.js time, as a
    1×c×h×w float32 numpy array: element i is (i mod 251)/125 − 1."""
    import numpy as np
    return ((np.arange(c * h * w) % 251).astype(np.float32) / 125 - 1).reshape(1, c, h, w)


def write_safetensors(path, tensors, metadata=None):
    """Writes float32 torch tensors (name → tensor) as a .safetensors file."""
    import struct
    hdr, blobs, off = {}, [], 0
    for k, t in tensors.items():
        b = t.detach().contiguous().cpu().float().numpy().tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        hdr["__metadata__"] = metadata
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def agreement(a, b):
    """Cosine similarity and largest absolute difference of two arrays of the same size."""
    import numpy as np
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"outputs differ in size: {a.size} against {b.size}")
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) or 1))
    return cos, float(np.abs(a - b).max())
