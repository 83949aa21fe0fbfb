#!/usr/bin/env bash
# Copies the pinned third-party front-end files into the gateway's pages
# (services/gateway/pages/static/vendor/<name>/) with their licences, and writes
# MANIFEST.json (name, version, file, sha256) for the test that checks them.
# Versions are pinned exactly in web/package.json and web/package-lock.json; `npm ci
# --ignore-scripts` installs exactly the lock file and runs no package's install scripts.
# The copied files are committed: `make run` and `make test` need no Node.js.
# Usage: scripts/vendor-assets.sh   (or `make vendor`); needs node and npm.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WEB="$ROOT/web"
VENDOR="$ROOT/services/gateway/pages/static/vendor"
command -v npm >/dev/null || { echo "npm is needed to vendor the front-end files" >&2; exit 1; }

(cd "$WEB" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
MODULES="$WEB/node_modules"

rm -rf "$VENDOR"
mkdir -p "$VENDOR"

# copy <vendor dir> <package> <path inside the package> [name in the vendor dir]
copy() {
  mkdir -p "$VENDOR/$1"
  cp "$MODULES/$2/$3" "$VENDOR/$1/${4:-$(basename "$3")}"
}

# WeUI: the consumer pages' CSS.
copy weui weui dist/style/weui.min.css
copy weui weui LICENSE.txt LICENSE.txt
# Apache ECharts: merchant and regulator charts only. Its bundle includes zrender (BSD-3),
# tslib's helpers (0BSD) and parts of d3 (NOTICE, LICENSE-d3): their licences go with it.
copy echarts echarts dist/echarts.min.js
copy echarts echarts LICENSE LICENSE
copy echarts echarts NOTICE NOTICE
copy echarts echarts licenses/LICENSE-d3 LICENSE-d3
copy echarts zrender LICENSE LICENSE-zrender
copy echarts tslib LICENSE.txt LICENSE-tslib.txt
# qrcode-generator: the ES module build. The package ships no licence file; its MIT notice
# is the source file's header, kept in the copied file and repeated in LICENSE.
copy qrcode-generator qrcode-generator dist/qrcode.mjs
{
  echo "qrcode-generator is licensed under the MIT license (package.json \"license\": \"MIT\")."
  echo "Its notice, from the header of dist/qrcode.mjs:"
  echo
  sed -n '1,16p' "$MODULES/qrcode-generator/dist/qrcode.mjs"
} >"$VENDOR/qrcode-generator/LICENSE"

# jsQR: the inspector's page decodes the merchant's check-in QR from the camera with it (a
# classic UMD script: window.jsQR), loaded only when the camera is started.
copy jsqr jsqr dist/jsQR.js
copy jsqr jsqr LICENSE LICENSE

# The manifest: every vendored file with its package's locked version and its sha256.
(cd "$VENDOR" && node - "$WEB/package-lock.json" <<'JS'
const fs = require("fs");
const crypto = require("crypto");
const lock = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const version = (name) => lock.packages[`node_modules/${name}`].version;
const files = [];
for (const dir of fs.readdirSync(".").sort()) {
  if (!fs.statSync(dir).isDirectory()) continue;
  for (const file of fs.readdirSync(dir).sort()) {
    // LICENSE-zrender and LICENSE-tslib come from the packages echarts bundles.
    const from = { "LICENSE-zrender": "zrender", "LICENSE-tslib.txt": "tslib" }[file] || dir;
    const sha256 = crypto.createHash("sha256").update(fs.readFileSync(`${dir}/${file}`)).digest("hex");
    files.push({ name: from, version: version(from), file: `${dir}/${file}`, sha256 });
  }
}
fs.writeFileSync("MANIFEST.json", JSON.stringify({ files }, null, 2) + "\n");
JS
)
echo "vendored into $VENDOR:"
(cd "$VENDOR" && find . -type f | sort)
