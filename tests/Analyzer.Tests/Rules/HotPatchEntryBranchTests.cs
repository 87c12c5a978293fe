using System.Buffers.Binary;
using System.Reflection.PortableExecutable;
using Pelint.Analysis.HotPatch;
using Pelint.Testing;

namespace Pelint.Tests.Rules;

/// <summary>
/// PE2003 on x86 images built hot-patchable. samples/bin/hotpatch.x86.dll (clang -fms-hotpatch,
/// lld-link /FUNCTIONPADMIN:5; `objdump -d -p`): exports ticks_plus at RVA 0x1010, mix at 0x1040,
/// twice at 0x1080, each starting with mov edi,edi after int3 padding. ticks_plus:
/// 0x1010 mov edi,edi; ... 0x101D call *%edi; ... 0x1029 call *%edi; 0x102B add eax,esi (01 F0);
/// 0x102D pop esi; ... 0x1030 ret. mix: 0x104E call 0x10001010 (E8 BD FF FF FF).
/// </summary>
public sealed class HotPatchEntryBranchTests
{
    private static readonly string Sample = Path.Combine(TestPaths.SamplesBin, "hotpatch.x86.dll");

    [Fact]
    public void A_loop_back_to_an_x86_function_entry_yields_only_PE2003_at_the_branch()
    {
        var patch = ImagePatch.FromFile(Sample);
        var at = patch.FileOffsetOf(0x102B);
        Assert.Equal([0x01, 0xF0], patch.Bytes[at..(at + 2)]); // add eax, esi, as objdump shows it
        patch.Bytes[at] = 0x75; // jne rel8
        patch.Bytes[at + 1] = unchecked((byte)(0x1010 - 0x102D)); // to the entry, from the next instruction

        var before = RuleHarness.Analyze(File.ReadAllBytes(Sample), "hotpatch.x86.dll").RuleIds().ToHashSet();
        var after = RuleHarness.Analyze(patch.Bytes, "hotpatch.x86.dll");
        Assert.Equal(["PE2003"], after.RuleIds().ToHashSet().Except(before));
        var result = Assert.Single(after.Results, r => r.Rule.Id == "PE2003");
        Assert.Equal(0x102Bu, result.Finding.Location.Rva);
        Assert.Equal(0x1010u, result.Finding.Location.FunctionRva);
        Assert.Contains("function 0x1010 (ticks_plus) has a branch at 0x102B to its own first instruction (1 in all)", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_loop_retargeted_to_the_entry_of_an_msvc_export_yields_only_PE2003()
    {
        // wintrust.dll (x86, MSVC /hotpatch; `objdump -d -p`, ImageBase 0x47600000): the export at
        // RVA 0x23480 is mov edi,edi; push ebp; ...; 0x23490 inc eax; 0x23491 cmp ...;
        // 0x23499 jne 0x23490 (75 F5); ... ret 4. The loop's jne is sent to the entry instead.
        var path = Path.Combine(TestPaths.WindowsSdkX86Bin, "wintrust.dll");
        var patch = ImagePatch.FromFile(path);
        var at = patch.FileOffsetOf(0x23499);
        Assert.Equal([0x75, 0xF5], patch.Bytes[at..(at + 2)]);
        patch.Bytes[at + 1] = unchecked((byte)(0x23480 - 0x2349B));

        var before = RuleHarness.Analyze(File.ReadAllBytes(path), "wintrust.dll").RuleIds().ToHashSet();
        var after = RuleHarness.Analyze(patch.Bytes, "wintrust.dll");
        Assert.Equal(["PE2003"], after.RuleIds().ToHashSet().Except(before));
        var result = Assert.Single(after.Results, r => r.Rule.Id == "PE2003");
        Assert.Equal(0x23499u, result.Finding.Location.Rva);
        Assert.Contains("function 0x23480 (", result.Message, StringComparison.Ordinal);
        Assert.Contains("has a branch at 0x23499 to its own first instruction (1 in all)", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tail_jump_to_another_function_entry_is_not_a_branch_to_its_own_entry()
    {
        var patch = ImagePatch.FromFile(Sample);
        var at = patch.FileOffsetOf(0x104E);
        Assert.Equal([0xE8, 0xBD, 0xFF, 0xFF, 0xFF], patch.Bytes[at..(at + 5)]); // call ticks_plus
        patch.Bytes[at] = 0xE9; // jmp rel32, same displacement: a tail jump from mix to ticks_plus

        Assert.DoesNotContain("PE2003", RuleHarness.Analyze(patch.Bytes, "hotpatch.x86.dll").RuleIds());
    }

    [Fact]
    public void Exports_that_all_jump_into_one_long_run_of_code_stop_at_the_image_budget_with_a_note()
    {
        // 200 ordinal-only exports, each int3 x5, mov edi,edi (8B FF), jmp rel32 (E9) into one run
        // of 131,072 `mov edi,edi` in their other encoding (89 FF, so not taken for a function
        // entry), then ret: every function decodes its cap of 65,536 instructions. The budget is
        // looked at before each function: after 122 functions 7,995,392 < 8,000,000, so the 123rd
        // runs, and after it 8,060,928 stops the search.
        const int Exports = 200, Entry = 12, Run = 131_072;
        var builder = new PeBuilder(Machine.I386) { ImageBase = 0x10000000, DllCharacteristics = DllCharacteristics.DynamicBase | DllCharacteristics.NxCompatible };
        var text = builder.AddCode((Exports * Entry) + (Run * 2) + 1);
        var run = text.Rva + (uint)(Exports * Entry);
        for (var i = 0; i < Exports; i++)
        {
            var at = i * Entry;
            text.Data.AsSpan(at, 5).Fill(0xCC);
            text.Data[at + 5] = 0x8B;
            text.Data[at + 6] = 0xFF;
            text.Data[at + 7] = 0xE9;
            BinaryPrimitives.WriteInt32LittleEndian(text.Data.AsSpan(at + 8), (int)(run - (text.Rva + (uint)at + 12)));
        }

        for (var i = 0; i < Run; i++)
        {
            text.Data[(Exports * Entry) + (i * 2)] = 0x89;
            text.Data[(Exports * Entry) + (i * 2) + 1] = 0xFF;
        }

        text.Data[^1] = 0xC3;
        var rdata = builder.AddReadOnlyData(".rdata", 40 + (Exports * 4));
        BinaryPrimitives.WriteUInt32LittleEndian(rdata.Data.AsSpan(16), 1); // Base
        BinaryPrimitives.WriteUInt32LittleEndian(rdata.Data.AsSpan(20), Exports); // NumberOfFunctions
        BinaryPrimitives.WriteUInt32LittleEndian(rdata.Data.AsSpan(28), rdata.Rva + 40); // AddressOfFunctions
        for (var i = 0; i < Exports; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(rdata.Data.AsSpan(40 + (i * 4)), text.Rva + (uint)(i * Entry) + 5);
        }

        builder.SetDirectory(0, rdata.Rva, (uint)rdata.Data.Length);
        var report = RuleHarness.Analyze(builder.Build(), "budget.dll");

        var note = Assert.Single(report.Results, r => r.Rule.Id == "PE2003");
        Assert.Equal(Pelint.Rules.Level.Note, note.Level);
        Assert.Contains($"stopped after {EntryBranches.MaxImageInstructions} instructions, having followed 123 of 200 functions", note.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PE2001", report.RuleIds());
        Assert.DoesNotContain("PE2002", report.RuleIds());
    }

    [Fact]
    public void Windows_sdk_x86_tools_built_hot_patchable_have_no_branch_to_an_entry()
    {
        // MSVC /hotpatch promises no jump within a function to its first instruction. Of the 39 x86
        // images, 28 are native code with hot-patch intent (the others are IL-only or not padded).
        var images = Directory.EnumerateFiles(TestPaths.WindowsSdkX86Bin).Where(f => f.EndsWith(".exe", StringComparison.Ordinal) || f.EndsWith(".dll", StringComparison.Ordinal)).ToList();
        Assert.True(images.Count >= 30, $"{TestPaths.WindowsSdkX86Bin}: run dotnet restore");
        var hotPatchable = 0;
        foreach (var path in images)
        {
            var report = RuleHarness.Analyze(path);
            Assert.DoesNotContain("PE2003", report.RuleIds());

            // Judged: PE2003 applies (x86 native code) and PE2002 found intent (no "not built hot-patchable" note).
            var judged = report.Machine == "x86" && !report.Skipped.Any(s => s.RuleId == "PE2003") && !report.RuleIds().Contains("PE2002");
            hotPatchable += judged ? 1 : 0;
        }

        Assert.True(hotPatchable >= 25, $"only {hotPatchable} x86 SDK images were judged hot-patchable");
    }
}
