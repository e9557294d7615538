#!/bin/sh
# Used by deploy/Dockerfile: creates an empty source file for every target the workspace's
# manifests name (src/lib.rs, src/main.rs, [[bin]]/[lib] paths, [[bench]]es), so that the
# dependencies compile in an image layer of their own, before any of our sources is copied.
# The files it made are listed in /tmp/stubs so the build can delete them afterwards.
set -eu
: > /tmp/stubs
stub() {
  [ -e "$1" ] && return 0
  mkdir -p "$(dirname "$1")"
  echo 'fn main() {}' > "$1"
  echo "$1" >> /tmp/stubs
}
for manifest in $(find . -name Cargo.toml -not -path ./Cargo.toml -not -path '*/fuzz/*' -not -path './target/*'); do
  dir=$(dirname "$manifest")
  stub "$dir/src/lib.rs"
  stub "$dir/src/main.rs"
  for path in $(sed -n 's/^path = "\(.*\.rs\)"$/\1/p' "$manifest"); do
    stub "$dir/$path"
  done
  for bench in $(awk '/^\[\[bench\]\]/ { b = 1 } b && /^name = / { gsub(/"/, "", $3); print $3; b = 0 }' "$manifest"); do
    stub "$dir/benches/$bench.rs"
  done
done
