#!/usr/bin/env bash
# Rebuilds the pelint corpus of third-party Windows images (tests/corpus/manifest.tsv) in
# ${PELINT_CORPUS_DIR:-$HOME/.cache/pelint/corpus}: downloads each package once (npm pack,
# dotnet restore of a PackageDownload, apt-get download), extracts the listed images, verifies
# their sha256 and fails loudly on a mismatch. Images already present and intact are skipped.
#
#   bash tests/corpus/fetch.sh                       # everything
#   bash tests/corpus/fetch.sh --machine arm64       # a subset (also --toolchain, --source, --limit N)
#   bash tests/corpus/fetch.sh --exclude-tuned --machine x64 --list   # paths, nothing fetched
#
# Needs python3, and for the rows it has to fetch: npm (npm rows), the .NET SDK (NuGet rows),
# apt-get and dpkg-deb (Debian rows). Run as root, it installs npm and python3 with apt-get when
# they are missing; the .NET SDK it only names.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

need=()
command -v python3 >/dev/null || need+=(python3)
command -v npm >/dev/null || need+=(npm)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "fetch.sh: installing ${need[*]} with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  elif [[ " ${need[*]} " == *" python3 "* ]]; then
    echo "fetch.sh: python3 is missing (apt-get install python3)" >&2
    exit 2
  else
    echo "fetch.sh: npm is missing (apt-get install npm); npm rows will fail" >&2
  fi
fi
command -v dotnet >/dev/null || echo "fetch.sh: dotnet (the .NET SDK) is missing; NuGet rows will fail" >&2

exec python3 "$HERE/fetch.py" "$@"
