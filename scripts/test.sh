#!/usr/bin/env bash
# The whole test suite. Installs what it needs: npm packages, and (as root) Debian's PyTorch + onnx for the model
# zoo and the python cross-check. Without root it prints the install line and skips, loudly, only those parts.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PKGS="python3-torch python3-torchvision python3-onnx python3-numpy"
PY=/usr/bin/python3
ZOO_DIR="${MSGRAPH_ZOO:-models/.cache/zoo}"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing npm packages"
  npm ci --no-audit --no-fund
fi

have_py() { [ -x "$PY" ] && "$PY" -c 'import torch, torchvision, onnx, numpy' >/dev/null 2>&1; }
CHROMIUM="${MSGRAPH_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing Debian's chromium (browser tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
if [ ! -x "$CHROMIUM" ]; then
  cat >&2 <<MSG

********************************************************************************
* SKIPPING the browser tests (test/browser): no chromium at $CHROMIUM and this
* user cannot install it. Install it with:
*     sudo apt-get install -y chromium
********************************************************************************

MSG
fi

if ! have_py; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing Debian packages: $DEB_PKGS"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $DEB_PKGS >/dev/null
  fi
fi

if have_py; then
  stamp="$(cat models/zoo/*.py | sha256sum | cut -c1-16)"
  if [ "$(cat "$ZOO_DIR/.stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "== exporting the model zoo into $ZOO_DIR"
    rm -rf "$ZOO_DIR"
    "$PY" models/zoo/export.py "$ZOO_DIR"
    echo "$stamp" > "$ZOO_DIR/.stamp"
  fi
  export MSGRAPH_ZOO="$ZOO_DIR"
  NODE_TESTS="models/.cache/onnx-node-tests"
  if [ ! -f "$NODE_TESTS/.done" ]; then
    echo "== generating the ONNX backend node tests into $NODE_TESTS"
    bash scripts/gen-node-tests.sh "$NODE_TESTS"
  fi
else
  cat >&2 <<MSG

********************************************************************************
* SKIPPING the model zoo, the python onnx cross-check and the MindSpore
* stand-in runs: Debian's PyTorch is
* missing and this user cannot install it. Install it with:
*     sudo apt-get install -y $DEB_PKGS
* Tests on the committed models in models/ and on ../shared/corpus still run.
********************************************************************************

MSG
  export MSGRAPH_ZOO=/nonexistent
fi

echo "== type check"
npx tsc -p tsconfig.json --noEmit
# The page and msgraph/browser: DOM types and no Node types, so nothing Node-only reaches the browser build.
npx tsc -p tsconfig.web.json
echo "== tests"
mkdir -p test-output
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=test-output/vitest.json "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync("test-output/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit $status
