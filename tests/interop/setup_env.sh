#!/usr/bin/env bash
# Interop test environment (issue #18): Josev (EcoG-io iso15118) in its own virtualenv, with
# Debian's Java runtime for Josev's EXI codec, and pyslac in another virtualenv.
# Java and Josev are test peers only, never dependencies of freev2g.
#
# Idempotent: a stamp file per virtualenv records what was installed; when it matches and the
# packages still import, nothing is done (well under a second). Any step that cannot be done
# ends the script with one line "interop-env: cannot ...: <reason>" and exit status 1.
#
# Usage: bash tests/interop/setup_env.sh            (from anywhere; paths are repo-relative)
# Env:   PYTHON (default python3), JOSEV_VENV (default .venv-josev), PYSLAC_VENV (.venv-pyslac)
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
JOSEV_VENV="${JOSEV_VENV:-$ROOT/.venv-josev}"
PYSLAC_VENV="${PYSLAC_VENV:-$ROOT/.venv-pyslac}"
LOG_DIR="$ROOT/reports/interop-env"
# Pins: iso15118 0.31.1 installs and imports on Python 3.11 with the versions pip resolves
# today; aiofile is needed by Josev's EVCC (config loading) but not declared by the package.
JOSEV_REQS="iso15118==0.31.1 aiofile"
# pyslac pulls environs, which imports marshmallow; marshmallow 4 breaks that environs.
PYSLAC_REQS="pyslac marshmallow<4"
T0=$SECONDS

fail() { echo "interop-env: cannot $1: $2" >&2; exit 1; }
# The last error line of a log (pip prints warnings after its error), else its last line.
last_error() { local e; e="$(grep -E 'ERROR|[Ee]rror:' "$1" | tail -n 1)"; echo "${e:-$(tail -n 1 "$1")} (full log: $1)"; }

mkdir -p "$LOG_DIR" || fail "create $LOG_DIR" "mkdir failed"

# 1) Java for Josev's EXIficient codec (EXICodec.jar).
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    fail "install openjdk-17-jre-headless" "java is missing and this is not root (apt-get needs root)"
  fi
  command -v apt-get >/dev/null 2>&1 || fail "install openjdk-17-jre-headless" "java is missing and apt-get is not available (not Debian?)"
  echo "interop-env: installing openjdk-17-jre-headless (apt-get)"
  # Slim Debian images lack man dirs that the JRE's postinst (update-alternatives) writes into.
  mkdir -p /usr/share/man/man1
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; } >"$LOG_DIR/apt.log" 2>&1; then
    fail "install openjdk-17-jre-headless" "apt-get failed: $(last_error "$LOG_DIR/apt.log")"
  fi
  command -v java >/dev/null 2>&1 || fail "find java" "openjdk-17-jre-headless installed but java is not on PATH"
fi

# make_venv DIR "REQS" "IMPORT-CHECK"
make_venv() {
  local dir="$1" reqs="$2" check="$3" name stamp
  name="$(basename "$dir")"
  stamp="$dir/.freev2g-interop-stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$reqs" ] && "$dir/bin/python" -c "$check" >/dev/null 2>&1; then
    return 0
  fi
  echo "interop-env: building $name ($reqs)"
  if [ ! -x "$dir/bin/python" ]; then
    "$PYTHON" -m venv "$dir" >"$LOG_DIR/$name-venv.log" 2>&1 \
      || fail "create $name" "'$PYTHON -m venv' failed: $(tail -n 1 "$LOG_DIR/$name-venv.log")"
  fi
  # shellcheck disable=SC2086  # reqs is a list of requirement specifiers
  if ! "$dir/bin/python" -m pip install -q --disable-pip-version-check $reqs >"$LOG_DIR/$name-pip.log" 2>&1; then
    fail "install $reqs into $name" "pip failed: $(last_error "$LOG_DIR/$name-pip.log")"
  fi
  if ! "$dir/bin/python" -c "$check" >"$LOG_DIR/$name-check.log" 2>&1; then
    fail "import the packages in $name" "$(tail -n 1 "$LOG_DIR/$name-check.log")"
  fi
  printf '%s' "$reqs" >"$stamp"
}

# 2) Josev: SECC, EVCC and the codec gateway must import (the EVCC needs aiofile).
make_venv "$JOSEV_VENV" "$JOSEV_REQS" \
  "import iso15118.secc.main, iso15118.evcc.main, iso15118.shared.exificient_exi_codec, aiofile, py4j"
[ -f "$JOSEV_VENV/lib/python"*/site-packages/iso15118/shared/EXICodec.jar ] \
  || fail "find Josev's EXICodec.jar" "not in $JOSEV_VENV (iso15118 package layout changed?)"

# 3) pyslac for the HomePlug work (later issue); only checked to import.
make_venv "$PYSLAC_VENV" "$PYSLAC_REQS" "import pyslac, pyslac.session, pyslac.environment"

echo "interop-env: ready (java, $(basename "$JOSEV_VENV"), $(basename "$PYSLAC_VENV")) in $((SECONDS - T0)) s"
