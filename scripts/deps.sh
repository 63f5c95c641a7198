#!/usr/bin/env bash
# Installs the Debian packages Beacon's build, run and tests need (idempotent).
set -euo pipefail
pkgs=(
  protobuf-compiler libprotobuf-dev   # make generate
  kcat                                 # Kafka interop tests
  ffmpeg                               # media pipeline and test publishers
  postgresql                           # store conformance (PostgreSQL backend)
  chromium chromium-driver             # web page tests
  maven openjdk-17-jre-headless        # Kafka and Elasticsearch test engines
  curl ca-certificates jq
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
