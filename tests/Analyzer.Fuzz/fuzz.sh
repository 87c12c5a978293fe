#!/usr/bin/env bash
# Coverage-guided fuzzing of pelint with AFL++ and SharpFuzz (see README.md beside this script).
#   tests/Analyzer.Fuzz/fuzz.sh [pe|config] [SECONDS]     default: pe, 1800 s
# Publishes the fuzz entry point, instruments Pelint.Pe.dll and Pelint.Analyzer.dll with the
# sharpfuzz tool (SharpFuzz.CommandLine 2.3.0, installed into artifacts/afl/tools), builds the seed
# folder and runs one afl-fuzz instance under nice. Findings: artifacts/afl/<target>/findings/default/{crashes,hangs}.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET=${1:-pe}
DURATION=${2:-1800}
WORK=${PELINT_AFL_WORK:-$ROOT/artifacts/afl}
BIN=$WORK/bin
TOOLS=$WORK/tools
SEEDS=$WORK/$TARGET/seeds
FINDINGS=$WORK/$TARGET/findings

command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found (Debian: apt-get install afl++)" >&2; exit 1; }
if [ ! -x "$TOOLS/sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$TOOLS" >/dev/null
fi

# A fresh publish each time: sharpfuzz instruments in place and refuses an instrumented assembly.
rm -rf "$BIN"
dotnet publish tests/Analyzer.Fuzz -c Release -o "$BIN" -nologo -v quiet
for dll in Pelint.Pe.dll Pelint.Analyzer.dll; do
  "$TOOLS/sharpfuzz" "$BIN/$dll"
done

rm -rf "$SEEDS"
mkdir -p "$SEEDS"
case $TARGET in
  pe)
    # Small images only: afl-fuzz mutates every byte of a seed, and execution speed falls with size.
    cp samples/bin/*.exe samples/bin/*.dll "$SEEDS/" 2>/dev/null || true
    find tests/fixtures/corkami -maxdepth 1 -type f \( -name '*.exe' -o -name '*.dll' -o -name '*.sys' \) -size -17k -exec cp {} "$SEEDS/" \;
    RUNTIME=$(dotnet msbuild tests/Analyzer.Testing/Analyzer.Testing.csproj -getProperty:NuGetPackageRoot)microsoft.netcore.app.runtime.win-x64/$(dotnet msbuild tests/Analyzer.Testing/Analyzer.Testing.csproj -getProperty:PelintRuntimePackVersion)/runtimes/win-x64/native
    for dll in createdump.exe mscorrc.dll; do
      [ -f "$RUNTIME/$dll" ] && cp "$RUNTIME/$dll" "$SEEDS/runtime-$dll"
    done
    ;;
  config)
    cp tests/Analyzer.Fuzz/seeds/config/* "$SEEDS/"
    ;;
  *) echo "unknown target $TARGET (pe or config)" >&2; exit 2 ;;
esac
echo "seeds: $(ls "$SEEDS" | wc -l) files in $SEEDS"

# -m none: the .NET runtime reserves far more address space than afl's default limit.
# -t: a .NET process answers its first input only after the JIT has run; later ones are fast.
# AFL_SKIP_BIN_CHECK: the target is 'dotnet', instrumented by SharpFuzz, not by afl's compiler.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export DOTNET_TieredPGO=0
mkdir -p "$FINDINGS"
INPUT=$SEEDS
[ -d "$FINDINGS/default/queue" ] && INPUT=- # resume the earlier campaign in $FINDINGS
nice -n 10 afl-fuzz -i "$INPUT" -o "$FINDINGS" -t 10000 -m none -V "$DURATION" \
  -- dotnet "$BIN/pelint-fuzz.dll" "$TARGET"
