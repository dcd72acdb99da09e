"""The native self-check: load the chat model and decode a few tokens in a child process (probe.py), so that
a llama.cpp build that faults on this CPU (SIGILL, SIGSEGV) is caught and explained instead of killing
`edgebot serve` with a bare signal. `serve` and `chat` run it once per installed build, chat model and GPU
setting; a pass is remembered in DATA_DIR/selfcheck.json."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgebot.doctor import llamabuild
from edgebot.errors import EdgebotError
from edgebot.settings import Settings

TIMEOUT_S = 300.0
MEMORY_FILE = "selfcheck.json"

CAUSES = {
    "SIGILL": "the llama.cpp build uses an instruction this CPU (or this VM) does not allow: a native build "
              "(-march=native) made for another CPU, or ggml's AMX kernels on a kernel that hands out AMX tile "
              "state per thread (llama.cpp PR #26954)",
    "SIGSEGV": "llama.cpp crashed while loading or running the model: most often a native build whose CPU kernels "
               "(AMX, or instructions this machine lacks) fault here, or native libraries that do not match",
    "SIGBUS": "llama.cpp crashed reading the model: the model file may have changed on disk or the disk is full",
    "SIGKILL": "the process was killed, most often by the kernel's out-of-memory killer (a model too large for "
               "this machine's memory)",
}




@dataclass
class ProbeResult:
    returncode: int | None  # None: timed out
    signal: str | None  # the signal's name when the child died by one
    report: dict[str, Any] = field(default_factory=dict)  # the child's JSON line
    stderr: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and bool(self.report.get("ok"))

    def problem(self) -> str:
        """One line on what went wrong (empty when ok)."""
        if self.ok:
            return ""
        if self.returncode is None:
            return f"the self-check did not finish in {TIMEOUT_S:.0f} s"
        if self.signal:
            return f"the self-check's process died by {self.signal}"
        if self.report.get("error"):
            return str(self.report["error"])
        tail = self.stderr.strip().split("\n")[-1] if self.stderr.strip() else ""
        return f"the self-check failed (exit {self.returncode}){': ' + tail if tail else ''}"


class NativeCrashError(EdgebotError):
    """llama.cpp died by a signal (or hung) in the self-check's child process; RESULT is what the child left."""

    exit_code = 3

    def __init__(self, message: str, result: ProbeResult) -> None:
        super().__init__(message)
        self.result = result


def probe_argv(config: str | None) -> list[str]:
    """The child's command line: probe.py with this process's interpreter and config."""
    return [sys.executable, "-m", "edgebot.doctor.probe"] + (["--config", config] if config else [])


def run_probe(argv: list[str], timeout_s: float = TIMEOUT_S) -> ProbeResult:
    started = time.perf_counter()
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return ProbeResult(None, None, stderr=err, seconds=time.perf_counter() - started)
    name = None
    if out.returncode < 0:
        try:
            name = signal.Signals(-out.returncode).name
        except ValueError:
            name = f"signal {-out.returncode}"
    report: dict[str, Any] = {}
    for line in reversed(out.stdout.strip().split("\n")):
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            report = parsed
            break
    return ProbeResult(out.returncode, name, report, out.stderr, time.perf_counter() - started)


def rebuild_command() -> str:
    """The exact command that rebuilds llama-cpp-python for this CPU without AMX, into this environment, keeping
    the installed build's other flags (-DGGML_CUDA=ON) but none of its CPU choices."""
    record = llamabuild.read_record() or {}
    keep = llamabuild.strip_cpu_flags(str(record.get("cmake_args", "")))
    env = {k: v for k, v in os.environ.items() if k not in ("CMAKE_ARGS", "EDGEBOT_LLAMA_AMX")}
    env |= {"CMAKE_ARGS": keep} if keep else {}
    args, _ = llamabuild.chosen_args(env=env)
    if llamabuild.effective(args) == llamabuild.effective(str(record.get("cmake_args", ""))):
        # the installed build already is the portable one: a plainer one, AVX2 at most
        features = llamabuild.cpu_features() & llamabuild.AVX2_BASELINE
        args, _ = llamabuild.chosen_args(env=env, features=features)
    version = llamabuild.installed_version() or "0.3.36"
    return (f"CMAKE_ARGS={shlex.quote(args)} {shlex.quote(sys.executable)} -m pip install --force-reinstall "
            f"--no-deps --no-cache-dir llama-cpp-python=={version}")


def crash_message(result: ProbeResult, rebuild: str) -> str:
    """What a person reads when llama.cpp died by a signal: the signal, the likely cause, the rebuild command."""
    sig = result.signal or "a signal"
    cause = CAUSES.get(sig, "llama.cpp crashed in native code")
    record = llamabuild.read_record()
    built = (f"the installed build's flags: {record.get('cmake_args')}" if record
             else "the installed build was not made by edgebot's scripts (pip's default is a native build)")
    return (f"llama.cpp died by {sig} while loading the chat model and decoding a few tokens (edgebot's start-up "
            f"self-check, in a child process). Likely cause: {cause}; {built}. Rebuild llama-cpp-python for this "
            f"CPU without AMX (a few minutes), then start again:\n  {rebuild}\n"
            "From a checkout, scripts/quickstart or scripts/test rebuild it the same way. `edgebot doctor` shows "
            "the build and the CPU.")


def memory_key(settings: Settings) -> str | None:
    """What a remembered pass holds for: the installed build (its libraries' sha256), the model, GPU layers."""
    pkg = llamabuild.package_dir()
    build = llamabuild.fingerprint(pkg) if pkg else None
    if build is None:
        return None
    return f"{build}:{settings.llm.model}:{settings.llm.n_gpu_layers}"


def _memory(settings: Settings) -> tuple[Path, dict[str, Any]]:
    path = settings.data_dir / MEMORY_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    return path, data if isinstance(data, dict) else {}


def remembered(settings: Settings) -> bool:
    key = memory_key(settings)
    return key is not None and key in _memory(settings)[1]


def remember(settings: Settings, result: ProbeResult) -> None:
    key = memory_key(settings)
    if key is None:
        return
    path, data = _memory(settings)
    data[key] = {"checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "seconds": round(result.seconds, 2), "tokens": result.report.get("tokens")}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def check(settings: Settings, config: str | None, argv: list[str] | None = None) -> ProbeResult:
    """Run the self-check now; a pass is remembered. Raises NativeCrashError when the child died by a signal."""
    result = run_probe(argv or probe_argv(config))
    if result.signal:
        raise NativeCrashError(crash_message(result, rebuild_command()), result)
    if result.ok:
        remember(settings, result)
    return result


def ensure(settings: Settings, config: str | None, say: Callable[[str], None], argv: list[str] | None = None) -> None:
    """`serve` and `chat`: the self-check once per installed build (remembered). A child that failed without a
    signal (a missing model, a bad setting) is left to the command itself, which reports it the usual way."""
    if remembered(settings):
        return
    say("checking that llama.cpp runs the chat model on this machine (once per build)...")
    result = check(settings, config, argv)
    if not result.ok and result.returncode is None:
        raise NativeCrashError(f"{result.problem()}: llama.cpp hung loading the chat model or decoding. "
                               f"`edgebot doctor` shows the build; to rebuild it for this CPU:\n  {rebuild_command()}",
                               result)
