using Iced.Intel;
using Pelint.Pe.Code;
using Pelint.Testing;

namespace Pelint.Pe.Tests.Code;

/// <summary>Every instruction of every function of the runtime pack's x64 DLLs, decoded linearly by Iced: real compiled code to hold table-driven measures to.</summary>
internal static class RuntimePackCode
{
    /// <summary>Each instruction with the DLL's name and its function's bytes, the instruction at <c>Offset</c> in them.</summary>
    public static IEnumerable<(string File, byte[] Code, int Offset, Instruction Instruction)> Instructions()
    {
        foreach (var path in Directory.EnumerateFiles(TestPaths.RuntimePackNative, "*.dll").Order(StringComparer.Ordinal))
        {
            using var image = PeImage.Open(path).Image!;
            if (image.Machine != System.Reflection.PortableExecutable.Machine.Amd64)
            {
                continue;
            }

            using var reader = image.OpenReader();
            foreach (var f in image.ExceptionDirectory.Functions)
            {
                var code = reader.GetAvailableSpan(f.BeginAddress, (int)Math.Min(f.Length, ImageCode.MaxDecodeBytes)).ToArray();
                var decoder = Decoder.Create(64, new ByteArrayCodeReader(code), f.BeginAddress);
                while (decoder.IP < f.BeginAddress + (ulong)code.Length)
                {
                    var offset = (int)(decoder.IP - f.BeginAddress);
                    decoder.Decode(out var instruction);
                    yield return (Path.GetFileName(path), code, offset, instruction);
                }
            }
        }
    }

    /// <summary>Where an instruction is, for a failed assertion's message.</summary>
    public static string Where(string file, byte[] code, int offset, in Instruction instruction) =>
        $"{file} 0x{instruction.IP:X} {Convert.ToHexString(code, offset, Math.Min(15, code.Length - offset))} ({instruction})";
}
