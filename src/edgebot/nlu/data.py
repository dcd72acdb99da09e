"""Labelled utterances from CLINC150 JSON or CSV files. Loaders are looked up by sniffing the file, so a
new format (the dialogue issue's intent catalog) registers one more loader.

Label `oos` marks an out-of-scope utterance in every format.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from edgebot.errors import UsageError
from edgebot.textlines import split_lines

OOS = "oos"
Split = Literal["train", "val", "eval"]


@dataclass(frozen=True)
class Examples:
    texts: list[str]
    labels: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.texts)

    def digest(self) -> str:
        """sha256 over the (text, label) pairs: identifies the training data in a model's metadata."""
        h = hashlib.sha256()
        for text, label in zip(self.texts, self.labels, strict=True):
            h.update(text.encode() + b"\x1f" + label.encode() + b"\x1e")
        return h.hexdigest()

    @property
    def in_scope(self) -> list[int]:
        return [i for i, label in enumerate(self.labels) if label != OOS]


Loader = Callable[[Path, str, Split], "Examples | None"]
LOADERS: dict[str, Loader] = {}


def loader(name: str) -> Callable[[Loader], Loader]:
    def register(fn: Loader) -> Loader:
        LOADERS[name] = fn
        return fn

    return register


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if not text.strip():
        raise UsageError(f"{path}: the file is empty")
    return text


@loader("clinc150-json")
def _clinc(path: Path, text: str, split: Split) -> Examples | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(data, dict) or not ({"train", "val", "test"} & data.keys()):
        raise UsageError(f"{path}: a JSON data file needs CLINC150 keys (train, val, test, oos_*)")
    if split == "eval":
        keys = ["test", "oos_test"] if "test" in data else ["val", "oos_val"]
    else:
        keys = [split, f"oos_{split}"]
    if keys[0] not in data:
        raise UsageError(f"{path}: no '{keys[0]}' key for the {split} split")
    texts, labels = [], []
    for key in keys:
        for i, row in enumerate(data.get(key, [])):
            if not (isinstance(row, list) and len(row) == 2 and all(isinstance(x, str) for x in row)):
                raise UsageError(f"{path}: {key}[{i}] should be [text, intent]")
            texts.append(row[0])
            labels.append(OOS if key.startswith("oos_") else row[1])
    return Examples(texts, labels, f"{path}:{'+'.join(keys)}")


@loader("csv")
def _csv(path: Path, text: str, split: Split) -> Examples | None:
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    label_col = "category" if "category" in header else "label" if "label" in header else None
    if "text" not in header or label_col is None:
        if "," in split_lines(text)[0]:
            raise UsageError(f"{path}: a CSV needs a header row `text,category` (or `text,label`)")
        return None
    ti, li = header.index("text"), header.index(label_col)
    texts, labels = [], []
    for n, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(ti, li) or not row[ti].strip() or not row[li].strip():
            raise UsageError(f"{path}: line {n} needs both text and {label_col}")
        texts.append(row[ti].strip())
        labels.append(row[li].strip())
    return Examples(texts, labels, str(path))


def load_examples(path: str | Path, split: Split) -> Examples:
    """Examples of SPLIT from PATH, in whichever registered format fits."""
    path = Path(path)
    text = _read_text(path)
    for fn in LOADERS.values():
        found = fn(path, text, split)
        if found is not None:
            if not found.texts:
                raise UsageError(f"{path}: no examples for the {split} split")
            return found
    raise UsageError(f"{path}: unknown format; use CLINC150 JSON or a CSV with a `text,category` header")


def check_trainable(examples: Examples) -> None:
    """Every intent needs at least two examples, and there must be at least two intents."""
    counts = Counter(label for label in examples.labels if label != OOS)
    single = sorted(label for label, n in counts.items() if n < 2)
    if single:
        shown = ", ".join(single[:5]) + (" ..." if len(single) > 5 else "")
        raise UsageError(f"{examples.source}: these labels have a single example (need 2 or more): {shown}")
    if len(counts) < 2:
        raise UsageError(f"{examples.source}: training needs at least two intents")
