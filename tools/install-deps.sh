#!/usr/bin/env bash
# Installs what g2c needs on Debian 12, and only what is missing.
#   tools/install-deps.sh          build and run dependencies
#   tools/install-deps.sh --test   also what the test suite uses (browser, checkers)
#   tools/install-deps.sh --bench  also the Python peers the benchmarks compare with
set -euo pipefail

packages=(
  build-essential meson ninja-build pkg-config
  libopenslide-dev openslide-tools   # reading whole-slide images
  libsqlite3-dev sqlite3             # the catalog (and the shell users query it with)
  libopenblas-dev                    # sgemm under every convolution
  libpng-dev libtiff-dev             # crops, tiles, test slides
  libjpeg-dev                        # compact pictures inside HTML reports
  libjansson-dev libxml2-dev         # GeoJSON / JSON, and ASAP / ImageScope XML
)
if [ "${1:-}" = "--test" ]; then
  packages+=(
    valgrind
    python3-pil python3-jsonschema   # second opinions in tests: JPEG decoding, report schema
    chromium                         # headless browser test of the report pages (skips without)
  )
fi
if [ "${1:-}" = "--bench" ]; then
  packages+=(python3-openslide python3-pil python3-torch hyperfine)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
