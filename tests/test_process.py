"""Process-wide settings edgebot makes when it loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BLAS_THREADS = """
import ctypes, edgebot, numpy
libs = sorted({line.split()[-1] for line in open('/proc/self/maps') if 'openblas' in line.lower()})
for name in ('scipy_openblas_get_num_threads64_', 'scipy_openblas_get_num_threads', 'openblas_get_num_threads64_',
             'openblas_get_num_threads'):
    for lib in libs:
        get = getattr(ctypes.CDLL(lib), name, None)
        if get is not None:
            print(get())
            raise SystemExit(0)
print('none')
"""


def _blas_threads(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", BLAS_THREADS], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2, reason="reads /proc; needs 2+ cores")
def test_numpy_runs_blas_on_one_thread_unless_told_otherwise() -> None:
    """OpenBLAS's threads spin on the cores llama.cpp decodes on (benchmarks/blas_threads.py): edgebot gives
    numpy one BLAS thread, and an OPENBLAS_NUM_THREADS the operator set still wins."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    found = _blas_threads(env)
    if found == "none":
        pytest.skip("this numpy's BLAS is not OpenBLAS")
    assert found == "1"
    assert _blas_threads({**env, "OPENBLAS_NUM_THREADS": "2"}) == "2"
