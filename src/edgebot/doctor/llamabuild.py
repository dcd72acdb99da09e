"""Which llama.cpp build this machine should run, and whether the installed one is it.

Standard library only: scripts/_bootstrap.sh and scripts/build-llama-tools run this file with the venv's
Python before edgebot is installed (`python src/edgebot/doctor/llamabuild.py flags|status|record`).

pip's default llama-cpp-python build is native (`-march=native`): on CPUs with AMX it compiles ggml's AMX
kernels, which fault on kernels that hand out AMX tile state per thread (llama.cpp PR #26954), and a build
made on one CPU may use instructions another lacks. So edgebot builds with `GGML_NATIVE=OFF` and turns on
exactly the instruction sets this CPU reports, never AMX unless `EDGEBOT_LLAMA_AMX=1`. A user's own
`CMAKE_ARGS` come after the chosen flags, so they win wherever they set the same option.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shlex
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

# ggml's x86 CMake options and the /proc/cpuinfo flags each needs (all of them).
X86_OPTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GGML_SSE42", ("sse4_2",)),
    ("GGML_AVX", ("avx",)),
    ("GGML_AVX2", ("avx2",)),
    ("GGML_FMA", ("fma",)),
    ("GGML_F16C", ("f16c",)),
    ("GGML_BMI2", ("bmi2",)),
    ("GGML_AVX_VNNI", ("avx_vnni",)),
    # ggml's GGML_AVX512 compiles with -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw
    ("GGML_AVX512", ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw")),
    ("GGML_AVX512_VBMI", ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw", "avx512vbmi")),
    ("GGML_AVX512_VNNI", ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw", "avx512_vnni")),
    ("GGML_AVX512_BF16", ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw", "avx512_bf16")),
)
AMX_OPTIONS = ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")
# What edgebot never needs from llama-cpp-python's build: the multimodal (llava/mtmd) library.
COMMON_ARGS = ("-DLLAVA_BUILD=OFF",)
RECORD_NAME = "edgebot-llama-build.json"


def cpu_features(cpuinfo: str | None = None) -> set[str]:
    """The CPU's feature flags: x86 `flags` or ARM `Features` from /proc/cpuinfo (Linux); macOS via sysctl."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            cpuinfo = ""
    for line in cpuinfo.split("\n"):
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    if sys.platform == "darwin":
        import subprocess

        out = subprocess.run(["sysctl", "-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
                             capture_output=True, text=True, check=False).stdout
        return {f.lower().replace(".", "_") for f in out.split()}
    return set()


def machine() -> str:
    """x86_64, aarch64 or another name, the same on every OS."""
    m = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m, m)


