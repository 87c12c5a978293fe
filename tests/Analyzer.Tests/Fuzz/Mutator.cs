using System.Buffers.Binary;

namespace Pelint.Tests.Fuzz;

/// <summary>A small, stable PRNG (SplitMix64): the same seed gives the same mutant on every runtime.</summary>
internal struct SplitMix64(ulong state)
{
    private ulong _state = state;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform-enough in [0, max) for max > 0.</summary>
    public int Below(int max) => (int)(Next() % (ulong)max);
}

/// <summary>
/// Where the interesting structures of a seed image sit, found with a minimal parser of our own
/// (independent of the code under test): header fields, data directories, section headers,
/// RUNTIME_FUNCTION entries, UNWIND_INFO records, chained entries and C scope tables.
/// </summary>
internal sealed class SeedLayout
{
    /// <summary>A field to overwrite: its file offset and width in bytes (1, 2, 4 or 8).</summary>
    public readonly record struct Field(int Offset, int Width);

    public List<Field> HeaderFields { get; } = [];

    public List<Field> DirectoryFields { get; } = [];

    public List<Field> SectionFields { get; } = [];

    public List<Field> RuntimeFunctionFields { get; } = [];

    public List<Field> UnwindFields { get; } = [];

    public List<Field> ChainAndScopeFields { get; } = [];

    /// <summary>Raw data ranges of sections (offset, length), for splices.</summary>
    public List<(int Offset, int Length)> SectionRaw { get; } = [];

    public uint ExceptionRva { get; private set; }

