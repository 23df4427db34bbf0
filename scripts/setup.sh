#!/usr/bin/env bash
# Installs everything cfl's tests need on a fresh Debian machine (idempotent; safe to re-run).
# Called by scripts/test.sh and .ci/run. Needs root (or sudo) for apt-get.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

apt_packages=(openssl ca-certificates python3)
python3 -m pip --version >/dev/null 2>&1 || apt_packages+=(python3-pip)
missing=()
for p in "${apt_packages[@]}"; do
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
