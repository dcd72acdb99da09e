"""`edgebot models info` and `edgebot models quantize` on the real GGUF file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgebot.cli import main
from edgebot.modelstore import ModelStore

pytestmark = pytest.mark.model


@pytest.fixture()
def gguf(models_dir: Path) -> Path:
    return ModelStore(models_dir).path_for("smollm2-135m-instruct-q4_1")


def test_info_reads_the_header(gguf: Path, capsys) -> None:
    assert main(["models", "info", str(gguf), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["architecture"] == "llama" and info["quantization"] == "Q4_1"
    assert 130e6 < info["parameters"] < 140e6 and info["context_length"] == 8192
    assert info["chat_template"] is True and info["vocab_size"] == 49152


def test_quantize_makes_a_loadable_variant(gguf: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "smol-q8.gguf"
    assert main(["models", "quantize", str(gguf), str(out), "--type", "q8_0"]) == 0
    captured = capsys.readouterr()
    assert "Q8_0" in captured.out and "the source is already quantized (Q4_1)" in captured.err
    assert main(["models", "info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["quantization"] == "Q8_0" and info["parameters"] > 130e6
    assert out.stat().st_size > gguf.stat().st_size  # 8-bit weights are larger than 4-bit ones
    assert not list(tmp_path.glob("*.part"))
    from edgebot.llm import ChatMessage, GenerationOptions
    from edgebot.llm.batched import BatchedProvider

    provider = BatchedProvider(out, n_ctx=512, parallel=1, n_threads=2)
    try:
        done = provider.generate([ChatMessage("user", "Say hello.")], GenerationOptions(max_tokens=8, temperature=0))
        assert done.completion_tokens > 0 and done.text.strip()
    finally:
        provider.close()


def test_bad_input_gets_a_clear_error(gguf: Path, tmp_path: Path, capsys) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert main(["models", "info", str(text)]) == 2
    assert "not a GGUF file" in capsys.readouterr().err
    assert main(["models", "info", str(tmp_path / "missing.gguf")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["models", "quantize", str(gguf), str(text), "--type", "Q8_0"]) == 2
    assert "exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["models", "quantize", str(gguf), str(tmp_path / "x.gguf"), "--type", "Q9_9"])
    truncated = tmp_path / "half.gguf"
    truncated.write_bytes(gguf.read_bytes()[: 2_000_000])  # a download cut short: the header is fine
    assert main(["models", "quantize", str(truncated), str(tmp_path / "y.gguf"), "--type", "Q4_0"]) == 2
    assert "could not load it (a truncated download" in capsys.readouterr().err
    assert not list(tmp_path.glob("y.gguf*"))
