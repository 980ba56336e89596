#!/usr/bin/env bash
# Installs the Debian packages dbshift's tests and demo need, when they are
# missing. As root it installs them; otherwise it names exactly what is missing.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "dbshift: missing Debian packages: ${missing[*]}" >&2
  echo "dbshift: install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "dbshift: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages start system services on some images; the sandbox runs its own
# instances on other ports, so the system ones are left alone.
