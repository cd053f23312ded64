#!/bin/sh
# Installs the extension's npm packages pinned by package.json and package-lock.json into
# node_modules/ (the language client, and vscode-tmgrammar-test for the grammar's snapshot
# test), unless those versions are already there. Node.js and npm come from Debian's
# packages when missing. Run by .ci/run and by the grammar test (tests/integration/editors.rs).
set -eu
cd "$(dirname "$0")"
want=$(sed -n 's/.*"vscode-tmgrammar-test": *"\([^"]*\)".*/\1/p' package.json)
have=$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' node_modules/vscode-tmgrammar-test/package.json 2>/dev/null || true)
if [ -x node_modules/.bin/vscode-tmgrammar-snap ] && [ -d node_modules/vscode-languageclient ] && [ "$want" = "$have" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "the grammar test runs vscode-tmgrammar-test, which needs Node.js and npm: install them" >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing Node.js and npm from Debian's packages" >&2
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq nodejs npm >&2
fi
echo "installing the VS Code extension's packages into editors/vscode/node_modules" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
