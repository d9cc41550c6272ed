#!/usr/bin/env bash
# Runs the C core's tests again against an AddressSanitizer + UBSan build of the same sources.
#
#   bash tests/sanitizer/run.sh <python>      (make test calls it with .venv/bin/python)
#
# The sources are compiled by cffi (core/cext/build_ffi.py:make_builder) into build/sanitizer/
# as the top-level module _freev2g_core_asan; FREEV2G_CORE_MODULE makes the facades load it
# instead of freev2g._core. Python itself is not instrumented, so gcc's libasan is preloaded;
# leak detection is off (the interpreter leaks by design). Any sanitizer report aborts the
# process, and any test failure or abort makes this script exit non-zero.
set -euo pipefail

PY="${1:-.venv/bin/python}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="$(command -v "$PY" || true)"
[ -n "$PY" ] || { echo "sanitizer: python '${1:-.venv/bin/python}' not found" >&2; exit 2; }

CC="${CC:-gcc}"
LIBASAN="$("$CC" -print-file-name=libasan.so)"
if [ ! -e "$LIBASAN" ]; then
  echo "sanitizer: $CC has no libasan.so (got '$LIBASAN'); install gcc's libasan" >&2
  exit 2
fi

mkdir -p "$ROOT/build"
OUT="$(mktemp -d "$ROOT/build/sanitizer.XXXXXX")"  # one folder per run: concurrent runs cannot clash
trap 'rm -rf "$OUT"' EXIT
MODULE=_freev2g_core_asan

"$PY" - "$OUT" "$MODULE" <<'PYEOF'
import importlib.util
import sys

out, module = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("fv2g_build_ffi", "core/cext/build_ffi.py")
build_ffi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_ffi)
# -fno-wrapv: Python's CFLAGS carry -fwrapv, which would silence the signed-overflow and shift checks.
flags = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all", "-fno-wrapv",
         "-O1", "-g"]
builder = build_ffi.make_builder(module, extra_compile_args=flags,
                                 extra_link_args=["-fsanitize=address,undefined"],
                                 absolute_paths=True)
path = builder.compile(tmpdir=out)
print(f"sanitizer: built {path}")
PYEOF

SOS=("$OUT"/"$MODULE"*.so); SO="${SOS[0]}"
# Read the whole listing first: `ldd | grep -q` under pipefail fails at random when grep exits
# before ldd has written its last line (SIGPIPE), which is what broke a CI run.
DEPS="$(ldd "$SO" 2>&1 || true)"
if ! grep -q libasan <<<"$DEPS"; then
  echo "sanitizer: $SO is not linked against libasan; ldd printed:" >&2
  echo "$DEPS" >&2
  exit 1
fi
# And the code really is instrumented (not only linked): it calls ASan's load checks.
if ! grep -a -q __asan_report_load "$SO"; then
  echo "sanitizer: $SO has no ASan instrumentation (no __asan_report_load* symbol)" >&2
  exit 1
fi

export LD_PRELOAD="$LIBASAN"
export PYTHONMALLOC=malloc  # Python buffers get redzones too (pymalloc arenas are invisible to ASan)
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export FREEV2G_CORE_MODULE="$MODULE"
export PYTHONPATH="$OUT${PYTHONPATH:+:$PYTHONPATH}"

# --capture=sys: a sanitizer report goes to the real stderr (fd capture would lose it on abort).
"$PY" -m pytest -q -p no:cacheprovider --capture=sys \
  tests/core/test_framing_props.py \
  tests/core/test_framing.py \
  tests/core/test_framing_resync_linear.py \
  tests/core/test_encapsulation.py \
  tests/core/test_timing.py \
  tests/exi/test_vectors.py \
  tests/exi/test_values.py \
  tests/exi/test_josev_logs.py \
  tests/exi/test_props.py
