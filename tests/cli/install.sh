#!/usr/bin/env bash
# cmake --install puts the CLI, library, headers, CMake package and
# pkg-config file in a prefix; a project outside the tree finds the library
# with find_package(pqeval) and with pkg-config, links and runs.
set -euo pipefail
prefix=$(mktemp -d "$PQEVAL_TEST_TMP/install.XXXXXX")
trap 'rm -rf "$prefix"' EXIT

# Under the sanitizers the library is instrumented: its users must be too.
san=""
[ "${PQEVAL_SANITIZED:-0}" = 1 ] && san="-fsanitize=address,undefined"

cmake --install "$PQEVAL_BINARY_DIR" --prefix "$prefix/usr" >/dev/null
for f in bin/pqeval include/pqeval/pq.h lib/cmake/pqeval/pqevalConfig.cmake lib/pkgconfig/pqeval.pc; do
    [ -e "$prefix/usr/$f" ] || { echo "not installed: $f"; exit 1; }
done
"$prefix/usr/bin/pqeval" --version | grep -q '^pqeval [0-9]'

cmake -S "$PQEVAL_SOURCE_DIR/tests/install" -B "$prefix/consumer" \
    -DCMAKE_PREFIX_PATH="$prefix/usr" -DCMAKE_C_FLAGS="$san" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
LD_LIBRARY_PATH="$prefix/usr/lib" "$prefix/consumer/consumer" | grep -q '^pqeval [0-9]'

PKG_CONFIG_PATH="$prefix/usr/lib/pkgconfig" pkg-config --exists pqeval
cc $san -o "$prefix/pc-consumer" "$PQEVAL_SOURCE_DIR/tests/install/main.c" \
    $(PKG_CONFIG_PATH="$prefix/usr/lib/pkgconfig" pkg-config --cflags --libs pqeval)
LD_LIBRARY_PATH="$prefix/usr/lib" "$prefix/pc-consumer" | grep -q '^pqeval [0-9]'
echo "install: ok"
