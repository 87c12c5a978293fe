using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
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
/// A PE image opened for reading: the file is read once into a private snapshot (or, past
/// <see cref="PeOpenOptions.SnapshotLimit"/>, mapped read-only), headers come from
/// <see cref="PEHeaders"/>, and every other directory is parsed lazily, on first request, by a
/// bounds-checked reader that records problems instead of throwing. What is derived from these
/// tables (functions, code discovery, stack states) is not the image's business: the analyses
/// above this assembly compute it.
/// </summary>
public sealed unsafe class PeImage : IDisposable
{
    private const int OptionalHeaderDllCharacteristicsOffset = 70;

    private readonly IDisposable? _owner;
    private readonly byte* _base;
    private readonly int _length;
    private readonly Lazy<BaseRelocationTable> _relocations;
    private readonly Lazy<LoadConfigDirectory> _loadConfig;
    private readonly Lazy<ImportTable> _imports;
    private readonly Lazy<ExportTable> _exports;
    private readonly Lazy<DebugDirectory> _debug;
    private readonly Lazy<ExceptionDirectory> _exceptions;
    private readonly Lazy<ChpeCodeMap?> _chpe;
    private readonly Lazy<Arm64Exceptions> _arm64;
    private readonly Lazy<LanguageHandlers> _handlers;
    private readonly Lazy<ImageCode> _code;
    private bool _disposed;
    private readonly ImageMemory _memory;
    private readonly List<PeProblem> _headerProblems;

