#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls this). Every step runs
# even when an earlier one fails (a flaky step must not hide the arm64 or
# cross-build results); the summary at the end lists each step's time and
# result, and the script exits non-zero if any step failed. Installs what it
# needs (qemu-user for the arm64 step; the wazero WebAssembly runtime comes
# from go.mod's tool directive).
#
#   ./test.sh          everything
#   ./test.sh quick    steps 1-2 only (format, vet, tests, race)
set -uo pipefail
cd "$(dirname "$0")"
export GOFLAGS=${GOFLAGS:-}
start=$SECONDS
summary=() passed=0 failed=0

# run NAME FUNCTION: runs one step in a subshell that stops at its first
# failing command, and records its time and result.
run() {
  local name=$1 t0=$SECONDS rc
  printf '\n=== %s\n' "$name"
  ( set -e; "$2" )
  rc=$?
  if [ $rc = 0 ]; then passed=$((passed+1)); summary+=("ok    $((SECONDS-t0))s  $name")
  else failed=$((failed+1)); summary+=("FAIL  $((SECONDS-t0))s  $name (exit $rc)"); fi
}

finish() {
  echo
  echo "=== summary ($((SECONDS-start))s in all)"
  printf '  %s\n' "${summary[@]}"
  echo "steps: $passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit
}

step1() {
  unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
  if [ -n "$unformatted" ]; then
    echo "gofmt would change:"; echo "$unformatted"; exit 1
  fi
  go vet ./...
  GOARCH=arm64 go vet ./...
  go vet -tags purego ./...
}

step2() {
  go test -count=1 ./...
  go test -count=1 -race -short ./...
}

step3() {
  # One target per invocation: go test -fuzz takes a single target. The default
  # budget is a count of executions per target (about 10 s each on a 2-core
  # machine), not a duration: Go 1.26's fuzz coordinator can report its own
  # -fuzztime deadline as a failure ("context deadline exceeded", no failing
  # input written; go.dev/issue/75804, fixed in Go 1.27), which a count never
  # reaches. FUZZTIME (a duration such as 10m, or a count such as 1000000x)
  # replaces the budget of every target.
  for target in .:FuzzTransformersConfig:20000x ./imageprep:FuzzPrepare:250000x \
      ./internal/tensorfile:FuzzParse:250000x ./internal/tensorfile:FuzzParseNPY:300000x \
      .:FuzzConfig:20000x ./vit:FuzzLoad:15000x ./naflex:FuzzForwardPatches:300000x \
      ./nn:FuzzReadHub:300000x ./cmd/anyres:FuzzCommands:6000x ./serve:FuzzHandler:60000x; do
    pkg=${target%%:*}; rest=${target#*:}; name=${rest%%:*}; budget=${FUZZTIME:-${rest#*:}}
    echo "--- $name ($pkg, $budget)"
    go test -run='^$' -fuzz="^$name\$" -fuzztime="$budget" "$pkg"
  done
}

step4() {
  go test -count=1 -tags purego ./...
}

step5() {
  levels=$(go run ./cmd/anyres info -json | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["available"][:-1]))')
  pkgs=$(go list ./... | grep -v -e /cmd/ -e /bench -e /internal/ -e /examples/)
  for level in $levels; do
    echo "--- ANYRES_KERNELS=$level"
    ANYRES_KERNELS=$level go test -count=1 $pkgs
  done
}

step6() {
  if ! command -v qemu-aarch64 >/dev/null; then
    echo "installing qemu-user"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user) >/dev/null
  fi
  GOARCH=arm64 go build -o .tools/anyres-arm64 ./cmd/anyres
  qemu-aarch64 .tools/anyres-arm64 info
  qemu-aarch64 .tools/anyres-arm64 info -json | grep -q '"level":"neon"' || { echo "arm64 build does not select neon"; exit 1; }
  # Emulated, the root and cmd packages take minutes: more than go test's default limit on a busy machine.
  GOARCH=arm64 go test -count=1 -short -timeout 25m -exec qemu-aarch64 ./...
  echo "--- kernels on an ARMv8.0 core without the dot product (Cortex-A72: the plain-NEON int8 kernel)"
  GOARCH=arm64 go test -c -o .tools/kernels-arm64.test ./kernels
  qemu-aarch64 -cpu cortex-a72 .tools/kernels-arm64.test -test.short
  echo "--- examples/edge: static arm64 build with the model embedded, run on a photo"
  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath -ldflags='-s -w' -o .tools/edge-arm64 ./examples/edge
  ls -l .tools/edge-arm64
  qemu-aarch64 .tools/edge-arm64 testdata/images/hills.jpg | tee .tools/edge-arm64.out
  [ "$(grep -c '^class [0-9]' .tools/edge-arm64.out)" = 5 ] || { echo "examples/edge did not print 5 classes"; exit 1; }
}

step7() {
  for target in linux/arm:7 linux/riscv64 linux/386 windows/amd64 darwin/arm64 linux/amd64:purego; do
    os=${target%%/*}; rest=${target#*/}; arch=${rest%%:*}; extra=${rest#"$arch"}; extra=${extra#:}
    echo "--- $os/$arch ${extra}"
    if [ "$arch" = arm ]; then
      GOOS=$os GOARCH=$arch GOARM=$extra go build ./...
      GOOS=$os GOARCH=$arch GOARM=$extra go vet ./...
    elif [ "$extra" = purego ]; then
      CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -tags purego -o .tools/anyres-static ./cmd/anyres
    else
      GOOS=$os GOARCH=$arch go build ./...
      GOOS=$os GOARCH=$arch go vet ./...
    fi
  done
  go build -o .tools/wazero github.com/tetratelabs/wazero/cmd/wazero
  # .ci/wasm-exec's compiled-code cache keeps every test binary it has
  # run, so it grows with each run whose packages changed (24 GB once
  # filled the disk): past 4 GiB it starts again empty.
  cache="${TMPDIR:-/tmp}/anyres-wazero-cache"
  if [ -d "$cache" ] && [ "$(du -sk "$cache" | cut -f1)" -gt 4194304 ]; then
    rm -rf "$cache"
  fi
  GOOS=wasip1 GOARCH=wasm go test -count=1 -short -timeout 25m -exec "$PWD/.ci/wasm-exec" ./...
}

run "1. gofmt and go vet" step1
run "2. go test (best level) and go test -race -short" step2
[ "${1:-}" = quick ] && finish
run "2b. fuzz the hostile-input parsers briefly (FUZZTIME=10m ./test.sh for a longer run)" step3
run "3. go test -tags purego" step4
run "4. the kernels, encodings, layers and every model family at every level below the best" step5
run "5. arm64 under qemu" step6
run "6. cross-builds and WebAssembly (wasip1 under wazero)" step7
finish
