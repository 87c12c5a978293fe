using System.Reflection.PortableExecutable;
using Pelint.Engine;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Rules;

/// <summary>
/// PE4005/PE4006 on an ARM64EC entry thunk that saves q6-q15 whole, in the shape MSVC emits
/// (msdia140.dll: <c>stp q6, q7, [sp, #-160]!</c> under <c>alloc_s</c>, <c>stp q8, q9, [sp, #32]</c>
/// under <c>save_fregp d8, d9, 32</c>). The expectations come from the unwinder's reading of the
/// codes (Microsoft's "ARM64 exception handling"; Windows' ARM64 unwinder, whose
/// save_fregp restores 8 bytes per register from consecutive 8-byte slots, in ARM64EC code too):
/// every code moves sp by what its instruction does, so a walk finds the caller and only the
/// vector registers come back wrong, a warning; any difference in sp, in which registers other
/// than the vector width, or outside ARM64EC code, stays an error. Encodings checked with
/// llvm-mc-22 --triple=aarch64-pc-windows --show-encoding, and the codes with llvm-readobj-22
/// --unwind on the same sequence assembled with .seh directives.
/// </summary>
public sealed class Arm64ECEntryThunkTests
{
    // Instruction words of the thunk (word index: instruction).
    private static readonly uint[] Thunk =
    [
        0xADBB1FE6, // 0 stp q6, q7, [sp, #-160]!
        0xAD0127E8, // 1 stp q8, q9, [sp, #32]
        0xAD022FEA, // 2 stp q10, q11, [sp, #64]
        0xAD0337EC, // 3 stp q12, q13, [sp, #96]
        0xAD043FEE, // 4 stp q14, q15, [sp, #128]
        0xA9BF7BFD, // 5 stp x29, x30, [sp, #-16]!
        0x910003FD, // 6 mov x29, sp
        0xD503201F, // 7 nop (the body)
        0xA8C17BFD, // 8 ldp x29, x30, [sp], #16 (the epilog: E = 1, FunctionLength - 7)
        0xAD443FEE, // 9 ldp q14, q15, [sp, #128]
        0xAD4337EC, // 10 ldp q12, q13, [sp, #96]
        0xAD422FEA, // 11 ldp q10, q11, [sp, #64]
        0xAD4127E8, // 12 ldp q8, q9, [sp, #32]
        0xACC51FE6, // 13 ldp q6, q7, [sp], #160
        0xD65F03C0, // 14 ret
    ];

    // MSVC's codes (prolog in reverse; the epilog shares them from index 1): set_fp (E1),
    // save_fplr_x 16 (10zzzzzz, Z = 16/8 - 1 = 1: 81), save_fregp d14 128 (1101100x xxzzzzzz,
    // X = 6, Z = 16: D9 90), d12 96 (D9 0C), d10 64 (D8 88), d8 32 (D8 04), alloc_s 160
    // (000xxxxx, 160/16 = 10: 0A), end (E4).
    private static readonly byte[] MsvcCodes = [0xE1, 0x81, 0xD9, 0x90, 0xD9, 0x0C, 0xD8, 0x88, 0xD8, 0x04, 0x0A, 0xE4];

    // LLVM's codes for the same thunk: save_any_reg (11100111 0pxrrrrr ffoooooo) with f = Q:
    // q14 pair at 128 (E7 4E 88) ... q8 pair at 32 (E7 48 82), q6 pair pre-indexed 160
    // (p = 1, x = 1, r = 6, o = 160/16 - 1 = 9: E7 66 89).
    private static readonly byte[] LlvmCodes =
        [0xE1, 0x81, 0xE7, 0x4E, 0x88, 0xE7, 0x4C, 0x86, 0xE7, 0x4A, 0x84, 0xE7, 0x48, 0x82, 0xE7, 0x66, 0x89, 0xE4, 0xE4, 0xE4];

    private const uint Arm64EC = 1;
    private const uint Arm64 = 0;

