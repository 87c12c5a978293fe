#!/usr/bin/env python3
"""Evidence about a PE image: machine, Rich header, toolchain markers, hand-written assembly.

Usage:
  pe_evidence.py FILE...            one line per file: machine, toolchain, evidence
  pe_evidence.py --json FILE...     one JSON object per line
  pe_evidence.py --check MANIFEST [DIR]
                                    re-derive machine and toolchain of every cached image of the
                                    manifest (DIR: the cache, default $PELINT_CORPUS_DIR or
                                    ~/.cache/pelint/corpus) and list the rows that disagree

The rules are written out in tests/corpus/README.md ("How the toolchain was identified"); this
file is their only implementation. It reads only the bytes of the file: no external tool.
"""
import json
import os
import re
import struct
import sys

MACHINES = {0x8664: "x64", 0x14C: "x86", 0xAA64: "arm64", 0xA641: "arm64ec", 0x1C4: "arm"}
SUBSYSTEMS = {1: "native", 2: "gui", 3: "cui", 10: "efi-app", 11: "efi-boot", 12: "efi-runtime",
              13: "efi-rom", 16: "boot-app"}

# Rich header product ids (the high 16 bits of a comp id), Visual Studio 2005 to 2015+.
# Compiler families from 2010 on: C = base, base+4 (LTCG), base+7 (POGO_I), base+9 (POGO_O);
# C++ = the same plus one.
_UTC_BASES = {0xAA: "16.00", 0xBC: "16.10", 0xCE: "17.00", 0xE0: "18.00", 0xF2: "18.10", 0x104: "19.xx"}
RICH_C = {b + d for b in _UTC_BASES for d in (0, 4, 7, 9)} | {0x6D, 0x71, 0x73, 0x75, 0x83, 0x89, 0x8C, 0x8E}
RICH_CPP = {b + d for b in _UTC_BASES for d in (1, 5, 8, 10)} | {0x6E, 0x72, 0x74, 0x76, 0x84, 0x8A, 0x8D, 0x8F}
RICH_MASM = {0x7D, 0x95, 0x9E, 0xBB, 0xCD, 0xDF, 0xF1, 0x103}
LINKER_VERSION = {0x78: "8.00", 0x91: "9.00", 0x9D: "10.00", 0xBA: "10.10", 0xCC: "11.00", 0xDE: "12.00",
                  0xF0: "12.10", 0x102: "14.x"}
RICH_LINKER = set(LINKER_VERSION)

# Byte patterns searched over the whole file.
MARKERS = {
    "go-buildinf": re.compile(rb"\xff Go buildinf:"),
    "go-build-id": re.compile(rb"Go build ID: \""),
    "go-runtime": re.compile(rb"runtime\.goexit"),
    "rustc-path": re.compile(rb"/rustc/([0-9a-f]{40})/"),
    "rust-std": re.compile(rb"library[/\\]std[/\\]src[/\\]"),
    "gcc-ident": re.compile(rb"(GCC: \([^)\x00]{1,60}\) [0-9][0-9.]*)"),
    "mingw-runtime": re.compile(rb"Mingw-w64 runtime failure:|Mingw runtime failure:"),
    "clang-ident": re.compile(rb"clang version ([0-9][0-9.]*)"),
    "wine-builtin": re.compile(rb"Wine builtin DLL"),
    "dart-vm": re.compile(rb"Dart_Initialize|dart:core|_kDartVmSnapshotData"),
    "zig": re.compile(rb"zig[/\\]lib[/\\]std[/\\]"),
    # hand-written assembly
    "cryptogams": re.compile(rb"CRYPTOGAMS by <"),
    "openssl": re.compile(rb"OpenSSL ([0-9]+\.[0-9]+\.[0-9]+[a-z]?) +[0-9]{1,2} [A-Z][a-z]{2} [0-9]{4}"),
    "boringssl": re.compile(rb"BoringSSL"),
    "ring": re.compile(rb"ring-0\.(1[0-9]\.[0-9]+)"),
    "libgcrypt": re.compile(rb"Libgcrypt ([0-9.]+)"),
    "ffmpeg": re.compile(rb"FFmpeg version|ffmpeg version"),
    # PE writers that are not linkers
    "ipxe": re.compile(rb"iPXE"),
    "grub": re.compile(rb"GNU GRUB"),
}


