#!/usr/bin/env bash
# System tools the image tests run for real: a Docker engine, Debian's registry,
# skopeo and umoci (image copies and layouts), debootstrap (the Debian test image),
# rpm/rpmbuild (a real rpmdb.sqlite). Installs only what is missing; root only.
set -euo pipefail
declare -A tool_package=(
  [dockerd]=docker.io
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [umoci]=umoci
  [debootstrap]=debootstrap
  [rpm]=rpm
  [rpmbuild]=rpm
)
need=()
for tool in "${!tool_package[@]}"; do
  command -v "$tool" >/dev/null || need+=("${tool_package[$tool]}")
done
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (run as root or install them)" >&2
  exit 1
fi
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
apt-get update -qq
# docker.io installs without systemd here (no service is started); the tests start dockerd.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
