#!/usr/bin/env bash
# System tools the tests compare against (reference implementations) or run.
# Installs only what is missing; needs root for apt-get.
set -euo pipefail
need=()
command -v dpkg >/dev/null || need+=(dpkg)
command -v git >/dev/null || need+=(git)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need[*]} (run as root or install them)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
