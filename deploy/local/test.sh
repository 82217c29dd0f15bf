#!/usr/bin/env bash
# `npm test`: everything, from any state of the machine.
#   1. bootstrap (packages, pinned Node, npm install) — quick when done
#   2. static checks: lint + format (Biome), types (tsc --build), circular imports (madge)
#   3. the real local stack up (both Elasticsearch majors), its settings exported
#   4. one `node --test` run over unit, smoke, integration, end-to-end and chaos (short) tests
# Extra arguments are passed to node --test (e.g. --test-name-pattern=...).
# shellcheck source=lib/preamble.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/preamble.sh"
cd "$REPO_DIR"

prepared_machine

echo '[test] static checks: lint, types, circular imports' >&2
npx biome check .
npx tsc --build
npx madge --circular --extensions ts --ts-config tsconfig.base.json shared services test >/dev/null ||
  npx madge --circular --extensions ts --ts-config tsconfig.base.json shared services test

echo '[test] local stack' >&2
SLUICE_STACK_ES_COMPAT=1 bash deploy/local/stack.sh up
eval "$(bash deploy/local/stack.sh env)"

shopt -s nullglob globstar
files=(
  shared/*/src/**/*.test.ts
  services/*/src/**/*.test.ts
  test/static/**/*.test.ts
  test/smoke/**/*.test.ts
  test/integration/**/*.test.ts
  test/e2e/**/*.test.ts
  test/stress/**/*.test.ts
)
echo "[test] node --test over ${#files[@]} files" >&2
# One file at a time: the end-to-end tests run several services each on a 2-core machine, and the
# chaos test (test/stress, last in path order) restarts the stack's servers. --test-force-exit: a
# file whose tests are done ends even if a failed test left a handle open (else the run stalls).
exec node --test --test-force-exit --test-reporter=spec --test-concurrency="${SLUICE_TEST_CONCURRENCY:-1}" "$@" "${files[@]}"
