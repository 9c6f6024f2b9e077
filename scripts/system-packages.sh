#!/usr/bin/env bash
# System packages the console needs beyond Python: gettext (compiles translations) and, for the
# browser tests, Debian's chromium. Installed with apt-get when missing and we may (root or sudo).
set -euo pipefail
want=()
command -v msgfmt >/dev/null 2>&1 || want+=(gettext)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || want+=(python3-venv)
# `ip netns`: the multi-host test (tests/test_multihost.py) runs its hosts in network namespaces.
command -v ip >/dev/null 2>&1 || want+=(iproute2)
if [[ "${WITH_BROWSER:-0}" == "1" ]] && ! command -v chromium >/dev/null 2>&1; then
  want+=(chromium)
fi
# CJK fonts so that headless screenshots of the Chinese pages show characters, not boxes.
if [[ "${WITH_BROWSER:-0}" == "1" ]] && ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then
  want+=(fonts-noto-cjk)
fi
[[ ${#want[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
  echo "Please install these Debian/Ubuntu packages first: ${want[*]}" >&2; exit 1
fi
echo "Installing system packages: ${want[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
