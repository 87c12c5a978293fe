using System.Buffers.Binary;

namespace Pelint.Pe.Exceptions.Arm64;

/// <summary>
/// An ARM64 .xdata record, per Microsoft's "ARM64 exception handling": a header word
/// (FunctionLength/4 in bits 0-17, Vers 18-19, X 20, E 21, Epilog Count 22-26, Code Words 27-31),
/// an extension word when both counts are 0 (Extended Epilog Count 0-15, Extended Code Words
/// 16-23), the epilog scopes (absent when E is set), the unwind code bytes (Code Words * 4),
/// then, with X, the exception handler RVA and its data. A packed .pdata word expands to the same
/// shape (<see cref="Arm64PackedUnwind.Expand"/>), with <see cref="Rva"/> null.
/// </summary>
public sealed class Arm64UnwindRecord
{
    /// <summary>The largest record: a 2-word header, 65,535 scopes, 255 code words and a handler RVA.</summary>
    public const int MaxSize = 8 + (65535 * 4) + (255 * 4) + 4;

    private readonly byte[] _codes;

    internal Arm64UnwindRecord(uint? rva, uint header, uint? extension, Arm64EpilogScope[] scopes, byte[] codes, uint? handlerRva, IReadOnlyList<PeProblem> problems)
    {
        Rva = rva;
        HeaderWord = header;
        ExtensionWord = extension;
        Scopes = scopes;
        _codes = codes;
        HandlerRva = handlerRva;
        Problems = problems;
    }

    /// <summary>RVA of the record; null for a record expanded from packed .pdata.</summary>
    public uint? Rva { get; }

    public uint HeaderWord { get; }

    /// <summary>The extension word, when Epilog Count and Code Words are both 0.</summary>
    public uint? ExtensionWord { get; }

    /// <summary>Length of the function (or fragment) in bytes.</summary>
    public uint FunctionLength => (HeaderWord & 0x3FFFF) * 4;

    public int Version => (int)((HeaderWord >> 18) & 3);

    /// <summary>X: exception handler data follows the codes.</summary>
    public bool HasHandler => (HeaderWord & (1u << 20)) != 0;

    /// <summary>E: one epilog, described by the header (its code index is <see cref="EpilogCount"/>).</summary>
    public bool EpilogInHeader => (HeaderWord & (1u << 21)) != 0;

    /// <summary>Epilog Count from the header or the extension word: a count of scopes, or with E the epilog's first code index.</summary>
    public int EpilogCount => ExtensionWord is { } x ? (int)(x & 0xFFFF) : (int)((HeaderWord >> 22) & 0x1F);

    /// <summary>Code Words from the header or the extension word.</summary>
    public int CodeWords => ExtensionWord is { } x ? (int)((x >> 16) & 0xFF) : (int)(HeaderWord >> 27);

    /// <summary>Bits 24-31 of the extension word (reserved).</summary>
    public int ExtensionReserved => ExtensionWord is { } x ? (int)(x >> 24) : 0;

    /// <summary>The epilog scopes as stored (empty when E is set).</summary>
    public IReadOnlyList<Arm64EpilogScope> Scopes { get; }

    /// <summary>The unwind code bytes (Code Words * 4, or fewer when the record is truncated).</summary>
    public ReadOnlySpan<byte> Codes => _codes;

    public uint? HandlerRva { get; }

    /// <summary>RVA of the handler's data (right after the handler RVA).</summary>
    public uint? HandlerDataRva => HandlerRva is null || Rva is not { } rva ? null : rva + (uint)Size;

    /// <summary>Bytes from the header to the end of the handler RVA (the handler's data excluded).</summary>
    public int Size => (ExtensionWord is null ? 4 : 8) + (EpilogInHeader ? 0 : EpilogCount * 4) + (CodeWords * 4) + (HasHandler ? 4 : 0);

    /// <summary>What could not be read (truncation, unmapped bytes). Format rules judge the rest.</summary>
    public IReadOnlyList<PeProblem> Problems { get; }

    /// <summary>
    /// For every code byte, whether <see cref="DecodeSequence"/> from it ends at an <c>end</c>
    /// code, before the array ends and with no code cut short: one pass from the back, so a
    /// record with thousands of epilog scopes costs no decoding for the sequences that never end.
    /// </summary>
    public bool[] EndingSequences()
    {
        var span = Codes;
        var ending = new bool[span.Length];
        for (var i = span.Length - 1; i >= 0; i--)
        {
            var next = i + Arm64UnwindCode.LengthOf(span[i]);
            ending[i] = next <= span.Length && (span[i] == 0xE4 || (next < span.Length && ending[next]));
        }

        return ending;
    }

    /// <summary>
    /// Decodes the codes from byte <paramref name="start"/> up to and including the first
    /// <c>end</c> (llvm-readobj's and the unwinder's stop; <c>end_c</c> does not stop it), or to
    /// the end of the array. <paramref name="truncated"/> says whether the last code ran past it.
    /// </summary>
    public List<Arm64UnwindCode> DecodeSequence(int start, out bool terminated, out bool truncated)
    {
        var codes = new List<Arm64UnwindCode>();
        terminated = false;
        truncated = false;
        var span = Codes;
        for (var i = start; i >= 0 && i < span.Length && codes.Count < span.Length;)
        {
            if (!Arm64UnwindCode.TryDecode(span, i, out var code))
            {
                truncated = true;
                codes.Add(code);
                break;
            }

            codes.Add(code);
            i += code.Length;
            if (code.Op == Arm64UnwindOp.End)
            {
                terminated = true;
                break;
            }
        }

        return codes;
    }

