"""Model store: the catalog of pullable models and the pull / verify machinery."""

from edgebot.modelstore.catalog import ModelEntry, SourcePart, add_user_model, check_new_name, load_catalog
from edgebot.modelstore.fetch import FetchError
from edgebot.modelstore.store import ModelStatus, ModelStore, sha256_file

__all__ = [
    "FetchError",
    "ModelEntry",
    "ModelStatus",
    "ModelStore",
    "SourcePart",
    "add_user_model",
    "check_new_name",
    "load_catalog",
    "sha256_file",
]
