#!/usr/bin/env bash
# Times whole processes of the shipped build (NativeAOT, linux-x64) against GNU
# objdump, alternating in one run: `pelint scan FILE -o out.sarif` (all rules) vs
# `objdump -p FILE > /dev/null`, for coreclr.dll and biome.exe; prints the median ratio and
# pelint's peak RSS, and the same ratio for a scan without the stack-walk verifier's rules
# (benchmarks/without-stack-walk.editorconfig), to show what the verifier costs; then the
# throughput of a scan of the runtime pack's native folder with --threads 1 and 2, alternating,
# and the median of the pairs' ratios.
# Usage: benchmarks/compare.sh [RUNS]   (default 11 runs per command)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-11}
WORK=${PELINT_BENCH_WORK:-$ROOT/artifacts/bench}
mkdir -p "$WORK"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

PELINT=$ROOT/artifacts/pelint-aot/pelint
if [ ! -x "$PELINT" ] || [ -n "${PELINT_BENCH_REBUILD:-}" ]; then
  dotnet publish src/Analyzer.Cli -c Release -r linux-x64 -o artifacts/pelint-aot -nologo -v quiet >/dev/null
fi

NATIVE=$(dotnet msbuild tests/Analyzer.Testing/Analyzer.Testing.csproj -getProperty:NuGetPackageRoot)microsoft.netcore.app.runtime.win-x64/$(dotnet msbuild tests/Analyzer.Testing/Analyzer.Testing.csproj -getProperty:PelintRuntimePackVersion)/runtimes/win-x64/native
[ -f "$NATIVE/coreclr.dll" ] || { echo "runtime pack missing: run 'dotnet restore Analyzer.sln' first" >&2; exit 1; }

BIOME=$WORK/biome/package/biome.exe
if [ ! -f "$BIOME" ]; then
  mkdir -p "$WORK/biome"
  (cd "$WORK/biome" && npm pack --silent @biomejs/cli-win32-x64@2.5.15 >/dev/null && tar xzf biomejs-cli-win32-x64-2.5.15.tgz)
fi

now() { date +%s.%N; }

# peak RSS (KiB) of one pelint run, from GNU time.
peak_rss() { /usr/bin/time -f '%M' -o "$WORK/rss.txt" "$@" >/dev/null 2>&1 || true; cat "$WORK/rss.txt" | tail -1; }

WITHOUT=$ROOT/benchmarks/without-stack-walk.editorconfig

compare() {
  local name=$1 file=$2 p=() o=() w=()
  for ((i = 0; i < RUNS; i++)); do
    local t0 t1 t2 t3
    t0=$(now); "$PELINT" scan "$file" -o "$WORK/out.sarif" --fail-level none >/dev/null || true
    t1=$(now); objdump -p "$file" >/dev/null
    t2=$(now); "$PELINT" scan "$file" -o "$WORK/out.sarif" --fail-level none --config "$WITHOUT" >/dev/null || true
    t3=$(now)
    p+=("$(echo "$t1 - $t0" | bc)"); o+=("$(echo "$t2 - $t1" | bc)"); w+=("$(echo "$t3 - $t2" | bc)")
  done
  python3 - "$name" "$(stat -c %s "$file")" "$(peak_rss "$PELINT" scan "$file" -o "$WORK/out.sarif" --fail-level none)" "${p[*]}" "${o[*]}" "${w[*]}" <<'PY'
import statistics, sys
name, size, rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p, o, w = ([float(x) for x in a.split()] for a in sys.argv[4:7])
ratios = [a / b for a, b in zip(p, o)]
without = [a / b for a, b in zip(w, o)]
print(f"{name} ({size/1e6:.1f} MB): pelint median {statistics.median(p)*1000:.0f} ms, objdump -p median {statistics.median(o)*1000:.0f} ms, "
      f"median ratio {statistics.median(ratios):.2f}, pelint peak RSS {rss/1024:.0f} MB; "
      f"without the stack-walk verifier {statistics.median(w)*1000:.0f} ms, median ratio {statistics.median(without):.2f}")
PY
}

echo "machine: $(nproc) cpu(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -sr); runs: $RUNS"
compare coreclr.dll "$NATIVE/coreclr.dll"
compare biome.exe "$BIOME"

bytes=$(find "$NATIVE" -maxdepth 1 -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
files=$(find "$NATIVE" -maxdepth 1 -type f | wc -l)
# The folder with one thread and with two, alternating; the speed-up is the median of each pair's
# ratio (the issue's "median of alternating runs": best-of-3 swung from 1.44x to 2.14x here).
one=() two=()
for ((i = 0; i < RUNS; i++)); do
  t0=$(now); "$PELINT" scan "$NATIVE" -o "$WORK/native.sarif" --fail-level none --threads 1 >/dev/null || true
  t1=$(now); "$PELINT" scan "$NATIVE" -o "$WORK/native.sarif" --fail-level none --threads 2 >/dev/null || true
  t2=$(now)
  one+=("$(echo "$t1 - $t0" | bc)"); two+=("$(echo "$t2 - $t1" | bc)")
done
python3 - "$bytes" "$files" "${one[*]}" "${two[*]}" <<'PY'
import statistics, sys
size, files, one, two = int(sys.argv[1]), int(sys.argv[2]), [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
ratios = [a / b for a, b in zip(one, two)]
for n, t in (("1", statistics.median(one)), ("2", statistics.median(two))):
    print(f"native folder, --threads {n}: {files} files, {size/1e6:.1f} MB, median {t:.2f} s: {size/1e6/t:.1f} MB/s, {files/t:.1f} files/s")
print(f"native folder: --threads 2 throughput over --threads 1, median of {len(ratios)} alternating pairs {statistics.median(ratios):.2f}x "
      f"(pairs {min(ratios):.2f}x to {max(ratios):.2f}x)")
PY