    private PeImage(string path, IDisposable? owner, byte* basePointer, int length, PEHeaders headers, List<PeProblem> headerProblems)
    {
        _headerProblems = headerProblems;
        Path = path;
        _memory = new ImageMemory(basePointer, length);
        _owner = owner;
        _base = basePointer;
        _length = length;
        Headers = headers;

        var pe = headers.PEHeader!;
        Sections = ReadSections(headers, new ReadOnlySpan<byte>(basePointer, length), _headerProblems);
        Map = new RvaMap(Sections, (uint)pe.SizeOfHeaders, (uint)pe.SizeOfImage, (uint)pe.FileAlignment, length);
        _relocations = new(() => BaseRelocationTable.Read(this));
        _loadConfig = new(() => LoadConfigDirectory.Read(this));
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

    /// <summary>The whole file, read-only. Valid until the image is disposed.</summary>
    public ReadOnlySpan<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return new ReadOnlySpan<byte>(_base, _length);
        }
    }

    public long FileLength => _length;

    /// <summary>What the header reader had to work around (a section count it cannot take whole, a table cut off by the file's end); empty for most files.</summary>
    public IReadOnlyList<PeProblem> HeaderProblems => _headerProblems;

    /// <summary>The whole file as memory, for holders that outlive a stack frame (spans cannot). Valid until the image is disposed.</summary>
    public ReadOnlyMemory<byte> Memory
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _memory.Memory;
        }
    }

    /// <summary>The first byte of the file, for readers in this assembly that cannot hold a span (the decoder's code reader).</summary>
    internal byte* BasePointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _base;
        }
    }

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

    /// <summary>File-backed bytes at an RVA (see <see cref="RvaMap.TryGetSpan"/>).</summary>
    public bool TryGetSpan(uint rva, int length, out ReadOnlySpan<byte> span) => Map.TryGetSpan(Bytes, rva, length, out span);

    /// <summary>Loader view of a small structure, zero past raw data (see <see cref="RvaMap.TryRead"/>).</summary>
    public bool TryRead(uint rva, int length, Span<byte> scratch, out ReadOnlySpan<byte> bytes) =>
        Map.TryRead(Bytes, rva, length, scratch, out bytes);

    /// <summary>File offset of an RVA when it is backed by file bytes.</summary>
    public long? FileOffsetOf(uint rva) => Map.TryGetFileOffset(rva, out var offset, out _) ? offset : null;

    /// <summary>Reads a NUL-terminated ASCII name at an RVA (bounded, file-backed).</summary>
    public bool TryReadAsciiZ(uint rva, int maxLength, out string value)
    {
        var span = Map.GetAvailableSpan(Bytes, rva, maxLength + 1);
        return SpanRead.TryAsciiZ(span, 0, maxLength + 1, out value);
    }

    /// <summary>Opens and maps a file. Never throws for bad content; I/O failures are reported as results.</summary>
    public static PeOpenResult Open(string path, PeOpenOptions? options = null)
    {
        options ??= PeOpenOptions.Default;
        FileStream stream;
        try
        {
            // Only a regular file is read: a FIFO or a device would block or never end.
            stream = HostFiles.OpenRegular(path, bufferSize: 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return PeOpenResult.Fail(PeOpenFailure.Unreadable, e.Message);
        }

        try
        {
            var length = stream.Length;
            if (length == 0)
            {
                stream.Dispose();
                return PeOpenResult.Fail(PeOpenFailure.NotPe, "the file is empty");
            }

            if (length > options.MaxFileSize || length > int.MaxValue)
            {
                stream.Dispose();
                return PeOpenResult.Fail(PeOpenFailure.Unreadable, $"the file is {length:N0} bytes, over the limit of {Math.Min(options.MaxFileSize, int.MaxValue):N0}");
            }

            if (length <= options.SnapshotLimit)
            {
                return OpenSnapshot(path, stream, (int)length, options);
            }

            // Larger files are mapped: reading them whole would cost their size in memory.
            var mapping = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            var view = mapping.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            var owner = new MappingOwner(mapping, view);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            owner.Acquired = true;
            pointer += view.PointerOffset;
            var result = Create(path, owner, pointer, (int)length, options);
            if (!result.Success)
            {
                owner.Dispose();
            }

            return result;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream.Dispose();
            return PeOpenResult.Fail(PeOpenFailure.Unreadable, e.Message);
        }
    }

    /// <summary>
    /// Reads the file once into native memory and analyzes that private snapshot. A mapped file
    /// that another process truncates mid-scan raises SIGBUS on the next read of a lost page,
    /// which no managed code can survive; a snapshot also cannot change under the rules. A file
    /// that shrinks while it is read is analyzed as far as it was read.
    /// </summary>
    private static PeOpenResult OpenSnapshot(string path, FileStream stream, int length, PeOpenOptions options)
    {
        var buffer = (byte*)NativeMemory.Alloc((nuint)length);
        var read = 0;
        try
        {
            using (stream)
            {
                while (read < length)
                {
                    var n = RandomAccess.Read(stream.SafeFileHandle, new Span<byte>(buffer + read, length - read), read);
                    if (n == 0)
                    {
                        break;
                    }

                    read += n;
                }
            }
        }
        catch
        {
            NativeMemory.Free(buffer);
            throw;
        }

        if (read == 0)
        {
            NativeMemory.Free(buffer);
            return PeOpenResult.Fail(PeOpenFailure.NotPe, "the file is empty");
        }

        var owner = new NativeOwner(buffer);
        var result = Create(path, owner, buffer, read, options);
        if (!result.Success)
        {
            owner.Dispose();
        }

        return result;
    }

    /// <summary>Opens an in-memory image (tests, fuzzing). The array is pinned until disposal.</summary>
    public static PeOpenResult Load(byte[] bytes, string displayName, PeOpenOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0)
        {
            return PeOpenResult.Fail(PeOpenFailure.NotPe, "the file is empty");
        }

        var handle = GCHandle.Alloc(bytes, GCHandleType.Pinned);
        var owner = new PinOwner(handle);
        var result = Create(displayName, owner, (byte*)handle.AddrOfPinnedObject(), bytes.Length, options ?? PeOpenOptions.Default);
        if (!result.Success)
        {
            owner.Dispose();
        }

        return result;
    }

    /// <summary>Cheap check for the MZ and PE signatures (used to skip non-PE files in folders).</summary>
    public static bool HasPeSignature(ReadOnlySpan<byte> file)
    {
        if (file.Length < 0x40 || file[0] != (byte)'M' || file[1] != (byte)'Z')
        {
            return false;
        }

        if (!SpanRead.TryUInt32(file, 0x3C, out var lfanew) || lfanew > int.MaxValue - 4)
        {
            return false;
        }

        return SpanRead.TryUInt32(file, (int)lfanew, out var signature) && signature == 0x00004550;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _owner?.Dispose();
    }

    private static PeOpenResult Create(string path, IDisposable owner, byte* pointer, int length, PeOpenOptions options)
    {
        var file = new ReadOnlySpan<byte>(pointer, length);
        if (!HasPeSignature(file))
        {
            return PeOpenResult.Fail(PeOpenFailure.NotPe, "no MZ/PE signature");
        }

        PEHeaders headers;
        var problems = new List<PeProblem>();
        try
        {
            headers = ReadHeaders(pointer, length, file, problems);
        }
        catch (Exception e) when (e is BadImageFormatException or ArgumentException or InvalidOperationException or IOException)
        {
            return PeOpenResult.Fail(PeOpenFailure.Malformed, $"headers cannot be read: {e.Message}");
        }

        if (headers.PEHeader is null)
        {
            return PeOpenResult.Fail(PeOpenFailure.Malformed, "no optional header (a COFF object, not an image)");
        }

        return PeOpenResult.Ok(new PeImage(path, owner, pointer, length, headers, problems));
    }

    /// <summary>
    /// The headers through <see cref="PEHeaders"/>. It reads NumberOfSections as a signed 16-bit
    /// count and rejects anything over 32,767, where the loader takes up to 65,535: such a file is
    /// read from a copy of its headers with the count capped, and the cap is recorded as a problem.
    /// </summary>
    private static PEHeaders ReadHeaders(byte* pointer, int length, ReadOnlySpan<byte> file, List<PeProblem> problems)
    {
        // HasPeSignature has checked e_lfanew and the signature: NumberOfSections follows "PE\0\0" and Machine.
        SpanRead.TryUInt32(file, 0x3C, out var peOffset);
        var countOffset = (long)peOffset + 6;
        if (!SpanRead.TryUInt16(file, (int)Math.Min(countOffset, int.MaxValue), out var declared) || declared <= short.MaxValue)
        {
            using var stream = new UnmanagedMemoryStream(pointer, length);
            return new PEHeaders(stream, length, isLoadedImage: false);
        }

        SpanRead.TryUInt16(file, (int)countOffset + 14, out var optionalHeaderSize);
        var tableEnd = countOffset + 18 + optionalHeaderSize + ((long)short.MaxValue * 40);
        var copy = file[..(int)Math.Min(length, tableEnd)].ToArray(); // bounded: ~1.3 MB past the PE header
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan((int)countOffset), (ushort)short.MaxValue);
        problems.Add(new PeProblem(PeStructure.Headers, ProblemCode.SectionsOver32767,
            $"NumberOfSections is {declared:N0}, over the {short.MaxValue:N0} the header reader takes; only the first {short.MaxValue:N0} section headers are analyzed", null, countOffset, 2));
        using var patched = new MemoryStream(copy, writable: false);
        return new PEHeaders(patched, copy.Length, isLoadedImage: false);
    }

    /// <summary>
    /// The section headers where the loader finds them: right after SizeOfOptionalHeader bytes of
    /// optional header. <see cref="PEHeaders"/> places the table after a full optional header
    /// instead, which is wrong for images with fewer data directories (hand-made EFI headers).
    /// Only headers wholly in the file are read; a table cut short is recorded as a problem.
    /// </summary>
    private static List<SectionInfo> ReadSections(PEHeaders headers, ReadOnlySpan<byte> file, List<PeProblem> problems)
    {
        var count = headers.SectionHeaders.Length;
        var tableStart = (long)headers.CoffHeaderStartOffset + 20 + (ushort)headers.CoffHeader.SizeOfOptionalHeader;
        var inFile = tableStart >= file.Length ? 0 : (int)Math.Min(count, (file.Length - tableStart) / SectionInfo.HeaderSize);
        if (inFile < count)
        {
            problems.Add(new PeProblem(PeStructure.Sections, ProblemCode.SectionTableTruncated,
                $"the file ends after {inFile} of its {count} section headers; only those are analyzed", null, tableStart, SectionInfo.HeaderSize * count));
        }

        var list = new List<SectionInfo>(inFile);
        for (var i = 0; i < inFile; i++)
        {
            var at = tableStart + ((long)i * SectionInfo.HeaderSize);
            var header = file.Slice((int)at, SectionInfo.HeaderSize);
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

    private sealed class MappingOwner(MemoryMappedFile mapping, MemoryMappedViewAccessor view) : IDisposable
    {
        public bool Acquired { get; set; }

        public void Dispose()
        {
            if (Acquired)
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
                Acquired = false;
            }

            view.Dispose();
            mapping.Dispose();
        }
    }

    private sealed class NativeOwner(byte* buffer) : IDisposable
    {
        private byte* _buffer = buffer;

        public void Dispose()
        {
            NativeMemory.Free(_buffer);
            _buffer = null;
        }
    }

    /// <summary>The mapped (or pinned) file as a Memory; the image owns the bytes' lifetime.</summary>
    private sealed class ImageMemory(byte* pointer, int length) : System.Buffers.MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(pointer, length);

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }

    private sealed class PinOwner(GCHandle handle) : IDisposable
    {
        public void Dispose()
        {
            if (handle.IsAllocated)
            {
                handle.Free();
            }
        }
    }
}
