using System.Buffers.Binary;
using System.Reflection.PortableExecutable;
using Pelint.Analysis;
using Pelint.Analysis.Arm64;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Rules;

/// <summary>
/// Each ARM64 rule fires, alone, on a real ARM64 image with one defect patched in. Offsets come
/// from the PE/COFF layout and Microsoft's "ARM64 exception handling" (.pdata entries of 8
/// bytes; .xdata header bits; A64 encodings), read here independently of the code under test.
/// </summary>
public sealed class Arm64RulesTests
{
    private static readonly Arm64Images.Image Clean = Arm64Images.NuGet.Single(i => i.Name == "WebView2Loader.dll");

    [Fact]
    public void The_clean_base_image_has_no_arm64_result() =>
        Assert.DoesNotContain(RuleHarness.Analyze(File.ReadAllBytes(Clean.Path), Clean.Name).RuleIds(), id => id.StartsWith("PE40", StringComparison.Ordinal));

    [Fact]
    public void Swapped_pdata_entries_yield_only_PE4001()
    {
        var patch = ImagePatch.FromFile(Clean.Path);
        var pdata = PdataOffset(patch);
        var a = patch.Bytes.AsSpan(pdata + (10 * 8), 8).ToArray();
        patch.Bytes.AsSpan(pdata + (11 * 8), 8).CopyTo(patch.Bytes.AsSpan(pdata + (10 * 8)));
        a.CopyTo(patch.Bytes.AsSpan(pdata + (11 * 8)));
        AssertOnlyNew("PE4001", patch);
    }

