"""Decode throughput while the encoder works alongside, as in `edgebot serve` (each visitor's message is
encoded for its intent and its knowledge-base search while other replies decode), with onnxruntime's thread
spinning on (its default) and off (edgebot's default since 2026-11-30).

One process: 4 sequences of 128 greedy tokens decoded together (the batched provider, 2 threads), while a
background thread encodes a message every INTERVAL ms with one of two encoders (spinning on / off) or with
none; the three phases take turns for ROUNDS rounds. Also: the encoder's own latency per message.

    .venv/bin/python benchmarks/encoder_spin.py --out benchmarks/results/encoder_spin.json
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from _common import MODELS_DIR, command, decode_together, machine, write_result

from edgebot.bench.run import alternate
from edgebot.llm.batched import BatchedProvider
from edgebot.modelstore import ModelStore
from edgebot.nlu import Encoder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--interval-ms", type=float, default=100.0, help="one message encoded this often")
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    store = ModelStore(Path(args.models_dir))
    encoders = {spin: Encoder(store.require("minilm-l6-v2-int8-dynamic"), store.require("minilm-l6-v2-tokenizer"),
                              sha256=store.entry("minilm-l6-v2-int8-dynamic").sha256, spin=spin) for spin in (True, False)}
    provider = BatchedProvider(store.require("smollm2-135m-instruct-q4_1"), n_ctx=1024, parallel=4, n_threads=2)
    rates: dict[str, list[float]] = {"no encoder": [], "spinning on": [], "spinning off": []}
    latency: dict[str, list[float]] = {"spinning on": [], "spinning off": []}

    def phase(name: str, encoder: Encoder | None) -> None:
        def message() -> None:
            assert encoder is not None
            t = time.perf_counter()
            encoder.embed_one(f"Where is my order {len(latency[name])}? I bought a tent last week and it has not arrived.")
            latency[name].append((time.perf_counter() - t) * 1000)

        rates[name].append(decode_together(provider, message if encoder is not None else None,
                                           every_s=args.interval_ms / 1000))

    decode_together(provider)
    for enc in encoders.values():
        enc.embed_one("warm up")
    for i in range(args.rounds):
        alternate(i, [lambda: phase("no encoder", None), lambda: phase("spinning on", encoders[True]),
                      lambda: phase("spinning off", encoders[False])])
        print(f"round {i + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in rates.items()), flush=True)
    provider.close()
    result = {"command": command("encoder_spin.py"), "machine": machine(), "interval_ms": args.interval_ms,
              "aggregate_tokens_per_s": {k: round(statistics.median(v), 1) for k, v in rates.items()},
              "rounds": {k: [round(x, 1) for x in v] for k, v in rates.items()},
              "encoder_ms_p50": {k: round(statistics.median(v), 2) for k, v in latency.items()}}
    for name, rate in result["aggregate_tokens_per_s"].items():
        print(f"{rate:7.1f} tokens/s  4 sequences, {name}")
    print("encoder ms per message, p50:", result["encoder_ms_p50"])
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
