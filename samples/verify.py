#!/usr/bin/env python3
"""Independent cross-check of the sample images (not part of pelint).

For every image in samples/bin it recomputes, from the raw file and from GNU objdump's
disassembly, the facts each .expected file relies on, and prints the rule IDs this script
would raise next to the expected ones:

  PE1001/1002/1004-1007/1009/1010  header flags, relocations, load config guard table, sections
  PE1008                           CET_COMPAT in the debug directory's ex-DllCharacteristics entry
  PE2001/PE2002                    first instruction >= 2 bytes, >= 6 (x64) / 5 (x86) bytes of
                                   CC/90 before each entry not covered by another .pdata entry
                                   (per function when the image shows hot-patch intent, else one note)
  PE3001..                         prolog instructions vs. unwind codes (offsets, ops, registers),
                                   chained / low-bit indirect entries, v2 EPILOG codes
  PE3005/PE3006/PE3009             every ret / tail jmp classified by the documented epilog form
                                   (PE3009 only as a note: the rule is off by default)
                                   (add rsp / lea rsp, pops, ret or tail jmp, nothing between)
  scope tables                     __C_specific_handler records inside their function

It is a test aid with a deliberately small x64 pattern set (what these samples contain), not a
general analyzer; it skips the stackwalk-* images, whose expectations depend on the stack state.  Usage: python3 samples/verify.py   (needs x86_64-w64-mingw32-objdump)
"""
import os, re, struct, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.join(HERE, "bin")
REGS = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"] + ["r%d" % i for i in range(8, 16)]


class Pe:
    def __init__(self, path):
        self.path, self.data = path, open(path, "rb").read()
        d = self.data
        pe = struct.unpack_from("<I", d, 0x3C)[0]
        self.machine, nsec, _, _, _, osize, self.chars = struct.unpack_from("<HHIIIHH", d, pe + 4)
        opt = pe + 24
        self.pe32plus = struct.unpack_from("<H", d, opt)[0] == 0x20B
        if self.pe32plus:
            self.base = struct.unpack_from("<Q", d, opt + 24)[0]
            self.dllchars = struct.unpack_from("<H", d, opt + 70)[0]
            dd = opt + 112
        else:
            self.base = struct.unpack_from("<I", d, opt + 28)[0]
            self.dllchars = struct.unpack_from("<H", d, opt + 70)[0]
            dd = opt + 96
        self.dirs = [struct.unpack_from("<II", d, dd + 8 * i) for i in range(16)]
        self.sections = []
        for i in range(nsec):
            o = opt + osize + 40 * i
            name = d[o:o + 8].rstrip(b"\0").decode()
            vsize, va, rsize, rptr = struct.unpack_from("<IIII", d, o + 8)
            ch = struct.unpack_from("<I", d, o + 36)[0]
            self.sections.append((name, va, max(vsize, rsize), rptr, rsize, ch))

    def off(self, rva):
        for _, va, size, rptr, rsize, _ in self.sections:
            if va <= rva < va + size:
                return rptr + rva - va if rva - va < rsize else None
        return None

    def read(self, rva, n):
        o = self.off(rva)
        return self.data[o:o + n] if o is not None else b"\0" * n

    def u32(self, rva):
        return struct.unpack("<I", self.read(rva, 4))[0]

    def in_exec(self, rva):
        return any(va <= rva < va + size and ch & 0x20000000 for _, va, size, _, _, ch in self.sections)

    def exports(self):
        rva, size = self.dirs[0]
        if not rva:
            return {}
        n_funcs, n_names, funcs, names, ords = struct.unpack("<IIIII", self.read(rva + 20, 20))
        out = {}
        for i in range(n_names):
            nrva = self.u32(names + 4 * i)
            o = self.off(nrva)
            name = self.data[o:self.data.index(b"\0", o)].decode()
            ordinal = struct.unpack("<H", self.read(ords + 2 * i, 2))[0]
            out[self.u32(funcs + 4 * ordinal)] = name
        return out


def disasm(pe):
    """rva -> (length, text) for every instruction objdump decodes in executable sections."""
    out = subprocess.run(["x86_64-w64-mingw32-objdump", "-d", "-M", "intel", "-w", pe.path],
                         capture_output=True, text=True, check=True).stdout
    insns = {}
    for line in out.splitlines():
        m = re.match(r"\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t?(.*)$", line)
        if m:
            rva = int(m.group(1), 16) - pe.base
            insns[rva] = (len(m.group(2).split()), m.group(3).strip())
    return insns


