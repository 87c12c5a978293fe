using System.Buffers.Binary;
using System.Reflection.PortableExecutable;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Rules;

/// <summary>
/// Each SafeSEH rule (PE5001-PE5004) fires, alone, on a real MSVC-built x86 image of the .NET
/// runtime pack with one defect patched in. Offsets come from the PE/COFF specification
/// (IMAGE_LOAD_CONFIG_DIRECTORY32: SEHandlerTable at 64, SEHandlerCount at 68; ImageBase at
/// optional header + 28; NO_SEH 0x0400), read here independently of the code under test; the
/// base image's table (0x100439C8, 162 handlers, all in .text at RVA 0x1000-0x34A1A, .rdata
/// at 0x35000) is what `llvm-readobj-22 --coff-load-config --sections hostfxr.dll` prints.
/// </summary>
public sealed class SafeSehRulesTests
{
    private const string BaseName = "hostfxr.dll";

    private static string BasePath => TestPaths.X86RuntimeDll(BaseName);

    public static TheoryData<string> X86PackImages() =>
        [.. Directory.EnumerateFiles(TestPaths.X86RuntimePackNative).Where(f => f.EndsWith(".dll", StringComparison.Ordinal) || f.EndsWith(".exe", StringComparison.Ordinal)).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(X86PackImages))]
    public void Real_x86_runtime_pack_images_have_no_safe_seh_result(string name)
    {
        // Every image has a sorted table of handlers in .text, or sets NO_SEH and has no load config (mscorrc.dll, clretwrc.dll).
        var ids = RuleHarness.Analyze(TestPaths.X86RuntimeDll(name)).RuleIds();
        Assert.DoesNotContain(ids, id => id.StartsWith("PE5", StringComparison.Ordinal));
    }

    [Fact]
    public void A_table_cleared_from_the_load_config_yields_only_PE5001()
    {
        var patch = ImagePatch.FromFile(BasePath);
        var config = LoadConfigOffset(patch);
        patch.WriteUInt32(config + 64, 0).WriteUInt32(config + 68, 0);

        var after = AssertOnlyNew("PE5001", patch);
        Assert.Contains(after.Results, r => r.Rule.Id == "PE5001" && r.Message.Contains("SEHandlerTable 0x0, SEHandlerCount 0", StringComparison.Ordinal));
    }

    [Fact]
    public void A_load_config_that_ends_before_the_handler_fields_is_PE5001()
    {
        var patch = ImagePatch.FromFile(BasePath);
        patch.WriteUInt32(LoadConfigOffset(patch), 64); // Size: SEHandlerTable (64..68) and SEHandlerCount (68..72) are past it

        var result = Assert.Single(RuleHarness.Analyze(patch.Bytes, BaseName).Results, r => r.Rule.Id == "PE5001");
        Assert.Contains("whose load configuration (Size 64) ends before SEHandlerTable and SEHandlerCount (72 bytes)", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_swapped_handlers_yield_only_PE5002()
    {
        var patch = ImagePatch.FromFile(BasePath);
        var table = TableOffset(patch);
        var a = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(table + (10 * 4)));
        var b = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(table + (11 * 4)));
        Assert.True(a < b);
        patch.WriteUInt32(table + (10 * 4), b).WriteUInt32(table + (11 * 4), a);

        var after = AssertOnlyNew("PE5002", patch);
        var result = Assert.Single(after.Results, r => r.Rule.Id == "PE5002");
        Assert.Equal(Level.Error, result.Level);
        Assert.Contains($"entry 11 (RVA 0x{a:X}) comes after 0x{b:X} (entries out of order: 1)", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_repeated_handler_yields_only_PE5002_as_a_warning()
    {
        var patch = ImagePatch.FromFile(BasePath);
        var table = TableOffset(patch);
        var a = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(table + (20 * 4)));
        patch.WriteUInt32(table + (21 * 4), a);

        var after = AssertOnlyNew("PE5002", patch);
        var result = Assert.Single(after.Results, r => r.Rule.Id == "PE5002");
        Assert.Equal(Level.Warning, result.Level);
        Assert.Contains($"lists RVA 0x{a:X} twice (entries 20 and 21; entries that repeat the one before them: 1)", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_last_handler_moved_into_rdata_yields_only_PE5003()
    {
        var patch = ImagePatch.FromFile(BasePath);
        var table = TableOffset(patch);
        var count = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(LoadConfigOffset(patch) + 68));
        var rdata = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(patch.SectionHeaderOffset(patch.FindSection(".rdata")) + 12));
        var last = table + (int)((count - 1) * 4);
        Assert.True(BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(last)) < rdata + 0x10); // still sorted after the change
        patch.WriteUInt32(last, rdata + 0x10);

        var after = AssertOnlyNew("PE5003", patch);
        var result = Assert.Single(after.Results, r => r.Rule.Id == "PE5003");
        Assert.Contains($"entry {count - 1} is RVA 0x{rdata + 0x10:X}, inside section '.rdata', which is not executable", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_seh_set_on_an_image_with_handlers_yields_only_PE5004()
    {
        var patch = ImagePatch.FromFile(BasePath).SetDllCharacteristics(DllCharacteristics.NoSeh);

        var after = AssertOnlyNew("PE5004", patch);
        Assert.Contains(after.Results, r => r.Rule.Id == "PE5004" && r.Message.Contains("registers 162 safe exception handlers (SEHandlerTable 0x100439C8)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_handler_count_of_4_billion_reads_only_what_the_section_holds()
    {
        var patch = ImagePatch.FromFile(BasePath);
        patch.WriteUInt32(LoadConfigOffset(patch) + 68, uint.MaxValue);

        var opened = PeImage.Load(patch.Bytes, BaseName);
        using var image = opened.Image!;
        var tableRva = 0x100439C8u - 0x10000000u;
        var rdata = image.Sections.Single(s => s.Name == ".rdata");
        Assert.Equal((int)((rdata.VirtualAddress + rdata.VirtualSize - tableRva) / 4), image.SafeSeh.Handlers.Count);
        Assert.Equal(
            [ProblemCode.SafeSehCountOverCap, ProblemCode.SafeSehTableTruncated],
            image.SafeSeh.Problems.Select(p => p.Code));
        Assert.Contains("PE5002", RuleHarness.Analyze(patch.Bytes, BaseName).RuleIds());
    }

    [Fact]
    public void A_table_outside_the_image_is_a_PE5002_problem_and_reads_no_handler()
    {
        var patch = ImagePatch.FromFile(BasePath);
        patch.WriteUInt32(LoadConfigOffset(patch) + 64, 0x0FFF0000); // below ImageBase 0x10000000

        var report = RuleHarness.Analyze(patch.Bytes, BaseName);
        var result = Assert.Single(report.Results, r => r.Rule.Id == "PE5002");
        Assert.Contains("SEHandlerTable 0xFFF0000 lies outside the image", result.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PE5003", report.RuleIds());
    }

    [Theory]
    [InlineData(64, 0x1004CFFFu)] // SEHandlerTable (SizeOfImage 0x4D000): the last byte, the last 4 bytes, far outside
    [InlineData(64, 0x1004CFFCu)]
    [InlineData(64, 0xFFFFFFFFu)]
    [InlineData(68, 0x7FFFFFFFu)] // SEHandlerCount
    [InlineData(68, 1u)]
    [InlineData(0, 64u)] // Size: ends before SEHandlerTable, between the two fields, at SEHandlerCount's end, absurd
    [InlineData(0, 68u)]
    [InlineData(0, 72u)]
    [InlineData(0, 0xFFFFFFFFu)]
    public void Hostile_load_config_fields_yield_results_never_a_rule_failure(int field, uint value)
    {
        var patch = ImagePatch.FromFile(BasePath);
        patch.WriteUInt32(LoadConfigOffset(patch) + field, value);

        var report = RuleHarness.Analyze(patch.Bytes, BaseName);
        Assert.DoesNotContain(report.Notifications, n => n.Id == "PEL0003");
        Assert.True(report.Results.Count(r => r.Rule.Id.StartsWith("PE500", StringComparison.Ordinal)) <= 100);
    }

    [Fact]
    public void Safe_seh_and_entry_branch_rules_say_not_applicable_with_the_machine_on_x64()
    {
        using var image = PeImage.Open(TestPaths.RuntimeDll("hostfxr.dll")).Image!;
        foreach (var rule in RuleRegistry.CreateAll().Where(r => r.Id.StartsWith("PE500", StringComparison.Ordinal) || r.Id == "PE2003"))
        {
            var applicability = rule.GetApplicability(image);
            Assert.False(applicability.IsApplicable);
            Assert.StartsWith("machine is x64:", applicability.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Efi_images_are_not_applicable()
    {
        var patch = ImagePatch.FromFile(BasePath);
        patch.WriteUInt16(patch.OptionalOffset + 68, 10); // Subsystem: IMAGE_SUBSYSTEM_EFI_APPLICATION
        using var image = PeImage.Load(patch.Bytes, BaseName).Image!;
        foreach (var rule in RuleRegistry.CreateAll().Where(r => r.Id.StartsWith("PE500", StringComparison.Ordinal)))
        {
            var applicability = rule.GetApplicability(image);
            Assert.False(applicability.IsApplicable);
            Assert.StartsWith("EFI image", applicability.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Resource_only_x86_images_are_not_applicable()
    {
        using var image = PeImage.Open(TestPaths.X86RuntimeDll("mscorrc.dll")).Image!;
        var applicability = new SafeSeh().GetApplicability(image);
        Assert.False(applicability.IsApplicable);
        Assert.Contains("resource-only", applicability.Reason, StringComparison.Ordinal);
    }

    private static Pelint.Engine.FileReport AssertOnlyNew(string rule, ImagePatch patch)
    {
        var before = RuleHarness.Analyze(File.ReadAllBytes(BasePath), BaseName).RuleIds().ToHashSet();
        var after = RuleHarness.Analyze(patch.Bytes, BaseName);
        Assert.Equal([rule], after.RuleIds().ToHashSet().Except(before));
        return after;
    }

    private static int LoadConfigOffset(ImagePatch patch) => patch.FileOffsetOf(patch.GetDirectory(10).Rva);

    private static int TableOffset(ImagePatch patch)
    {
        var imageBase = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(patch.OptionalOffset + 28));
        var va = BinaryPrimitives.ReadUInt32LittleEndian(patch.Bytes.AsSpan(LoadConfigOffset(patch) + 64));
        return patch.FileOffsetOf(va - imageBase);
    }
}
