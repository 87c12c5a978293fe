using System.Buffers.Binary;
using System.Diagnostics;
using System.Reflection.PortableExecutable;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;
using Xunit.Abstractions;

namespace Pelint.Tests.Rules;

/// <summary>
/// A hostile base relocation directory: 100 MB of 10-byte blocks, each with a page RVA that is
/// not 4 KiB aligned (0x1001) and one HIGHLOW entry, an x86 type in an x64 image. That is two
/// PE1003 findings per block, 20,971,520 in all; before the engine capped while collecting, the
/// rule built every one of them (60 s and 7.3 GB).
/// </summary>
public sealed class RelocationFloodTests(ITestOutputHelper output)
{
    private const int DirectorySize = 100 * 1024 * 1024;
    private const int BlockSize = 10;

    [Fact]
    public void Hundred_megabytes_of_malformed_relocation_blocks_are_counted_in_bounded_time_and_memory()
    {
        using var image = PeImage.Load(FloodImage(), "flood.dll").Image!;
        var engine = new RuleEngine(RuleCatalog.Embedded, [new RelocationBlocks()]);
        var blocks = DirectorySize / BlockSize;

        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var report = engine.Analyze(image, DefaultSeverityPolicy.Instance);
        clock.Stop();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        output.WriteLine($"PE1003 over {blocks:N0} blocks: {clock.Elapsed.TotalSeconds:0.00} s, {allocated:N0} bytes allocated");

        Assert.Equal(51, report.Results.Count);
        Assert.Equal(["page-unaligned", "bad-type"], report.Results.Take(2).Select(r => r.Finding.MessageId));
        Assert.Equal($"flood.dll: {(2 * blocks) - 50} more results of this rule were not reported (max-results 50 per image).", report.Results[^1].Message);
        // Memory is the sharp bound: past the cap nothing is described, so 20 million findings cost
        // no allocation (building them all took 7.3 GB). Time is only bounded loosely: the rule runs
        // in 2-7 s alone, but a test host on a loaded 2-core machine has run it for 34 s.
        Assert.True(allocated < 16 << 20, $"allocated {allocated:N0} bytes for {blocks:N0} blocks");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(120), $"took {clock.Elapsed}");
    }

    private static byte[] FloodImage()
    {
        var builder = new PeBuilder();
        builder.AddCode(0x200);
        var reloc = builder.AddSection(".reloc", SectionCharacteristics.ContainsInitializedData | SectionCharacteristics.MemRead, DirectorySize);
        Span<byte> block = stackalloc byte[BlockSize];
        BinaryPrimitives.WriteUInt32LittleEndian(block, 0x1001);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], BlockSize);
        BinaryPrimitives.WriteUInt16LittleEndian(block[8..], 0x3004); // type 3 (HIGHLOW) at page offset 4
        for (var offset = 0; offset < DirectorySize; offset += BlockSize)
        {
            block.CopyTo(reloc.Data.AsSpan(offset));
        }

        builder.SetDirectory(5, reloc.Rva, DirectorySize);
        return builder.Build();
    }
}
