#!/usr/bin/env bash
# Fetches the onnxruntime shared library that github.com/yalue/onnxruntime_go
# v1.27.0 needs (onnxruntime 1.24.1) from the npm package onnxruntime-node,
# verifies it by sha256 and writes .cache/onnxruntime.env (idempotent).
#
# `npm pack` + `tar` only: `npm install` would run the package's postinstall,
# which downloads CUDA parts from outside the registry.
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.24.1
ORT_MEMBER=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
ORT_SHA256=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4

dir=$PWD/.cache/onnxruntime
lib=$dir/libonnxruntime.so.$ORT_VERSION
envfile=$PWD/.cache/onnxruntime.env

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *) echo "onnxruntime.sh: only linux/x86_64 is supported (got $(uname -s)/$(uname -m))" >&2; exit 1 ;;
esac

verify() { [ -f "$1" ] && echo "$ORT_SHA256  $1" | sha256sum --check --status; }

if ! verify "$lib"; then
  command -v npm >/dev/null || { echo "onnxruntime.sh: npm is required to fetch onnxruntime-node@$ORT_VERSION" >&2; exit 1; }
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/fetch.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "onnxruntime: fetching onnxruntime-node@$ORT_VERSION"
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
  tar -xzf "$tmp/onnxruntime-node-$ORT_VERSION.tgz" -C "$tmp" "$ORT_MEMBER"
  if ! verify "$tmp/$ORT_MEMBER"; then
    echo "onnxruntime.sh: sha256 mismatch for $ORT_MEMBER:" >&2
    sha256sum "$tmp/$ORT_MEMBER" >&2
    exit 1
  fi
  mv "$tmp/$ORT_MEMBER" "$lib"
fi

printf 'export ONNXRUNTIME_LIB=%s\n' "$lib" >"$envfile.tmp"
mv "$envfile.tmp" "$envfile"
