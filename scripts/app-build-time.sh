#!/usr/bin/env bash
# Clean build time (debug, CARGO_INCREMENTAL=0) of a tiny app that depends on one crate only.
# Usage: scripts/app-build-time.sh CRATE TYPE   (e.g. scripts/app-build-time.sh ktwidget Error)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${APP_BUILD_DIR:-$root/target/app-build-time}
crate=$1
dir=$work/$crate
rm -rf "$dir" && mkdir -p "$dir/src"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "app-$crate"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
$crate = { path = "$root/crates/$crate" }
[workspace]
TOML
echo 'fn main() { println!("{}", std::any::type_name::<'"${crate//-/_}"'::'"$2"'>()); }' > "$dir/src/main.rs"
cp "$root/Cargo.lock" "$dir/Cargo.lock"
cd "$dir"
export CARGO_TARGET_DIR=$dir/target CARGO_INCREMENTAL=0
cargo fetch --offline -q 2>/dev/null || cargo fetch -q
start=$(date +%s.%N)
cargo build --offline -q
end=$(date +%s.%N)
echo "$crate clean debug build: $(python3 -c "print(round($end-$start,1))") s; crates in normal tree: $(cd "$root" && cargo tree -p $crate -e normal --prefix none | sed 's/ (\*)//' | awk '{print $1" "$2}' | sort -u | wc -l)"
