#!/usr/bin/env bash
# Builds the unwinder oracle's harness with mingw-w64:
#   bash tests/oracles/winunwind/build.sh [OUT.exe]
# Default output: artifacts/oracles/winunwind/winunwind.exe under the repository root (gitignored).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-$root/artifacts/oracles/winunwind/winunwind.exe}
cc=${PELINT_MINGW_CC:-x86_64-w64-mingw32-gcc}
command -v "$cc" >/dev/null 2>&1 || {
    echo "build.sh: '$cc' not found; install the Debian package gcc-mingw-w64-x86-64" >&2
    exit 1
}
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
"$cc" -std=c11 -O2 -Wall -Wextra -Werror -o "$tmp" "$here/winunwind.c" -lntdll
mv -f "$tmp" "$out"
echo "$out"
