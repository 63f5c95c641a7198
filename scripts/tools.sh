#!/usr/bin/env bash
# Installs pinned Go-built client tools the tests use into .cache/bin:
# grpcurl (a gRPC client no one here wrote).
set -euo pipefail
cd "$(dirname "$0")/.."
GRPCURL_VERSION=${GRPCURL_VERSION:-v1.9.3}
bin="$PWD/.cache/bin"
mkdir -p "$bin"
if [ "$(cat "$bin/.grpcurl-version" 2>/dev/null)" != "$GRPCURL_VERSION" ] || [ ! -x "$bin/grpcurl" ]; then
  echo "tools: installing grpcurl $GRPCURL_VERSION"
  GOFLAGS= GOBIN="$bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
  echo "$GRPCURL_VERSION" >"$bin/.grpcurl-version"
fi
