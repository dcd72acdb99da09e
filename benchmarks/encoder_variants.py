"""The encoder as published vs the default re-quantized one: session memory, speed and how close the vectors are.

Each encoder is loaded in its own subprocess for the memory figure (RSS after load and one batch, minus
RSS before). Speed: 600 DBpedia passages cut to 600 characters (about 128 tokens, batch 16) and 1,500
CLINC150 utterances, 2 threads. Closeness: cosine between the two encoders' vectors for the same texts.

    .venv/bin/python benchmarks/encoder_variants.py --out benchmarks/results/encoder_variants.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import DATASETS, MODELS_DIR, command, machine, require_file, write_result

from edgebot.modelstore import ModelStore
from edgebot.nlu import Encoder

VARIANTS = ["minilm-l6-v2-int8", "minilm-l6-v2-int8-dynamic"]
RSS_PROBE = """
import sys, numpy as np, onnxruntime as ort
def rss():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')) / 1024
before = rss()
o = ort.SessionOptions(); o.intra_op_num_threads = 2
s = ort.InferenceSession(sys.argv[1], o, providers=['CPUExecutionProvider'])
ids = np.ones((16, 128), dtype=np.int64)
s.run(None, {i.name: ids for i in s.get_inputs()})
print(rss() - before)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DATASETS,
                        help="the folder holding dbpedia-entity-5k and clinc150 (default: %(default)s)")
    parser.add_argument("--models-dir", default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    corpus, clinc = args.datasets / "dbpedia-entity-5k" / "corpus.jsonl", args.datasets / "clinc150" / "clinc150_train_val.json"
    for path in (corpus, clinc):
        require_file(parser, path, "--datasets DIR")
    store = ModelStore(Path(args.models_dir))
    tokenizer = store.require("minilm-l6-v2-tokenizer")
    passages = []
    with corpus.open() as fh:
        for line in fh:
            doc = json.loads(line)
            passages.append(f"{doc.get('title', '')}. {doc['text']}"[:600])
            if len(passages) == 600:
                break
    utterances = [t for t, _ in json.loads(clinc.read_text())["val"][:1500]]
    results, vectors = {}, {}
    for name in VARIANTS:
        path = store.require(name)
        rss = float(subprocess.run([sys.executable, "-c", RSS_PROBE, str(path)], capture_output=True, text=True,
                                   check=True).stdout)
        encoder = Encoder(path, tokenizer, n_threads=2)
        encoder.embed(passages[:32])
        started = time.perf_counter()
        p = encoder.embed(passages, batch_size=16)
        passages_s = len(passages) / (time.perf_counter() - started)
        started = time.perf_counter()
        u = encoder.embed(utterances)
        utterances_s = len(utterances) / (time.perf_counter() - started)
        one = []
        for text in utterances[:200]:
            started = time.perf_counter()
            encoder.embed_one(text)
            one.append((time.perf_counter() - started) * 1000)
        vectors[name] = (p, u)
        results[name] = {"session_rss_mb": round(rss), "passages_per_s": round(passages_s, 1),
                         "utterances_per_s": round(utterances_s), "one_utterance_ms_p50": round(float(np.median(one)), 2)}
    (p0, u0), (p1, u1) = vectors[VARIANTS[0]], vectors[VARIANTS[1]]
    cos_p, cos_u = (p0 * p1).sum(axis=1), (u0 * u1).sum(axis=1)
    closeness = {"passages_mean": round(float(cos_p.mean()), 4), "passages_min": round(float(cos_p.min()), 4),
                 "utterances_mean": round(float(cos_u.mean()), 4), "utterances_min": round(float(cos_u.min()), 4)}
    for name, r in results.items():
        print(f"{name:28s} session {r['session_rss_mb']} MB  {r['passages_per_s']} passages/s  "
              f"{r['utterances_per_s']} utterances/s  one {r['one_utterance_ms_p50']} ms")
    print("cosine between them:", closeness)
    write_result(args.out, {"command": command("encoder_variants.py"), "machine": machine(), "results": results,
                            "cosine": closeness})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
