#!/usr/bin/env bash
# Builds build/app, the tree an image runs: every package's sources compiled to JavaScript (tsc with
# tsconfig.app.json; no type stripping at run time, so a process starts faster and holds about 20 MiB
# less), each package's package.json with its exports pointing at the .js files, the Lua scripts, the
# migrations, the `sluice` bin, and the root package.json and lock file (for `npm ci --omit=dev`).
#   build-app.sh           the tree alone
#   build-app.sh --link    also build/app/node_modules, linking this checkout's installed packages, so
#                          build/app/services/cli/bin/sluice.js runs on this machine (benchmarks)
#   --out DIR              build into DIR instead of build/app
# shellcheck source=../local/lib/preamble.sh
. "$(dirname "${BASH_SOURCE[0]}")/../local/lib/preamble.sh"
cd "$REPO_DIR"
pinned_node
out=build/app
link=()
while [ $# -gt 0 ]; do
  case $1 in
    --link) link=(--link) ;;
    --out) out=${2:?--out needs a folder}; shift ;;
    *) echo "build-app.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
rm -rf "$out"
npx tsc -p tsconfig.app.json --outDir "$out"
node deploy/image/assemble-app.ts "$out" "${link[@]}"
