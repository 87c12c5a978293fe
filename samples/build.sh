#!/usr/bin/env bash
# Rebuilds every sample image from samples/src into samples/bin, byte for byte the same on
# every run (lld-link /Brepro; no paths or timestamps reach the images).
#
#   bash samples/build.sh            build
#   bash samples/build.sh --repro    build twice in scratch directories and compare sha256
#
# No Windows SDK or MSVC CRT is needed: images link /NODEFAULTLIB with their own entry point,
# import libraries come from the .def files in src/, and src/loadcfg.S supplies the load
# configuration that /guard:cf fills in.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$here/src

need() { # tool, Debian package
    command -v "$1" >/dev/null 2>&1 && return
    echo "build.sh: '$1' not found; install the Debian package: apt-get install $2" >&2
    exit 1
}
need clang-22 clang-22
need lld-link-22 lld-22
need llvm-dlltool-22 llvm-22
need nasm nasm

# Compilers and link lines shared by the samples.
CC64=(clang-22 --target=x86_64-pc-windows-msvc -O2 -fms-extensions -Xclang -cfguard)
# pentium3: LLVM emits the legacy `mov edi, edi` hot-patch nop only for the default CPU or
# pentium3 (the i686-pc-windows-msvc default, pentium4, gets `66 90` instead).
CC86=(clang-22 --target=i686-pc-windows-msvc -march=pentium3 -O2 -fno-omit-frame-pointer -Xclang -cfguard)
HOTPATCH=(-fms-hotpatch -ffunction-sections)   # function sections: lld pads between them
LINK=(lld-link-22 /nologo /NODEFAULTLIB /Brepro /NXCOMPAT /CETCOMPAT /guard:cf)
EXE64=(/ENTRY:mainCRTStartup /SUBSYSTEM:CONSOLE /MACHINE:X64)
HARDENED64=(/DYNAMICBASE /HIGHENTROPYVA)

