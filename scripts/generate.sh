#!/usr/bin/env bash
# Regenerates the committed protobuf code under api/gen and the OpenAPI document
# under api/openapi, byte for byte, with pinned generator versions and Debian's protoc.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
PROTOC_GEN_GO_VERSION=${PROTOC_GEN_GO_VERSION:-v1.36.12}
PROTOC_GEN_GO_GRPC_VERSION=${PROTOC_GEN_GO_GRPC_VERSION:-v1.6.0}
GRPC_GATEWAY_VERSION=${GRPC_GATEWAY_VERSION:-v2.33.0}
bin="$PWD/.cache/bin/protoc-plugins"
mkdir -p "$bin"
stamp="$bin/.versions"
want="$PROTOC_GEN_GO_VERSION $PROTOC_GEN_GO_GRPC_VERSION $GRPC_GATEWAY_VERSION"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
  GOBIN="$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
  GOBIN="$bin" go install "github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$GRPC_GATEWAY_VERSION" \
    "github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$GRPC_GATEWAY_VERSION"
  echo "$want" >"$stamp"
fi
export PATH="$bin:$PATH"
protos=$(cd api/proto && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
rm -rf api/gen && mkdir -p api/gen
find api/openapi -name '*.json' -delete 2>/dev/null || true
mkdir -p api/openapi
inc=(-I api/proto -I third_party/googleapis -I third_party/grpc-gateway -I /usr/include)
(
  set -x
  protoc "${inc[@]}" \
    --go_out=api/gen --go_opt=module=github.com/beaconlive/beacon/api/gen \
    --go-grpc_out=api/gen --go-grpc_opt=module=github.com/beaconlive/beacon/api/gen \
    --grpc-gateway_out=api/gen --grpc-gateway_opt=module=github.com/beaconlive/beacon/api/gen \
    $protos
  # The OpenAPI document covers the public API services only (not bus events).
  protoc "${inc[@]}" \
    --openapiv2_out=api/openapi --openapiv2_opt=allow_merge=true,merge_file_name=beacon,json_names_for_fields=false \
    $(echo "$protos" | grep '^beacon/api/')
)
