using Pelint.Pe.Headers;
using Pelint.Pe.IO;

namespace Pelint.Pe.LoadConfig;

/// <summary>Control Flow Guard flags from the load config's GuardFlags field (winnt.h IMAGE_GUARD_*).</summary>
[Flags]
public enum GuardFlags : uint
{
    None = 0,
    CfInstrumented = 0x100,
    CfwInstrumented = 0x200,
    CfFunctionTablePresent = 0x400,
    SecurityCookieUnused = 0x800,
    ProtectDelayloadIat = 0x1000,
    DelayloadIatInItsOwnSection = 0x2000,
    CfExportSuppressionInfoPresent = 0x4000,
    CfEnableExportSuppression = 0x8000,
    CfLongjumpTablePresent = 0x10000,
    RfInstrumented = 0x20000,
    RfEnable = 0x40000,
    RfStrict = 0x80000,
    RetpolinePresent = 0x100000,
    EhContinuationTablePresent = 0x400000,
    XfgEnabled = 0x800000,
    CastGuardPresent = 0x1000000,
    MemcpyPresent = 0x2000000,
}

/// <summary>
/// The load configuration directory, 32- or 64-bit layout. Only the fields within the
/// structure's own Size are read (older linkers write shorter structures); fields past it are
/// null. Pointers are VAs as written, with RVA conveniences.
/// </summary>
public sealed class LoadConfigDirectory
{
    private LoadConfigDirectory(DataDirectory directory, IReadOnlyList<PeProblem> problems)
    {
        Directory = directory;
        Problems = problems;
    }

    public DataDirectory Directory { get; }

    /// <summary>True when a load config structure could be read.</summary>
    public bool IsPresent { get; private init; }

    public uint Size { get; private init; }

    public long? FileOffset { get; private init; }

    public ulong? SecurityCookie { get; private init; }

    public ulong? SEHandlerTable { get; private init; }

    public ulong? SEHandlerCount { get; private init; }

    public ulong? GuardCFCheckFunctionPointer { get; private init; }

    public ulong? GuardCFFunctionTable { get; private init; }

    public ulong? GuardCFFunctionCount { get; private init; }

    public GuardFlags? GuardFlags { get; private init; }

    public ulong? CHPEMetadataPointer { get; private init; }

    public IReadOnlyList<PeProblem> Problems { get; }

    public static LoadConfigDirectory Read(PeImage image)
    {
        var dir = image.GetDirectory(DataDirectoryIndex.LoadConfig);
        var problems = new List<PeProblem>();
        if (!dir.IsPresent)
        {
            return new LoadConfigDirectory(dir, problems);
        }

        using var reader = image.OpenReader();
        Span<byte> scratch = stackalloc byte[4];
        if (!reader.TryRead(dir.Rva, 4, scratch, out var sizeBytes))
        {
            problems.Add(new PeProblem(PeStructure.LoadConfig, ProblemCode.LoadConfigUnmapped,
                $"the load config directory at RVA 0x{dir.Rva:X} is outside the image's sections", dir.Rva, dir.FileOffset, 8));
            return new LoadConfigDirectory(dir, problems);
        }

        var declared = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(sizeBytes);
        var is64 = image.IsPe32Plus;
        var maxKnown = is64 ? 0x200 : 0x100;
        var readable = (int)Math.Min(declared, (uint)maxKnown);
        if (declared < 4)
        {
            problems.Add(new PeProblem(PeStructure.LoadConfig, ProblemCode.LoadConfigSizeTooSmall,
                $"the load config structure declares Size {declared}", dir.Rva, image.FileOffsetOf(dir.Rva), 4));
            return new LoadConfigDirectory(dir, problems);
        }

        if (image.Map.FindSection(dir.Rva) is { } section && declared > (ulong)section.VirtualAddress + section.MappedSize - dir.Rva)
        {
            problems.Add(new PeProblem(PeStructure.LoadConfig, ProblemCode.LoadConfigSizePastSection,
                $"the load config structure declares Size {declared} but its section '{section.Name}' ends {(ulong)section.VirtualAddress + section.MappedSize - dir.Rva} bytes after its start",
                dir.Rva, image.FileOffsetOf(dir.Rva), 4));
        }

        Span<byte> buffer = stackalloc byte[maxKnown];
        if (!reader.TryRead(dir.Rva, readable, buffer, out var bytes))
        {
            // Fall back to what is mapped; a Size that runs off the section is itself a problem.
            problems.Add(new PeProblem(PeStructure.LoadConfig, ProblemCode.LoadConfigSizeOverrun,
                $"the load config structure declares Size {declared} but runs past its section", dir.Rva, image.FileOffsetOf(dir.Rva), 4));
            var span = reader.GetAvailableSpan(dir.Rva, readable);
            bytes = span;
            readable = span.Length;
        }

        var data = bytes[..readable];
        return new LoadConfigDirectory(dir, problems)
        {
            IsPresent = true,
            Size = declared,
            FileOffset = image.FileOffsetOf(dir.Rva),
            SecurityCookie = Ptr(data, is64, 88, 60),
            SEHandlerTable = Ptr(data, is64, 96, 64),
            SEHandlerCount = Ptr(data, is64, 104, 68),
            GuardCFCheckFunctionPointer = Ptr(data, is64, 112, 72),
            GuardCFFunctionTable = Ptr(data, is64, 128, 80),
            GuardCFFunctionCount = Ptr(data, is64, 136, 84),
            GuardFlags = U32(data, is64, 144, 88) is { } f ? (GuardFlags)f : null,
            CHPEMetadataPointer = Ptr(data, is64, 200, 124),
        };
    }

    // A field exists only if it lies wholly inside the structure's declared Size.
    private static ulong? Ptr(ReadOnlySpan<byte> data, bool is64, int offset64, int offset32)
    {
        var offset = is64 ? offset64 : offset32;
        if (offset + (is64 ? 8 : 4) > data.Length)
        {
            return null;
        }

        if (is64)
        {
            return SpanRead.TryUInt64(data, offset, out var v) ? v : null;
        }

        return SpanRead.TryUInt32(data, offset, out var w) ? w : null;
    }

    private static uint? U32(ReadOnlySpan<byte> data, bool is64, int offset64, int offset32)
    {
        var offset = is64 ? offset64 : offset32;
        return offset + 4 <= data.Length && SpanRead.TryUInt32(data, offset, out var v) ? v : null;
    }

    /// <summary>Converts a VA written in this structure to an RVA, when it lies inside the image.</summary>
    public static uint? ToRva(PeImage image, ulong? va)
    {
        if (va is not { } v || v < image.ImageBase)
        {
            return null;
        }

        var rva = v - image.ImageBase;
        return rva < image.Map.SizeOfImage ? (uint)rva : null;
    }
}
