#!/usr/bin/env bash
# Builds the C library and installs it under a prefix, for C and C++ projects to find with
# pkg-config:
#   bindings/c/install.sh /usr/local     # lib/libstrom.{so,a}, include/strom.{h,hpp}, lib/pkgconfig/strom.pc
#   pkg-config --cflags --libs strom     # (PKG_CONFIG_PATH=PREFIX/lib/pkgconfig when PREFIX is not standard)
#   pkg-config --static --libs strom     # the system libraries the static library needs
# PROFILE=debug installs a debug build; LINK=1 symlinks the libraries instead of copying them
# (tests/c/run.sh uses both); CARGO_TARGET_DIR is honoured.
set -euo pipefail
prefix="${1:?usage: bindings/c/install.sh PREFIX}"
profile="${PROFILE:-release}"
cd "$(dirname "$0")/../.."

case "$profile" in
  debug | dev) cargo_profile=dev out=debug ;;
  *) cargo_profile="$profile" out="$profile" ;;
esac
cargo build -p strom-c --profile "$cargo_profile" >&2
built="${CARGO_TARGET_DIR:-$PWD/target}/$out"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
for lib in libstrom.so libstrom.a; do
  rm -f "$prefix/lib/$lib"
  if [ "${LINK:-0}" = 1 ]; then
    ln -s "$(cd "$built" && pwd)/$lib" "$prefix/lib/$lib"
  else
    install -m "$([ "$lib" = libstrom.so ] && echo 0755 || echo 0644)" "$built/$lib" "$prefix/lib/$lib"
  fi
done
install -m 0644 include/strom.h include/strom.hpp "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$prefix/lib|" -e "s|@INCLUDEDIR@|$prefix/include|" \
  -e "s|@VERSION@|$version|" bindings/c/strom.pc.in >"$prefix/lib/pkgconfig/strom.pc"
echo "installed strom $version ($profile) under $prefix" >&2
