"""Processes for the benchmark: `edgebot serve` and llama.cpp's `llama-server` on loopback ports, and
`llama-bench` (both built by scripts/build-llama-tools)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from edgebot.errors import UsageError
from edgebot.settings import isolated_environ

TOOLS = Path(__file__).resolve().parents[3] / ".cache" / "llama-tools" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tool(name: str) -> Path:
    path = Path(os.environ.get("EDGEBOT_LLAMA_TOOLS", TOOLS)) / name
    if not path.is_file():
        raise UsageError(f"{path} is missing: build llama.cpp's tools with scripts/build-llama-tools "
                         "(or point EDGEBOT_LLAMA_TOOLS at a folder holding llama-bench and llama-server)")
    return path


class Process:
    """A server subprocess that is ready when READY_PATH answers 200; its log in LOG."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, ready_path: str, log: Path,
                 timeout_s: float = 120) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log.open("wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise UsageError(f"{argv[0]} exited while starting; its log: {log}")
            try:
                if httpx.get(self.url + ready_path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise UsageError(f"{argv[0]} did not become ready in {timeout_s:.0f} s; its log: {log}")

    def rss_mb(self) -> float | None:
        try:
            import psutil

            return round(psutil.Process(self.proc.pid).memory_info().rss / 1e6, 1)
        except Exception:  # noqa: BLE001 - psutil missing or the process gone: no figure
            return None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def edgebot_env(settings: dict[str, str], work: Path, name: str, extra_env: dict[str, str] | None = None
                ) -> dict[str, str]:
    """The environment of an edgebot command with SETTINGS (section_key: value) and NAME's data folder under
    WORK, rate limits off: a config file of its own (none of the user's config file nor of this process's
    EDGEBOT_ variables, settings.isolated_environ), EXTRA_ENV added (e.g. PYTHONPATH, to run another version of
    the code)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("EDGEBOT_")} | (extra_env or {})
    limits = {"server_rate_limit_per_minute": "0", "server_key_rate_limit_per_minute": "0"}
    return isolated_environ(work / name, settings | limits, base, keep=("EDGEBOT_",))


def edgebot_server(settings: dict[str, str], work: Path, name: str, extra_env: dict[str, str] | None = None
                   ) -> Process:
    port = free_port()
    return Process([sys.executable, "-m", "edgebot", "serve", "--port", str(port)],
                   edgebot_env(settings, work, name, extra_env), port, "/readyz", work / f"{name}.log")


def kv_args(kv_cache: str) -> list[str]:
    """llama.cpp's flags for the KV cache type (f16 is its default; 8-bit needs flash attention)."""
    return [] if kv_cache == "f16" else ["-ctk", kv_cache, "-ctv", kv_cache, "-fa", "on"]


def ngl_args(gpu_layers: int, server: bool) -> list[str]:
    """llama.cpp's -ngl for edgebot's llm.n_gpu_layers (given explicitly: recent llama-bench and llama-server
    offload every layer by default). -1 (all) is `-ngl all` for llama-server, where -1 means "fit to memory"."""
    return ["-ngl", "all" if server and gpu_layers < 0 else str(gpu_layers)]


def llama_server(model: Path, threads: int, parallel: int, n_ctx: int, work: Path, kv_cache: str = "f16",
                 gpu_layers: int = 0) -> Process:
    port = free_port()
    argv = [str(tool("llama-server")), "-m", str(model), "-t", str(threads), "-tb", str(threads),
            "-np", str(parallel), "-c", str(n_ctx * parallel), "--port", str(port), "--host", "127.0.0.1",
            "--no-webui", *kv_args(kv_cache), *ngl_args(gpu_layers, server=True)]
    return Process(argv, dict(os.environ), port, "/health", work / f"llama-server-np{parallel}.log")


def llama_bench(model: Path, threads: int, tokens: int, prompt_tokens: int = 512, kv_cache: str = "f16",
                gpu_layers: int = 0) -> dict[str, Any]:
    """llama-bench's pp (prompt) and tg (decode) tokens/s for MODEL."""
    out = subprocess.run([str(tool("llama-bench")), "-m", str(model), "-t", str(threads), "-p", str(prompt_tokens),
                          "-n", str(tokens), "-r", "3", "-o", "json", *kv_args(kv_cache),
                          *ngl_args(gpu_layers, server=False)], capture_output=True, text=True, timeout=900, check=False)
    if out.returncode != 0:
        raise UsageError(f"llama-bench failed: {out.stderr.strip()[-400:]}")
    rows = json.loads(out.stdout)
    result: dict[str, Any] = {}
    for row in rows:
        key = f"pp{row['n_prompt']}" if row["n_prompt"] else f"tg{row['n_gen']}"
        result[key] = round(float(row["avg_ts"]), 1)
        result[f"{key}_stddev"] = round(float(row.get("stddev_ts", 0.0)), 1)
    return result
