#!/bin/sh
# Builds ./connector with the Go toolchain and Debian's go-plugin and gRPC packages, offline, in
# GOPATH mode (no module download): `sh build.sh` builds, `sh build.sh test` runs the tests.
# Needs: apt-get install golang-go golang-github-hashicorp-go-plugin-dev golang-google-grpc-dev golang-goprotobuf-dev protobuf-compiler
set -eu
here=$(cd "$(dirname "$0")" && pwd)
gocode=${GOCODE:-/usr/share/gocode}
for tool in go protoc protoc-gen-go; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing (see the Needs line at the top of build.sh)" >&2; exit 1; }
done
[ -d "$gocode/src/github.com/hashicorp/go-plugin" ] || { echo "build.sh: go-plugin's sources are missing from $gocode (apt-get install golang-github-hashicorp-go-plugin-dev)" >&2; exit 1; }

# A throwaway GOPATH: the connector's package and the Go code protoc generates from connector.proto.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg="$work/src/connector"
mkdir -p "$pkg/proto"
cp "$here"/*.go "$pkg/"
cp "$here/connector.proto" "$pkg/proto/"
(cd "$pkg/proto" && protoc --go_out=plugins=grpc,paths=source_relative:. connector.proto)
export GOPATH="$work:$gocode" GO111MODULE=off GOFLAGS=
cd "$pkg"
if [ "${1:-}" = test ]; then
  go test ./...
else
  go build -o "$here/connector" .
  echo "built $here/connector"
fi
