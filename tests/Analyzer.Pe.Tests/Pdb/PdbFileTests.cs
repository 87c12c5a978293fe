using System.Buffers.Binary;
using Pelint.Pe;
using Pelint.Pe.Pdb;
using Pelint.Testing;

namespace Pelint.Pe.Tests.Pdb;

/// <summary>
/// The PDB reader on the sample PDB that samples/build.sh links with hotpatch-one.x64.exe. The
/// expected values are from llvm-pdbutil-22 (`dump -summary -publics`: GUID, age, each S_PUB32
/// as section:offset) and llvm-readobj-22 (`--sections --coff-debug-directory`: .text at 0x1000,
/// .rdata at 0x2000, the image's PDBGUID and PDBAge), so RVA = section address + offset.
/// </summary>
public sealed class PdbFileTests
{
    private static readonly string SamplePdb = Path.Combine(TestPaths.SamplesBin, "hotpatch-one.x64.pdb");
    private static readonly string SampleExe = Path.Combine(TestPaths.SamplesBin, "hotpatch-one.x64.exe");
    private static readonly Guid SampleGuid = new("CD004A00-E496-DE04-4C4C-44205044422E");

    [Fact]
    public void The_info_stream_gives_the_guid_and_age_llvm_pdbutil_reports()
    {
        var opened = PdbFile.Open(SamplePdb);
        using var pdb = opened.File;
        Assert.True(pdb is not null, opened.Problem);
        Assert.Equal(new PdbIdentity(SampleGuid, 1), pdb.Identity);
        Assert.False(pdb.HasOmap);
    }

    [Fact]
    public void The_image_codeview_record_names_the_same_pdb()
    {
        var opened = PeImage.Open(SampleExe);
        using var image = opened.Image!;
        var codeView = image.Debug.CodeView;
        Assert.NotNull(codeView);
        Assert.Equal(SampleGuid, codeView.UniqueId);
        Assert.Equal(1u, codeView.Age);
        Assert.Equal("hotpatch-one.x64.pdb", codeView.PdbPath);
        Assert.Equal("CD004A00E496DE044C4C44205044422E1", codeView.SymbolStoreKey);
        Assert.True(new PdbIdentity(SampleGuid, 1).Matches(codeView));
        Assert.False(new PdbIdentity(SampleGuid, 2).Matches(codeView));
    }

    [Fact]
    public void Public_symbols_map_section_and_offset_to_rvas()
    {
        using var image = PeImage.Open(SampleExe).Image!;
        using var pdb = PdbFile.Open(SamplePdb).File!;
        var publics = pdb.ReadPublics(image.Sections);
        Assert.Null(publics.Problem);
        (string Name, uint Rva, PublicSymbolFlags Flags)[] expected =
        [
            ("ExitProcess", 0x1000 + 416, PublicSymbolFlags.Function),
            ("GetTickCount", 0x1000 + 432, PublicSymbolFlags.Function),
            ("__guard_check_icall_fptr", 0x2000 + 440, PublicSymbolFlags.None),
            ("__guard_dispatch_icall_fptr", 0x2000 + 448, PublicSymbolFlags.None),
            ("__guard_fids_table", 0x2000 + 416, PublicSymbolFlags.None),
            ("__imp_ExitProcess", 0x2000 + 616, PublicSymbolFlags.None),
            ("__imp_GetTickCount", 0x2000 + 624, PublicSymbolFlags.None),
            ("_load_config_used", 0x2000 + 0, PublicSymbolFlags.None),
            ("first_in_chunk", 0x1000 + 256, PublicSymbolFlags.Function),
            ("mainCRTStartup", 0x1000 + 192, PublicSymbolFlags.Function),
            ("mix", 0x1000 + 64, PublicSymbolFlags.Function),
            ("spread", 0x1000 + 128, PublicSymbolFlags.Function),
            ("ticks_plus", 0x1000 + 16, PublicSymbolFlags.Function),
            ("unpadded_helper", 0x1000 + 304, PublicSymbolFlags.Function),
        ];
        Assert.Equal(expected, publics.Symbols.Select(s => (s.Name, s.Rva, s.Flags)).OrderBy(s => s.Name, StringComparer.Ordinal));
    }

    [Fact]
    public void Files_that_are_not_msf_7_say_what_they_are()
    {
        Assert.Contains("PDB 2.0", Problem("Microsoft C/C++ program database 2.00\r\n\u001aJG\0\0"u8.ToArray().Concat(new byte[64]).ToArray()));
        Assert.Contains("not an MSF 7.00 file", Problem(File.ReadAllBytes(SampleExe)));
        Assert.Contains("shorter than an MSF superblock", Problem([]));
        Assert.Contains("cannot be read", PdbFile.Open(Path.Combine(TestPaths.SamplesBin, "no-such.pdb")).Problem);
    }