    [Fact]
    public void An_arm64ec_thunk_saving_q_registers_under_d_codes_is_a_warning_in_prolog_and_epilog()
    {
        var report = Analyze(MsvcCodes, Arm64EC);

        var prolog = Assert.Single(report.Results, r => r.Rule.Id == "PE4005");
        Assert.Equal(Level.Warning, prolog.Level);
        Assert.Equal("q-registers", prolog.Finding.MessageId);
        Assert.Equal(4u, prolog.Finding.Location.Rva - prolog.Finding.Location.FunctionRva); // stp q8, q9: the first q pair under a d code
        Assert.Contains("`stp q8, q9, [sp, #32]`", prolog.Message, StringComparison.Ordinal);
        Assert.Contains("`stp d8, d9, [sp, #32]`", prolog.Message, StringComparison.Ordinal);

        var epilog = Assert.Single(report.Results, r => r.Rule.Id == "PE4006");
        Assert.Equal(Level.Warning, epilog.Level);
        Assert.Equal("q-registers", epilog.Finding.MessageId);
        Assert.Equal(9u * 4, epilog.Finding.Location.Rva - epilog.Finding.Location.FunctionRva); // ldp q14, q15
        Assert.DoesNotContain(report.Results, r => r.Rule.Id.StartsWith("PE40", StringComparison.Ordinal) && r.Rule.Id is not ("PE4005" or "PE4006"));
    }

    [Fact]
    public void The_same_thunk_in_plain_arm64_code_is_an_error()
    {
        var report = Analyze(MsvcCodes, Arm64);

        Assert.All(report.Results.Where(r => r.Rule.Id is "PE4005" or "PE4006"), r =>
        {
            Assert.Equal(Level.Error, r.Level);
            Assert.Equal("mismatch", r.Finding.MessageId);
        });
        Assert.Equal(["PE4005", "PE4006"], report.RuleIds().Where(id => id.StartsWith("PE40", StringComparison.Ordinal)));
    }

    [Fact]
    public void An_arm64ec_thunk_whose_codes_name_another_slot_is_still_an_error()
    {
        // save_fregp d8 at 48 (D8 06) where stp q8, q9 stores at 32: not only the width differs.
        var codes = MsvcCodes.ToArray();
        codes[9] = 0x06;

        var report = Analyze(codes, Arm64EC);

        var prolog = Assert.Single(report.Results, r => r.Rule.Id == "PE4005");
        Assert.Equal(Level.Error, prolog.Level);
        Assert.Equal(4u, prolog.Finding.Location.Rva - prolog.Finding.Location.FunctionRva);
        var epilog = Assert.Single(report.Results, r => r.Rule.Id == "PE4006");
        Assert.Equal(Level.Error, epilog.Level);
        Assert.Equal(12u * 4, epilog.Finding.Location.Rva - epilog.Finding.Location.FunctionRva); // ldp q8, q9
    }

    [Fact]
    public void An_arm64ec_thunk_whose_allocation_code_differs_from_the_stores_writeback_is_an_error()
    {
        // alloc_s 144 (09) where stp q6, q7, [sp, #-160]! allocates 160: a walk would be 16 bytes short of the caller's sp.
        var codes = MsvcCodes.ToArray();
        codes[10] = 0x09;

        var report = Analyze(codes, Arm64EC);

        var prolog = Assert.Single(report.Results, r => r.Rule.Id == "PE4005");
        Assert.Equal(Level.Error, prolog.Level);
        Assert.Equal(0u, prolog.Finding.Location.Rva - prolog.Finding.Location.FunctionRva);
        var epilog = Assert.Single(report.Results, r => r.Rule.Id == "PE4006");
        Assert.Equal(Level.Error, epilog.Level);
        Assert.Equal(13u * 4, epilog.Finding.Location.Rva - epilog.Finding.Location.FunctionRva); // ldp q6, q7, [sp], #160
    }