build_all() { # output directory
    local bin=$1 obj
    obj=$(mktemp -d)
    mkdir -p "$bin"

    llvm-dlltool-22 -m i386:x86-64 -d "$src/kernel32.def" -l "$obj/kernel32.lib"
    llvm-dlltool-22 -m i386:x86-64 -d "$src/ntdll.def" -l "$obj/ntdll.lib"
    llvm-dlltool-22 -m i386 -k -d "$src/kernel32.x86.def" -l "$obj/kernel32.x86.lib"
    clang-22 --target=x86_64-pc-windows-msvc -c "$src/loadcfg.S" -o "$obj/loadcfg.x64.obj"
    clang-22 --target=i686-pc-windows-msvc -c "$src/loadcfg.S" -o "$obj/loadcfg.x86.obj"
    local LIB64=("$obj/loadcfg.x64.obj" "$obj/kernel32.lib")

    # Hand-written x64 code with hand-written .pdata/.xdata (the stackwalk samples export their
    # functions through .drectve, so that results name them; their import libraries stay in $obj).
    local n
    for n in epilog-legal epilog-scheduled epilog-undocumented epilog-mismatch unwind-chained \
        stackwalk-harmless stackwalk-hazards; do
        nasm -f win64 -I"$src/" "$src/$n.asm" -o "$obj/$n.obj"
        "${LINK[@]}" "${EXE64[@]}" "${HARDENED64[@]}" "$obj/$n.obj" "${LIB64[@]}" \
            /IMPLIB:"$obj/$n.x64.lib" /OUT:"$bin/$n.x64.exe"
    done

    # C structured exception handling; __C_specific_handler comes from ntdll.dll.
    # /OPT:NOICF keeps each filter a function of its own.
    "${CC64[@]}" "${HOTPATCH[@]}" -c "$src/seh-scopes.c" -o "$obj/seh-scopes.obj"
    "${LINK[@]}" "${EXE64[@]}" "${HARDENED64[@]}" /FUNCTIONPADMIN:6 /OPT:NOICF \
        "$obj/seh-scopes.obj" "${LIB64[@]}" "$obj/ntdll.lib" /OUT:"$bin/seh-scopes.x64.exe"

    # One source, built hot-patchable and not.
    "${CC64[@]}" "${HOTPATCH[@]}" -c "$src/hotpatch.c" -o "$obj/hotpatch.x64.obj"
    "${LINK[@]}" "${EXE64[@]}" "${HARDENED64[@]}" /FUNCTIONPADMIN:6 \
        "$obj/hotpatch.x64.obj" "${LIB64[@]}" /IMPLIB:"$obj/hotpatch.x64.lib" /OUT:"$bin/hotpatch.x64.exe"
    "${CC64[@]}" -c "$src/hotpatch.c" -o "$obj/nohotpatch.x64.obj"
    "${LINK[@]}" "${EXE64[@]}" "${HARDENED64[@]}" \
        "$obj/nohotpatch.x64.obj" "${LIB64[@]}" /IMPLIB:"$obj/nohotpatch.x64.lib" /OUT:"$bin/nohotpatch.x64.exe"

    "${CC86[@]}" "${HOTPATCH[@]}" -c "$src/hotpatch.c" -o "$obj/hotpatch.x86.obj"
    "${LINK[@]}" /DLL /ENTRY:DllMainCRTStartup /MACHINE:X86 /DYNAMICBASE /FUNCTIONPADMIN:5 \
        "$obj/hotpatch.x86.obj" "$obj/loadcfg.x86.obj" "$obj/kernel32.x86.lib" /IMPLIB:"$obj/hotpatch.x86.lib" /OUT:"$bin/hotpatch.x86.dll"
    "${CC86[@]}" -c "$src/hotpatch.c" -o "$obj/nohotpatch.x86.obj"
    "${LINK[@]}" /DLL /ENTRY:DllMainCRTStartup /MACHINE:X86 /DYNAMICBASE \
        "$obj/nohotpatch.x86.obj" "$obj/loadcfg.x86.obj" "$obj/kernel32.x86.lib" /IMPLIB:"$obj/nohotpatch.x86.lib" /OUT:"$bin/nohotpatch.x86.dll"

    # Built hot-patchable with one function missed, and its PDB.  Linked inside $obj with
    # relative names and /PDBSOURCEPATH, so no scratch path reaches the PDB (whose hash, under
    # /Brepro, is the GUID in the image); /PDBALTPATH:%_PDB% records the PDB's bare file name.
    "${CC64[@]}" "${HOTPATCH[@]}" -c "$src/hotpatch-one.c" -o "$obj/hotpatch-one.obj"
    "${CC64[@]}" -fms-hotpatch -c "$src/hotpatch-one-tail.c" -o "$obj/hotpatch-one-tail.obj"
    (cd "$obj" && "${LINK[@]}" "${EXE64[@]}" "${HARDENED64[@]}" /FUNCTIONPADMIN:6 \
        /DEBUG /PDB:hotpatch-one.x64.pdb /PDBALTPATH:%_PDB% /PDBSOURCEPATH:/samples \
        hotpatch-one.obj hotpatch-one-tail.obj loadcfg.x64.obj kernel32.lib \
        /IMPLIB:hotpatch-one.x64.lib /OUT:hotpatch-one.x64.exe)
    mv "$obj/hotpatch-one.x64.exe" "$obj/hotpatch-one.x64.pdb" "$bin/"

    # No ASLR: /FIXED drops the relocations.  lld-link keeps its default HIGH_ENTROPY_VA bit.
    "${CC64[@]}" "${HOTPATCH[@]}" -c "$src/aslr-off.c" -o "$obj/aslr-off.obj"
    "${LINK[@]}" "${EXE64[@]}" /DYNAMICBASE:NO /FIXED /FUNCTIONPADMIN:6 \
        "$obj/aslr-off.obj" "${LIB64[@]}" /OUT:"$bin/aslr-off.x64.exe"

    # A read-write-execute section.
    "${CC64[@]}" "${HOTPATCH[@]}" -c "$src/wx-section.c" -o "$obj/wx-section.obj"
    "${LINK[@]}" "${EXE64[@]}" "${HARDENED64[@]}" /FUNCTIONPADMIN:6 /SECTION:.wxtext,RWE \
        "$obj/wx-section.obj" "${LIB64[@]}" /OUT:"$bin/wx-section.x64.exe"

    rm -rf "$obj"
}

images() { (cd "$1" && ls -1 *.exe *.dll *.pdb | LC_ALL=C sort); }

if [[ ${1:-} == --repro ]]; then
    a=$(mktemp -d); b=$(mktemp -d)
    trap 'rm -rf "$a" "$b"' EXIT
    build_all "$a"
    build_all "$b"
    (cd "$a" && sha256sum $(images "$a")) > "$a.sums"
    (cd "$b" && sha256sum $(images "$b")) > "$b.sums"
    if ! diff -u "$a.sums" "$b.sums"; then
        echo "build.sh: two builds differ" >&2; rm -f "$a.sums" "$b.sums"; exit 1
    fi
    if ! (cd "$here/bin" && sha256sum --quiet -c "$a.sums"); then
        echo "build.sh: samples/bin differs from a fresh build (run bash samples/build.sh)" >&2
        rm -f "$a.sums" "$b.sums"; exit 1
    fi
    rm -f "$a.sums" "$b.sums"
    echo "build.sh: reproducible; samples/bin matches a fresh build"
    exit 0
fi

build_all "$here/bin"
echo "build.sh: built $(images "$here/bin" | wc -l) images in samples/bin"
