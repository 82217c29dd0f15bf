#!/usr/bin/env bash
# Makes a base image for the Sluice image from Debian packages alone, for machines that reach no
# container registry: a minimal Debian (debootstrap --variant=minbase, with CA certificates) plus the
# pinned Node LTS taken from the npm registry (the same binary deploy/local/node.sh installs) and a
# pinned npm. It stands in for the official `node:<version>-bookworm-slim` image, which is the
# Dockerfile's default base: node and npm on PATH, nothing else assumed.
#   base.sh                  build it once (skipped when the tag exists), print the tag
#   base.sh --rebuild        build it again
#   --suite S --mirror URL   Debian suite and mirror (bookworm, http://deb.debian.org/debian)
# Needs root (debootstrap), buildah and debootstrap (bootstrap.sh installs both).
# shellcheck source=../local/lib/preamble.sh
. "$(dirname "${BASH_SOURCE[0]}")/../local/lib/preamble.sh"
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

suite=bookworm
mirror=http://deb.debian.org/debian
rebuild=false
while [ $# -gt 0 ]; do
  case $1 in
    --rebuild) rebuild=true ;;
    --suite) suite=${2:?--suite needs a name}; shift ;;
    --mirror) mirror=${2:?--mirror needs a URL}; shift ;;
    *) echo "base.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

node_version=$(tr -d '[:space:]' <"$REPO_DIR/.node-version")
tag=localhost/sluice-base:$suite-node$node_version-npm$IMAGE_NPM_VERSION
if ! $rebuild && image_exists "$tag"; then
  printf '%s\n' "$tag"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "base.sh: debootstrap needs root" >&2; exit 1; }
node_bin=$("$REPO_DIR/deploy/local/node.sh")/node
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

say "debootstrap $suite (minbase) from $mirror"
debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}
# What a runtime never reads: package indices and caches, documentation, manuals, other locales.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/log/* \
  "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'C.*' -exec rm -rf {} +

say "Node $node_version and npm $IMAGE_NPM_VERSION"
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
(cd "$work" && npm pack --silent "npm@$IMAGE_NPM_VERSION" >/dev/null)
tar -xzf "$work/npm-$IMAGE_NPM_VERSION.tgz" -C "$root/usr/local/lib/node_modules"
mv "$root/usr/local/lib/node_modules/package" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" /usr/local/bin/node --version >/dev/null

say "importing as $tag"
tar -C "$root" -cf "$work/root.tar" .
ctr=$(buildah_ from scratch)
buildah_ add --quiet "$ctr" "$work/root.tar" / >/dev/null
buildah_ config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --label "org.opencontainers.image.description=Debian $suite (minbase) with Node $node_version and npm $IMAGE_NPM_VERSION" \
  --env NPM_CONFIG_UPDATE_NOTIFIER=false --cmd node "$ctr"
buildah_ commit --quiet --rm "$ctr" "$tag" >/dev/null
printf '%s\n' "$tag"