def u16(b, o): return struct.unpack_from("<H", b, o)[0]
def u32(b, o): return struct.unpack_from("<I", b, o)[0]
def u64(b, o): return struct.unpack_from("<Q", b, o)[0]


def pe_header(b):
    """(e_lfanew, machine) if b starts a PE image, else None."""
    if len(b) < 0x40 or b[:2] != b"MZ":
        return None
    e = u32(b, 0x3C)
    if e + 24 > len(b) or b[e:e + 4] != b"PE\0\0":
        return None
    return e, u16(b, e + 4)


def is_pe_file(path):
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
            h = pe_header(head)
            if h is None and head[:2] == b"MZ" and len(head) >= 0x40:
                e = u32(head, 0x3C)
                f.seek(e)
                return f.read(4) == b"PE\0\0"
            return h is not None
    except OSError:
        return False


def rich(b, e):
    """Decoded Rich header entries [(prodid, build, count)] or None."""
    end = b.find(b"Rich", 0x80, e)
    if end < 0:
        return None
    key = u32(b, end + 4)
    dans = struct.pack("<I", 0x536E6144 ^ key)  # "DanS"
    start = b.rfind(dans, 0x40, end)
    if start < 0:
        return None
    entries = []
    for o in range(start + 16, end, 8):
        compid, count = u32(b, o) ^ key, u32(b, o + 4) ^ key
        entries.append((compid >> 16, compid & 0xFFFF, count))
    return entries


class Image:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.b = b = f.read()
        h = pe_header(b)
        if h is None:
            raise ValueError("not a PE image")
        e, machine = h
        self.e = e
        self.machine_raw = machine
        nsec = u16(b, e + 6)
        self.characteristics = u16(b, e + 22)
        opt = e + 24
        self.magic = u16(b, opt)
        self.linker = (b[opt + 2], b[opt + 3])
        self.subsystem = u16(b, opt + 68)
        self.dllchars = u16(b, opt + 70)
        if self.magic == 0x20B:
            self.image_base = u64(b, opt + 24)
            ndd_off = opt + 108
            dd = opt + 112
        else:
            self.image_base = u32(b, opt + 28)
            ndd_off = opt + 92
            dd = opt + 96
        ndd = min(u32(b, ndd_off), 16)
        self.dirs = [(u32(b, dd + 8 * i), u32(b, dd + 8 * i + 4)) if i < ndd else (0, 0)
                     for i in range(16)]
        sh = opt + u16(b, e + 20)
        self.sections = []
        for i in range(nsec):
            o = sh + 40 * i
            if o + 40 > len(b):
                break
            name = b[o:o + 8].rstrip(b"\0").decode("latin-1")
            vsize, va, rsize, rptr, chars = u32(b, o + 8), u32(b, o + 12), u32(b, o + 16), u32(b, o + 20), u32(b, o + 36)
            self.sections.append((name, va, vsize, rptr, rsize, chars))
        self.rich = rich(b, e)

    def rva_to_off(self, rva):
        for _, va, vs, rp, rs, _ in self.sections:
            if va <= rva < va + max(vs, rs):
                off = rp + rva - va
                return off if off < len(self.b) else None
        return None

    @property
    def managed(self):
        return self.dirs[14][0] != 0

    def chpe_metadata(self):
        """CHPEMetadataPointer of the load config (non-zero in ARM64EC / ARM64X images)."""
        rva, size = self.dirs[10]
        if not rva:
            return 0
        off = self.rva_to_off(rva)
        if off is None:
            return 0
        lc_size = u32(self.b, off)
        if self.magic == 0x20B and lc_size >= 208 and off + 208 <= len(self.b):
            return u64(self.b, off + 200)
        if self.magic == 0x10B and lc_size >= 128 and off + 128 <= len(self.b):
            return u32(self.b, off + 124)
        return 0

    @property
    def machine(self):
        m = MACHINES.get(self.machine_raw, hex(self.machine_raw))
        if m == "x64" and self.chpe_metadata():
            return "arm64ec"
        if m == "arm64" and self.chpe_metadata():
            return "arm64x"
        return m

    def go_version(self):
        p = self.b.find(b"\xff Go buildinf:")
        if p < 0:
            return None
        flags = self.b[p + 15]
        if flags & 2:  # Go 1.18+: inline, varint-prefixed strings at +32
            o, n, shift = p + 32, 0, 0
            while True:
                c = self.b[o]
                n |= (c & 0x7F) << shift
                o += 1
                shift += 7
                if c < 0x80:
                    break
            return self.b[o:o + n].decode("latin-1")
        m = re.search(rb"go1\.[0-9]+(\.[0-9]+)?", self.b)
        return m.group(0).decode() if m else "go (old buildinfo)"


