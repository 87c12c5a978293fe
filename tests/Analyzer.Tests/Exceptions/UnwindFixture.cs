using System.Buffers.Binary;
using System.Text;
using Pelint.Testing;

namespace Pelint.Tests.Exceptions;

/// <summary>
/// Synthetic x64 images with hand-written .pdata/.xdata, laid out from Microsoft's "x64 exception
/// handling" documentation. Every function is a real, legal leaf-with-frame
/// (<c>sub rsp,28h; add rsp,28h; ret</c>) behind 16 bytes of int3 padding, so only the unwind data
/// under test can be wrong.
/// </summary>
internal sealed class UnwindFixture
{
    public const int Slot = 0x20;
    private static readonly byte[] Body = [0x48, 0x83, 0xEC, 0x28, 0x48, 0x83, 0xC4, 0x28, 0xC3];

    private readonly PeBuilder _builder = new();
    private readonly PeBuilder.Section _text;
    private readonly PeBuilder.Section _rdata;
    private readonly PeBuilder.Section _pdata;
    private readonly List<(uint Begin, uint End, uint Unwind)> _entries = [];
    private uint _cursor;

    public UnwindFixture(int functionSlots = 64)
    {
        _text = _builder.AddCode(0x10 + (functionSlots * Slot));
        _text.Data.AsSpan().Fill(0xCC);
        for (var i = 0; i < functionSlots; i++)
        {
            Body.CopyTo(_text.Data.AsSpan(0x10 + (i * Slot)));
        }

        _rdata = _builder.AddReadOnlyData(".rdata", 0x2000);
        _pdata = _builder.AddReadOnlyData(".pdata", 0x1000);
        _cursor = _rdata.Rva;
    }

    public uint Function(int i) => _text.Rva + 0x10 + (uint)(i * Slot);

    public uint End(int i) => Function(i) + (uint)Body.Length;

    /// <summary>The RVA the next <see cref="AddData"/> will use (to build records that point at each other).</summary>
    public uint NextData => _cursor;

    public uint EntryRva(int index) => _pdata.Rva + (uint)(index * 12);

    /// <summary>Version 1, SizeOfProlog 4, one code: ALLOC_SMALL 0x28 at offset 4 (op 2, OpInfo 4), padded to two slots.</summary>
    public uint StandardInfo() => AddData([0x01, 0x04, 0x01, 0x00, 0x04, 0x42, 0x00, 0x00]);

    /// <summary>Version 1 with CHAININFO (flags 4 → byte 0 = 1 | 4 &lt;&lt; 3), no codes, then the chained RUNTIME_FUNCTION.</summary>
    public uint ChainedInfo(uint begin, uint end, uint unwind)
    {
        var bytes = new byte[16];
        bytes[0] = 0x21;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), begin);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), end);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), unwind);
        return AddData(bytes);
    }

    /// <summary>Version 1 with EHANDLER (byte 0 = 1 | 1 &lt;&lt; 3), the standard code, the handler RVA and a C scope table.</summary>
    public uint HandlerInfo(uint handler, uint count, params (uint Begin, uint End, uint Handler, uint Target)[] records)
    {
        var bytes = new byte[8 + 4 + 4 + (records.Length * 16)];
        new byte[] { 0x09, 0x04, 0x01, 0x00, 0x04, 0x42, 0x00, 0x00 }.CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), handler);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), count);
        for (var i = 0; i < records.Length; i++)
        {
            var r = bytes.AsSpan(16 + (i * 16));
            BinaryPrimitives.WriteUInt32LittleEndian(r, records[i].Begin);
            BinaryPrimitives.WriteUInt32LittleEndian(r[4..], records[i].End);
            BinaryPrimitives.WriteUInt32LittleEndian(r[8..], records[i].Handler);
            BinaryPrimitives.WriteUInt32LittleEndian(r[12..], records[i].Target);
        }

        return AddData(bytes);
    }

    public uint AddData(byte[] bytes)
    {
        var rva = _cursor;
        _rdata.WriteBytes(rva, bytes);
        _cursor = (uint)((rva + bytes.Length + 3) & ~3);
        return rva;
    }

    public UnwindFixture Entry(uint begin, uint end, uint unwind)
    {
        _entries.Add((begin, end, unwind));
        return this;
    }

    /// <summary>Exports one function under a name (e.g. __C_specific_handler), as a linker would.</summary>
    public void Export(uint rva, string name)
    {
        var dll = AddData(Encoding.ASCII.GetBytes("fixture.dll\0"));
        var nameRva = AddData(Encoding.ASCII.GetBytes(name + "\0"));
        var functions = AddData(BitConverter.GetBytes(rva));
        var names = AddData(BitConverter.GetBytes(nameRva));
        var ordinals = AddData([0, 0, 0, 0]);
        var directory = new byte[40];
        BinaryPrimitives.WriteUInt32LittleEndian(directory.AsSpan(12), dll);
        BinaryPrimitives.WriteUInt32LittleEndian(directory.AsSpan(16), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(directory.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(directory.AsSpan(24), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(directory.AsSpan(28), functions);
        BinaryPrimitives.WriteUInt32LittleEndian(directory.AsSpan(32), names);
        BinaryPrimitives.WriteUInt32LittleEndian(directory.AsSpan(36), ordinals);
        _builder.SetDirectory(0, AddData(directory), 40);
    }

    public byte[] Build()
    {
        for (var i = 0; i < _entries.Count; i++)
        {
            var rva = EntryRva(i);
            _pdata.WriteUInt32(rva, _entries[i].Begin);
            _pdata.WriteUInt32(rva + 4, _entries[i].End);
            _pdata.WriteUInt32(rva + 8, _entries[i].Unwind);
        }

        _builder.SetDirectory(3, _pdata.Rva, (uint)(_entries.Count * 12));
        return _builder.Build();
    }
}
