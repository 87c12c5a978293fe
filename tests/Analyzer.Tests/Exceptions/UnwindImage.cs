using System.Reflection.PortableExecutable;
using Pelint.Testing;

namespace Pelint.Tests.Exceptions;

/// <summary>
/// A small x64 image for unwind fixtures: .text at 0x1000, .rdata (UNWIND_INFOs, scope tables,
/// imports) at 0x2000, .pdata at 0x3000. Bytes are written from Microsoft's format description.
/// </summary>
internal sealed class UnwindImage
{
    public const uint Text = 0x1000;
    public const uint RData = 0x2000;
    public const uint PData = 0x3000;

    private readonly PeBuilder _builder = new(Machine.Amd64);
    private readonly PeBuilder.Section _text;
    private readonly PeBuilder.Section _rdata;
    private readonly PeBuilder.Section _pdata;
    private uint _nextInfo = RData + 0x100;
    private int _entries;

    public UnwindImage()
    {
        _text = _builder.AddCode(0x1000);
        _text.Data.AsSpan().Fill(0xCC);
        _rdata = _builder.AddReadOnlyData(".rdata", 0x1000);
        _pdata = _builder.AddReadOnlyData(".pdata", 0x1000);
    }

    /// <summary>RVA of the 12-byte entry with this index.</summary>
    public static uint EntryRva(int index) => PData + ((uint)index * 12);

    /// <summary>Writes raw UNWIND_INFO bytes (4-byte aligned) and returns their RVA.</summary>
    public uint Info(params byte[] bytes)
    {
        var rva = _nextInfo;
        _rdata.WriteBytes(rva, bytes);
        _nextInfo = (uint)((rva + bytes.Length + 3) & ~3);
        return rva;
    }

    /// <summary>A plain version 1 UNWIND_INFO: prolog 4, one ALLOC_SMALL 0x28 (code 04 42).</summary>
    public uint SimpleInfo() => Info(0x01, 0x04, 0x01, 0x00, 0x04, 0x42, 0x00, 0x00);

    /// <summary>A version 1 CHAININFO UNWIND_INFO with no codes, followed by the parent entry.</summary>
    public uint ChainedInfo(uint begin, uint end, uint unwind)
    {
        var bytes = new byte[16];
        bytes[0] = 0x01 | (4 << 3);
        BitConverter.TryWriteBytes(bytes.AsSpan(4), begin);
        BitConverter.TryWriteBytes(bytes.AsSpan(8), end);
        BitConverter.TryWriteBytes(bytes.AsSpan(12), unwind);
        return Info(bytes);
    }

    public int Entry(uint begin, uint end, uint unwindData)
    {
        var index = _entries++;
        _pdata.WriteUInt32(EntryRva(index), begin);
        _pdata.WriteUInt32(EntryRva(index) + 4, end);
        _pdata.WriteUInt32(EntryRva(index) + 8, unwindData);
        return index;
    }

    public void Code(uint rva, params byte[] bytes) => _text.WriteBytes(rva, bytes);

    public void Data(uint rva, params byte[] bytes) => _rdata.WriteBytes(rva, bytes);

    public void Data32(uint rva, params uint[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            _rdata.WriteUInt32(rva + ((uint)i * 4), values[i]);
        }
    }

    /// <summary>
    /// Imports ntdll!__C_specific_handler and writes a thunk `jmp qword [rip+IAT]` at
    /// <paramref name="thunkRva"/>; returns the thunk's RVA.
    /// </summary>
    public uint CSpecificHandlerThunk(uint thunkRva)
    {
        const uint descriptor = RData + 0x800, lookup = RData + 0x840, iat = RData + 0x860, hintName = RData + 0x880, dll = RData + 0x8A0;
        Data32(descriptor, lookup, 0, 0, dll, iat);
        _rdata.WriteUInt32(lookup, hintName);
        _rdata.WriteUInt32(iat, hintName);
        Data(hintName + 2, "__C_specific_handler\0"u8.ToArray());
        Data(dll, "ntdll.dll\0"u8.ToArray());
        _builder.SetDirectory(1, descriptor, 40);
        var disp = (int)iat - (int)(thunkRva + 6);
        Code(thunkRva, 0xFF, 0x25, (byte)disp, (byte)(disp >> 8), (byte)(disp >> 16), (byte)(disp >> 24));
        return thunkRva;
    }

    public byte[] Build()
    {
        _builder.SetDirectory(3, PData, (uint)_entries * 12);
        return _builder.Build();
    }
}
