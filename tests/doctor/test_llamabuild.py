"""Which llama.cpp build flags edgebot chooses for a CPU, and when the installed build must be rebuilt."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from edgebot.doctor import llamabuild

SAPPHIRE_RAPIDS = ("fpu sse4_2 avx avx2 fma f16c bmi2 avx_vnni avx512f avx512cd avx512vl avx512dq avx512bw avx512vbmi "
                   "avx512_vnni avx512_bf16 amx_tile amx_int8 amx_bf16")
HASWELL = "fpu sse4_2 avx avx2 fma f16c bmi2"
ROOT = Path(__file__).resolve().parents[2]


def flags(features: str, arch: str = "x86_64", system: str = "Linux", amx: bool = False) -> dict[str, str]:
    out = {}
    for flag in llamabuild.portable_flags(features.split(), arch, system, amx=amx):
        key, _, value = flag.removeprefix("-D").partition("=")
        out[key] = value
    return out


def test_an_amx_cpu_gets_every_avx512_set_but_no_amx_unless_asked() -> None:
    got = flags(SAPPHIRE_RAPIDS)
    assert got["GGML_NATIVE"] == "OFF"
    for opt in ("GGML_AVX2", "GGML_AVX512", "GGML_AVX512_VBMI", "GGML_AVX512_VNNI", "GGML_AVX512_BF16", "GGML_AVX_VNNI"):
        assert got[opt] == "ON", opt
    assert [got[o] for o in llamabuild.AMX_OPTIONS] == ["OFF"] * 3
    assert [flags(SAPPHIRE_RAPIDS, amx=True)[o] for o in llamabuild.AMX_OPTIONS] == ["ON"] * 3


def test_an_avx2_cpu_gets_no_avx512_and_a_partial_avx512_set_counts_as_none() -> None:
    got = flags(HASWELL)
    assert got["GGML_AVX2"] == got["GGML_FMA"] == "ON"
    assert got["GGML_AVX512"] == got["GGML_AVX512_VNNI"] == got["GGML_AVX_VNNI"] == "OFF"
    # ggml's GGML_AVX512 compiles with F, CD, VL, DQ and BW: a CPU with only some of them gets none
    assert flags(HASWELL + " avx512f avx512cd")["GGML_AVX512"] == "OFF"
    # an unknown x86 CPU: every instruction set off (ggml turns SSE4.2 to BMI2 on unless told otherwise)
    assert set(flags("").values()) == {"OFF"}


def test_arm_apple_and_other_architectures() -> None:
    assert flags("fp asimd asimddp asimdhp fphp", "aarch64")["GGML_CPU_ARM_ARCH"] == "armv8.2-a+dotprod+fp16"
    assert flags("fp asimd", "aarch64")["GGML_CPU_ARM_ARCH"] == "armv8-a"
    assert flags("anything", "aarch64", "Darwin") == {}
    assert flags("", "riscv64") == {"GGML_NATIVE": "OFF"}


def test_the_users_cmake_args_come_last_and_so_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llamabuild, "machine", lambda: "x86_64")
    monkeypatch.setattr(llamabuild.platform, "system", lambda: "Linux")
    cpuinfo = f"processor : 0\nflags : {SAPPHIRE_RAPIDS}\n"
    args, source = llamabuild.chosen_args({"CMAKE_ARGS": "-DGGML_CUDA=ON -DGGML_AVX512=OFF"}, cpuinfo)
    parts = shlex.split(args)
    assert parts[-2:] == ["-DGGML_CUDA=ON", "-DGGML_AVX512=OFF"]
    assert "-DGGML_AVX512=ON" in parts  # CMake keeps the last value given: the user's OFF
    assert source == "portable + CMAKE_ARGS"
    plain, source = llamabuild.chosen_args({}, cpuinfo)
    assert source == "portable" and "CUDA" not in plain
    assert llamabuild.chosen_args({"EDGEBOT_LLAMA_AMX": "1"}, cpuinfo)[1] == "portable (AMX asked)"
    assert llamabuild.args_key(plain) != llamabuild.args_key(args)


def test_strip_cpu_flags_keeps_the_accelerator() -> None:
    kept = llamabuild.strip_cpu_flags("-DGGML_NATIVE=ON -DGGML_CUDA=ON -DGGML_AMX_INT8=ON -DCMAKE_CUDA_ARCHITECTURES=90")
    assert kept == "-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90"


def test_status_says_why_a_build_must_be_rebuilt(tmp_path: Path) -> None:
    pkg = tmp_path / "llama_cpp"
    (pkg / "lib").mkdir(parents=True)
    (pkg / "lib" / "libggml-cpu.so").write_bytes(b"native build")
    args = "-DGGML_NATIVE=OFF -DGGML_AVX2=ON"
    assert llamabuild.status(args, None, None) == "llama-cpp-python is not installed"
    assert "not made by edgebot" in str(llamabuild.status(args, pkg, None))
    record = llamabuild.write_record(args, "portable", pkg, "0.3.36", tmp_path / "record.json")
    assert llamabuild.read_record(tmp_path / "record.json") == record
    assert llamabuild.status(args, pkg, record, "0.3.36", "0.3.36") is None
    assert "pins 0.3.37" in str(llamabuild.status(args, pkg, record, "0.3.37", "0.3.36"))
    assert "other flags" in str(llamabuild.status(args + " -DGGML_AMX_INT8=ON", pkg, record))
    # pip reinstalled it (from its wheel cache, which does not key on CMAKE_ARGS): the libraries changed
    (pkg / "lib" / "libggml-cpu.so").write_bytes(b"a native build from the cache")
    assert "reinstalled" in str(llamabuild.status(args, pkg, record))


def test_the_script_runs_with_the_standard_library_alone(tmp_path: Path) -> None:
    """scripts/_bootstrap.sh runs it before edgebot is installed: no imports from edgebot or elsewhere."""
    script = ROOT / "src" / "edgebot" / "doctor" / "llamabuild.py"
    run = subprocess.run([sys.executable, "-S", "-I", str(script), "flags"], capture_output=True, text=True,
                         cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("-DGGML_NATIVE=OFF") or sys.platform == "darwin"
    assert subprocess.run([sys.executable, "-I", str(script), "bogus"], capture_output=True, check=False).returncode == 2


def test_the_installed_build_is_the_recorded_portable_one() -> None:
    """What scripts/test installed: recorded, with the flags chosen for this CPU and no AMX kernels."""
    record = llamabuild.read_record()
    assert record is not None, "scripts/_bootstrap.sh records the build in sys.prefix"
    pkg = llamabuild.package_dir()
    assert pkg is not None and record["fingerprint"] == llamabuild.fingerprint(pkg)
    assert "GGML_AMX_INT8=ON" not in record["cmake_args"] or record["source"] != "portable"
    described = llamabuild.describe()
    assert described["cmake_args"] == record["cmake_args"]
    json.dumps(described)


def test_the_users_choices_stay_with_the_build_until_given_again() -> None:
    """A CUDA build (or AMX, when asked) is not rebuilt for the CPU by the next plain scripts/quickstart."""
    record = {"user_args": "-DGGML_CUDA=ON", "amx": True}
    args, source = llamabuild.wanted_args({}, record)
    assert args.endswith("-DGGML_CUDA=ON") and source == "portable (AMX asked) + CMAKE_ARGS"
    assert llamabuild.user_choices({}, record) == {"user_args": "-DGGML_CUDA=ON", "amx": True}
    again, source = llamabuild.wanted_args({"CMAKE_ARGS": "", "EDGEBOT_LLAMA_AMX": "0"}, record)
    assert "CUDA" not in again and source == "portable"
    assert llamabuild.user_choices({"CMAKE_ARGS": "", "EDGEBOT_LLAMA_AMX": "0"}, record) == {"user_args": "", "amx": False}
    assert llamabuild.wanted_args({}, None) == llamabuild.chosen_args({})


def test_a_build_is_risky_when_its_last_word_is_native_or_amx() -> None:
    portable = " ".join(llamabuild.portable_flags(SAPPHIRE_RAPIDS.split(), "x86_64", "Linux"))
    assert not llamabuild.risky(portable)
    assert llamabuild.risky(portable + " -DGGML_NATIVE=ON")
    assert llamabuild.risky(" ".join(llamabuild.portable_flags(SAPPHIRE_RAPIDS.split(), "x86_64", "Linux", amx=True)))
    assert not llamabuild.risky("-DGGML_NATIVE=ON -DGGML_NATIVE:BOOL=OFF")
    assert llamabuild.effective("-DGGML_CUDA=on -DX") == {"GGML_CUDA": "ON"}
