#!/usr/bin/env bash
# `make test`: installs what the tests need, starts the real engines (Kafka,
# Elasticsearch, PostgreSQL, ...), runs vet, the generated-code check and every
# test with -race against them, then stops the engines.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.cache/bin:$PATH"
bash scripts/tools.sh

echo "== generated code is current"
bash scripts/generate.sh >/dev/null 2>&1 || { echo "make generate failed"; bash scripts/generate.sh; exit 1; }
if ! git diff --quiet -- api/gen api/openapi || [ -n "$(git ls-files --others --exclude-standard -- api/gen api/openapi)" ]; then
  echo "generated code is stale: run 'make generate' and commit the result"
  git status --short -- api/gen api/openapi
  exit 1
fi

echo "== go vet"
go vet ./...

echo "== every package says what it is for"
undocumented=$(go list -f '{{if not .Doc}}{{.ImportPath}}{{end}}' ./... | grep -v '/api/gen/' || true)
if [ -n "$undocumented" ]; then
  echo "packages without a package doc comment:"; echo "$undocumented"; exit 1
fi

echo "== starting engines"
trap 'bash scripts/engines.sh stop >/dev/null 2>&1 || true' EXIT
bash scripts/engines.sh start
shopt -s nullglob
for f in .cache/*.env; do
  # shellcheck disable=SC1090
  source "$f"
  echo "   $(basename "$f" .env): $(grep -o 'export [A-Z_]*' "$f" | cut -d' ' -f2 | tr '\n' ' ')"
done

echo "== go test -race"
# -p 2: two packages at a time on two cores; engines are shared, tests use unique names.
set +e
go test -race -p 2 -count=1 -timeout 25m ${GO_TEST_FLAGS:-} ./... 2>&1 | tee .cache/test.log
status=${PIPESTATUS[0]}
set -e
passed=$(grep -c '^ok ' .cache/test.log || true)
failed=$(grep -c '^FAIL' .cache/test.log || true)
echo "packages: $passed passed, $failed failed"
exit "$status"
