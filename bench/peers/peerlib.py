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


def torch_one_thread():
    """Import Debian's PyTorch (installing it when missing) held to one
    thread, and return it with its CPU capability string."""
    ensure(["python3-torch"], importable("torch"))
    import torch
    torch.set_num_threads(1)
    return torch, torch_capability(torch)