def parse_unwind(pe, rva):
    b = pe.read(rva, 4)
    ver, flags, prolog, count = b[0] & 7, b[0] >> 3, b[1], b[2]
    frame_reg, frame_off = b[3] & 15, b[3] >> 4
    raw = pe.read(rva + 4, 2 * count)
    codes, i, epilogs = [], 0, []
    while i < count:
        off, op, info = raw[2 * i], raw[2 * i + 1] & 15, raw[2 * i + 1] >> 4
        if op == 6 and ver == 2:
            epilogs.append((off, info)); i += 1; continue
        if op == 0: codes.append((off, "push", REGS[info])); i += 1
        elif op == 2: codes.append((off, "alloc", info * 8 + 8)); i += 1
        elif op == 1 and info == 0:
            codes.append((off, "alloc", struct.unpack_from("<H", raw, 2 * i + 2)[0] * 8)); i += 2
        elif op == 1: codes.append((off, "alloc", struct.unpack_from("<I", raw, 2 * i + 2)[0])); i += 3
        elif op == 3: codes.append((off, "setfp", None)); i += 1
        else: raise ValueError("op %d not used by the samples" % op)
    tail = rva + 4 + 2 * (count + (count & 1))
    return dict(ver=ver, flags=flags, prolog=prolog, frame_reg=frame_reg, frame_off=frame_off,
                codes=codes, epilogs=epilogs, tail=tail)


