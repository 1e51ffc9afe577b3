#!/usr/bin/env sh
# Maintainers only: refresh the workspace's vendored JavaScript from npm (package.json, package-lock.json).
# The files it writes are committed under src/borderwatch/web/static/vendor/ with their licences, so that
# installing, testing and serving borderwatch never needs npm or a network (an air-gapped agency has neither).
# Run it after changing package.json / package-lock.json, look at the diff, and commit the result.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENDOR="$ROOT/src/borderwatch/web/static/vendor"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$WORK/"
(cd "$WORK" && npm ci --no-audit --no-fund --loglevel=error)
mkdir -p "$VENDOR"
cp "$WORK/node_modules/htmx.org/dist/htmx.min.js" "$WORK/node_modules/cytoscape/dist/cytoscape.min.js" \
   "$WORK/node_modules/vega/build/vega.min.js" "$WORK/node_modules/vega-lite/build/vega-lite.min.js" \
   "$WORK/node_modules/vega-embed/build/vega-embed.min.js" "$VENDOR/"
# The bundles carry code from their dependencies (vega bundles d3, for one): every installed package's
# name, version, licence and licence text goes into one file beside them.
(cd "$WORK" && node -e '
const fs = require("fs"), path = require("path");
const lock = require("./package-lock.json");
const out = ["Third-party JavaScript vendored into borderwatch (refreshed by scripts/vendor-js.sh).",
  "htmx.min.js, cytoscape.min.js, vega.min.js, vega-lite.min.js and vega-embed.min.js are copied unchanged",
  "from the npm packages below; the bundles include code from the other packages listed.", ""];
for (const [key, meta] of Object.entries(lock.packages).sort()) {
  if (!key || meta.dev) continue;
  const dir = path.join(".", key);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  out.push("=".repeat(78), `${pkg.name} ${pkg.version} (${pkg.license || "see text"})`, "=".repeat(78));
  const file = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  if (file) out.push(fs.readFileSync(path.join(dir, file), "utf8").trim());
  else if (pkg.name === "vega") out.push("BSD-3-Clause, the same text and copyright holder as vega-lite above (the npm package ships no licence file).");
  else out.push(`No licence file in the package; its package.json declares: ${pkg.license}`);
  out.push("");
}
fs.writeFileSync(process.argv[1], out.join("\n"));
' "$VENDOR/LICENSES.txt")
echo "vendored into $VENDOR; review and commit"
