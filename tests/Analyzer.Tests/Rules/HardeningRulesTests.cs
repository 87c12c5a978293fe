using System.Reflection.PortableExecutable;
using Pelint.Engine;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Rules;

/// <summary>PE1001-PE1010 on a real MSVC-built DLL and on copies patched one field at a time.</summary>
public sealed class HardeningRulesTests
{
    private static readonly string Coreclr = TestPaths.RuntimeDll("coreclr.dll");

    [Fact]
    public void Coreclr_passes_every_hardening_rule()
    {
        var report = RuleHarness.Analyze(Coreclr);

        Assert.Equal(FileStatus.Analyzed, report.Status);
        Assert.Empty(report.Notifications);
        Assert.DoesNotContain(report.Results, r => r.Rule.Id.StartsWith("PE10", StringComparison.Ordinal));
    }

    [Fact]
    public void Cleared_dynamic_base_is_reported_by_PE1001_at_error_level()
    {
        var patched = ImagePatch.FromFile(Coreclr).ClearDllCharacteristics(DllCharacteristics.DynamicBase);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        var result = Assert.Single(report.Results, r => r.Rule.Id == "PE1001");
        Assert.Equal(Level.Error, result.Level);
        Assert.Equal(patched.DllCharacteristicsOffset, result.Finding.Location.FileOffset);
        Assert.Contains("DYNAMIC_BASE", result.Message);
        Assert.DoesNotContain(report.Results, r => r.Rule.Id == "PE1002");
    }

    [Fact]
    public void An_efi_application_without_dynamic_base_is_not_judged_by_PE1001()
    {
        // Subsystem (optional header offset 68) 10: EFI application; firmware relocates it wherever it loads it.
        var patched = ImagePatch.FromFile(Coreclr).ClearDllCharacteristics(DllCharacteristics.DynamicBase);
        patched.WriteUInt16(patched.DllCharacteristicsOffset - 2, 10);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.efi");

        Assert.DoesNotContain(report.Results, r => r.Rule.Id == "PE1001");
        Assert.Contains(report.Skipped, s => s.RuleId == "PE1001" && s.Reason.Contains("EFI", StringComparison.Ordinal));
    }

    [Fact]
    public void Relocs_stripped_on_a_dynamic_base_image_is_reported_by_PE1002()
    {
        var patched = ImagePatch.FromFile(Coreclr).SetCharacteristics(Characteristics.RelocsStripped);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        var result = Assert.Single(report.Results, r => r.Rule.Id == "PE1002");
        Assert.Equal("stripped", result.Finding.MessageId);
    }

    [Fact]
    public void Missing_relocation_directory_is_reported_by_PE1002()
    {
        var patched = ImagePatch.FromFile(Coreclr).SetDirectory(5, 0, 0);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        Assert.Equal("no-directory", Assert.Single(report.Results, r => r.Rule.Id == "PE1002").Finding.MessageId);
    }

    [Fact]
    public void Relocation_block_with_unaligned_page_and_odd_size_is_reported_by_PE1003()
    {
        var patched = ImagePatch.FromFile(Coreclr);
        var (rva, _) = patched.GetDirectory(5);
        var block = patched.FileOffsetOf(rva);
        var page = BitConverter.ToUInt32(patched.Bytes, block);
        var size = BitConverter.ToUInt32(patched.Bytes, block + 4);
        patched.WriteUInt32(block, page + 0x10);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        var result = Assert.Single(report.Results, r => r.Rule.Id == "PE1003");
        Assert.Equal("page-unaligned", result.Finding.MessageId);
        Assert.Equal(block, result.Finding.Location.FileOffset);
        Assert.True(size >= 8);
    }

    [Fact]
    public void Relocation_block_of_absolute_padding_at_an_unaligned_page_is_not_reported()
    {
        // objcopy-made EFI applications (fwupd, systemd-boot) end .reloc with such a block; it patches nothing.
        var patched = ImagePatch.FromFile(Coreclr);
        var (rva, _) = patched.GetDirectory(5);
        var block = patched.FileOffsetOf(rva);
        var page = BitConverter.ToUInt32(patched.Bytes, block);
        var size = BitConverter.ToUInt32(patched.Bytes, block + 4);
        patched.WriteUInt32(block, page + 0xB8);
        for (var entry = block + 8; entry < block + size; entry += 2)
        {
            patched.WriteUInt16(entry, 0);
        }

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        Assert.DoesNotContain(report.Results, r => r.Rule.Id == "PE1003");
    }

    [Fact]
    public void Relocation_block_size_zero_stops_the_walk_with_a_finding()
    {
        var patched = ImagePatch.FromFile(Coreclr);
        var (rva, _) = patched.GetDirectory(5);
        patched.WriteUInt32(patched.FileOffsetOf(rva) + 4, 0);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        Assert.Contains(report.Results, r => r.Rule.Id == "PE1003" && r.Finding.MessageId == "size-too-small");
    }

