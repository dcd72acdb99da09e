"""Decode throughput while numpy works alongside (a vector search's matrix-vector product), with OpenBLAS on
one thread (edgebot's default since 2026-11-30) and on one thread per core (OpenBLAS's own default).

Each setting runs in its own process (OpenBLAS reads OPENBLAS_NUM_THREADS when numpy loads), the settings
taking turns for ROUNDS rounds. In each: 4 sequences of 128 greedy tokens decoded together (the batched
provider, 2 threads), alone and while a second thread multiplies a ROWS x 384 float32 matrix by a vector every
100 ms (as `vector_search` does on a knowledge base of that many chunks).

    .venv/bin/python benchmarks/blas_threads.py --out benchmarks/results/blas_threads.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import MODELS_DIR, command, decode_together, machine, write_result

from edgebot.bench.run import alternate


def child(rows: int, models_dir: str) -> None:
    import numpy as np

    from edgebot.llm.batched import BatchedProvider
    from edgebot.modelstore import ModelStore

    provider = BatchedProvider(ModelStore(Path(models_dir)).require("smollm2-135m-instruct-q4_1"), n_ctx=1024,
                               parallel=4, n_threads=2)
    matrix = np.random.default_rng(0).standard_normal((rows, 384)).astype(np.float32)
    query = matrix[0].copy()
    product_ms: list[float] = []

    def search() -> None:
        t = time.perf_counter()
        int((matrix @ query).argmax())
        product_ms.append((time.perf_counter() - t) * 1000)

    decode_together(provider)
    out = {"alone": decode_together(provider), "with numpy": decode_together(provider, search),
           "product_ms_p50": statistics.median(product_ms)}
    provider.close()
    print(json.dumps(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--models-dir", default=str(MODELS_DIR))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.rows, args.models_dir)
        return 0
    settings = {"1 thread (edgebot)": "1", f"{os.cpu_count()} threads (OpenBLAS's default)": str(os.cpu_count())}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in settings}
    def one_process(name: str, i: int) -> None:
        env = {**os.environ, "OPENBLAS_NUM_THREADS": settings[name]}
        out = subprocess.run([sys.executable, __file__, "--child", "--rows", str(args.rows), "--models-dir",
                              args.models_dir], env=env, capture_output=True, text=True, check=True)
        runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"round {i + 1}/{args.rounds}, {name}: {runs[name][-1]}", flush=True)

    for i in range(args.rounds):
        alternate(i, [lambda name=name, i=i: one_process(name, i) for name in settings])
    summary = {name: {key: round(statistics.median(r[key] for r in rs), 2) for key in rs[0]} for name, rs in runs.items()}
    for name, figures in summary.items():
        print(f"{name}: decode alone {figures['alone']:.1f}, with a {args.rows} x 384 product every 100 ms "
              f"{figures['with numpy']:.1f} tokens/s; the product {figures['product_ms_p50']:.2f} ms")
    write_result(args.out, {"command": command("blas_threads.py"), "machine": machine(), "rows": args.rows,
                            "medians": summary, "rounds": runs})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
