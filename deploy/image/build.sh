#!/usr/bin/env bash
# Builds the Sluice image with buildah from deploy/image/Dockerfile, on a base made here from Debian
# packages (base.sh) unless one is named; no container registry is needed.
#   build.sh                 base.sh's base, tag localhost/sluice:0.1.0 (SLUICE_IMAGE_TAG)
#   build.sh --base IMAGE    any base with the pinned Node and npm (e.g. the official node image)
#   build.sh --tag TAG
# Prints the tag, then the image's size.
# shellcheck source=../local/lib/preamble.sh
. "$(dirname "${BASH_SOURCE[0]}")/../local/lib/preamble.sh"
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"

base=
tag=$IMAGE_TAG
while [ $# -gt 0 ]; do
  case $1 in
    --base) base=${2:?--base needs an image}; shift ;;
    --tag) tag=${2:?--tag needs a name}; shift ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$base" ] || base=$(bash deploy/image/base.sh)

# The CA bundle npm trusts here (a TLS-inspecting proxy's), handed to the build as a secret.
secret=()
ca=${SLUICE_IMAGE_CA_FILE:-$(npm config get cafile 2>/dev/null || true)}
[ -n "$ca" ] && [ "$ca" != null ] && [ -f "$ca" ] || ca=${NODE_EXTRA_CA_CERTS:-}
[ -n "$ca" ] && [ -f "$ca" ] && secret=(--secret "id=ca,src=$ca")

version=$(node -p 'require("./package.json").version' 2>/dev/null || echo 0.1.0)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
previous=$(buildah_ images --noheading --format '{{.ID}}' "$tag" 2>/dev/null || true)
say "building $tag on $base"
# chroot isolation: this sandbox (and many CI runners) cannot make the namespaces runc/crun need.
buildah_ bud --quiet --isolation chroot --layers=false \
  "${secret[@]}" --build-arg "BASE=$base" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  -f deploy/image/Dockerfile -t "$tag" . >/dev/null
# The image this tag named before, now untagged, would keep its full copy in the store.
if [ -n "$previous" ] && [ "$previous" != "$(buildah_ images --noheading --format '{{.ID}}' "$tag")" ]; then
  buildah_ rmi "$previous" >/dev/null 2>&1 || true
fi
printf '%s\n' "$tag"
buildah_ images --format '{{.Size}}' "$tag"