    [Fact]
    public void Relocation_entry_of_an_x86_type_in_an_x64_image_is_reported_by_PE1003()
    {
        var patched = ImagePatch.FromFile(Coreclr);
        var (rva, _) = patched.GetDirectory(5);
        var firstEntry = patched.FileOffsetOf(rva) + 8;
        var entry = BitConverter.ToUInt16(patched.Bytes, firstEntry);
        patched.WriteUInt16(firstEntry, (ushort)((3 << 12) | (entry & 0xFFF)));

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        var result = Assert.Single(report.Results, r => r.Rule.Id == "PE1003");
        Assert.Equal("bad-type", result.Finding.MessageId);
        Assert.Contains("type 3", result.Message);
    }

    [Fact]
    public void Writable_text_section_is_reported_by_PE1009()
    {
        var patched = ImagePatch.FromFile(Coreclr).OrSectionCharacteristics(".text", SectionCharacteristics.MemWrite);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        var result = Assert.Single(report.Results, r => r.Rule.Id == "PE1009");
        Assert.Equal(patched.SectionHeaderOffset(patched.FindSection(".text")), result.Finding.Location.FileOffset);
        Assert.Contains("'.text'", result.Message);
    }

    [Fact]
    public void Writable_shared_section_is_reported_by_PE1010()
    {
        var patched = ImagePatch.FromFile(Coreclr).OrSectionCharacteristics(".data", SectionCharacteristics.MemShared);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        Assert.Single(report.Results, r => r.Rule.Id == "PE1010");
    }

    [Fact]
    public void High_entropy_va_without_dynamic_base_is_reported_by_PE1004()
    {
        var patched = ImagePatch.FromFile(Coreclr).ClearDllCharacteristics(DllCharacteristics.DynamicBase);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        Assert.Equal("without-dynamic-base", Assert.Single(report.Results, r => r.Rule.Id == "PE1004").Finding.MessageId);
    }

    [Theory]
    [InlineData(DllCharacteristics.HighEntropyVirtualAddressSpace, "missing")]
    [InlineData(DllCharacteristics.HighEntropyVirtualAddressSpace | DllCharacteristics.DynamicBase, "missing-both")]
    public void Missing_high_entropy_va_says_whether_the_image_is_randomized_at_all(DllCharacteristics cleared, string messageId)
    {
        var patched = ImagePatch.FromFile(Coreclr).ClearDllCharacteristics(cleared);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        var result = Assert.Single(report.Results, r => r.Rule.Id == "PE1004");
        Assert.Equal(messageId, result.Finding.MessageId);
        Assert.Equal(messageId == "missing", result.Message.Contains("8 bits of entropy", StringComparison.Ordinal));
    }

    [Fact]
    public void Cleared_nx_compat_and_guard_cf_are_reported_by_PE1005_and_PE1007()
    {
        var patched = ImagePatch.FromFile(Coreclr).ClearDllCharacteristics(DllCharacteristics.NxCompatible | DllCharacteristics.ControlFlowGuard);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        // Only the hardening family: coreclr has its own hot-patch and epilog results (PE2xxx, PE3xxx).
        Assert.Equal(["PE1005", "PE1007"], report.RuleIds().Where(id => id.StartsWith("PE10", StringComparison.Ordinal)));
    }

    [Fact]
    public void Guard_cf_without_load_config_is_reported_by_PE1007()
    {
        var patched = ImagePatch.FromFile(Coreclr).SetDirectory(10, 0, 0);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        Assert.Equal("no-load-config", Assert.Single(report.Results, r => r.Rule.Id == "PE1007").Finding.MessageId);
    }

    [Fact]
    public void Load_config_size_running_past_its_section_is_reported_by_PE1007()
    {
        var patched = ImagePatch.FromFile(Coreclr);
        var (rva, _) = patched.GetDirectory(10);
        patched.WriteUInt32(patched.FileOffsetOf(rva), 0x7FFF_0000);

        var report = RuleHarness.Analyze(patched.Bytes, "coreclr.dll");

        var result = Assert.Single(report.Results, r => r.Rule.Id == "PE1007");
        Assert.Equal("malformed-load-config", result.Finding.MessageId);
        Assert.Contains("2147418112", result.Message);
    }

    [Fact]
    public void Low_image_base_on_a_64_bit_image_is_reported_by_PE1006()
    {
        var builder = new PeBuilder { ImageBase = 0x40_0000 };
        builder.AddCode(0x200);

        var report = RuleHarness.Analyze(builder.Build());

        Assert.Single(report.Results, r => r.Rule.Id == "PE1006");
    }

    [Fact]
    public void Il_only_assembly_is_not_applicable_to_native_hardening_rules()
    {
        var managed = typeof(HardeningRulesTests).Assembly.Location;

        var report = RuleHarness.Analyze(managed);

        Assert.Equal(FileStatus.Analyzed, report.Status);
        Assert.Contains(report.Skipped, s => s.RuleId == "PE1001" && s.Reason.Contains("IL-only", StringComparison.Ordinal));
        Assert.DoesNotContain(report.Results, r => r.Rule.Id is "PE1001" or "PE1005" or "PE1007");
    }
}