def check(path):
    pe = Pe(path)
    found, notes = [], []
    x64 = pe.machine == 0x8664
    dc = pe.dllchars
    if not dc & 0x40: found.append("PE1001")
    if dc & 0x40 and (pe.chars & 1 or not pe.dirs[5][0]): found.append("PE1002")
    if pe.pe32plus and (not dc & 0x20 or not dc & 0x40): found.append("PE1004")
    if not dc & 0x100: found.append("PE1005")
    if pe.pe32plus and pe.base < 1 << 32: found.append("PE1006")
    lc_rva = pe.dirs[10][0]
    guard_ok = False
    if dc & 0x4000 and lc_rva:
        size = pe.u32(lc_rva)
        table_off, count_off = (0x80, 0x88) if x64 else (0x50, 0x54)
        fmt = "<Q" if x64 else "<I"
        table = struct.unpack(fmt, pe.read(lc_rva + table_off, 8 if x64 else 4))[0]
        guard_ok = size > count_off and table != 0
        notes.append("load config Size 0x%X, GuardCFFunctionTable 0x%X" % (size, table))
    if not guard_ok: found.append("PE1007")
    cet = False
    drva, dsize = pe.dirs[6]
    for i in range(dsize // 28):
        typ, size, rva = struct.unpack("<III", pe.read(drva + 28 * i + 12, 12))
        if typ == 20 and pe.u32(rva) & 1: cet = True
    if not cet: found.append("PE1008")
    for name, _, _, _, _, ch in pe.sections:
        if ch & 0x80000000 and ch & 0x20000000: found.append("PE1009"); notes.append("W+X section " + name)
        if ch & 0x80000000 and ch & 0x10000000: found.append("PE1010")

    insns = disasm(pe)
    exports = pe.exports()

    # .pdata
    entries = []
    prva, psize = pe.dirs[3]
    for i in range(psize // 12):
        entries.append(struct.unpack("<III", pe.read(prva + 12 * i, 12)) + (prva + 12 * i,))
    if [e[0] for e in entries] != sorted(e[0] for e in entries): found.append("PE3001"); notes.append(".pdata unsorted")
    by_rva = {e[3]: e for e in entries}
    funcs = {}   # begin -> dict(ranges, info, primary)
    for begin, end, unw, _ in entries:
        hops, target = 0, unw
        parent = None
        while target & 1:            # RUNTIME_FUNCTION_INDIRECT
            e = by_rva.get(target & ~1)
            if e is None: found.append("PE3002"); notes.append("bad indirect 0x%X" % target); break
            parent, target, hops = e[0], e[2], hops + 1
            if hops > 8: found.append("PE3002"); break
        info = parse_unwind(pe, target & ~1)
        while info["flags"] & 4:     # CHAININFO: continue with the parent's RUNTIME_FUNCTION
            pb, pe_, pu = struct.unpack("<III", pe.read(info["tail"], 12))
            if not any(e[0] == pb and e[1] == pe_ and e[2] == pu for e in entries):
                found.append("PE3003"); notes.append("chain to missing parent 0x%X" % pb)
            parent, info = pb, parse_unwind(pe, pu)
        key = parent if parent is not None else begin
        f = funcs.setdefault(key, dict(ranges=[], info=None))
        f["ranges"].append((begin, end))
        if parent is None: f["info"] = info
        else: notes.append("fragment 0x%X-0x%X uses the unwind data of 0x%X" % (begin, end, parent))

    # prolog instructions vs codes (primary entries only)
    for begin, f in funcs.items():
        info = f["info"]
        expect, rva = [], begin
        while rva < begin + info["prolog"]:
            n, t = insns[rva]
            rva += n
            off = rva - begin
            m = re.match(r"(?:rex )?push\s+(r\w+)$", t)
            if m: expect.append((off, "push", m.group(1))); continue
            m = re.match(r"sub\s+rsp,(0x[0-9a-f]+)$", t)
            if m: expect.append((off, "alloc", int(m.group(1), 16))); continue
            if re.match(r"lea\s+(\w+),\[rsp\+0x[0-9a-f]+\]$", t):
                expect.append((off, "setfp", None)); continue
        if sorted(expect, reverse=True) != info["codes"]:
            found.append("PE3004"); notes.append("0x%X prolog %s != codes %s" % (begin, expect, info["codes"]))
        if info["prolog"] and rva != begin + info["prolog"]:
            found.append("PE3004"); notes.append("0x%X SizeOfProlog splits an instruction" % begin)
        if info["ver"] == 2:
            end = max(e for _, e in f["ranges"])
            size, at_end = info["epilogs"][0]
            sites = ([end - size] if at_end & 1 else []) + [end - (o | i << 8) for o, i in info["epilogs"][1:] if o | i << 8]
            f["v2"] = sorted(sites)
            notes.append("0x%X v2 EPILOG codes: size %d at %s" % (begin, size, [hex(s) for s in sites]))

    # epilogs
    undocumented = 0
    for begin, f in funcs.items():
        info = f["info"]
        pushes = [c[2] for c in sorted(info["codes"]) if c[1] == "push"]
        alloc = sum(c[2] for c in info["codes"] if c[1] == "alloc")
        fp = REGS[info["frame_reg"]] if info["frame_reg"] else None
        v2_starts = []

        def inside(t):
            return any(b <= t < e for b, e in f["ranges"])
        for b, e in f["ranges"]:
            seq, rva = [], b
            while rva < e:
                n, t = insns[rva]; seq.append((rva, n, t)); rva += n
            for k, (rva, n, t) in enumerate(seq):
                terminal = re.match(r"(repz )?ret", t) or re.match(r"(rex\.W )?jmp\s+QWORD PTR \[rip", t)
                m = re.match(r"jmp\s+([0-9a-f]+)", t)
                if m and not inside(int(m.group(1), 16) - pe.base): terminal = True
                if not terminal: continue
                j = k - 1
                pops = []
                while j >= 0 and re.match(r"pop\s+(r\w+)$", seq[j][2]):
                    pops.insert(0, re.match(r"pop\s+(r\w+)$", seq[j][2]).group(1)); j -= 1
                first_pop = seq[j + 1][0] if pops else rva
                rel = seq[j][2] if j >= 0 else ""
                kind, size = None, None
                if re.match(r"add\s+rsp,0x", rel): kind, size = "add", int(rel.split(",")[1], 16)
                elif fp and re.match(r"lea\s+rsp,\[%s\+0x" % fp, rel):
                    kind, size = "lea-fp", int(re.search(r"\+(0x[0-9a-f]+)", rel).group(1), 16) + info["frame_off"] * 16
                elif re.match(r"(lea\s+rsp,\[rsp\+|sub\s+rsp,0xffffff|mov\s+rsp,)", rel): kind = "undoc"
                where = "fn 0x%X epilog at 0x%X" % (begin, seq[j + 1][0] if kind is None else seq[j][0])
                if kind is None and alloc:
                    # nothing releases the frame right before the pops: look for a release a few
                    # instructions further back (an instruction scheduled into the epilog)
                    back = [s[2] for s in seq[max(0, j - 3):j + 1]]
                    if any(re.match(r"(add|sub)\s+rsp|lea\s+rsp|mov\s+rsp", x) for x in back) or pops:
                        found.append("PE3005"); notes.append(where + ": instruction inside epilog (%s)" % rel)
                        continue
                    if not pops:
                        continue  # a jmp/ret that is not an epilog of this frame
                if kind == "undoc":
                    undocumented += 1; notes.append(where + ": undocumented release '%s'" % rel)
                if pops != list(reversed(pushes)) or (kind in ("add", "lea-fp") and size != alloc):
                    found.append("PE3006"); notes.append(where + ": pops %s / release %s vs pushes %s / alloc %s" % (pops, size, pushes, alloc))
                v2_starts.append(first_pop)
        if "v2" in f and sorted(v2_starts) != f["v2"]:
            found.append("PE3008"); notes.append("0x%X v2 EPILOG sites %s != scanned %s" % (begin, f["v2"], v2_starts))
    if undocumented: notes.append("PE3009 (off by default, so not expected): %d undocumented release(s)" % undocumented)

    # scope tables (first: their filter/__finally funclets are not hot-patch entries)
    funclets = set()
    for begin, f in funcs.items():
        info = f["info"]
        if not info["flags"] & 3: continue
        handler = pe.u32(info["tail"])
        n, t = insns[handler]
        count = pe.u32(info["tail"] + 4)
        recs = [struct.unpack("<IIII", pe.read(info["tail"] + 8 + 16 * i, 16)) for i in range(count)]
        notes.append("0x%X handler 0x%X (%s), %d scope records %s" % (begin, handler, t, count,
                     [tuple(hex(x) for x in r) for r in recs]))
        lo, hi = min(b for b, _ in f["ranges"]), max(e for _, e in f["ranges"])
        for b, e, h, j in recs:
            if not (lo <= b < e <= hi) or not (h == 1 or pe.in_exec(h)) or not (j == 0 or lo <= j < hi):
                found.append("PE3007"); notes.append("bad scope record")
            if h != 1 and not (lo <= h < hi):
                funclets.add(h)  # a filter or __finally funclet: reached through the table, never called
    # hot-patch
    pad_need = 6 if x64 else 5
    entry_points = (set(funcs) - funclets) | set(exports)
    covered = [(b, e) for f in funcs.values() for b, e in f["ranges"]]
    first_bad = pad_bad = compliant = 0
    bad_first, bad_pad = [], []
    for ep in sorted(entry_points):
        n, t = insns.get(ep, (0, "?"))
        ok_first = n >= 2
        if not ok_first: first_bad += 1; bad_first.append(ep); notes.append("0x%X %s: first instruction '%s' is %d byte" % (ep, exports.get(ep, ""), t, n))
        pad = pe.read(ep - pad_need, pad_need)
        owned = any(b < ep and e > ep - pad_need for b, e in covered if b != ep)
        sec_start = any(va <= ep < va + pad_need for _, va, _, _, _, _ in pe.sections)
        ok_pad = not (sec_start or owned or any(c not in (0xCC, 0x90) for c in pad))
        if not ok_pad:
            pad_bad += 1; bad_pad.append(ep); notes.append("0x%X %s: padding %s%s" % (ep, exports.get(ep, ""), pad.hex(), " (owned)" if owned else ""))
        compliant += ok_first and ok_pad
    # Intent: at least 90% of the entries compliant, or all but one of 5 or more (rules/PE2001.md).
    total = len(entry_points)
    intent = total > 0 and (compliant >= 0.9 * total or (total >= 5 and total - compliant <= 1))
    notes.append("hot-patch intent: %s (%d of %d entries compliant)" % (intent, compliant, total))
    if intent:
        found += ["PE2001"] * first_bad + ["PE2002"] * pad_bad   # one warning per function
    elif total:
        found.append("PE2002")                                  # one note: not built hot-patchable

    return sorted(found), notes


def main():
    ok = True
    for name in sorted(os.listdir(BIN)):
        if not name.endswith((".exe", ".dll")): continue
        if name.startswith("stackwalk-"):
            # Their expectations depend on the stack state at each instruction (frame register,
            # handler-only functions, released slots), which this script's epilog patterns
            # cannot judge; pelint's verifier and the Wine oracle test check them.
            print("%-30s %-8s (stack-walk classes, not judged by epilog patterns)" % (name, "skipped"))
            continue
        got, notes = check(os.path.join(BIN, name))
        exp_path = os.path.join(BIN, name + ".expected")
        want = sorted(l.strip() for l in open(exp_path) if l.strip() and not l.startswith("#")) if os.path.exists(exp_path) else None
        status = "ok" if got == want else "MISMATCH"
        ok &= status == "ok"
        print("%-30s %-8s got %s expected %s" % (name, status, got, want))
        if "-v" in sys.argv or status != "ok":
            for n in notes: print("    " + n)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
