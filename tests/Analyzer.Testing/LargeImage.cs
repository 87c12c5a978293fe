namespace Pelint.Testing;

/// <summary>
/// A synthetic x64 image of any size: <c>.text</c> cut into 4 KiB functions, each
/// <c>sub rsp, 0x28</c>, nops, <c>add rsp, 0x28; ret</c>, all sharing one UNWIND_INFO (ALLOC_SMALL
/// 0x28 at prolog offset 4) and each (or the first N) with its RUNTIME_FUNCTION: every byte of a
/// described function is code the stack-walk verifier reads, and no rule has anything to report.
/// </summary>
public static class LargeImage
{
    public const int FunctionSize = 4096;

    /// <summary>
    /// <paramref name="codeBytes"/> of code in functions of <see cref="FunctionSize"/> bytes; the first
    /// <paramref name="describedFunctions"/> of them (all by default) have a .pdata entry, so the
    /// per-function analyses (the stack-walk verifier judges every instruction) can be kept short in a large file.
    /// </summary>
    public static byte[] Build(int codeBytes, int describedFunctions = int.MaxValue)
    {
        var functions = codeBytes / FunctionSize;
        var builder = new PeBuilder();
        var text = builder.AddCode(functions * FunctionSize);
        var xdata = builder.AddReadOnlyData(".rdata", 8);
        functions = Math.Min(functions, describedFunctions);
        var pdata = builder.AddReadOnlyData(".pdata", functions * 12);
        ReadOnlySpan<byte> prolog = [0x48, 0x83, 0xEC, 0x28];
        ReadOnlySpan<byte> epilog = [0x48, 0x83, 0xC4, 0x28, 0xC3];
        var code = text.Data.AsSpan();
        code.Fill(0x90);
        for (var i = 0; i < functions; i++)
        {
            var function = code.Slice(i * FunctionSize, FunctionSize);
            prolog.CopyTo(function);
            epilog.CopyTo(function[^epilog.Length..]);
            var begin = text.Rva + (uint)(i * FunctionSize);
            pdata.WriteUInt32(pdata.Rva + (uint)(i * 12), begin);
            pdata.WriteUInt32(pdata.Rva + (uint)(i * 12) + 4, begin + FunctionSize);
            pdata.WriteUInt32(pdata.Rva + (uint)(i * 12) + 8, xdata.Rva);
        }

        // Version 1, no flags; prolog 4 bytes; 1 code; no frame register; ALLOC_SMALL (op 2) of (4 * 8) + 8 = 0x28 at offset 4.
        xdata.WriteBytes(xdata.Rva, [0x01, 0x04, 0x01, 0x00, 0x04, 0x42, 0x00, 0x00]);
        builder.SetDirectory(3, pdata.Rva, (uint)(functions * 12));
        return builder.Build();
    }
}
