"""The model store: where pulled models live, and pull / verify with sha256 and atomic writes.

A model NAME lives at MODELS_DIR/NAME/FILE. It is written as FILE.part (one .partN per source part),
checked against the catalog's byte count and sha256, and only then renamed to FILE, so a file under
the final name is always complete. A stamp (FILE.sha256) records the verified hash, size and mtime so
a second pull does nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edgebot.errors import EdgebotError, ModelMissingError, UsageError
from edgebot.modelstore import derive
from edgebot.modelstore.catalog import ModelEntry, SourcePart, load_catalog
from edgebot.modelstore.fetch import CHUNK, FetchError, fetch_part

Say = Callable[[str], None]


class ModelTamperedError(EdgebotError):
    """An installed model file no longer matches its pinned sha256."""

    exit_code = 3


@dataclass(frozen=True)
class ModelStatus:
    entry: ModelEntry
    path: Path
    installed: bool
    size: int | None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ModelStore:
    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self.catalog = load_catalog(models_dir)
        self._deriving: set[str] = set()

    def entry(self, name: str) -> ModelEntry:
        try:
            return self.catalog[name]
        except KeyError:
            known = ", ".join(sorted(self.catalog))
            raise UsageError(f"no model named {name!r} in the catalog (known: {known})") from None

    def path_for(self, name: str) -> Path:
        entry = self.entry(name)
        return self.models_dir / entry.name / entry.file

    def require(self, name: str) -> Path:
        """The installed file of NAME, or an error naming the command that installs it."""
        path = self.path_for(name)
        if not path.is_file():
            raise ModelMissingError(f"model {name} is not installed at {path}; run `edgebot models pull {name}`")
        return path

    def require_verified(self, name: str) -> Path:
        """The installed file of NAME, checked against its pinned sha256 before anything loads it: the stamp
        written at pull time when size and mtime still match it, else a full hash. A file that changed
        since it was verified is refused (ModelTamperedError), never loaded."""
        path = self.require(name)
        entry = self.entry(name)
        if self._stamp_ok(path, entry):
            return path
        if sha256_file(path) != entry.sha256:
            raise ModelTamperedError(
                f"model {name} at {path} does not match its pinned sha256 {entry.sha256[:12]}...; it was not "
                f"loaded. Run `edgebot models pull {name}` after removing the file, or pin the new file with "
                "`edgebot models add`")
        self._write_stamp(path, entry)
        return path

    def status(self) -> list[ModelStatus]:
        out = []
        for entry in self.catalog.values():
            path = self.models_dir / entry.name / entry.file
            installed = path.is_file()
            out.append(ModelStatus(entry, path, installed, path.stat().st_size if installed else None))
        return out

    def defaults(self) -> list[str]:
        return [entry.name for entry in self.catalog.values() if entry.default]

    def _stamp_ok(self, path: Path, entry: ModelEntry) -> bool:
        stamp = path.with_name(path.name + ".sha256")
        if not (path.is_file() and stamp.is_file()):
            return False
        st = path.stat()
        return stamp.read_text().split() == [entry.sha256, str(st.st_size), str(st.st_mtime_ns)]

    def _write_stamp(self, path: Path, entry: ModelEntry) -> None:
        st = path.stat()
        path.with_name(path.name + ".sha256").write_text(f"{entry.sha256} {st.st_size} {st.st_mtime_ns}\n")

    def pull(self, name: str, *, progress: bool = True, say: Say = print) -> bool:
        """Install NAME; returns False when it was already installed and verified (nothing done)."""
        entry = self.entry(name)
        final = self.models_dir / entry.name / entry.file
        if self._stamp_ok(final, entry):
            say(f"{name}: already installed at {final}")
            return False
        if final.is_file() and sha256_file(final) == entry.sha256:
            self._write_stamp(final, entry)
            say(f"{name}: already installed at {final} (verified)")
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        work = self.models_dir / ".work" / entry.name
        work.mkdir(parents=True, exist_ok=True)
        parts = [final.with_name(f"{entry.file}.part{i}") for i in range(len(entry.source))]
        for i, (part, dest) in enumerate(zip(entry.source, parts, strict=True)):
            label = f"{name} [{i + 1}/{len(parts)}]" if len(parts) > 1 else name
            if part.model:
                self._derive(name, part, dest, progress=progress, say=say)
                continue
            say(f"{label}: fetching {part.describe()}")
            fetch_part(part, dest, work, label=label, progress=progress)
        assembled = final.with_name(entry.file + ".part")
        if len(parts) == 1:
            parts[0].replace(assembled)
        else:
            with assembled.open("wb") as out:
                for dest in parts:
                    with dest.open("rb") as fin:
                        shutil.copyfileobj(fin, out, CHUNK)
        size = assembled.stat().st_size
        digest = sha256_file(assembled)
        if (entry.bytes is not None and size != entry.bytes) or digest != entry.sha256:
            assembled.unlink()
            for dest in parts:
                dest.unlink(missing_ok=True)
            raise FetchError(
                f"{name}: checksum mismatch (got {size} bytes, sha256 {digest}; expected "
                f"{entry.bytes if entry.bytes is not None else '?'} bytes, sha256 {entry.sha256}); "
                "the download was removed: check the source, then pull again"
            )
        with assembled.open("rb+") as fh:
            os.fsync(fh.fileno())
        assembled.replace(final)
        for dest in parts:
            dest.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
        self._write_stamp(final, entry)
        say(f"{name}: installed {size:,} bytes at {final} (sha256 verified)")
        return True

    def _derive(self, name: str, part: SourcePart, dest: Path, *, progress: bool, say: Say) -> None:
        base = part.model or ""
        if base in self._deriving:
            raise UsageError(f"model {name}: the catalog derives models in a cycle through {base}")
        self._deriving.add(base)
        try:
            self.pull(base, progress=progress, say=say)
        finally:
            self._deriving.discard(base)
        say(f"{name}: making it from {base} ({part.transform})")
        derive.apply(part.transform or "", self.require(base), dest)

    def verify(self, name: str) -> str:
        """'ok', 'missing' or 'mismatch' for NAME, hashing the whole file."""
        entry = self.entry(name)
        path = self.models_dir / entry.name / entry.file
        if not path.is_file():
            return "missing"
        if sha256_file(path) != entry.sha256:
            return "mismatch"
        self._write_stamp(path, entry)
        return "ok"
