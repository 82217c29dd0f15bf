# Shared by the image scripts (sourced after deploy/local/lib/preamble.sh).
#   buildah_ ARGS     buildah with the storage that works without a kernel overlay or a daemon here:
#                     the vfs driver (set SLUICE_IMAGE_STORAGE_DRIVER to use another)
#   image_exists TAG  whether the local image store holds TAG
#   say MESSAGE       a progress line on stderr

# npm of the self-made base image, pinned (the official node image brings its own).
IMAGE_NPM_VERSION=11.21.2
# The tag deploy/k8s names; the image scripts build and run it.
IMAGE_TAG=${SLUICE_IMAGE_TAG:-localhost/sluice:0.1.0}

say() { printf '[image] %s\n' "$*" >&2; }

buildah_() { buildah --storage-driver "${SLUICE_IMAGE_STORAGE_DRIVER:-vfs}" "$@"; }

image_exists() { buildah_ inspect --type image "$1" >/dev/null 2>&1; }