    public static SeedLayout Of(byte[] f)
    {
        var l = new SeedLayout();
        if (!TryU32(f, 0x3C, out var lfanew) || lfanew > (uint)f.Length - 24)
        {
            return l;
        }

        var coff = (int)lfanew + 4;
        l.HeaderFields.Add(new(0x3C, 4));
        l.HeaderFields.Add(new(coff, 2)); // Machine
        l.HeaderFields.Add(new(coff + 2, 2)); // NumberOfSections
        l.HeaderFields.Add(new(coff + 8, 4)); // PointerToSymbolTable
        l.HeaderFields.Add(new(coff + 12, 4)); // NumberOfSymbols
        l.HeaderFields.Add(new(coff + 16, 2)); // SizeOfOptionalHeader
        l.HeaderFields.Add(new(coff + 18, 2)); // Characteristics
        var sections = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(coff + 2));
        var sizeOfOptional = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(coff + 16));
        var opt = coff + 20;
        if (opt + 96 > f.Length)
        {
            return l;
        }

        var plus = BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(opt)) == 0x20B;
        l.HeaderFields.Add(new(opt, 2)); // Magic
        foreach (var (o, w) in new[] { (16, 4), (20, 4), (32, 4), (36, 4), (56, 4), (60, 4), (64, 4), (68, 2), (70, 2) })
        {
            l.HeaderFields.Add(new(opt + o, w)); // entry, base of code, alignments, sizes, checksum, subsystem, dll characteristics
        }

        l.HeaderFields.Add(plus ? new(opt + 24, 8) : new(opt + 28, 4)); // ImageBase
        var numberOfRva = opt + (plus ? 108 : 92);
        l.HeaderFields.Add(new(numberOfRva, 4));
        var dirs = opt + (plus ? 112 : 96);
        for (var i = 0; i < 16 && dirs + (i * 8) + 8 <= f.Length; i++)
        {
            l.DirectoryFields.Add(new(dirs + (i * 8), 4));
            l.DirectoryFields.Add(new(dirs + (i * 8) + 4, 4));
        }

        var table = opt + sizeOfOptional;
        var rawMap = new List<(uint Va, uint Size, uint Raw, uint RawSize)>();
        for (var i = 0; i < Math.Min((int)sections, 96) && table + (i * 40) + 40 <= f.Length; i++)
        {
            var h = table + (i * 40);
            foreach (var o in new[] { 8, 12, 16, 20, 32, 36 })
            {
                l.SectionFields.Add(new(h + o, 4));
            }

            var va = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(h + 12));
            var vs = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(h + 8));
            var rs = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(h + 16));
            var rp = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(h + 20));
            rawMap.Add((va, Math.Max(vs, rs), rp, rs));
            if (rp < f.Length && rs > 0)
            {
                l.SectionRaw.Add(((int)rp, (int)Math.Min(rs, (uint)f.Length - rp)));
            }
        }

        int Offset(uint rva)
        {
            foreach (var (va, size, raw, rawSize) in rawMap)
            {
                if (rva >= va && rva - va < size && rva - va < rawSize && raw + (rva - va) < (uint)f.Length)
                {
                    return (int)(raw + (rva - va));
                }
            }

            return -1;
        }

        if (dirs + 32 > f.Length)
        {
            return l;
        }

        // Exception directory (index 3): RUNTIME_FUNCTION entries, their UNWIND_INFO, chains, scope tables.
        var exRva = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(dirs + 24));
        var exSize = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(dirs + 28));
        var ex = Offset(exRva);
        if (ex < 0 || exSize < 12)
        {
            return l;
        }

        l.ExceptionRva = exRva;
        var count = (int)Math.Min(exSize / 12, (uint)(f.Length - ex) / 12);
        var step = Math.Max(1, count / 512); // sample at most ~512 functions per seed
        for (var i = 0; i < count; i += step)
        {
            var e = ex + (i * 12);
            l.RuntimeFunctionFields.Add(new(e, 4));
            l.RuntimeFunctionFields.Add(new(e + 4, 4));
            l.RuntimeFunctionFields.Add(new(e + 8, 4));
            var unwind = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(e + 8));
            if ((unwind & 1) != 0)
            {
                continue;
            }

            var ui = Offset(unwind);
            if (ui < 0 || ui + 4 > f.Length)
            {
                continue;
            }

            l.UnwindFields.Add(new(ui, 1)); // version | flags
            l.UnwindFields.Add(new(ui + 1, 1)); // size of prolog
            l.UnwindFields.Add(new(ui + 2, 1)); // count of codes
            l.UnwindFields.Add(new(ui + 3, 1)); // frame register | offset
            var codes = f[ui + 2];
            for (var c = 0; c < codes && ui + 4 + (c * 2) + 2 <= f.Length; c++)
            {
                l.UnwindFields.Add(new(ui + 4 + (c * 2), 1)); // code offset
                l.UnwindFields.Add(new(ui + 5 + (c * 2), 1)); // op | info
            }

            var tail = ui + 4 + (((codes + 1) & ~1) * 2);
            var flags = f[ui] >> 3;
            if ((flags & 4) != 0 && tail + 12 <= f.Length)
            {
                // The chained RUNTIME_FUNCTION: begin, end, unwind data.
                l.ChainAndScopeFields.Add(new(tail, 4));
                l.ChainAndScopeFields.Add(new(tail + 4, 4));
                l.ChainAndScopeFields.Add(new(tail + 8, 4));
            }
            else if ((flags & 3) != 0 && tail + 8 <= f.Length)
            {
                // Handler RVA, then (for __C_specific_handler) SCOPE_TABLE { Count; records[Count] }.
                l.ChainAndScopeFields.Add(new(tail, 4));
                l.ChainAndScopeFields.Add(new(tail + 4, 4));
                var scopes = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(tail + 4));
                for (var s = 0; s < Math.Min(scopes, 8u) && tail + 8 + (s * 16) + 16 <= f.Length; s++)
                {
                    for (var k = 0; k < 4; k++)
                    {
                        l.ChainAndScopeFields.Add(new(tail + 8 + (s * 16) + (k * 4), 4));
                    }
                }
            }
        }

        return l;
    }

    private static bool TryU32(byte[] f, int offset, out uint value)
    {
        value = 0;
        if (offset < 0 || offset + 4 > f.Length)
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(offset));
        return true;
    }
}

/// <summary>
/// The deterministic mutator: mutant <c>id</c> of a seed is always the same bytes. Each mutant
/// stacks one to three mutations chosen from bit flips, boundary values written into header,
/// directory, section, RUNTIME_FUNCTION, UNWIND_INFO, chain and scope-table fields, truncation and
/// section splices, and describes what it did so a failure can be replayed and turned into a fixture.
/// </summary>
internal static class Mutator
{
    private static readonly ulong[] Boundaries =
    [
        0, 1, 2, 3, 4, 7, 8, 0x0C, 0x10, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
        0x7FFFFFFF, 0x80000000, 0xFFFFFFF0, 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF,
    ];

    public static (byte[] Bytes, string Description) Mutate(byte[] seed, SeedLayout layout, ulong baseSeed, int id)
    {
        var rng = new SplitMix64(baseSeed ^ ((ulong)id * 0xD1B54A32D192ED03UL));
        var bytes = (byte[])seed.Clone();
        var steps = new List<string>();
        var count = 1 + rng.Below(3);
        for (var i = 0; i < count; i++)
        {
            steps.Add(MutateOnce(ref bytes, layout, ref rng));
        }

        return (bytes, string.Join("; ", steps));
    }

