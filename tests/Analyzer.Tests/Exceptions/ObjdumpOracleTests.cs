using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pelint.Dump;
using Pelint.Pe;
using Pelint.Testing;
using Xunit.Abstractions;

namespace Pelint.Tests.Exceptions;

/// <summary>
/// GNU objdump -p (binutils) decodes .pdata and .xdata on its own; its text is parsed here
/// independently and must agree 100% with what `pelint dump unwind --format json` prints
/// (the same <see cref="UnwindDump.WriteJson"/> the command calls).
/// </summary>
public sealed partial class ObjdumpOracleTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("coreclr.dll")]
    [InlineData("clrjit.dll")]
    public void Dump_unwind_agrees_with_objdump_on_every_function_and_unwind_info(string dll)
    {
        var path = TestPaths.RuntimeDll(dll);
        var oracle = ObjdumpUnwind.Parse(RunObjdump(path));
        using var pelint = PelintJson(path);
        var functions = pelint.RootElement.GetProperty("functions").EnumerateArray().ToList();

        // The function table, entry by entry.
        Assert.Equal(oracle.Table.Count, functions.Count);
        var lowBit = 0;
        for (var i = 0; i < functions.Count; i++)
        {
            var f = functions[i];
            var (begin, end, unwind) = oracle.Table[i];
            Assert.Equal(begin, f.GetProperty("begin").GetUInt32());
            Assert.Equal(end, f.GetProperty("end").GetUInt32());
            Assert.Equal(unwind, f.GetProperty("unwindData").GetUInt32());
            Assert.Equal((unwind & 1) != 0, f.GetProperty("indirect").GetBoolean());
            lowBit += (unwind & 1) != 0 ? 1 : 0;
        }

        // Every UNWIND_INFO objdump printed, compared with pelint's decoding for the function it names.
        var byBegin = functions.ToDictionary(f => f.GetProperty("begin").GetUInt32());
        int chains = 0, v2 = 0, handlers = 0, epilogs = 0;
        foreach (var x in oracle.Infos)
        {
            var info = byBegin[x.Begin].GetProperty("unwindInfo");
            var where = $"{dll} UNWIND_INFO 0x{x.Rva:X} (function 0x{x.Begin:X})";
            Assert.True(info.GetProperty("rva").GetUInt32() == x.Rva, where);
            Assert.True(info.GetProperty("version").GetInt32() == x.Version, where + " version");
            Assert.True(x.Flags.SequenceEqual(info.GetProperty("flags").EnumerateArray().Select(e => e.GetString()!)), where + " flags");
            Assert.True(info.GetProperty("countOfCodes").GetInt32() == x.CountOfCodes, where + " count");
            Assert.True(info.GetProperty("prologSize").GetInt32() == x.PrologSize, where + " prolog");
            Assert.True(info.GetProperty("frameOffset").GetInt32() == x.FrameOffsetNibble * 16, where + " frame offset");
            var fr = info.GetProperty("frameRegister");
            Assert.True((fr.ValueKind == JsonValueKind.Null ? "none" : fr.GetString()) == x.FrameRegister, where + " frame register");
            if (x.Chain is { } chain)
            {
                chains++;
                var c = info.GetProperty("chained");
                Assert.True(chain == (c.GetProperty("begin").GetUInt32(), c.GetProperty("end").GetUInt32(), c.GetProperty("unwindData").GetUInt32()), where + " chain");
            }
            else
            {
                Assert.False(info.TryGetProperty("chained", out _), where + " unexpected chain");
            }

            if (x.Handler is { } h)
            {
                handlers++;
                Assert.True(info.GetProperty("handler").GetProperty("rva").GetUInt32() == h, where + " handler");
            }
            else
            {
                Assert.False(info.TryGetProperty("handler", out _), where + " unexpected handler");
            }

            if (x.Version == 2)
            {
                v2++;
                var fBegin = x.Begin;
                var got = info.GetProperty("epilogs").EnumerateArray()
                    .Select(e => (Offset: e.GetProperty("rva").GetUInt32() - fBegin, Size: e.GetProperty("size").GetUInt32())).ToList();
                Assert.True(x.EpilogOffsets.Count == got.Count, where + " epilog count");
                Assert.True(x.EpilogOffsets.SequenceEqual(got.Select(g => g.Offset)), where + " epilog offsets");
                Assert.True(got.All(g => g.Size == x.EpilogLength), where + " epilog size");
                epilogs += got.Count;
            }
        }

        output.WriteLine($"{dll}: {functions.Count} functions, {oracle.Infos.Count} unwind infos, {chains} chained, {lowBit} low-bit entries, {v2} version 2 infos ({epilogs} epilogs), {handlers} with a handler: all equal to objdump");
        Assert.True(oracle.Infos.Count > 1000, "objdump printed too few unwind infos: the parser is not reading its output");
    }

    private static JsonDocument PelintJson(string path)
    {
        var opened = PeImage.Open(path);
        Assert.True(opened.Success, opened.Reason);
        using var image = opened.Image!;
        using var buffer = new MemoryStream();
        UnwindDump.WriteJson(image, buffer);
        return JsonDocument.Parse(buffer.ToArray());
    }

    private static string RunObjdump(string path)
    {
        var start = new ProcessStartInfo("objdump", ["-p", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("objdump did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"GNU objdump is required for the unwind oracle test (apt-get install binutils): {e.Message}");
            throw;
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"objdump -p failed: {stderr}");
            return stdout.Result;
        }
    }
}

