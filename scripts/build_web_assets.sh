#!/usr/bin/env bash
# Copy CesiumJS (npm package `cesium`, pinned in web/package-lock.json) into src/leosim/web/static/cesium/,
# so that `leosim serve` serves the globe fully offline (no CDN, no Cesium Ion).
#
#   scripts/build_web_assets.sh            # npm ci in web/ when node_modules is missing, then copy
#
# Needs node and npm (Debian: apt-get install -y nodejs npm). The copy is git-ignored; the server runs
# without it (the API works and the page says how to build the globe).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$root/web"
dest="$root/src/leosim/web/static/cesium"
src="$web/node_modules/cesium/Build/Cesium"

if ! command -v npm >/dev/null 2>&1; then
    echo "build_web_assets: npm not found; install node and npm (apt-get install -y nodejs npm)" >&2
    exit 1
fi
if [ ! -f "$src/Cesium.js" ]; then
    (cd "$web" && npm ci --no-audit --no-fund --ignore-scripts)
fi
if [ ! -f "$src/Cesium.js" ]; then
    echo "build_web_assets: $src/Cesium.js missing after npm ci" >&2
    exit 1
fi

tmp="$(mktemp -d "$root/src/leosim/web/static/.cesium-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cp "$src/Cesium.js" "$tmp/"
cp -R "$src/Widgets" "$src/Workers" "$src/ThirdParty" "$tmp/"
mkdir -p "$tmp/Assets/Textures"
# Assets: everything but the large optional textures, then the offline imagery (NaturalEarthII tiles).
for item in "$src"/Assets/*; do
    name="$(basename "$item")"
    [ "$name" = "Textures" ] && continue
    cp -R "$item" "$tmp/Assets/"
done
cp -R "$src/Assets/Textures/NaturalEarthII" "$tmp/Assets/Textures/"
for extra in SkyBox moonSmall.jpg waterNormalsSmall.jpg; do
    [ -e "$src/Assets/Textures/$extra" ] && cp -R "$src/Assets/Textures/$extra" "$tmp/Assets/Textures/"
done
version="$(node -p "require('$web/node_modules/cesium/package.json').version")"
echo "$version" > "$tmp/VERSION"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "build_web_assets: CesiumJS $version copied to ${dest#"$root"/}"
