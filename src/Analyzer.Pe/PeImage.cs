using System.Buffers.Binary;
using System.Reflection.PortableExecutable;
using Pelint.Pe.Chpe;
using Pelint.Pe.Code;
using Pelint.Pe.Debug;
using Pelint.Pe.Exceptions;
using Pelint.Pe.Exceptions.Arm64;
using Pelint.Pe.Headers;
using Pelint.Pe.Imports;
using Pelint.Pe.IO;
using Pelint.Pe.LoadConfig;
using Pelint.Pe.Relocations;

namespace Pelint.Pe;

/// <summary>
/// A PE image opened for reading: the file stays open and is read at explicit offsets, never
/// mapped and never read whole. Headers come from <see cref="PEHeaders"/>; every directory is
/// read once, on first request, by a bounds-checked reader that records problems instead of
/// throwing, and kept as a table; code is read in windows by whoever needs it
/// (<see cref="OpenReader"/>). What is derived from these tables (functions, code discovery,
/// stack states) is not the image's business: the analyses above this assembly compute it.
/// </summary>
public sealed class PeImage : IDisposable
{
    private const int OptionalHeaderDllCharacteristicsOffset = 70;

    private readonly ImageFile _file;
    private readonly Lazy<BaseRelocationTable> _relocations;
    private readonly Lazy<LoadConfigDirectory> _loadConfig;
    private readonly Lazy<SafeSehTable> _safeSeh;
    private readonly Lazy<ImportTable> _imports;
    private readonly Lazy<ExportTable> _exports;
    private readonly Lazy<DebugDirectory> _debug;
    private readonly Lazy<ExceptionDirectory> _exceptions;
    private readonly Lazy<ChpeCodeMap?> _chpe;
    private readonly Lazy<Arm64Exceptions> _arm64;
    private readonly Lazy<LanguageHandlers> _handlers;
    private readonly Lazy<ImageCode> _code;
    private bool _disposed;
    private readonly List<PeProblem> _headerProblems;

    private PeImage(string path, ImageFile file, PEHeaders headers, List<PeProblem> headerProblems)
    {
        _headerProblems = headerProblems;
        Path = path;
        _file = file;
        Headers = headers;

        var pe = headers.PEHeader!;
        Sections = ReadSections(headers, file, _headerProblems);
        Map = new RvaMap(Sections, (uint)pe.SizeOfHeaders, (uint)pe.SizeOfImage, (uint)pe.FileAlignment, file.Length);
        _relocations = new(() => BaseRelocationTable.Read(this));
        _loadConfig = new(() => LoadConfigDirectory.Read(this));
        _safeSeh = new(() => SafeSehTable.Read(this));
        _imports = new(() => ImportTable.Read(this));
        _exports = new(() => ExportTable.Read(this));
        _debug = new(() => DebugDirectory.Read(this));
        _exceptions = new(() => ExceptionDirectory.Read(this));
        _chpe = new(() => ChpeCodeMap.Read(this));
        _arm64 = new(() => Arm64Exceptions.Read(this));
        _handlers = new(() => LanguageHandlers.Build(this));
        _code = new(() => new ImageCode(this));
    }

    /// <summary>The path the image was opened from (or a display name for in-memory images).</summary>
    public string Path { get; }

    /// <summary>The file's length when it was opened.</summary>
    public long FileLength => _file.Length;

    /// <summary>What the header reader had to work around (a section count it cannot take whole, a table cut off by the file's end); empty for most files.</summary>
    public IReadOnlyList<PeProblem> HeaderProblems => _headerProblems;

    public PEHeaders Headers { get; }

    public PEHeader OptionalHeader => Headers.PEHeader!;

    public CoffHeader CoffHeader => Headers.CoffHeader;

    public Machine Machine => Headers.CoffHeader.Machine;

    /// <summary>PE32+ (64-bit optional header).</summary>
    public bool IsPe32Plus => OptionalHeader.Magic == PEMagic.PE32Plus;

    public DllCharacteristics DllCharacteristics => OptionalHeader.DllCharacteristics;

    public Characteristics Characteristics => Headers.CoffHeader.Characteristics;

    public ulong ImageBase => OptionalHeader.ImageBase;

