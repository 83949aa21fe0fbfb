#!/usr/bin/env bash
# Installs the Debian packages the platform and its tests need, only when they are missing:
# rabbitmq-server (the broker), postgresql (the PostgreSQL adapter's tests), python3-venv, and
# for the pages' browser tests chromium with fonts-wqy-microhei (without a CJK font, Chinese
# renders as boxes in screenshots).
# Usage: scripts/system-deps.sh [rabbitmq] [postgresql] [browser] [python]   (no argument: all;
# python3-venv is checked whatever is asked, so `python` alone asks for nothing else)
set -euo pipefail

wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(rabbitmq postgresql browser)

missing=()
for item in "${wanted[@]}"; do
  case "$item" in
    rabbitmq) [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server) ;;
    postgresql) compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql) ;;
    browser)
      command -v chromium >/dev/null || missing+=(chromium)
      [ -d /usr/share/fonts/truetype/wqy ] || missing+=(fonts-wqy-microhei) ;;
    python) ;;
    *) echo "unknown component: $item" >&2; exit 2 ;;
  esac
done
PY=${PYTHON:-python3}
if ! "$PY" -c 'import venv, ensurepip' 2>/dev/null; then missing+=(python3-venv); fi
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "installing with apt-get: ${missing[*]}"
# The packages' own services are not wanted: tests and `make run` start private instances.
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for svc in rabbitmq-server postgresql; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
