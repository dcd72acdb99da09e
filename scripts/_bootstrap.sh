# Sourced by scripts/quickstart and scripts/test: make .venv and install edgebot into it.
# Nothing here relies on anything installed by hand: Python >= 3.11 and a C/C++ compiler
# (llama-cpp-python compiles llama.cpp; about 12 minutes the first time, cached by pip after).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

ensure_compiler() {
  command -v c++ >/dev/null 2>&1 && command -v cc >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing a C/C++ compiler (build-essential) for llama-cpp-python"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential >/dev/null
  else
    die "llama-cpp-python needs a C/C++ compiler: install one (Debian/Ubuntu: sudo apt-get install build-essential)"
  fi
}

LLAMABUILD="$ROOT/src/edgebot/doctor/llamabuild.py"
llama_version() { sed -n 's/.*"llama-cpp-python==\([^"]*\)".*/\1/p' "$ROOT/pyproject.toml"; }

# fetch_llama_sdist VERSION: the llama-cpp-python sdist (llama.cpp's source inside) in .cache/llama-sdist; prints its path.
fetch_llama_sdist() {
  local version="$1" dir="$ROOT/.cache/llama-sdist"
  local file="$dir/llama_cpp_python-$version.tar.gz"
  if [ ! -f "$file" ]; then
    say "fetching the llama-cpp-python $version sdist"
    mkdir -p "$dir"
    "$VENV/bin/python" -m pip download --quiet --no-deps --no-binary :all: -d "$dir" "llama-cpp-python==$version" >&2
  fi
  [ -f "$file" ] || die "pip did not fetch llama-cpp-python $version's sdist into $dir"
  echo "$file"
}

# ensure_llama_build: llama-cpp-python built with flags chosen for this CPU (GGML_NATIVE=OFF, the instruction sets
# /proc/cpuinfo reports, no AMX unless EDGEBOT_LLAMA_AMX=1; a user's own CMAKE_ARGS win). pip's wheel cache does
# not key on CMAKE_ARGS, so the wheel is built here, without pip's cache, into .cache/llama-wheels/VERSION-KEY
# (KEY names the flags), and the installed build is recorded (src/edgebot/doctor/llamabuild.py): a build with
# other flags, or one installed by hand since, is rebuilt.
ensure_llama_build() {
  local version args key why wheels log
  version="$(llama_version)"
  [ -n "$version" ] || die "pyproject.toml does not pin llama-cpp-python==VERSION"
  args="$("$VENV/bin/python" "$LLAMABUILD" flags)"
  why="$("$VENV/bin/python" "$LLAMABUILD" status "$version")" && return 0
  key="$("$VENV/bin/python" "$LLAMABUILD" key)"
  wheels="$ROOT/.cache/llama-wheels/$version-$key"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    ensure_compiler
    local sdist
    sdist="$(fetch_llama_sdist "$version")"
    rm -rf "$wheels.tmp" && mkdir -p "$wheels.tmp"
    log="$ROOT/.cache/llama-wheels/build-$version-$key.log"
    say "building llama-cpp-python $version for this CPU ($why); about 8 minutes on 2 cores, log: $log"
    say "flags: $args"
    if ! CMAKE_ARGS="$args" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
         "$VENV/bin/python" -m pip wheel --no-deps --no-cache-dir -v -w "$wheels.tmp" "$sdist" >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      die "building llama-cpp-python failed (whole log: $log)"
    fi
    rm -rf "$wheels" && mv "$wheels.tmp" "$wheels"
  fi
  say "installing llama-cpp-python $version built for this CPU ($why): $args"
  "$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheels"/llama_cpp_python-*.whl
  "$VENV/bin/python" "$LLAMABUILD" record "$version"
}

# bootstrap EXTRAS: create .venv if needed and install edgebot[EXTRAS] when pyproject.toml changed.
bootstrap() {
  local extras="${1:-}" spec="." stamp
  [ -n "$extras" ] && spec=".[$extras]"
  if [ ! -x "$VENV/bin/python" ]; then
    local py
    py="$(find_python)" || die "Python >= 3.11 with the venv module is needed (set PYTHON=/path/to/python3.11)"
    say "creating $VENV with $py"
    "$py" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
  fi
  ensure_llama_build
  # The stamp holds a hash of pyproject.toml and the extras installed with it: reinstall when the
  # project's dependencies changed or an extra is asked for that is not there yet.
  stamp="$VENV/.edgebot-installed"
  local digest have=""
  digest="$(sha256sum pyproject.toml | cut -d' ' -f1)"
  [ -f "$stamp" ] && have="$(cat "$stamp")"
  if [ "${have%%:*}" != "$digest" ] || { [ -n "$extras" ] && [[ ",${have#*:}," != *",$extras,"* ]]; } ||
     ! "$VENV/bin/python" -c 'import edgebot, llama_cpp' 2>/dev/null; then
    ensure_compiler
    say "installing edgebot$([ -n "$extras" ] && echo "[$extras]") (the first time compiles llama.cpp: ~12 min on 2 cores)"
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
      "$VENV/bin/python" -m pip install --progress-bar off -e "$spec"
    local keep=""
    [ "${have%%:*}" = "$digest" ] && keep="${have#*:}"
    printf '%s:%s' "$digest" "$(printf '%s,%s' "$keep" "$extras" | tr ',' '\n' | sed '/^$/d' | sort -u | paste -sd,)" > "$stamp"
  fi
}

# ensure_chromium: the browser tests drive Debian's Chromium (no browser download at test time).
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing chromium (apt) for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    say "no chromium: the browser tests will be skipped (Debian/Ubuntu: sudo apt-get install chromium)"
  fi
}

# ensure_apt PACKAGE...: install the Debian packages that are missing (as root), or say how.
ensure_apt() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ "${#missing[@]}" = 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    die "missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})"
  fi
}

# isolate_config DIR: edgebot commands this shell runs from here on read none of the user's configuration
# (tests and tools must not: a quickstart writes dialogue.catalog = "demo" into it): the EDGEBOT_ variables
# are unset, but EDGEBOT_TEST_ ones and the build's EDGEBOT_LLAMA_ ones, and EDGEBOT_CONFIG names an empty
# config file in DIR (the same as edgebot.settings.isolated_environ does for the processes Python starts).
isolate_config() {
  local dir="$1" var
  for var in $(compgen -e); do
    case "$var" in EDGEBOT_TEST_* | EDGEBOT_LLAMA_*) ;; EDGEBOT_*) unset "$var" ;; esac
  done
  mkdir -p "$dir"
  [ -f "$dir/config.toml" ] || printf '# Written by scripts/: the user config is not read here.\n' >"$dir/config.toml"
  export EDGEBOT_CONFIG="$dir/config.toml"
}