    public bool IsDll => (Characteristics & Characteristics.Dll) != 0;

    /// <summary>File offset of the optional header's DllCharacteristics field.</summary>
    public long DllCharacteristicsFileOffset => Headers.PEHeaderStartOffset + OptionalHeaderDllCharacteristicsOffset;

    /// <summary>File offset of the optional header's ImageBase field (8 bytes in PE32+, 4 in PE32).</summary>
    public long ImageBaseFileOffset => Headers.PEHeaderStartOffset + (IsPe32Plus ? 24 : 28);

    /// <summary>File offset of the COFF header's Characteristics field.</summary>
    public long CharacteristicsFileOffset => Headers.CoffHeaderStartOffset + 18;

    public IReadOnlyList<SectionInfo> Sections { get; }

    public RvaMap Map { get; }

    /// <summary>A .NET assembly whose code is all IL (no native code to harden or patch).</summary>
    public bool IsILOnly =>
        Headers.CorHeader is { } cor && (cor.Flags & System.Reflection.PortableExecutable.CorFlags.ILOnly) != 0;

    /// <summary>True when some section is executable or declares code.</summary>
    public bool HasCode => Sections.Any(s => s.IsExecutable && s.MappedSize != 0);

    public BaseRelocationTable BaseRelocations => _relocations.Value;

    public LoadConfigDirectory LoadConfig => _loadConfig.Value;

    /// <summary>The x86 safe exception handler table the load config names (/SAFESEH); empty for PE32+ images.</summary>
    public SafeSehTable SafeSeh => _safeSeh.Value;

    public ImportTable Imports => _imports.Value;

    public ExportTable Exports => _exports.Value;

    public DebugDirectory Debug => _debug.Value;

    /// <summary>The x64 exception directory (.pdata) with its unwind data, read on first use.</summary>
    public ExceptionDirectory ExceptionDirectory => _exceptions.Value;

    /// <summary>The CHPE metadata (code range map, extra function table) of an ARM64EC or ARM64X image; null otherwise.</summary>
    public ChpeCodeMap? Chpe => _chpe.Value;

    /// <summary>The ARM64-format function table (ARM64, ARM64X native view, ARM64EC extra table); empty otherwise.</summary>
    public Arm64Exceptions Arm64Exceptions => _arm64.Value;

    /// <summary>The language-specific handlers the unwind data names, identified on first use.</summary>
    public LanguageHandlers LanguageHandlers => _handlers.Value;

    /// <summary>Decoders of the image's code (Iced).</summary>
    public ImageCode Code => _code.Value;

    public DataDirectory GetDirectory(DataDirectoryIndex index)
    {
        var pe = OptionalHeader;
        var declared = (uint)index < (uint)pe.NumberOfRvaAndSizes;
        var entry = index switch
        {
            DataDirectoryIndex.Export => pe.ExportTableDirectory,
            DataDirectoryIndex.Import => pe.ImportTableDirectory,
            DataDirectoryIndex.Resource => pe.ResourceTableDirectory,
            DataDirectoryIndex.Exception => pe.ExceptionTableDirectory,
            DataDirectoryIndex.Certificate => pe.CertificateTableDirectory,
            DataDirectoryIndex.BaseRelocation => pe.BaseRelocationTableDirectory,
            DataDirectoryIndex.Debug => pe.DebugTableDirectory,
            DataDirectoryIndex.Architecture => pe.CopyrightTableDirectory,
            DataDirectoryIndex.GlobalPtr => pe.GlobalPointerTableDirectory,
            DataDirectoryIndex.Tls => pe.ThreadLocalStorageTableDirectory,
            DataDirectoryIndex.LoadConfig => pe.LoadConfigTableDirectory,
            DataDirectoryIndex.BoundImport => pe.BoundImportTableDirectory,
            DataDirectoryIndex.Iat => pe.ImportAddressTableDirectory,
            DataDirectoryIndex.DelayImport => pe.DelayImportTableDirectory,
            DataDirectoryIndex.ClrRuntimeHeader => pe.CorHeaderTableDirectory,
            _ => default,
        };
        var directoriesStart = Headers.PEHeaderStartOffset + (IsPe32Plus ? 112 : 96);
        return new DataDirectory(index, (uint)entry.RelativeVirtualAddress, (uint)entry.Size, declared, directoriesStart + ((int)index * 8));
    }

