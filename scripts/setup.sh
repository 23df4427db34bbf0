#!/usr/bin/env bash
# Installs everything cfl's tests need on a fresh Debian machine (idempotent; safe to re-run).
# Called by scripts/test.sh and .ci/run. Needs root (or sudo) for apt-get.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_packages=(openssl ca-certificates python3 chromium fonts-dejavu-core nodejs npm)
python3 -m pip --version >/dev/null 2>&1 || apt_packages+=(python3-pip)
missing=()
# Node and npm usually come with the machine (not from Debian): only ask apt when they are missing.
command -v node >/dev/null 2>&1 && apt_packages=("${apt_packages[@]/nodejs}")
command -v npm >/dev/null 2>&1 && apt_packages=("${apt_packages[@]/npm}")
for p in "${apt_packages[@]}"; do
  [ -n "$p" ] || continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Independent OAuth 1.0a implementation the tests cross-check our signer against.
if ! python3 -c "import oauthlib, cryptography, jwt" >/dev/null 2>&1; then
  echo "setup: installing Python oauthlib (RSA-SHA1 cross-check)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore oauthlib cryptography pyjwt \
    || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --break-system-packages oauthlib cryptography pyjwt
fi

# playwright-core for the admin page's end-to-end tests (Chromium itself is Debian's).
if [ ! -d e2e/node_modules/playwright-core ]; then
  echo "setup: installing the e2e test dependencies (npm ci)"
  (cd e2e && npm ci --silent --no-audit --no-fund)
fi

# Real Confluence clients the simulator is verified against (tests-clients/), pinned.
if ! python3 -c "import atlassian, pytest, confluence_markdown_exporter; from importlib.metadata import version as v; assert v('atlassian-python-api') == '4.0.7'" >/dev/null 2>&1; then
  echo "setup: installing the Python client suite's dependencies (tests-clients/requirements.txt)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r tests-clients/requirements.txt \
    || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --break-system-packages -r tests-clients/requirements.txt
fi

# The official MCP Python SDK, the client of `cfl mcp`'s tests (tests-clients/mcp), pinned.
if ! python3 -c "from importlib.metadata import version as v; assert v('mcp') == '2.3.0'" >/dev/null 2>&1; then
  echo "setup: installing the MCP client suite's dependencies (tests-clients/mcp/requirements.txt)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r tests-clients/mcp/requirements.txt \
    || python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --break-system-packages -r tests-clients/mcp/requirements.txt
fi

# confluence.js for the Node client suite (tests-clients/node), pinned by its lock file.
if [ ! -d tests-clients/node/node_modules/confluence.js ]; then
  echo "setup: installing the Node client suite's dependencies (npm ci)"
  (cd tests-clients/node && npm ci --silent --no-audit --no-fund)
fi
