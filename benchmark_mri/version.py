"""A fingerprint of the benchmark's source, for cache keys.

benchopt caches results by the solver / dataset / objective files and their
parameters, not by the code they import; the objective adds this
fingerprint to its cache state so that editing benchmark_mri/ or the
benchmark's benchmark_utils/ (the benchopt-side helpers solver files share)
invalidates cached results. Learned solvers' checkpoints are keyed by the
fingerprint of benchmark_mri/ (learned/checkpoint.py).
"""

import hashlib
from functools import lru_cache
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
UTILS_FOLDER = "benchmark_utils"  # beside objective.py in a benchopt benchmark


def source_fingerprint(*roots: Path) -> str:
    """SHA-256 over the relative paths and contents of every .py file under
    each root (roots that do not exist contribute their absence)."""
    digest = hashlib.sha256()
    for root in roots:
        digest.update(f"<{Path(root).name}>".encode())
        for path in sorted(Path(root).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=None)
def code_version(benchmark_dir: Path | None = None) -> str:
    """Fingerprint of the installed benchmark_mri source, and of
    benchmark_dir/benchmark_utils/ when benchmark_dir is given."""
    roots = [PACKAGE_DIR]
    if benchmark_dir is not None:
        roots.append(Path(benchmark_dir) / UTILS_FOLDER)
    return source_fingerprint(*roots)