    [Theory]
    [InlineData(32, 3000u, "block size 3000")]
    [InlineData(32, 256u, "block size 256")]
    [InlineData(44, 0x7FFFFFFFu, "does not fit the file")]
    [InlineData(44, 2u, "does not fit the file")]
    [InlineData(52, 0xFFFFFFF0u, "block map")]
    [InlineData(40, 3u, "outside the file")] // block count cut below the directory's blocks
    public void Bad_superblock_fields_are_problems(int offset, uint value, string expected)
    {
        var bytes = File.ReadAllBytes(SamplePdb);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), value);
        Assert.Contains(expected, Problem(bytes));
    }

    [Fact]
    public void A_stream_larger_than_the_file_or_a_directory_that_lists_too_few_blocks_is_a_problem()
    {
        var bytes = File.ReadAllBytes(SamplePdb);
        var directory = DirectoryOffset(bytes);
        var streams = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(directory));

        var huge = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(huge.AsSpan(directory + 4 + 4), 0x7FFF_0000); // stream 1's size
        Assert.Contains("more than the whole file", Problem(huge));

        var tooMany = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(tooMany.AsSpan(directory), streams * 1000);
        Assert.Contains("streams, more than", Problem(tooMany));

        var longStreams = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(longStreams.AsSpan(directory + 4 + (4 * 3)), (uint)bytes.Length - 1); // stream 3 (DBI)
        Assert.Contains("blocks for its", Problem(longStreams));
    }

    [Fact]
    public void Every_truncation_is_read_without_an_exception_or_a_read_outside_the_file()
    {
        var bytes = File.ReadAllBytes(SamplePdb);
        var opened = 0;
        for (var length = 0; length <= bytes.Length; length += length < 8192 ? 61 : 509)
        {
            var source = new RecordingSource(bytes.AsMemory(0, length));
            var result = PdbFile.Open(source);
            using var pdb = result.File;
            if (pdb is null)
            {
                Assert.NotNull(result.Problem);
            }
            else
            {
                opened++;
                pdb.ReadPublics([]);
            }

            Assert.True(source.MaxEnd <= length, $"read up to {source.MaxEnd} of {length} bytes");
        }

        // The last block (the publics, written last) is needed in full; everything shorter fails cleanly.
        Assert.True(opened >= 1);
    }

    [Fact]
    public void Mutated_structures_never_throw_read_outside_or_allocate_past_the_file()
    {
        var original = File.ReadAllBytes(SamplePdb);
        var directory = DirectoryOffset(original);
        var blockSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(original.AsSpan(32));
        // The superblock, the block map, the directory and the first bytes of every block
        // (stream headers: info, DBI, symbol records).
        var targets = Enumerable.Range(32, 24)
            .Concat(Enumerable.Range(directory, 256))
            .Concat(Enumerable.Range(1, (original.Length / blockSize) - 1).SelectMany(b => Enumerable.Range(b * blockSize, 24)))
            .Distinct().ToArray();
        byte[] values = [0x00, 0x01, 0x7F, 0x80, 0xFF];
        var random = new Random(13);
        for (var i = 0; i < 3000; i++)
        {
            var bytes = (byte[])original.Clone();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                bytes[targets[random.Next(targets.Length)]] = values[random.Next(values.Length)];
            }

            var source = new RecordingSource(bytes);
            var before = GC.GetAllocatedBytesForCurrentThread();
            var result = PdbFile.Open(source);
            using (var pdb = result.File)
            {
                pdb?.ReadPublics([]);
            }

            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(source.MaxEnd <= bytes.Length);
            Assert.True(allocated < (8L * bytes.Length) + (1 << 20), $"mutant {i}: {allocated:N0} bytes allocated for a {bytes.Length:N0}-byte file");
        }
    }

    private static string Problem(byte[] bytes)
    {
        var result = PdbFile.Load(bytes);
        result.File?.Dispose();
        Assert.Null(result.File);
        return result.Problem!;
    }

    // Test-side reading of the MSF layout (superblock fields at 32..55): the directory's first block.
    private static int DirectoryOffset(byte[] bytes)
    {
        var blockSize = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(32));
        var mapBlock = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(52));
        return (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(mapBlock * blockSize)) * blockSize;
    }

    /// <summary>Memory that remembers how far anything was read (requests that reach ReadCore).</summary>
    private sealed class RecordingSource(ReadOnlyMemory<byte> bytes) : ByteSource
    {
        public long MaxEnd { get; private set; }

        public override long Length => bytes.Length;

        protected override bool ReadCore(long offset, Span<byte> buffer)
        {
            MaxEnd = Math.Max(MaxEnd, offset + buffer.Length);
            bytes.Span.Slice((int)offset, buffer.Length).CopyTo(buffer);
            return true;
        }

        public override void Dispose()
        {
        }
    }
}
