#!/usr/bin/env bash
# gopush end to end on a fresh machine, with no account and no network:
# make a small Go module in a git repository, tag it, and build its module zip with gopush.
# Run from anywhere, with `gopush` on PATH.
set -euo pipefail

work=$(mktemp -d "${TMPDIR:-/tmp}/gopush-quickstart.XXXXXX")
trap 'rm -rf "$work"' EXIT
module="$work/hello"
mkdir -p "$module"
cd "$module"

git init -q -b main
git config user.name "gopush quickstart"
git config user.email "quickstart@example.test"
cat > go.mod <<'GOMOD'
module example.com/hello

go 1.22
GOMOD
cat > hello.go <<'GO'
// Package hello says hello.
package hello

// Hello returns a greeting.
func Hello() string { return "hello, world" }
GO
printf 'MIT License\n' > LICENSE
git add -A
git commit -q -m "hello v1.0.0"
git tag v1.0.0

echo "== gopush build (in $module)" >&2
gopush build --out "$work/dist"
