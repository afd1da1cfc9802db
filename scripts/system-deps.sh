#!/usr/bin/env bash
# System tools the tests need: reference implementations the version orderings
# are checked against (dpkg, rpm, ruby, go, php composer/semver, node semver,
# maven's ComparableVersion), Chromium for the HTML report, Microsoft's SARIF
# multitool. Installs only what is missing (apt-get needs root).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have git || need+=(git)
have dpkg || need+=(dpkg)
have rpm || need+=(rpm)
have ruby || need+=(ruby)
have go || need+=(golang-go)
[ -d /usr/share/gocode/src/golang.org/x/mod ] || need+=(golang-golang-x-mod-dev)
have php || need+=(php-cli)
[ -d /usr/share/php/Composer/Semver ] || need+=(php-composer-semver)
have npm || need+=(npm)
have chromium || need+=(chromium)
have mvn || need+=(maven)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# the image tests' real components: dockerd, a registry, skopeo, umoci, debootstrap
scripts/image-test-deps.sh

# npm packages, into caches the tests know (idempotent)
node_cache="$HOME/.cache/pipeline-guard-tests"
[ -d "$node_cache/node_modules/semver" ] ||
  npm install --silent --no-audit --no-fund --prefix "$node_cache" semver@7 >/dev/null
multitool=.pipeline-guard-cache/sarif-multitool
bin="$multitool/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
if [ ! -x "$bin" ] && [ "$(uname -m)" = x86_64 ]; then
  npm install --silent --no-audit --no-fund --prefix "$multitool" @microsoft/sarif-multitool@5.7.0 >/dev/null
  chmod 755 "$bin"
fi