def evidence(path):
    img = Image(path)
    b = img.b
    ev = {"machine": img.machine, "bits": 64 if img.magic == 0x20B else 32,
          "subsystem": SUBSYSTEMS.get(img.subsystem, str(img.subsystem)),
          "linker": "%d.%d" % img.linker, "managed": img.managed,
          "sections": [s[0] for s in img.sections], "size": len(b)}
    pdata = img.dirs[3][1]
    if img.machine in ("x64", "arm64", "arm64ec") and pdata:
        ev["pdata_entries"] = pdata // (12 if img.machine in ("x64",) else 8)
    if img.rich is not None:
        cnt = lambda ids: sum(c for p, _, c in img.rich if p in ids)
        ev["rich"] = {
            "entries": len(img.rich),
            "linker": "%s build %s" % max(((LINKER_VERSION.get(p, "?"), bd) for p, bd, _ in img.rich
                                             if p in RICH_LINKER), default=("?", "?")),
            "c": cnt(RICH_C), "cpp": cnt(RICH_CPP), "masm": cnt(RICH_MASM),
            "unmarked": sum(c for p, _, c in img.rich if p == 0 and _ == 0),
        }
    found = {}
    for name, rx in MARKERS.items():
        m = rx.search(b)
        if m:
            found[name] = m.group(1).decode("latin-1") if m.groups() else True
    if "go-buildinf" in found or "go-build-id" in found:
        found["go-version"] = img.go_version()
    ev["markers"] = found
    tc, why = classify(ev)
    ev["toolchain"], ev["why"] = tc, why
    ev["handasm"] = handasm(ev)
    return ev


def classify(ev):
    """(toolchain, the rule that decided it). Most specific language runtime first."""
    m, r = ev["markers"], ev.get("rich")
    gcc = "gcc-ident" in m or "mingw-runtime" in m or "wine-builtin" in m
    go_linker = ev["linker"] == "3.0" and ".symtab" in ev["sections"]
    if "go-buildinf" in m or "go-build-id" in m or (go_linker and "go-runtime" in m):
        what = ("Go buildinfo %s" % m["go-version"]) if m.get("go-version") else \
            "Go linker (version 3.0, .symtab) + runtime.goexit"
        if gcc:
            return "mixed", what + " + GCC ident (cgo)"
        return "go", what
    if "rustc-path" in m or "rust-std" in m:
        rustc = "rustc %s" % (m["rustc-path"][:10] if "rustc-path" in m else "std paths")
        if gcc:
            return "llvm-rust", rustc + " + GNU ld, mingw CRT (windows-gnu target)"
        return "llvm-rust", rustc + (" + MSVC link (Rich)" if r else " + no Rich header (lld)")
    if "dart-vm" in m:
        return "dart", "Dart VM strings"
    if "zig" in m:
        return "mixed", "Zig std paths"
    if "gcc-ident" in m:
        return "gcc", m["gcc-ident"]
    if "wine-builtin" in m:
        return "gcc", "Wine builtin DLL stub"
    if "mingw-runtime" in m:
        if ev["linker"].startswith("2."):
            return "gcc", "mingw runtime strings + GNU ld (linker %s)" % ev["linker"]
        if ev["linker"] == "14.0":
            return "llvm-c", "mingw runtime strings + lld (linker 14.0, no Rich header): llvm-mingw"
    if ev["linker"].startswith("2.") and not r:
        return "gcc", "GNU ld/objcopy linker version %s, no Rich header" % ev["linker"]
    if ev["linker"] == "42.42" and "ipxe" in m:
        return "gcc", "iPXE elf2efi (linker 42.42) from GCC ELF objects"
    if ev["linker"] == "0.0" and "grub" in m:
        return "gcc", "grub-mkimage (linker 0.0) from GCC ELF modules"
    if r:
        compiled = r["c"] + r["cpp"]
        if compiled == 0 and r["unmarked"] > 0:
            return "llvm-c", "Rich header without Utc objects (clang-cl + MSVC link)"
        return "msvc", "Rich header: %d C, %d C++, %d MASM objects, link %s" % (
            r["c"], r["cpp"], r["masm"], r["linker"])
    if "clang-ident" in m:
        return "llvm-c", "clang ident %s, no Rich header" % m["clang-ident"]
    if ev["linker"] == "14.0":
        return "llvm-c", "no Rich header, linker version 14.0 (lld-link default)"
    return "unknown", "no Rich header, linker %s" % ev["linker"]


