namespace Pelint.Pe.Exceptions.Arm64;

/// <summary>
/// Packed unwind data: the second .pdata word when its Flag (bits 0-1) is 1 (a function with
/// one prolog and one epilog at its end) or 2 (a fragment with neither). Fields: Function
/// Length/4 in bits 2-12, RegF 13-15, RegI 16-19, H 20, CR 21-22, Frame Size/16 23-31.
/// </summary>
public readonly record struct Arm64PackedUnwind(uint Word)
{
    public int Flag => (int)(Word & 3);

    public bool IsFragment => Flag == 2;

    public uint FunctionLength => ((Word >> 2) & 0x7FF) * 4;

    /// <summary>0: no FP register saved; n > 0: d8..d(8+n), n+1 registers.</summary>
    public int RegF => (int)((Word >> 13) & 7);

    /// <summary>Integer registers x19.. saved.</summary>
    public int RegI => (int)((Word >> 16) & 0xF);

    /// <summary>Homes x0-x7.</summary>
    public bool H => ((Word >> 20) & 1) != 0;

    /// <summary>0 unchained, 1 unchained with lr saved, 2 chained with pacibsp, 3 chained.</summary>
    public int CR => (int)((Word >> 21) & 3);

    /// <summary>Whole frame in bytes (a multiple of 16).</summary>
    public uint FrameSize => (Word >> 23) * 16;

    /// <summary>
    /// Size in 8-byte slots of the register save area: x19.. (and lr for CR=1), d8.. (RegF+1),
    /// the home area (when anything else is saved, so that it sits in the area the first save
    /// allocates), rounded up to 16 bytes. As the unwinder computes it.
    /// </summary>
    public int SaveSlots
    {
        get
        {
            var slots = RegI + (CR == 1 ? 1 : 0) + (RegF != 0 ? RegF + 1 : 0);
            if (slots > 0 && H)
            {
                slots += 8;
            }

            return (slots + 1) & ~1;
        }
    }

    /// <summary>
    /// Whether the bits describe a frame that can exist: a length, RegI within x19-x28, a frame
    /// that holds the save area, and room for x29/lr when chained (what PE4004 checks).
    /// </summary>
    public bool DescribesPossibleFrame => FunctionLength != 0 && RegI <= 10 && LocalSize >= 0 && !(CR is 2 or 3 && LocalSize == 0);

    /// <summary>Bytes of stack below the save area: locals, the x29/lr pair, outgoing arguments. Negative for an impossible frame.</summary>
    public int LocalSize => (int)FrameSize - (SaveSlots * 8);

    /// <summary>
    /// The full unwind record the unwinder builds from these bits before it unwinds
    /// (RtlpExpandCompactToFull in the Windows unwinder that dotnet/runtime publishes): codes in
    /// the prolog's reverse order, the epilog in the header (E) starting after set_fp, and for
    /// H the epilog a copy of the prolog without the four home nops. A packed record whose frame
    /// cannot exist (<see cref="LocalSize"/> negative) expands all the same, as the unwinder does.
    /// </summary>
    public Arm64UnwindRecord Expand()
    {
        var ops = new List<byte> { 0xE4 }; // end, built in prolog order and reversed below
        var savsz = SaveSlots;
        var locsz = (int)(FrameSize / 8) - savsz;
        var predecremented = false;
        var slot = 0;
        int? opsBeforeNops = null;
        var framePointerSet = false;
        if (CR == 2)
        {
            ops.Add(0xFC);
        }

        var intsz = RegI + (CR == 1 ? 1 : 0);
        if (intsz != 0)
        {
            if (RegI == 1 && CR == 1)
            {
                Alloc(ops, savsz * 8);
                predecremented = true;
            }

            var reg = 0;
            for (; reg < RegI / 2 * 2; reg += 2)
            {
                Save(ops, 0xC8, 0xCC, reg, ref predecremented, ref slot, savsz, 2);
            }

            if (RegI % 2 == 1)
            {
                if (CR == 1)
                {
                    var x = reg / 2;
                    ops.Add((byte)(0xD6 | (x >> 2)));
                    ops.Add((byte)(((x & 3) << 6) | slot));
                    slot += 2;
                }
                else
                {
                    SaveSingle(ops, 0xD0, 0xD4, reg, ref predecremented, ref slot, savsz, xBits: 4);
                }
            }
            else if (CR == 1)
            {
                SaveSingle(ops, 0xD0, 0xD4, 11, ref predecremented, ref slot, savsz, xBits: 4); // x19 + 11 = lr
            }
        }

        var fpsz = RegF != 0 ? RegF + 1 : 0;
        if (fpsz != 0)
        {
            var reg = 0;
            for (; reg < fpsz / 2 * 2; reg += 2)
            {
                Save(ops, 0xD8, 0xDA, reg, ref predecremented, ref slot, savsz, 2);
            }

            if (fpsz % 2 == 1)
            {
                SaveSingle(ops, 0xDC, 0xDE, reg, ref predecremented, ref slot, savsz, xBits: 3);
            }
        }

        if (H && predecremented)
        {
            opsBeforeNops = ops.Count;
            ops.AddRange([0xE3, 0xE3, 0xE3, 0xE3]);
        }

        if (locsz > 0)
        {
            if (CR is 2 or 3)
            {
                if (locsz <= 512 / 8)
                {
                    ops.Add((byte)(0x80 | ((locsz - 1) & 0x3F)));
                }
                else
                {
                    Alloc(ops, locsz * 8);
                    ops.Add(0x40);
                }

                ops.Add(0xE1);
                framePointerSet = true;
            }
            else
            {
                Alloc(ops, locsz * 8);
            }
        }

        if (IsFragment)
        {
            ops.Add(0xE5);
        }

        // Multi-byte codes were appended most significant byte first; reversing the whole buffer
        // would reverse them too, so reverse code by code (the unwinder reverses bytes of codes it
        // emitted little-endian, which comes to the same).
        var prolog = ReverseCodes(ops);
        var epilogIndex = IsFragment ? 0 : framePointerSet ? 1 : 0;
        var codes = prolog;
        if (opsBeforeNops is { } before && !IsFragment)
        {
            // The epilog: the prolog's codes without the four home nops, appended after them.
            var nopStart = prolog.Length - before - 4;
            codes = [.. prolog, .. prolog[..nopStart], .. prolog[(nopStart + 4)..]];
            epilogIndex += prolog.Length;
        }

        var words = (codes.Length + 3) / 4;
        Array.Resize(ref codes, words * 4);
        var header = (FunctionLength / 4) | (IsFragment ? 0u : 1u << 21) | ((uint)epilogIndex << 22) | ((uint)words << 27);
        return Arm64UnwindRecord.Synthetic(header, codes);
    }

    private static void Alloc(List<byte> ops, int size)
    {
        var units = size / 16;
        if (size >= 16384)
        {
            ops.AddRange([0xE0, (byte)(units >> 16), (byte)(units >> 8), (byte)units]);
        }
        else if (size >= 512)
        {
            ops.AddRange([(byte)(0xC0 | ((units >> 8) & 7)), (byte)units]);
        }
        else
        {
            ops.Add((byte)(units & 0x1F));
        }
    }

    // A pair save: save_regp/save_fregp at the next slot, or its _x form for the first save,
    // which allocates the whole save area.
    private static void Save(List<byte> ops, byte plain, byte preIndexed, int reg, ref bool predecremented, ref int slot, int savsz, int slots)
    {
        var z = predecremented ? slot : savsz - 1;
        ops.Add((byte)((predecremented ? plain : preIndexed) | (reg >> 2)));
        ops.Add((byte)(((reg & 3) << 6) | (z & 0x3F)));
        predecremented = true;
        slot += slots;
    }

    private static void SaveSingle(List<byte> ops, byte plain, byte preIndexed, int reg, ref bool predecremented, ref int slot, int savsz, int xBits)
    {
        if (predecremented)
        {
            ops.Add((byte)(plain | (reg >> 2)));
            ops.Add((byte)(((reg & 3) << 6) | (slot & 0x3F)));
        }
        else
        {
            // save_reg_x: 1101010x'xxxzzzzz (4 register bits); save_freg_x: 11011110'xxxzzzzz (3).
            var z = (savsz - 1) & 0x1F;
            ops.Add((byte)(preIndexed | (xBits == 4 ? reg >> 3 : 0)));
            ops.Add((byte)(((reg & 7) << 5) | z));
            predecremented = true;
        }

        slot += 1;
    }

    private static byte[] ReverseCodes(List<byte> ops)
    {
        var starts = new List<int>();
        for (var i = 0; i < ops.Count; i += Arm64UnwindCode.LengthOf(ops[i]))
        {
            starts.Add(i);
        }

        var result = new byte[ops.Count];
        var position = 0;
        for (var k = starts.Count - 1; k >= 0; k--)
        {
            var length = Arm64UnwindCode.LengthOf(ops[starts[k]]);
            for (var b = 0; b < length; b++)
            {
                result[position++] = ops[starts[k] + b];
            }
        }

        return result;
    }
}