/// <summary>objdump -p's .pdata/.xdata text, parsed in one pass. Addresses are VAs; RVAs are VA - ImageBase.</summary>
internal sealed partial class ObjdumpUnwind
{
    public List<(uint Begin, uint End, uint Unwind)> Table { get; } = [];

    public List<OracleInfo> Infos { get; } = [];

    public static ObjdumpUnwind Parse(string text)
    {
        var result = new ObjdumpUnwind();
        ulong imageBase = 0;
        var inTable = false;
        OracleInfo? current = null;
        foreach (var line in text.Split('\n'))
        {
            Match m;
            if ((m = ImageBaseLine().Match(line)).Success)
            {
                imageBase = Hex(m.Groups[1].Value);
            }
            else if (line.StartsWith("The Function Table", StringComparison.Ordinal))
            {
                inTable = true;
            }
            else if (inTable && (m = TableLine().Match(line)).Success)
            {
                result.Table.Add((Rva(m.Groups[1].Value), Rva(m.Groups[2].Value), Rva(m.Groups[3].Value)));
            }
            else if ((m = InfoHeader().Match(line)).Success)
            {
                inTable = false;
                current = new OracleInfo { Rva = (uint)Hex(m.Groups[1].Value), Begin = Rva(m.Groups[2].Value) };
                result.Infos.Add(current);
            }
            else if (current is not null && (m = VersionLine().Match(line)).Success)
            {
                current.Version = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                current.Flags = m.Groups[2].Value == "none" ? [] : [.. m.Groups[2].Value.Split(" | ").Select(f => f.Replace("UNW_FLAG_", "", StringComparison.Ordinal))];
            }
            else if (current is not null && (m = CountLine().Match(line)).Success)
            {
                current.CountOfCodes = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                current.PrologSize = (int)Hex(m.Groups[2].Value);
                current.FrameOffsetNibble = (int)Hex(m.Groups[3].Value);
                current.FrameRegister = m.Groups[4].Value;
            }
            else if (current is not null && (m = EpilogLine().Match(line)).Success)
            {
                current.EpilogLength = (uint)Hex(m.Groups[1].Value);
                foreach (Match pc in PcOffset().Matches(m.Groups[2].Value))
                {
                    current.EpilogOffsets.Add((uint)Hex(pc.Groups[1].Value));
                }
            }
            else if (current is not null && (m = ChainLine().Match(line)).Success)
            {
                current.PendingChain = ((uint)Hex(m.Groups[1].Value), (uint)Hex(m.Groups[2].Value));
            }
            else if (current is not null && current.PendingChain is { } pending && (m = ChainDataLine().Match(line)).Success)
            {
                current.Chain = (pending.Begin, pending.End, (uint)Hex(m.Groups[1].Value));
            }
            else if (current is not null && (m = HandlerLine().Match(line)).Success)
            {
                current.Handler = Rva(m.Groups[1].Value);
            }
        }

        return result;

        uint Rva(string va) => (uint)(Hex(va) - imageBase);
    }

    private static ulong Hex(string s) => ulong.Parse(s.StartsWith("0x", StringComparison.Ordinal) ? s[2..] : s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^ImageBase\s+([0-9a-f]+)$")]
    private static partial Regex ImageBaseLine();

    [GeneratedRegex(@"^ [0-9a-f]{8,16}:\s+([0-9a-f]{8,16}) ([0-9a-f]{8,16}) ([0-9a-f]{8,16})\s*$")]
    private static partial Regex TableLine();

    [GeneratedRegex(@"^ [0-9a-f]{8,16} \(rva: ([0-9a-f]{8})\): ([0-9a-f]{8,16}) - ([0-9a-f]{8,16})\s*$")]
    private static partial Regex InfoHeader();

    [GeneratedRegex(@"^\tVersion: (\d+), Flags: (.*)$")]
    private static partial Regex VersionLine();

    [GeneratedRegex(@"^\tNbr codes: (\d+), Prologue size: (0x[0-9a-f]+), Frame offset: (0x[0-9a-f]+), Frame reg: (\S+)$")]
    private static partial Regex CountLine();

    [GeneratedRegex(@"^\tv2 epilog \(length: ([0-9a-f]+)\) at pc\+:(.*)$")]
    private static partial Regex EpilogLine();

    [GeneratedRegex(@"(0x[0-9a-f]+)")]
    private static partial Regex PcOffset();

    [GeneratedRegex(@"^\tChain: start: ([0-9a-f]+), end: ([0-9a-f]+)$")]
    private static partial Regex ChainLine();

    [GeneratedRegex(@"^\t unwind data: ([0-9a-f]+)\.$")]
    private static partial Regex ChainDataLine();

    [GeneratedRegex(@"^\tHandler: ([0-9a-f]+)\.$")]
    private static partial Regex HandlerLine();
}

/// <summary>One UNWIND_INFO as objdump printed it.</summary>
internal sealed class OracleInfo
{
    public uint Rva { get; set; }

    public uint Begin { get; set; }

    public int Version { get; set; }

    public IReadOnlyList<string> Flags { get; set; } = [];

    public int CountOfCodes { get; set; }

    public int PrologSize { get; set; }

    public int FrameOffsetNibble { get; set; }

    public string FrameRegister { get; set; } = "none";

    public uint EpilogLength { get; set; }

    public List<uint> EpilogOffsets { get; } = [];

    public (uint Begin, uint End)? PendingChain { get; set; }

    public (uint Begin, uint End, uint Unwind)? Chain { get; set; }

    public uint? Handler { get; set; }
}
