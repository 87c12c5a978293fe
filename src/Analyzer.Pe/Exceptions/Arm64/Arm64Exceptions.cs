using System.Reflection.PortableExecutable;
using Pelint.Pe.Chpe;
using Pelint.Pe.Headers;

namespace Pelint.Pe.Exceptions.Arm64;

/// <summary>
/// Where an image keeps its ARM64-format function table: the exception directory of an ARM64
/// image (and of an ARM64X image's native view), or the CHPE metadata's extra table of an
/// ARM64EC image, whose exception directory holds the x64 entries.
/// </summary>
public sealed class Arm64Exceptions
{
    private Arm64Exceptions(Arm64FunctionTable table, ChpeCodeMap? codeMap)
    {
        Table = table;
        CodeMap = codeMap;
    }

    public Arm64FunctionTable Table { get; }

    /// <summary>The CHPE code map of an ARM64EC or ARM64X image; null for plain ARM64 and x64.</summary>
    public ChpeCodeMap? CodeMap { get; }

    /// <summary>Whether the image has ARM64 code whose unwind data is in the ARM64 format.</summary>
    public bool HasArm64Code { get; private init; }

    /// <summary>"ARM64", "ARM64EC" or "ARM64X" for messages; the machine's name otherwise.</summary>
    public string Flavor { get; private init; } = string.Empty;

    internal static Arm64Exceptions Read(PeImage image)
    {
        var chpe = image.Chpe;
        if (image.Machine == Machine.Arm64)
        {
            var dir = image.GetDirectory(DataDirectoryIndex.Exception);
            var table = dir.IsPresent ? Arm64FunctionTable.Read(image, "exception directory", dir.Rva, dir.Size, dir.FileOffset) : Arm64FunctionTable.Empty;
            return new Arm64Exceptions(table, chpe) { HasArm64Code = true, Flavor = chpe is null ? "ARM64" : "ARM64X" };
        }

        if (image.Machine == Machine.Amd64 && chpe is not null)
        {
            var declaredAt = image.FileOffsetOf(chpe.MetadataRva) is { } m ? m + 64 : 0;
            var table = chpe.ExtraTableSize != 0 ? Arm64FunctionTable.Read(image, "CHPE extra table", chpe.ExtraTableRva, chpe.ExtraTableSize, declaredAt) : Arm64FunctionTable.Empty;
            return new Arm64Exceptions(table, chpe) { HasArm64Code = true, Flavor = "ARM64EC" };
        }

        return new Arm64Exceptions(Arm64FunctionTable.Empty, null) { Flavor = MachineNames.Of(image.Machine) };
    }
}