def handasm(ev):
    """Why the image contains hand-written assembly, or ''."""
    m, r = ev["markers"], ev.get("rich")
    notes = []
    libs = [n for k, n in (("boringssl", "BoringSSL"), ("openssl", "OpenSSL"), ("ring", "ring")) if k in m]
    if "cryptogams" in m:
        notes.append("%s perlasm (CRYPTOGAMS strings)" % "+".join(libs or ["CRYPTOGAMS"]))
    elif libs:
        notes.append("%s strings, no CRYPTOGAMS banner (asm unconfirmed)" % "+".join(libs))
    if "ffmpeg" in m:
        notes.append("FFmpeg (x86inc/NASM kernels)")
    if "libgcrypt" in m:
        notes.append("libgcrypt %s (hand-written .S)" % m["libgcrypt"])
    if ev["toolchain"] in ("go", "mixed") and ("go-buildinf" in m or "go-build-id" in m or "go-runtime" in m):
        notes.append("Go runtime asm")
    if r and r["masm"]:
        notes.append("%d MASM objects" % r["masm"])
    return "; ".join(notes)


def line(path, ev):
    return "%s\t%s\t%s\t%s\t%s" % (path, ev["machine"], ev["toolchain"], ev["why"], ev["handasm"])


def check(manifest, cache):
    bad = 0
    with open(manifest) as f:
        header = f.readline().rstrip("\n").split("\t")
        for row in f:
            if not row.strip() or row.startswith("#"):
                continue
            r = dict(zip(header, row.rstrip("\n").split("\t")))
            p = os.path.join(cache, r["machine"], r["toolchain"], r["id"])
            if not os.path.exists(p):
                print("missing\t%s" % p)
                bad += 1
                continue
            ev = evidence(p)
            machine = "arm64" if ev["machine"] == "arm64x" else ev["machine"]  # ARM64X rows say so in notes
            by_hand = "toolchain by hand" in r["notes"]  # the rule's answer is in the note
            if machine != r["machine"] or (ev["toolchain"] != r["toolchain"] and not by_hand):
                print("differs\t%s\tmanifest %s/%s\tevidence %s/%s (%s)" % (
                    r["id"], r["machine"], r["toolchain"], ev["machine"], ev["toolchain"], ev["why"]))
                bad += 1
    print("%d rows disagree" % bad)
    return 1 if bad else 0


def main(argv):
    if argv and argv[0] == "--check":
        cache = argv[2] if len(argv) > 2 else os.environ.get(
            "PELINT_CORPUS_DIR", os.path.expanduser("~/.cache/pelint/corpus"))
        return check(argv[1], cache)
    as_json = argv and argv[0] == "--json"
    for p in argv[1:] if as_json else argv:
        try:
            ev = evidence(p)
        except (ValueError, OSError, struct.error) as ex:
            print("%s\terror\t%s" % (p, ex), file=sys.stderr)
            continue
        print(json.dumps(dict(ev, path=p)) if as_json else line(p, ev))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
