"""The intent model of a catalog: trained from its examples on first use and kept next to the data,
named by the training data's digest so that editing the catalog retrains it and nothing else does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgebot.dialogue.catalog import Catalog
from edgebot.nlu import SentenceEncoder

FORMAT_TAG = "r3"  # bumped when the model file gains content (r2: drift reference, r3: neighbours), so old files retrain


def model_path(catalog: Catalog, data_dir: Path, encoder_sha256: str) -> Path:
    digest = catalog.examples().digest()[:12]
    return data_dir / "intents" / f"{catalog.name}-{digest}-{encoder_sha256[:8]}-{FORMAT_TAG}.onnx"


def ensure_intent_model(
    catalog: Catalog, encoder: SentenceEncoder, data_dir: Path, *,
    say: Callable[[str], None] | None = None, out: Path | None = None,
) -> Path:
    """The catalog's trained model: reused when its file exists, else trained now (seconds for a catalog)."""
    from edgebot.nlu import EmbeddingCache, train

    path = out or model_path(catalog, data_dir, encoder.sha256)
    if path.is_file() and out is None:
        return path
    examples = catalog.examples()
    if say:
        say(f"training the intent model of catalog {catalog.name} ({len(examples)} examples)")
    path.parent.mkdir(parents=True, exist_ok=True)
    cache = EmbeddingCache(data_dir / "cache" / "embeddings.sqlite3")
    try:
        train(examples, None, encoder, cache, path)  # type: ignore[arg-type]
    finally:
        cache.close()
    return path
