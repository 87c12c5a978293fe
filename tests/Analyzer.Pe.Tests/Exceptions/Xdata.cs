using Pelint.Pe.Exceptions;
using Pelint.Testing;

namespace Pelint.Pe.Tests.Exceptions;

/// <summary>Decodes hand-written UNWIND_INFO bytes placed in the .rdata of a synthetic image.</summary>
internal static class Xdata
{
    public static UnwindInfo Decode(params byte[] xdata)
    {
        var builder = new PeBuilder();
        builder.AddCode(0x200);
        var rdata = builder.AddReadOnlyData(".rdata", 0x200);
        rdata.WriteBytes(rdata.Rva, xdata);
        using var image = PeImage.Load(builder.Build(), "decode").Image!;
        return UnwindInfo.Read(image, rdata.Rva);
    }
}