def amx_asked(env: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if env is None else env).get("EDGEBOT_LLAMA_AMX", "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def portable_flags(features: Iterable[str], arch: str, system: str, amx: bool = False) -> list[str]:
    """llama.cpp's CMake flags for a build that uses what this CPU reports and nothing more."""
    have = set(features)
    if system == "Darwin":
        return []  # Apple's toolchain: Metal on, -mcpu for Apple silicon; nothing to fix there
    if arch == "x86_64":
        flags = ["-DGGML_NATIVE=OFF"]
        flags += [f"-D{opt}={'ON' if set(needs) <= have else 'OFF'}" for opt, needs in X86_OPTIONS]
        flags += [f"-D{opt}={'ON' if amx else 'OFF'}" for opt in AMX_OPTIONS]
        return flags
    if arch == "aarch64":
        march = "armv8-a"
        if "asimddp" in have:
            march = "armv8.2-a+dotprod"
            if "asimdhp" in have and "fphp" in have:
                march += "+fp16"
        return ["-DGGML_NATIVE=OFF", f"-DGGML_CPU_ARM_ARCH={march}"]
    return ["-DGGML_NATIVE=OFF"]  # unsure: the compiler's baseline for this architecture


CPU_OPTIONS = ("GGML_NATIVE", "GGML_CPU_ARM_ARCH", *AMX_OPTIONS, *(opt for opt, _ in X86_OPTIONS))


def effective(args: str) -> dict[str, str]:
    """The value each -D option ends up with (CMake keeps the last one given), names upper-case."""
    out = {}
    for arg in shlex.split(args):
        if arg.startswith("-D") and "=" in arg:
            key, _, value = arg[2:].partition("=")
            out[key.partition(":")[0]] = value.upper()
    return out


def risky(args: str) -> bool:
    """Whether a build with ARGS compiles AMX kernels or for the build machine's CPU (-march=native)."""
    values = effective(args)
    return any(values.get(opt) in ("ON", "1", "TRUE") for opt in ("GGML_NATIVE", *AMX_OPTIONS))


def strip_cpu_flags(args: str) -> str:
    """ARGS without the flags that pick CPU instruction sets and edgebot's own (keeps e.g. -DGGML_CUDA=ON)."""
    kept = [a for a in shlex.split(args) if a not in COMMON_ARGS
            and not any(a.startswith((f"-D{opt}=", f"-D{opt}:")) for opt in CPU_OPTIONS)]
    return " ".join(shlex.quote(a) for a in kept)


# What a plainer build keeps when even the portable one faults (a VM that hides instructions it reports).
AVX2_BASELINE = frozenset({"sse4_2", "avx", "avx2", "fma", "f16c", "bmi2"})


def chosen_args(env: Mapping[str, str] | None = None, cpuinfo: str | None = None,
                features: Iterable[str] | None = None) -> tuple[str, str]:
    """(CMAKE_ARGS, where they came from): the portable flags for this CPU, then the user's own CMAKE_ARGS,
    which win where they set the same option (CMake keeps the last -D) and add what they like (-DGGML_CUDA=ON)."""
    env = os.environ if env is None else env
    have = cpu_features(cpuinfo) if features is None else set(features)
    flags = portable_flags(have, machine(), platform.system(), amx=amx_asked(env))
    user = env.get("CMAKE_ARGS", "").strip()
    source = "portable" + (" (AMX asked)" if amx_asked(env) else "") + (" + CMAKE_ARGS" if user else "")
    return " ".join([*flags, *COMMON_ARGS, *([user] if user else [])]), source


def wanted_args(env: Mapping[str, str] | None = None, record: dict | None = None) -> tuple[str, str]:
    """chosen_args, with the choices made for the installed build kept where they are not given now: the
    user's CMAKE_ARGS (a CUDA build stays a CUDA build on the next scripts/quickstart) and EDGEBOT_LLAMA_AMX.
    Set either, even empty (`CMAKE_ARGS= scripts/test`), to choose again."""
    env = dict(os.environ if env is None else env)
    if record:
        if "CMAKE_ARGS" not in env and record.get("user_args"):
            env["CMAKE_ARGS"] = str(record["user_args"])
        if "EDGEBOT_LLAMA_AMX" not in env and record.get("amx"):
            env["EDGEBOT_LLAMA_AMX"] = "1"
    return chosen_args(env)


def user_choices(env: Mapping[str, str] | None = None, record: dict | None = None) -> dict[str, object]:
    """What wanted_args took from the user: their CMAKE_ARGS and whether AMX was asked (for the record)."""
    env = os.environ if env is None else env
    user = env["CMAKE_ARGS"].strip() if "CMAKE_ARGS" in env else str((record or {}).get("user_args", ""))
    amx = amx_asked(env) if "EDGEBOT_LLAMA_AMX" in env else bool((record or {}).get("amx"))
    return {"user_args": user, "amx": amx}


def args_key(args: str) -> str:
    """A short, stable name for a set of CMake flags (wheel cache folders, build folders)."""
    return hashlib.sha256(" ".join(sorted(shlex.split(args))).encode()).hexdigest()[:12]


def package_dir(site_packages: Path | None = None) -> Path | None:
    """llama_cpp's installed folder, found without importing it (a broken build may die on import)."""
    import importlib.util

    if site_packages is not None:
        path = site_packages / "llama_cpp"
        return path if path.is_dir() else None
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def fingerprint(pkg: Path) -> str | None:
    """sha256 over llama_cpp's native libraries: it changes with every rebuild."""
    libs = sorted(p for p in (pkg / "lib").glob("*") if p.is_file()) if (pkg / "lib").is_dir() else []
    if not libs:
        return None
    digest = hashlib.sha256()
    for lib in libs:
        digest.update(lib.name.encode())
        with lib.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def record_path() -> Path:
    """The record lives beside the venv's site-packages, in sys.prefix: one per environment."""
    return Path(sys.prefix) / RECORD_NAME


def read_record(path: Path | None = None) -> dict | None:
    try:
        data = json.loads((path or record_path()).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def installed_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return None


def status(args: str, pkg: Path | None, record: dict | None, version: str | None = None,
           installed: str | None = None) -> str | None:
    """None when the installed build is the recorded one made with ARGS (of VERSION), else why to rebuild."""
    if pkg is None:
        return "llama-cpp-python is not installed"
    if version and installed and installed != version:
        return f"llama-cpp-python {installed} is installed, the project pins {version}"
    current = fingerprint(pkg)
    if current is None:
        return f"{pkg} holds no native libraries"
    if record is None:
        return "the installed llama.cpp build was not made by edgebot's scripts (its flags are unknown)"
    if record.get("fingerprint") != current:
        return "llama-cpp-python was reinstalled since edgebot recorded its build (pip's cache may hold a native build)"
    if record.get("cmake_args") != args:
        return f"the installed build has other flags ({record.get('cmake_args')!r}, wanted {args!r})"
    return None


def write_record(args: str, source: str, pkg: Path, version: str, path: Path | None = None,
                 choices: Mapping[str, object] | None = None) -> dict:
    record = {"cmake_args": args, "source": source, "version": version, "fingerprint": fingerprint(pkg),
              "machine": machine(), "system": platform.system(), **(choices or {})}
    target = path or record_path()
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(target)
    return record


def describe() -> dict[str, object]:
    """The installed build for reports (the bench JSON): version, recorded flags, and when this process has
    loaded llama.cpp already, what the library itself says it was compiled with."""
    pkg = package_dir()
    record = read_record()
    recorded = bool(record and pkg and record.get("fingerprint") == fingerprint(pkg))
    out: dict[str, object] = {"version": installed_version(),
                              "cmake_args": record.get("cmake_args") if recorded and record else None,
                              "source": record.get("source") if recorded and record else "unknown (not built by edgebot's scripts)"}
    lib = sys.modules.get("llama_cpp.llama_cpp")
    if lib is not None:
        out["system_info"] = lib.llama_print_system_info().decode(errors="replace").strip()
        out["gpu_offload"] = bool(lib.llama_supports_gpu_offload())
    return out


def main(argv: list[str]) -> int:
    usage = ("usage: llamabuild.py flags | key | status [VERSION] | record VERSION\n"
             "  flags   print the CMAKE_ARGS this machine's build uses: the portable flags, then CMAKE_ARGS\n"
             "          (CMAKE_ARGS and EDGEBOT_LLAMA_AMX given for the installed build stay until set again)\n"
             "  key     a short name for those flags\n"
             "  status  exit 0 when the installed llama-cpp-python is the recorded build with those flags\n"
             "  record  remember the installed build as made with those flags")
    if not argv or argv[0] in ("-h", "--help"):
        print(usage)
        return 0 if argv else 2
    previous = read_record()
    args, source = wanted_args(os.environ, previous)
    cmd = argv[0]
    if cmd == "flags":
        print(args)
        return 0
    if cmd == "key":
        print(args_key(args))
        return 0
    if cmd == "status":
        why = status(args, package_dir(), previous, argv[1] if len(argv) > 1 else None, installed_version())
        if why:
            print(why)
            return 1
        return 0
    if cmd == "record" and len(argv) == 2:
        pkg = package_dir()
        if pkg is None:
            print("llama-cpp-python is not installed", file=sys.stderr)
            return 1
        write_record(args, source, pkg, argv[1], choices=user_choices(os.environ, previous))
        return 0
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