    /// <summary>
    /// Instructions covered by the sequence at <paramref name="start"/>, as the unwinder counts
    /// them (RtlpComputeScopeSize): codes up to the first end or end_c, plus the epilog's return.
    /// </summary>
    public int ScopeSize(int start, bool epilog)
    {
        var size = 0;
        var span = Codes;
        for (var i = start; i >= 0 && i < span.Length;)
        {
            if (span[i] is 0xE4 or 0xE5)
            {
                break;
            }

            size += span[i] is >= 0xE8 and <= 0xF7 ? 0 : 1;
            i += Arm64UnwindCode.LengthOf(span[i]);
        }

        return epilog ? size + 1 : size;
    }

    /// <summary>
    /// Every epilog as (start offset in the function, first code index): the scopes, or with E
    /// the single epilog that ends the function (placed as the unwinder places it).
    /// </summary>
    public IEnumerable<(uint StartOffset, int StartIndex)> Epilogs()
    {
        if (EpilogInHeader)
        {
            var size = (uint)ScopeSize(EpilogCount, epilog: true) * 4;
            yield return (FunctionLength >= size ? FunctionLength - size : 0, EpilogCount);
            yield break;
        }

        foreach (var scope in Scopes)
        {
            yield return (scope.StartOffset, scope.StartIndex);
        }
    }

    /// <summary>Reads the record at <paramref name="rva"/>; never reads outside the image or past the record's own claims.</summary>
    public static Arm64UnwindRecord Read(PeImage image, uint rva)
    {
        ArgumentNullException.ThrowIfNull(image);
        var problems = new List<PeProblem>();
        using var reader = image.OpenReader();
        var available = reader.GetAvailableSpan(rva, 8);
        if (available.Length >= 4)
        {
            // Only as much as the header (and its extension) claims, never the largest record's size.
            var first = BinaryPrimitives.ReadUInt32LittleEndian(available);
            uint? extensionWord = (first >> 22) == 0 && available.Length >= 8 ? BinaryPrimitives.ReadUInt32LittleEndian(available[4..]) : null;
            var claim = new Arm64UnwindRecord(rva, first, extensionWord, [], [], null, []);
            var scopeWords = claim.EpilogInHeader ? 0 : claim.EpilogCount;
            available = reader.GetAvailableSpan(rva, Math.Min(MaxSize, 8 + ((scopeWords + claim.CodeWords + 1) * 4)));
        }

        var fileOffset = image.FileOffsetOf(rva);
        if (available.Length < 4)
        {
            problems.Add(new PeProblem(PeStructure.UnwindInfo, ProblemCode.Arm64XdataUnmapped,
                $".xdata record at RVA 0x{rva:X} is outside the image's sections", rva, fileOffset, 4));
            return new Arm64UnwindRecord(rva, 0, null, [], [], null, problems);
        }

        var header = BinaryPrimitives.ReadUInt32LittleEndian(available);
        uint? extension = null;
        var position = 4;
        if ((header >> 22) == 0)
        {
            if (available.Length < 8)
            {
                problems.Add(Truncated(rva, fileOffset, "its extension word"));
                return new Arm64UnwindRecord(rva, header, null, [], [], null, problems);
            }

            extension = BinaryPrimitives.ReadUInt32LittleEndian(available[4..]);
            position = 8;
        }

        var shell = new Arm64UnwindRecord(rva, header, extension, [], [], null, []);
        var scopeCount = shell.EpilogInHeader ? 0 : shell.EpilogCount;
        var scopes = new Arm64EpilogScope[Math.Min(scopeCount, Math.Max(0, (available.Length - position) / 4))];
        for (var k = 0; k < scopes.Length; k++)
        {
            scopes[k] = new Arm64EpilogScope(BinaryPrimitives.ReadUInt32LittleEndian(available[(position + (k * 4))..]));
        }

        if (scopes.Length < scopeCount)
        {
            problems.Add(Truncated(rva, fileOffset, $"its {scopeCount} epilog scopes"));
            return new Arm64UnwindRecord(rva, header, extension, scopes, [], null, problems);
        }

        position += scopeCount * 4;
        var codeBytes = shell.CodeWords * 4;
        var codes = available.Slice(position, Math.Min(codeBytes, available.Length - position)).ToArray();
        if (codes.Length < codeBytes)
        {
            problems.Add(Truncated(rva, fileOffset, $"its {codeBytes} bytes of unwind codes"));
            return new Arm64UnwindRecord(rva, header, extension, scopes, codes, null, problems);
        }

        position += codeBytes;
        uint? handler = null;
        if (shell.HasHandler)
        {
            if (available.Length < position + 4)
            {
                problems.Add(Truncated(rva, fileOffset, "its exception handler RVA"));
            }
            else
            {
                handler = BinaryPrimitives.ReadUInt32LittleEndian(available[position..]);
            }
        }

        return new Arm64UnwindRecord(rva, header, extension, scopes, codes, handler, problems);
    }

    private static PeProblem Truncated(uint rva, long? fileOffset, string what) =>
        new(PeStructure.UnwindInfo, ProblemCode.Arm64XdataTruncated, $".xdata record at RVA 0x{rva:X} ends before {what}: the section's data runs out", rva, fileOffset, 4);

    /// <summary>A record built from expanded packed data.</summary>
    internal static Arm64UnwindRecord Synthetic(uint header, byte[] codes) => new(null, header, null, [], codes, null, []);
}