    private static string MutateOnce(ref byte[] b, SeedLayout l, ref SplitMix64 rng)
    {
        var kind = rng.Below(12);
        switch (kind)
        {
            case 0:
            case 1:
                {
                    // Bit flips anywhere, biased to the headers where one bit changes the most.
                    var span = rng.Below(4) == 0 ? b.Length : Math.Min(b.Length, 1024);
                    var flips = 1 + rng.Below(8);
                    var first = -1;
                    for (var i = 0; i < flips; i++)
                    {
                        var at = rng.Below(span);
                        first = first < 0 ? at : first;
                        b[at] ^= (byte)(1 << rng.Below(8));
                    }

                    return $"flip {flips} bits from 0x{first:X}";
                }

            case 2: return Field(b, l.HeaderFields, "header", ref rng);
            case 3: return Field(b, l.DirectoryFields, "directory", ref rng);
            case 4: return Field(b, l.SectionFields, "section", ref rng);
            case 5: return Field(b, l.RuntimeFunctionFields, "runtime-function", ref rng);
            case 6:
            case 7: return Field(b, l.UnwindFields, "unwind-info", ref rng);
            case 8: return Field(b, l.ChainAndScopeFields, "chain/scope", ref rng);
            case 9:
                {
                    var cut = rng.Below(3) == 0 ? rng.Below(Math.Min(b.Length, 1024)) : rng.Below(b.Length);
                    Array.Resize(ref b, Math.Max(1, cut));
                    return $"truncate to 0x{b.Length:X}";
                }

            case 10:
                {
                    // Splice: copy one section's raw bytes (or any chunk) over another place.
                    if (l.SectionRaw.Count == 0)
                    {
                        return "splice skipped";
                    }

                    var (from, fromLength) = l.SectionRaw[rng.Below(l.SectionRaw.Count)];
                    var (to, _) = l.SectionRaw[rng.Below(l.SectionRaw.Count)];
                    if (to >= b.Length || from >= b.Length)
                    {
                        return "splice skipped";
                    }

                    var length = Math.Min(Math.Min(fromLength, 1 + rng.Below(4096)), Math.Min(b.Length - from, b.Length - to));
                    var shift = rng.Below(Math.Max(1, length));
                    Buffer.BlockCopy(b, from + shift, b, to, length - shift);
                    return $"splice 0x{length - shift:X} bytes 0x{from + shift:X} -> 0x{to:X}";
                }

            default:
                {
                    // Self-reference: point a runtime function's unwind data at its own entry (low bit set) or the directory start.
                    if (l.RuntimeFunctionFields.Count == 0)
                    {
                        return Field(b, l.HeaderFields, "header", ref rng);
                    }

                    var entry = l.RuntimeFunctionFields[rng.Below(l.RuntimeFunctionFields.Count / 3) * 3];
                    var target = l.ExceptionRva + (uint)(12 * rng.Below(4)) + (uint)(rng.Below(2) == 0 ? 1 : 5);
                    if (entry.Offset + 12 <= b.Length)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(entry.Offset + 8), target);
                    }

                    return $"indirect unwind at 0x{entry.Offset:X} -> 0x{target:X}";
                }
        }
    }

    private static string Field(byte[] b, List<SeedLayout.Field> fields, string what, ref SplitMix64 rng)
    {
        if (fields.Count == 0)
        {
            var at = rng.Below(b.Length);
            b[at] = (byte)Boundaries[rng.Below(Boundaries.Length)];
            return $"byte 0x{at:X} (no {what} fields)";
        }

        var field = fields[rng.Below(fields.Count)];
        if (field.Offset + field.Width > b.Length)
        {
            return $"{what} field 0x{field.Offset:X} out of a truncated file";
        }

        var span = b.AsSpan(field.Offset, field.Width);
        var old = field.Width switch
        {
            1 => span[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(span),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(span),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(span),
        };
        var value = rng.Below(4) switch
        {
            0 => old + 1,
            1 => old - 1,
            2 => old ^ (1UL << rng.Below(field.Width * 8)),
            _ => Boundaries[rng.Below(Boundaries.Length)],
        };
        switch (field.Width)
        {
            case 1: span[0] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)value); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(span, value); break;
        }

        return $"{what} field 0x{field.Offset:X}/{field.Width}: 0x{old:X} -> 0x{value:X}";
    }
}