    [Fact]
    public void An_arm64ec_thunk_described_with_save_any_reg_q_codes_has_no_result()
    {
        var report = Analyze(LlvmCodes, Arm64EC);

        Assert.DoesNotContain(report.RuleIds(), id => id.StartsWith("PE40", StringComparison.Ordinal));
    }

    [Fact]
    public void An_epilog_may_release_its_allocation_with_a_load_of_volatile_registers_only()
    {
        // The thunk's last load, ldp q6, q7, [sp], #160, stands for alloc_s 160 (v6 and v7 are
        // volatile); loading d8/d9 there instead (ldp d8, d9, [sp], #160: 6CCA27E8) leaves a walk
        // stopped at it with d8 and d9 unrestored. With LLVM's codes every other instruction matches.
        var codes = LlvmCodes.ToArray();
        codes[14] = 0x0A; // alloc_s 160 in place of save_any_reg q6, q7, #-160!, then end (the prolog's stp q6, q7 stands for it too)
        codes[15] = 0xE4;
        codes[16] = 0xE4;
        var accepted = Analyze(codes, Arm64EC);
        var words = Thunk.ToArray();
        words[13] = 0x6CCA27E8;
        var rejected = Analyze(codes, Arm64EC, words);

        Assert.DoesNotContain(accepted.Results, r => r.Rule.Id == "PE4006");
        var epilog = Assert.Single(rejected.Results, r => r.Rule.Id == "PE4006");
        Assert.Equal(Level.Error, epilog.Level);
        Assert.Equal(13u * 4, epilog.Finding.Location.Rva - epilog.Finding.Location.FunctionRva);
    }

    // An ARM64X image (ARM64 header, CHPE metadata through the load config) whose code map
    // gives the thunk's section the kind `rangeKind` (0 ARM64, 1 ARM64EC), with one .pdata entry
    // for the thunk and its .xdata: FunctionLength 15 words, E = 1 with the epilog's codes from
    // index 1, code words to hold `codes`.
    private static FileReport Analyze(byte[] codes, uint rangeKind, uint[]? words = null)
    {
        words ??= Thunk;
        var builder = new PeBuilder(Machine.Arm64);
        var text = builder.AddCode(0x200);
        var data = builder.AddReadOnlyData(".rdata", 0x400);
        for (var i = 0; i < words.Length; i++)
        {
            text.WriteUInt32(text.Rva + (uint)(i * 4), words[i]);
        }

        var codeWords = (uint)(codes.Length + 3) / 4;
        var xdata = data.Rva;
        data.WriteUInt32(xdata, (uint)words.Length | (1u << 21) | (1u << 22) | (codeWords << 27));
        data.WriteBytes(xdata + 4, codes);

        var pdata = data.Rva + 0x80;
        data.WriteUInt32(pdata, text.Rva);
        data.WriteUInt32(pdata + 4, xdata);
        builder.SetDirectory(3, pdata, 8);

        // Load config: Size 320 covers CHPEMetadataPointer (a VA at offset 200).
        // IMAGE_ARM64EC_METADATA: Version 1, CodeMap RVA (+4), CodeMapCount (+8); one range:
        // StartOffset = RVA | kind, Length.
        var loadConfig = data.Rva + 0x100;
        var metadata = data.Rva + 0x280;
        var codeMap = data.Rva + 0x300;
        data.WriteUInt32(loadConfig, 320);
        data.WriteBytes(loadConfig + 200, BitConverter.GetBytes(builder.ImageBase + metadata));
        builder.SetDirectory(10, loadConfig, 320);
        data.WriteUInt32(metadata, 1);
        data.WriteUInt32(metadata + 4, codeMap);
        data.WriteUInt32(metadata + 8, 1);
        data.WriteUInt32(codeMap, text.Rva | rangeKind);
        data.WriteUInt32(codeMap + 4, 0x200);

        return RuleHarness.Analyze(builder.Build(), "thunk.dll");
    }
}
