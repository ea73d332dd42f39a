#!/bin/sh
# Build the VS Code extension into yibaolang-<version>.vsix (CI calls this; see docs/editor.md).
# The client and vscode-languageclient are bundled by esbuild into dist/extension.js.
set -eu
cd "$(dirname "$0")"
if [ ! -x node_modules/.bin/vsce ] || [ ! -x node_modules/.bin/esbuild ]; then
    npm ci --no-audit --no-fund
fi
rm -rf dist
npm run --silent bundle
version=$(node -p "require('./package.json').version")
out="${1:-yibaolang-$version.vsix}"
npx --no-install vsce package --no-dependencies --out "$out"
# What the package must hold (the bundle, the grammar, the manifest, the licence).
node scripts/check-vsix.js "$out"
echo "$out"
