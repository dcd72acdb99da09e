"""The native self-check: a child process that dies by a signal is explained (exit 3, the signal, the likely
cause, the rebuild command), never met bare; a pass is remembered per build; llama.cpp loads before numpy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgebot import cli
from edgebot.doctor import selfcheck
from edgebot.settings import load_settings

SIGILL_CHILD = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]
SIGSEGV_CHILD = [sys.executable, "-c", "import ctypes; ctypes.string_at(0)"]  # a real segmentation fault


def test_a_child_that_dies_by_sigill_is_named_with_its_cause_and_the_rebuild_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selfcheck.llamabuild, "machine", lambda: "x86_64")  # the flags checked below are x86's
    monkeypatch.setattr(selfcheck.llamabuild.platform, "system", lambda: "Linux")
    result = selfcheck.run_probe(SIGILL_CHILD)
    assert result.signal == "SIGILL" and not result.ok
    message = selfcheck.crash_message(result, selfcheck.rebuild_command())
    assert message.startswith("llama.cpp died by SIGILL")
    assert "instruction this CPU" in message and "AMX" in message
    assert "pip install --force-reinstall --no-deps --no-cache-dir llama-cpp-python==" in message
    assert "-DGGML_NATIVE=OFF" in message and "-DGGML_AMX_INT8=OFF" in message
    assert sys.executable in message


def test_a_segmentation_fault_is_caught_too() -> None:
    result = selfcheck.run_probe(SIGSEGV_CHILD)
    assert result.signal == "SIGSEGV"
    assert "crashed while loading or running the model" in selfcheck.crash_message(result, "REBUILD")


def test_failures_without_a_signal_are_not_crashes() -> None:
    failing = "print('{\"ok\": false, \"error\": \"model x is missing\"}'); raise SystemExit(1)"
    result = selfcheck.run_probe([sys.executable, "-c", failing])
    assert result.signal is None and not result.ok
    assert result.problem() == "model x is missing"
    hung = selfcheck.run_probe([sys.executable, "-c", "import time; time.sleep(5)"], timeout_s=0.5)
    assert hung.returncode is None and "did not finish" in hung.problem()


def test_rebuild_keeps_the_accelerator_but_drops_the_cpu_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selfcheck.llamabuild, "read_record",
                        lambda path=None: {"cmake_args": "-DGGML_NATIVE=ON -DGGML_CUDA=ON -DGGML_AMX_INT8=ON"})
    command = selfcheck.rebuild_command()
    assert "-DGGML_CUDA=ON" in command and "-DGGML_NATIVE=ON" not in command and "-DGGML_AMX_INT8=ON" not in command


@pytest.mark.parametrize("command", ["doctor", "serve", "chat"])
def test_the_cli_exits_3_with_one_message_when_llama_cpp_dies_by_sigill(
        command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`edgebot doctor`, and `serve` and `chat` at start-up, run the model in a child; here the child dies by a
    real SIGILL."""
    monkeypatch.setenv("EDGEBOT_PATHS_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(selfcheck, "probe_argv", lambda config: SIGILL_CHILD)
    code = cli.main([command])
    out = capsys.readouterr()
    assert code == 3
    text = out.out + out.err
    assert text.count("llama.cpp died by SIGILL") == 1
    assert "pip install --force-reinstall" in text
    assert "Traceback" not in text
    assert not (tmp_path / selfcheck.MEMORY_FILE).exists()  # nothing remembered


@pytest.mark.model
def test_doctor_passes_here_and_serve_then_skips_the_self_check(cli_home: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "edgebot", "doctor", "--json"], capture_output=True, text=True,
                         timeout=600, check=False)
    report = json.loads(run.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert run.returncode == 0, run.stdout + run.stderr
    assert checks["self-check"]["status"] == "ok" and "decoded 8 tokens" in checks["self-check"]["detail"]
    assert checks["chat model"]["status"] == checks["database"]["status"] == "ok"
    detail = checks["self-check"]["detail"]
    # the build's own report of its kernels: AMX only in a build asked for it (EDGEBOT_LLAMA_AMX=1)
    record = selfcheck.llamabuild.read_record() or {}
    amx_built = selfcheck.llamabuild.effective(str(record.get("cmake_args", ""))).get("GGML_AMX_INT8") == "ON"
    assert "CPU :" in detail and ("AMX_INT8 = 1" in detail) == amx_built
    assert {"python", "llama-cpp-python", "cpu", "gpu offload", "encoder", "tokenizer"} <= set(checks)
    memory = json.loads((cli_home / selfcheck.MEMORY_FILE).read_text())
    assert len(memory) == 1
    # remembered for this build: serve's and chat's start-up check does not run the child again
    settings = load_settings(None).settings
    assert selfcheck.remembered(settings)
    selfcheck.ensure(settings, None, lambda text: None, argv=SIGILL_CHILD)
    # another chat model (or GPU setting) is checked anew
    os.environ["EDGEBOT_LLM_N_GPU_LAYERS"] = "1"
    try:
        assert not selfcheck.remembered(load_settings(None).settings)
    finally:
        del os.environ["EDGEBOT_LLM_N_GPU_LAYERS"]


LOAD_ORDER = """
import sys, types
events = []
sys.addaudithook(lambda e, a: events.append((e, str(a[0]))) if e in ("import", "ctypes.dlopen") else None)
from edgebot.cli import run_cmds
from edgebot.doctor import selfcheck
from edgebot.settings import load_settings
selfcheck.ensure = lambda *a, **k: None  # the child here checks the order only
run_cmds.native_ready(types.SimpleNamespace(config=None), load_settings(None))
import edgebot.api, edgebot.runtime  # what serve imports next
numpy = next(i for i, (e, a) in enumerate(events) if e == "import" and a == "numpy")
llama = next(i for i, (e, a) in enumerate(events) if e == "ctypes.dlopen" and "libllama" in a)
print(llama < numpy)
"""


def test_serve_loads_llama_cpp_before_numpy() -> None:
    run = subprocess.run([sys.executable, "-c", LOAD_ORDER], capture_output=True, text=True, timeout=120, check=False)
    assert run.stdout.strip() == "True", run.stderr


BAD_ORDER = """
import numpy  # first: the order that broke model loading on a CUDA build (issue 21)
import sys
from edgebot.llm.batched import BatchedProvider
from edgebot.llm import ChatMessage, GenerationOptions
provider = BatchedProvider(__import__("pathlib").Path(sys.argv[1]), n_ctx=256, parallel=1, n_threads=2)
done = provider.generate([ChatMessage("user", "Hi")], GenerationOptions(max_tokens=4, temperature=0))
print(done.completion_tokens)
"""


@pytest.mark.model
def test_the_model_loads_and_decodes_with_numpy_imported_first(models_dir: Path) -> None:
    """On CPU builds the order does not matter (the CUDA-build fault did not reproduce here); the entry points
    load llama.cpp first anyway (test above)."""
    from edgebot.modelstore import ModelStore
    from tests.conftest import LLM

    path = ModelStore(models_dir).path_for(LLM)
    run = subprocess.run([sys.executable, "-c", BAD_ORDER, str(path)], capture_output=True, text=True, timeout=300,
                         check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert int(run.stdout.strip()) > 0


def test_when_the_portable_build_itself_crashed_the_rebuild_is_plainer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selfcheck.llamabuild, "machine", lambda: "x86_64")
    monkeypatch.setattr(selfcheck.llamabuild.platform, "system", lambda: "Linux")
    portable, _ = selfcheck.llamabuild.chosen_args({}, features={"avx2", "fma", "avx512f", "avx512cd", "avx512vl",
                                                                 "avx512dq", "avx512bw"})
    monkeypatch.setattr(selfcheck.llamabuild, "cpu_features", lambda cpuinfo=None: {
        "avx2", "fma", "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"})
    monkeypatch.setattr(selfcheck.llamabuild, "read_record", lambda path=None: {"cmake_args": portable})
    command = selfcheck.rebuild_command()
    assert "-DGGML_AVX512=OFF" in command and "-DGGML_AVX2=ON" in command
    assert command.count("-DLLAVA_BUILD=OFF") == 1
