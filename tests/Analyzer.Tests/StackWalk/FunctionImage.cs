using Pelint.Testing;

namespace Pelint.Tests.StackWalk;

/// <summary>
/// A synthetic x64 image of hand-assembled functions, each with its own hand-written
/// UNWIND_INFO: function i starts at RVA 0x1000 + 0x10 + i * 0x400 behind int3 padding, its
/// unwind info lives in .xdata, its RUNTIME_FUNCTION in .pdata.
/// </summary>
internal sealed class FunctionImage
{
    public const int Stride = 0x400;

    private readonly List<(byte[] Code, byte[] Info)> _functions = [];

    public static uint Begin(int index) => 0x1010 + (uint)(index * Stride);

    public uint End(int index) => Begin(index) + (uint)_functions[index].Code.Length;

    /// <summary>Adds a function; returns its index.</summary>
    public int Add(byte[] code, byte[] unwindInfo)
    {
        if (code.Length > Stride - 0x10)
        {
            throw new ArgumentException("a function here is at most 0x3F0 bytes", nameof(code));
        }

        _functions.Add((code, unwindInfo));
        return _functions.Count - 1;
    }

    /// <summary>UNWIND_INFO bytes: the header and the slots (each slot two bytes: CodeOffset, op | info &lt;&lt; 4, or a 16-bit operand), padded to an even count.</summary>
    public static byte[] Info(int version, int flags, int sizeOfProlog, int frameRegister, int frameOffset, params ushort[] slots)
    {
        var count = slots.Length;
        var bytes = new byte[4 + (((count + 1) & ~1) * 2)];
        bytes[0] = (byte)(version | (flags << 3));
        bytes[1] = (byte)sizeOfProlog;
        bytes[2] = (byte)count;
        bytes[3] = (byte)(frameRegister | (frameOffset << 4));
        for (var i = 0; i < count; i++)
        {
            bytes[4 + (i * 2)] = (byte)slots[i];
            bytes[5 + (i * 2)] = (byte)(slots[i] >> 8);
        }

        return bytes;
    }

    /// <summary>One unwind code slot.</summary>
    public static ushort Code(int codeOffset, int op, int info) => (ushort)(codeOffset | ((op | (info << 4)) << 8));

    public byte[] Build()
    {
        var builder = new PeBuilder();
        var text = builder.AddCode(0x10 + (_functions.Count * Stride));
        text.Data.AsSpan().Fill(0xCC);
        var xdata = builder.AddReadOnlyData(".xdata", 0x1000);
        var pdata = builder.AddReadOnlyData(".pdata", 0x1000);
        var infos = new uint[_functions.Count];
        var at = xdata.Rva;
        for (var i = 0; i < _functions.Count; i++)
        {
            text.WriteBytes(Begin(i), _functions[i].Code);
            infos[i] = at;
            xdata.WriteBytes(at, _functions[i].Info);
            at = (uint)((at + _functions[i].Info.Length + 3) & ~3);
        }

        var entries = new List<(uint Begin, uint End, uint Unwind)>();
        for (var i = 0; i < _functions.Count; i++)
        {
            entries.Add((Begin(i), End(i), infos[i]));
        }

        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        var rva = pdata.Rva;
        foreach (var (begin, end, unwind) in entries)
        {
            pdata.WriteUInt32(rva, begin);
            pdata.WriteUInt32(rva + 4, end);
            pdata.WriteUInt32(rva + 8, unwind);
            rva += 12;
        }

        builder.SetDirectory(3, pdata.Rva, (uint)(entries.Count * 12));
        return builder.Build();
    }
}
