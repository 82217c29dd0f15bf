#!/usr/bin/env bash
# Prepares a fresh Debian machine for Sluice (idempotent, quick when done):
#   Debian packages (MariaDB, Redis, a JDK, Maven, curl, unzip, prometheus for promtool, buildah and
#   debootstrap for the container image, chromium for the status page's browser test), the pinned
#   Node LTS from the npm registry, and the npm workspaces' packages. The servers themselves are started by stack.sh.
# shellcheck source=lib/preamble.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"
say() { printf '[bootstrap] %s\n' "$*" >&2; }

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

missing=()
have mariadbd || missing+=(mariadb-server)
have mariadb || missing+=(mariadb-client)
have redis-server || missing+=(redis-server)
have redis-cli || missing+=(redis-tools)
have java || missing+=(openjdk-17-jdk-headless)
have mvn || missing+=(maven)
have curl || missing+=(curl)
have unzip || missing+=(unzip)
have setpriv || missing+=(util-linux)
have npm || missing+=(npm)
have promtool || missing+=(prometheus) # promtool tests the alert rules (its server is not started)
have buildah || missing+=(buildah)        # builds and runs the container image (deploy/image)
have debootstrap || missing+=(debootstrap) # the image's base, from Debian packages
have chromium || missing+=(chromium)      # the status page's browser test (headless)

if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

pinned_node

# npm packages: `npm ci` (exactly the lock file; it lists every platform's optional binaries, so a
# clean install leaves the checkout unmodified) when node_modules is missing or older than the lock.
stamp=$REPO_DIR/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ "$REPO_DIR/package-lock.json" -nt "$stamp" ]; then
  say "installing npm packages"
  (cd "$REPO_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
say "ready: node $(node -v), npm $(npm -v), java $(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
