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