    /// <summary>
    /// A reader of the image's bytes for one loop on one thread: the bytes of [rva, rva+n) it
    /// returns are valid until its next read. Dispose it to return its window to the pool.
    /// </summary>
    public ImageReader OpenReader()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new ImageReader(_file, Map);
    }

    /// <summary>File offset of an RVA when it is backed by file bytes.</summary>
    public long? FileOffsetOf(uint rva) => Map.TryGetFileOffset(rva, out var offset, out _) ? offset : null;

    /// <summary>
    /// Null while the file is as it was opened; else what happened to it since (truncated, or
    /// rewritten in place, by another process): results read from it may then be incomplete.
    /// </summary>
    public string? ChangedSinceOpen() => _file.Changed();

    /// <summary>Opens a file. Never throws for bad content; I/O failures are reported as results.</summary>
    public static PeOpenResult Open(string path, PeOpenOptions? options = null)
    {
        options ??= PeOpenOptions.Default;
        ImageFile file;
        try
        {
            // Only a regular file is read: a FIFO or a device would block or never end.
            file = ImageFile.Open(HostFiles.OpenRegular(path, bufferSize: 1));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return PeOpenResult.Fail(PeOpenFailure.Unreadable, e.Message);
        }

        if (file.Length == 0)
        {
            file.Dispose();
            return PeOpenResult.Fail(PeOpenFailure.NotPe, "the file is empty");
        }

        if (file.Length > options.MaxFileSize || file.Length > int.MaxValue)
        {
            file.Dispose();
            return PeOpenResult.Fail(PeOpenFailure.Unreadable, $"the file is {file.Length:N0} bytes, over the limit of {Math.Min(options.MaxFileSize, int.MaxValue):N0}");
        }

        return Create(path, file);
    }

    /// <summary>Opens an in-memory image (tests, fuzzing); readers slice the array, which must not change.</summary>
    public static PeOpenResult Load(byte[] bytes, string displayName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0)
        {
            return PeOpenResult.Fail(PeOpenFailure.NotPe, "the file is empty");
        }

        return Create(displayName, ImageFile.InMemory(bytes));
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _file.Dispose();
    }

    private static PeOpenResult Create(string path, ImageFile file)
    {
        var problems = new List<PeProblem>();
        PEHeaders headers;
        try
        {
            if (!HasPeSignature(file))
            {
                file.Dispose();
                return PeOpenResult.Fail(PeOpenFailure.NotPe, "no MZ/PE signature");
            }

            headers = ReadHeaders(file, problems);
        }
        catch (Exception e) when (e is BadImageFormatException or ArgumentException or InvalidOperationException or IOException)
        {
            file.Dispose();
            return PeOpenResult.Fail(PeOpenFailure.Malformed, $"headers cannot be read: {e.Message}");
        }

        if (headers.PEHeader is null)
        {
            file.Dispose();
            return PeOpenResult.Fail(PeOpenFailure.Malformed, "no optional header (a COFF object, not an image)");
        }

        return PeOpenResult.Ok(new PeImage(path, file, headers, problems));
    }

    // The MZ and PE signatures, with e_lfanew inside the file.
    private static bool HasPeSignature(ImageFile file)
    {
        Span<byte> dos = stackalloc byte[0x40];
        var read = file.Read(0, dos);
        if (read < dos.Length || !SpanRead.TryUInt32(dos, 0x3C, out var lfanew) || lfanew > int.MaxValue - 4)
        {
            return false;
        }

        Span<byte> signature = stackalloc byte[4];
        return dos[0] == (byte)'M' && dos[1] == (byte)'Z' && file.Read(lfanew, signature) == 4 && SpanRead.TryUInt32(signature, 0, out var value) && value == 0x00004550;
    }

    /// <summary>
    /// The headers through <see cref="PEHeaders"/>. It reads NumberOfSections as a signed 16-bit
    /// count and rejects anything over 32,767, where the loader takes up to 65,535: such a file is
    /// read from a copy of its headers with the count capped, and the cap is recorded as a problem.
    /// </summary>
    private static PEHeaders ReadHeaders(ImageFile file, List<PeProblem> problems)
    {
        // HasPeSignature has checked e_lfanew and the signature: NumberOfSections follows "PE\0\0" and Machine.
        Span<byte> field = stackalloc byte[4];
        file.Read(0x3C, field);
        var countOffset = (long)BinaryPrimitives.ReadUInt32LittleEndian(field) + 6;
        field.Clear();
        file.Read(countOffset, field[..2]);
        var declared = BinaryPrimitives.ReadUInt16LittleEndian(field);
        if (declared <= short.MaxValue)
        {
            // Buffered: the header reader asks for a few bytes at a time.
            using var stream = new BufferedStream(new ImageFileStream(file), 4096);
            return new PEHeaders(stream, (int)file.Length, isLoadedImage: false);
        }

        field.Clear();
        file.Read(countOffset + 14, field[..2]);
        var optionalHeaderSize = BinaryPrimitives.ReadUInt16LittleEndian(field);
        var tableEnd = countOffset + 18 + optionalHeaderSize + ((long)short.MaxValue * 40);
        var copy = new byte[(int)Math.Min(file.Length, tableEnd)]; // bounded: ~1.3 MB past the PE header
        var length = file.Read(0, copy);
        BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan((int)countOffset), (ushort)short.MaxValue);
        problems.Add(new PeProblem(PeStructure.Headers, ProblemCode.SectionsOver32767,
            $"NumberOfSections is {declared:N0}, over the {short.MaxValue:N0} the header reader takes; only the first {short.MaxValue:N0} section headers are analyzed", null, countOffset, 2));
        using var patched = new MemoryStream(copy, 0, length, writable: false);
        return new PEHeaders(patched, length, isLoadedImage: false);
    }

    /// <summary>
    /// The section headers where the loader finds them: right after SizeOfOptionalHeader bytes of
    /// optional header. <see cref="PEHeaders"/> places the table after a full optional header
    /// instead, which is wrong for images with fewer data directories (hand-made EFI headers).
    /// Only headers wholly in the file are read; a table cut short is recorded as a problem.
    /// </summary>
    private static List<SectionInfo> ReadSections(PEHeaders headers, ImageFile file, List<PeProblem> problems)
    {
        var count = headers.SectionHeaders.Length;
        var tableStart = (long)headers.CoffHeaderStartOffset + 20 + (ushort)headers.CoffHeader.SizeOfOptionalHeader;
        var inFile = tableStart >= file.Length ? 0 : (int)Math.Min(count, (file.Length - tableStart) / SectionInfo.HeaderSize);

        // At most 65,535 headers of 40 bytes, read once; a file that shrank since it was opened reads fewer.
        var table = new byte[inFile * SectionInfo.HeaderSize];
        inFile = inFile == 0 ? 0 : file.Read(tableStart, table) / SectionInfo.HeaderSize;
        if (inFile < count)
        {
            problems.Add(new PeProblem(PeStructure.Sections, ProblemCode.SectionTableTruncated,
                $"the file ends after {inFile} of its {count} section headers; only those are analyzed", null, tableStart, SectionInfo.HeaderSize * count));
        }

        var list = new List<SectionInfo>(inFile);
        for (var i = 0; i < inFile; i++)
        {
            var at = tableStart + ((long)i * SectionInfo.HeaderSize);
            var header = table.AsSpan(i * SectionInfo.HeaderSize, SectionInfo.HeaderSize);
            var name = header[..8];
            var nul = name.IndexOf((byte)0);
            list.Add(new SectionInfo(
                i,
                System.Text.Encoding.UTF8.GetString(nul < 0 ? name : name[..nul]),
                BinaryPrimitives.ReadUInt32LittleEndian(header[12..]),
                BinaryPrimitives.ReadUInt32LittleEndian(header[8..]),
                BinaryPrimitives.ReadUInt32LittleEndian(header[20..]),
                BinaryPrimitives.ReadUInt32LittleEndian(header[16..]),
                (SectionCharacteristics)BinaryPrimitives.ReadUInt32LittleEndian(header[36..]),
                at));
        }

        return list;
    }
}
