using Pelint.Pe;
using Pelint.Reporting;
using Pelint.Testing;

namespace Pelint.Tests.Exceptions;

/// <summary>
/// A hostile .pdata: many entries sharing one UNWIND_INFO. Work and memory must follow the
/// entries, one shared record, not one decoded record per entry; the JSON dump is streamed.
/// </summary>
public sealed class LargeExceptionDirectoryTests
{
    private const int Entries = 100_000;

    // Entries of 2-byte functions (ret; int3), every one naming the same UNWIND_INFO (version 1, no codes).
    private static byte[] SharedInfoImage(int entries)
    {
        var builder = new PeBuilder();
        var text = builder.AddCode(entries * 2);
        for (var i = 0; i < entries; i++)
        {
            text.Data[2 * i] = 0xC3;
            text.Data[(2 * i) + 1] = 0xCC;
        }

        var rdata = builder.AddReadOnlyData(".rdata", 16);
        rdata.WriteBytes(rdata.Rva, [0x01, 0x00, 0x00, 0x00]);
        var pdata = builder.AddReadOnlyData(".pdata", entries * 12);
        for (var i = 0; i < entries; i++)
        {
            var at = pdata.Rva + (uint)(i * 12);
            pdata.WriteUInt32(at, text.Rva + (uint)(2 * i));
            pdata.WriteUInt32(at + 4, text.Rva + (uint)(2 * i) + 1);
            pdata.WriteUInt32(at + 8, rdata.Rva);
        }

        builder.SetDirectory(3, pdata.Rva, (uint)(entries * 12));
        return builder.Build();
    }

    [Fact]
    public void Entries_sharing_one_unwind_info_share_one_decoded_record()
    {
        using var image = PeImage.Load(SharedInfoImage(Entries), "shared.dll").Image!;
        var directory = image.ExceptionDirectory;

        var first = directory.UnwindInfoOf(directory.Functions[0]);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var others = 0;
        foreach (var f in directory.Functions)
        {
            others += directory.UnwindInfoOf(f) == first ? 0 : 1;
        }

        Assert.Equal(0, others);

        // One decoded record is ~200 bytes with its lists; a reference per entry is 8.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < Entries * 16L, $"{GC.GetAllocatedBytesForCurrentThread() - before:N0} bytes");
    }

    [Fact]
    public void Json_dump_of_many_entries_is_written_in_chunks()
    {
        using var image = PeImage.Load(SharedInfoImage(Entries), "shared.dll").Image!;
        using var output = new ChunkCountingStream();

        UnwindDump.WriteJson(image, output);

        Assert.True(output.Writes > 10, $"{output.Writes} writes");
        Assert.True(output.LargestWrite <= 1 << 20, $"a write of {output.LargestWrite:N0} bytes");
        Assert.True(output.Total > Entries * 50L);
    }

    private sealed class ChunkCountingStream : Stream
    {
        public int Writes { get; private set; }

        public long LargestWrite { get; private set; }

        public long Total { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Total;

        public override long Position { get => Total; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Writes++;
            Total += buffer.Length;
            LargestWrite = Math.Max(LargestWrite, buffer.Length);
        }
    }
}
