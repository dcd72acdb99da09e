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
  stamp="$VENV/.edgebot-installed"
  local want
  want="$(cat pyproject.toml; echo "$spec")"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! "$VENV/bin/python" -c 'import edgebot, llama_cpp' 2>/dev/null; then
    ensure_compiler
    say "installing edgebot$([ -n "$extras" ] && echo "[$extras]") (the first time compiles llama.cpp: ~12 min on 2 cores)"
    CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
      "$VENV/bin/python" -m pip install --progress-bar off -e "$spec"
    printf '%s' "$want" > "$stamp"
  fi
}