    [Fact]
    public void An_xdata_record_of_version_1_yields_only_PE4002()
    {
        var patch = ImagePatch.FromFile(Clean.Path);
        var (_, xdata) = FirstXdata(patch, header => true);
        var header = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(xdata));
        patch.WriteUInt32(xdata, header | (1u << 18)); // Vers = 1
        AssertOnlyNew("PE4002", patch);
    }

    [Fact]
    public void A_reserved_bit_in_an_epilog_scope_yields_only_PE4003()
    {
        var patch = ImagePatch.FromFile(Clean.Path);

        // E = 0, Epilog Count 1 or more, no extension word: the first scope word follows the header.
        var (_, xdata) = FirstXdata(patch, header => (header & (1u << 21)) == 0 && ((header >> 22) & 31) != 0 && (header >> 27) != 0);
        var scope = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(xdata + 4));
        patch.WriteUInt32(xdata + 4, scope | (1u << 18));
        AssertOnlyNew("PE4003", patch);
    }

    [Fact]
    public void Packed_data_saving_x19_to_x29_yields_only_PE4004()
    {
        var patch = ImagePatch.FromFile(Clean.Path);
        var pdata = PdataOffset(patch);
        var (_, size) = patch.GetDirectory(3);
        for (var i = 0; i < size / 8; i++)
        {
            var word = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(pdata + (i * 8) + 4));
            if ((word & 3) == 1)
            {
                patch.WriteUInt32(pdata + (i * 8) + 4, (word & ~(0xFu << 16)) | (11u << 16)); // RegI = 11
                AssertOnlyNew("PE4004", patch);
                return;
            }
        }

        Assert.Fail("no packed entry");
    }

    [Fact]
    public void A_prolog_store_moved_by_8_bytes_yields_only_PE4005()
    {
        var patch = ImagePatch.FromFile(Clean.Path);
        foreach (var (begin, _) in Entries(patch, flag: 0))
        {
            var at = patch.FileOffsetOf(begin);
            var word = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(at));

            // stp x19, x20, [sp, #-n]! (64-bit pre-indexed pair, Rn = sp): the prolog's first store.
            if ((word & 0xFFC07FFF) == 0xA98053F3)
            {
                var imm7 = (word >> 15) & 0x7F;
                patch.WriteUInt32(at, (word & ~(0x7Fu << 15)) | (((imm7 - 1) & 0x7F) << 15)); // 8 bytes further down
                AssertOnlyNew("PE4005", patch);
                return;
            }
        }

        Assert.Fail("no function starting with stp x19, x20, [sp, #-n]!");
    }

    [Fact]
    public void An_epilog_whose_ret_became_a_nop_yields_only_PE4006()
    {
        var patch = ImagePatch.FromFile(Clean.Path);
        foreach (var (begin, unwind) in Entries(patch, flag: 0))
        {
            var xdata = patch.FileOffsetOf(unwind);
            var header = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(xdata));
            if ((header & (1u << 21)) != 0 || ((header >> 22) & 31) != 1 || (header >> 27) == 0)
            {
                continue;
            }

            var start = begin + ((BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(xdata + 4)) & 0x3FFFF) * 4);
            for (var k = 0; k < 12; k++)
            {
                var at = patch.FileOffsetOf(start + (uint)(k * 4));
                if (BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(at)) == 0xD65F03C0) // ret
                {
                    patch.WriteUInt32(at, 0xD503201F); // nop
                    AssertOnlyNew("PE4006", patch);
                    return;
                }
            }
        }

        Assert.Fail("no single-epilog function with a ret");
    }

    [Theory]
    [InlineData(0xE4u, 0x52800600u, false)] // empty prolog, mov w0, #48: the walk is right everywhere
    [InlineData(0xE4u, 0x52800613u, true)] // mov w19, #48 overwrites a register the epilog restored
    [InlineData(0x22u, 0x52800600u, true)] // a prolog that saves x19/x20: past the scope, the ret would restore them again
    public void A_return_value_move_between_the_last_restore_and_the_ret_is_a_mismatch_only_when_a_walk_goes_wrong(uint prologCode, uint move, bool reported)
    {
        // One function of 4 instructions: 0 nop (or the prolog's stp x19, x20, [sp, #-16]!);
        // 4 ldp x19, x20, [sp], #16 (epilog start);
        // 8 `move`; 12 ret. xdata (Microsoft's "ARM64 exception handling"): FunctionLength 4
        // words, one epilog scope at instruction 1 with start index 2, one code word: the prolog
        // [prologCode, end], the epilog [save_r19r20_x #16 (0x22), end].
        var builder = new PeBuilder(Machine.Arm64);
        var text = builder.AddCode(0x200);
        var data = builder.AddReadOnlyData(".rdata", 0x200);
        var begin = text.Rva;
        text.WriteUInt32(begin, prologCode == 0x22 ? 0xA9BF53F3 : 0xD503201F);
        text.WriteUInt32(begin + 4, 0xA8C153F3);
        text.WriteUInt32(begin + 8, move);
        text.WriteUInt32(begin + 12, 0xD65F03C0);
        var xdata = data.Rva;
        data.WriteUInt32(xdata, 4u | (1u << 22) | (1u << 27)); // FunctionLength 4, EpilogCount 1, CodeWords 1
        data.WriteUInt32(xdata + 4, 1u | (2u << 22)); // epilog at instruction 1, codes from index 2
        data.WriteBytes(xdata + 8, [(byte)prologCode, 0xE4, 0x22, 0xE4]);
        var pdata = data.Rva + 0x100;
        data.WriteUInt32(pdata, begin);
        data.WriteUInt32(pdata + 4, xdata);
        builder.SetDirectory(3, pdata, 8);

        var ids = RuleHarness.Analyze(builder.Build(), "epilog-move.dll").RuleIds();

        Assert.Equal(reported, ids.Contains("PE4006"));
        Assert.DoesNotContain(ids, id => id.StartsWith("PE40", StringComparison.Ordinal) && id != "PE4006");
    }

    [Fact]
    public void An_arm64ec_code_range_marked_x64_yields_only_PE4007()
    {
        var image = Arm64Images.Arm64X.Single(i => i.Name == "ServicingCommon.dll");
        var patch = ImagePatch.FromFile(image.Path);

        // Load config (directory 10) -> CHPEMetadataPointer (offset 200, a VA) -> code map (+4: RVA, +8: count).
        var (loadConfig, _) = patch.GetDirectory(10);
        var imageBase = BinaryPrimitives.ReadUInt64LittleEndian(patch.Bytes.AsSpan(patch.OptionalOffset + 24));
        var metadata = (uint)(BinaryPrimitives.ReadUInt64LittleEndian(patch.Bytes.AsSpan(patch.FileOffsetOf(loadConfig) + 200)) - imageBase);
        var map = patch.FileOffsetOf(BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(patch.FileOffsetOf(metadata) + 4)));
        var count = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(patch.FileOffsetOf(metadata) + 8));
        for (var i = 0; i < count; i++)
        {
            var start = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(map + (i * 8)));
            if ((start & 3) == 1)
            {
                patch.WriteUInt32(map + (i * 8), (start & ~3u) | 2); // ARM64EC -> x64
                var before = RuleHarness.Analyze(File.ReadAllBytes(image.Path), image.Name).RuleIds().ToHashSet();
                var after = RuleHarness.Analyze(patch.Bytes, image.Name).RuleIds().ToHashSet();
                Assert.Equal(["PE4007"], after.Except(before));
                return;
            }
        }

        Assert.Fail("no ARM64EC range");
    }

    [Fact]
    public void Arm64_rules_say_not_applicable_with_the_machine_on_x64()
    {
        using var image = PeImage.Open(TestPaths.RuntimeDll("hostfxr.dll")).Image!;
        foreach (var rule in RuleRegistry.CreateAll().Where(r => r.Id.StartsWith("PE40", StringComparison.Ordinal)))
        {
            var applicability = rule.GetApplicability(image);
            Assert.False(applicability.IsApplicable);
            Assert.Contains("machine is x64", applicability.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_code_map_rule_is_not_applicable_to_plain_arm64()
    {
        using var image = PeImage.Open(Clean.Path).Image!;
        var applicability = new Arm64ECCodeMap().GetApplicability(image);
        Assert.False(applicability.IsApplicable);
        Assert.Contains("ARM64 image without CHPE metadata", applicability.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_every_entry_shares_with_thousands_of_epilog_scopes_over_codes_that_never_end_is_checked_once()
    {
        // Every scope at +0x40 with start index 0 over 1,020 nop codes and no end. Decoding each
        // scope's codes for each entry took 194 s in a scan (0.5 s now).
        var patch = SharedRecord(scopes: 24_000, distinctStarts: false, ends: false);

        // A hang fails the test (TimeoutException). On a thread of its own, so that a busy thread
        // pool cannot look like one.
        var analysis = Task.Factory.StartNew(() => RuleHarness.Analyze(patch.Bytes, Clean.Name), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var report = await analysis.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(report.Notifications, n => n.Id == ToolNotification.RuleFailed);
        Assert.Contains(report.Results, r => r.Rule.Id == "PE4002" && r.Message.Contains("not after scope", StringComparison.Ordinal));
    }

    [Fact]
    public void Epilog_mismatches_past_the_kept_limit_are_counted_not_kept()
    {
        // 100 scopes at distinct starts over 1,019 nop codes and an end, shared by every entry:
        // tens of thousands of epilogs, nearly all of them mismatches (held 451 MB at 8,000 scopes).
        var patch = SharedRecord(scopes: 100, distinctStarts: true, ends: true);
        var opened = PeImage.Load(patch.Bytes, Clean.Name);
        Assert.True(opened.Success, opened.Reason);
        using var image = opened.Image!;
        var analysis = new AnalysisContext(image);
        var check = Arm64FrameCheck.Of(analysis);

        Assert.True(check.EpilogsChecked > 3 * Arm64FrameCheck.MaxKept, $"{check.EpilogsChecked} epilogs");
        Assert.Equal(Arm64FrameCheck.MaxKept, check.EpilogMismatches.Count(m => !m.WholeQRegisters));
        Assert.True(check.MismatchesNotKept(epilog: true, wholeQRegisters: false) > Arm64FrameCheck.MaxKept);
        var report = RuleHarness.Engine.Analyze(analysis, DefaultSeverityPolicy.Instance);
        Assert.DoesNotContain(report.Notifications, n => n.Id == ToolNotification.RuleFailed);
        Assert.Contains(report.Results, r => r.Rule.Id == "PE4006");
    }

    [Theory]
    [InlineData("PE4002")]
    [InlineData("PE4005")]
    [InlineData("PE4006")]
    public void The_rules_fed_by_the_frame_check_keep_fewer_results_than_it_does(string rule)
    {
        // The mismatches past MaxKept are counted into the rule's summary, which needs the rule past its cap by then.
        var page = RuleCatalog.Embedded.Find(rule);
        Assert.NotNull(page);
        Assert.True(page.MaxResults < Arm64FrameCheck.MaxKept, $"{rule} max-results {page.MaxResults}");
    }

    /// <summary>
    /// Clean with one .xdata record written in .text (extended header: <paramref name="scopes"/>
    /// epilog scopes, 255 code words, function length 96 KB) that every unpacked entry points at.
    /// Scopes start at +0x40 or, with <paramref name="distinctStarts"/>, at +4, +8, ...; all at
    /// code byte 0. The codes are 1,020 nops, or 1,019 and an end.
    /// </summary>
    private static ImagePatch SharedRecord(int scopes, bool distinctStarts, bool ends)
    {
        var patch = ImagePatch.FromFile(Clean.Path);
        var text = patch.SectionHeaderOffset(patch.FindSection(".text"));
        var textRva = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(text + 12));
        var textRaw = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(text + 16));
        var record = textRva + 0x1000;
        Assert.True(0x1000 + 8 + (scopes * 4) + 1020 <= textRaw);
        var at = patch.FileOffsetOf(record);
        patch.WriteUInt32(at, 0x6000); // function length in words; epilog count and code words 0: extended
        patch.WriteUInt32(at + 4, (uint)scopes | (255u << 16));
        for (var k = 0; k < scopes; k++)
        {
            patch.WriteUInt32(at + 8 + (k * 4), distinctStarts ? (uint)(k + 1) : 0x10); // start offset in words, index 0
        }

        var codes = patch.Bytes.AsSpan(at + 8 + (scopes * 4), 1020);
        codes.Fill(0xE3);
        if (ends)
        {
            codes[^1] = 0xE4;
        }

        var pdata = PdataOffset(patch);
        var (_, size) = patch.GetDirectory(3);
        var pointed = 0;
        for (var i = 0; i < size / 8; i++)
        {
            if ((BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(pdata + (i * 8) + 4)) & 3) == 0)
            {
                patch.WriteUInt32(pdata + (i * 8) + 4, record);
                pointed++;
            }
        }

        Assert.True(pointed > 100, $"{pointed} entries");
        return patch;
    }

    private static void AssertOnlyNew(string rule, ImagePatch patch)
    {
        var before = RuleHarness.Analyze(File.ReadAllBytes(Clean.Path), Clean.Name).RuleIds().ToHashSet();
        var after = RuleHarness.Analyze(patch.Bytes, Clean.Name).RuleIds().ToHashSet();
        Assert.Equal([rule], after.Except(before));
    }

    private static int PdataOffset(ImagePatch patch) => patch.FileOffsetOf(patch.GetDirectory(3).Rva);

    private static IEnumerable<(uint Begin, uint UnwindData)> Entries(ImagePatch patch, int flag)
    {
        var pdata = PdataOffset(patch);
        var (_, size) = patch.GetDirectory(3);
        for (var i = 0; i < size / 8; i++)
        {
            var begin = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(pdata + (i * 8)));
            var unwind = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(pdata + (i * 8) + 4));
            if ((unwind & 3) == flag)
            {
                yield return (begin, unwind);
            }
        }
    }

    private static (uint Begin, int XdataOffset) FirstXdata(ImagePatch patch, Func<uint, bool> header)
    {
        foreach (var (begin, unwind) in Entries(patch, flag: 0))
        {
            var at = patch.FileOffsetOf(unwind);
            if (header(BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(at))))
            {
                return (begin, at);
            }
        }

        throw new InvalidOperationException("no matching .xdata record");
    }
}
