#!/usr/bin/env bash
# Vendors the web pages' JavaScript dependencies from the npm registry into
# web/static/vendor (committed), verified by sha256. `npm pack` + tar, never
# `npm install`, so no package script runs.
set -euo pipefail
cd "$(dirname "$0")/.."
HLSJS_VERSION=1.7.4
HLSJS_SHA256=cfc70cc9e9fc63d071919e087670abc760c8fd1bc889b88588026e4d22193bbe
dst=web/static/vendor
if [ -f "$dst/hls.min.js" ] && echo "$HLSJS_SHA256  $dst/hls.min.js" | sha256sum -c --quiet 2>/dev/null; then
  exit 0
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "hls.js@$HLSJS_VERSION" >/dev/null && tar xzf "hls.js-$HLSJS_VERSION.tgz")
echo "$HLSJS_SHA256  $tmp/package/dist/hls.min.js" | sha256sum -c --quiet
mkdir -p "$dst"
cp "$tmp/package/dist/hls.min.js" "$dst/hls.min.js"
cp "$tmp/package/LICENSE" "$dst/hls.js.LICENSE"
echo "webdeps: hls.js $HLSJS_VERSION vendored"
