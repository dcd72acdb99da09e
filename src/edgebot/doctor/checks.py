"""`edgebot doctor`: what this installation is and whether it can run: Python, llama-cpp-python's version
and build flags, the CPU's features, GPU offload, the models, the database and the native self-check."""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
import sys
from dataclasses import asdict, dataclass
from typing import Any

from edgebot.doctor import llamabuild, selfcheck
from edgebot.errors import EdgebotError
from edgebot.settings import Settings

# The CPU features that decide which llama.cpp build runs here (x86 and ARM names from /proc/cpuinfo).
SHOWN_FEATURES = ("sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx_vnni", "avx512f", "avx512bw", "avx512vl",
                  "avx512vbmi", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16", "asimd", "asimddp",
                  "asimdhp", "i8mm", "sve")


@dataclass
class Check:
    name: str
    status: str  # ok, warn or fail
    detail: str


@dataclass
class Report:
    checks: list[Check]
    crash: str = ""  # the self-check's message when llama.cpp died by a signal

    @property
    def exit_code(self) -> int:
        if self.crash:
            return selfcheck.NativeCrashError.exit_code
        return 1 if any(c.status == "fail" for c in self.checks) else 0

    def as_dict(self) -> dict[str, Any]:
        return {"checks": [asdict(c) for c in self.checks], "crash": self.crash or None, "exit_code": self.exit_code}


def python_check() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", "ok" if ok else "fail", f"{platform.python_version()} ({sys.executable})"
                 + ("" if ok else ": edgebot needs Python >= 3.11"))


def build_check() -> Check:
    version = llamabuild.installed_version()
    pkg = llamabuild.package_dir()
    if version is None or pkg is None:
        return Check("llama-cpp-python", "fail", "not installed: run scripts/quickstart, or pip install edgebot")
    record = llamabuild.read_record()
    current = llamabuild.fingerprint(pkg)
    if record is None:
        return Check("llama-cpp-python", "warn", f"{version}; its build flags are unknown (not built by edgebot's "
                     f"scripts; pip's default is a native build). A portable rebuild: {selfcheck.rebuild_command()}")
    if record.get("fingerprint") != current:
        return Check("llama-cpp-python", "warn", f"{version}; reinstalled since edgebot recorded a build with "
                     f"{record.get('cmake_args')!r}: its flags are unknown")
    args = str(record.get("cmake_args", ""))
    risky = llamabuild.risky(args)
    return Check("llama-cpp-python", "warn" if risky else "ok",
                 f"{version}, built with ({record.get('source')}): {args}"
                 + ("; AMX or native (-march=native) kernels may fault on this machine (the self-check tells)"
                    if risky else ""))


def cpu_check(features: set[str] | None = None) -> Check:
    have = llamabuild.cpu_features() if features is None else features
    shown = [f for f in SHOWN_FEATURES if f in have]
    name = platform.processor() or llamabuild.machine()
    for line in _cpuinfo_lines():
        if line.startswith("model name"):
            name = line.partition(":")[2].strip()
            break
    amx = [f for f in shown if f.startswith("amx")]
    detail = f"{llamabuild.machine()}, {name}, {os.cpu_count()} cores: {' '.join(shown) or 'no features read'}"
    if amx:
        detail += "; AMX present: edgebot's builds leave it out unless EDGEBOT_LLAMA_AMX=1"
    return Check("cpu", "ok", detail)


def _cpuinfo_lines() -> list[str]:
    try:
        with open("/proc/cpuinfo", errors="replace") as f:
            return f.read(8192).split("\n")
    except OSError:
        return []


def gpu_check(probe: selfcheck.ProbeResult | None) -> Check:
    nvidia = shutil.which("nvidia-smi") is not None
    offload = probe.report.get("gpu_offload") if probe is not None else None
    if offload:
        return Check("gpu offload", "ok", "this build can offload layers (llm.n_gpu_layers = -1 offloads all)")
    if offload is None:
        return Check("gpu offload", "warn", "unknown: the self-check did not run to the end")
    if nvidia:
        return Check("gpu offload", "warn", "an NVIDIA GPU is present but this build is CPU-only: rebuild with "
                     "CMAKE_ARGS=-DGGML_CUDA=ON (README, GPU builds)")
    return Check("gpu offload", "ok", "not in this build (CPU only)")


def model_checks(settings: Settings) -> list[Check]:
    from edgebot.modelstore import ModelStore

    store = ModelStore(settings.models_dir)
    out = []
    for what, name in (("chat model", settings.llm.model), ("encoder", settings.encoder.model),
                       ("tokenizer", settings.encoder.tokenizer)):
        try:
            path = store.require_verified(name)
        except EdgebotError as exc:
            out.append(Check(what, "fail", str(exc)))
        else:
            out.append(Check(what, "ok", f"{name}: sha256 verified ({path})"))
    return out


def database_check(settings: Settings) -> Check:
    target = settings.database_target
    if isinstance(target, str):  # PostgreSQL
        from edgebot.storage import StorageError, open_database

        try:
            db = open_database(target)
        except StorageError as exc:
            return Check("database", "fail", str(exc))
        try:
            return Check("database", "ok" if db.writable() else "fail",
                         f"PostgreSQL: {'writable' if db.writable() else 'not writable'}")
        finally:
            db.close()
    path = target
    if not path.exists():
        folder = next((p for p in path.parents if p.exists()), None)
        if folder is not None and os.access(folder, os.W_OK):
            return Check("database", "ok", f"{path} (created on first start)")
        return Check("database", "fail", f"{path}: its folder cannot be created (not writable: {folder})")
    try:
        con = sqlite3.connect(path, timeout=5)
        try:
            con.execute("BEGIN IMMEDIATE")  # takes the write lock, writes nothing
            con.rollback()
        finally:
            con.close()
    except sqlite3.Error as exc:
        return Check("database", "fail", f"{path}: not writable ({exc})")
    return Check("database", "ok", f"{path}: writable")


def self_check(settings: Settings, config: str | None, argv: list[str] | None = None
               ) -> tuple[Check, selfcheck.ProbeResult, str]:
    try:
        result = selfcheck.check(settings, config, argv)
    except selfcheck.NativeCrashError as exc:
        return Check("self-check", "fail", exc.result.problem()), exc.result, str(exc)
    if not result.ok:
        return Check("self-check", "fail", result.problem()), result, ""
    r = result.report
    return Check("self-check", "ok", f"{r.get('model')} loaded in {r.get('load_s')} s and decoded {r.get('tokens')} "
                 f"tokens in a child process ({result.seconds:.1f} s in all); llama.cpp: {r.get('system_info')}"), result, ""


def run(settings: Settings, config: str | None, probe: bool = True, argv: list[str] | None = None) -> Report:
    checks = [python_check(), build_check(), cpu_check()]
    checks += model_checks(settings)
    checks.append(database_check(settings))
    crash = ""
    result = None
    if probe:
        check, result, crash = self_check(settings, config, argv)
        checks.append(check)
    checks.insert(3, gpu_check(result))
    return Report(checks, crash)


def render(report: Report) -> str:
    mark = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
    lines = [f"{mark[c.status]}  {c.name}: {c.detail}" for c in report.checks]
    if report.crash:
        lines += ["", report.crash]
    return "\n".join(lines)
