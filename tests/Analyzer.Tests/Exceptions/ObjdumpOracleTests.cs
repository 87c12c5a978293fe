using System.Globalization;
using System.Text.Json;
using Pelint.Pe;
using Pelint.Reporting;
using Pelint.Testing;
using Xunit.Abstractions;

namespace Pelint.Tests.Exceptions;

/// <summary>
/// `pelint dump unwind --format json` agrees with GNU objdump -p on every function of real
/// MSVC-built DLLs and of the hand-written samples: function table, version, flags, code count,
/// prolog size, frame register and offset, every prolog code, v2 epilogs, chains, handlers and
/// low-bit entries.
/// </summary>
public sealed class ObjdumpOracleTests(ITestOutputHelper output)
{
    public static TheoryData<string> Images() => new()
    {
        TestPaths.RuntimeDll("coreclr.dll"),
        TestPaths.RuntimeDll("clrjit.dll"),
        Path.Combine(TestPaths.SamplesBin, "unwind-chained.x64.exe"),
        Path.Combine(TestPaths.SamplesBin, "epilog-legal.x64.exe"),
        Path.Combine(TestPaths.SamplesBin, "seh-scopes.x64.exe"),
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void Dump_unwind_agrees_with_objdump_on_every_function(string path)
    {
        var expected = ObjdumpUnwindListing.Run(path);
        using var image = PeImage.Open(path).Image!;
        using var json = JsonDocument.Parse(UnwindDump.ToJsonString(image));
        var actual = json.RootElement.GetProperty("functions").EnumerateArray().ToList();

        Assert.Equal(expected.Count, actual.Count);
        var byBegin = actual.ToDictionary(f => f.GetProperty("begin").GetUInt32());
        var mismatches = new List<string>();
        int infos = 0, chains = 0, lowBit = 0, v2 = 0, codes = 0, handlers = 0;
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            void Check(string what, object? want, object? got)
            {
                if (!Equals(want, got))
                {
                    mismatches.Add($"function 0x{e.Begin:X}: {what}: objdump {want}, pelint {got}");
                }
            }

            Check("begin", e.Begin, a.GetProperty("begin").GetUInt32());
            Check("end", e.End, a.GetProperty("end").GetUInt32());
            Check("unwindData", e.UnwindData, a.GetProperty("unwindData").GetUInt32());
            Check("indirect", e.SharesWithUnwindData is not null, a.GetProperty("indirect").GetBoolean());
            if (e.SharesWithUnwindData is { } shared)
            {
                lowBit++;
                var from = a.GetProperty("resolvedFrom");
                Check("low-bit target's unwind data", shared, from.ValueKind == JsonValueKind.Null ? null : byBegin[from.GetUInt32()].GetProperty("unwindData").GetUInt32());
                continue;
            }

            if (e.SharedWithPrevious || e.Version is null)
            {
                continue;
            }

            infos++;
            var info = a.GetProperty("unwindInfo");
            Check("version", e.Version, info.GetProperty("version").GetInt32());
            Check("flags", e.Flags, FlagsText(info.GetProperty("flags")));
            Check("count of codes", e.CodeCount, info.GetProperty("countOfCodes").GetInt32());
            Check("prolog size", e.PrologSize, info.GetProperty("prologSize").GetInt32());
            Check("frame offset", e.FrameOffsetNibble, info.GetProperty("frameOffset").GetInt32() / 16);
            var frame = info.GetProperty("frameRegister");
            Check("frame register", e.FrameRegister, frame.ValueKind == JsonValueKind.Null ? "none" : frame.GetString());
            var pelintCodes = info.GetProperty("codes").EnumerateArray().Select(c => CodeText(c)).ToList();
            codes += e.Codes.Count;
            Check("codes", string.Join("; ", e.Codes), string.Join("; ", pelintCodes));
            if (e.EpilogSize is { } epilogSize)
            {
                v2++;
                var epilogs = info.TryGetProperty("epilogs", out var list) ? list.EnumerateArray().ToList() : [];
                Check("v2 epilog offsets", string.Join(",", e.EpilogOffsets), string.Join(",", epilogs.Select(x => x.GetProperty("rva").GetUInt32() - e.Begin)));
                Check("v2 epilog size", epilogSize, epilogs.Count > 0 ? epilogs[0].GetProperty("size").GetInt32() : epilogSize);
            }

            if (e.Handler is { } handler)
            {
                handlers++;
                Check("handler", handler, info.TryGetProperty("handler", out var h) ? h.GetProperty("rva").GetUInt32() : null);
            }

            if (e.Chain is { } chain)
            {
                chains++;
                var c = info.TryGetProperty("chained", out var ch) ? ch : default;
                Check("chain", chain, c.ValueKind == JsonValueKind.Object
                    ? (c.GetProperty("begin").GetUInt32(), c.GetProperty("end").GetUInt32(), c.GetProperty("unwindData").GetUInt32())
                    : null);
            }
        }

        output.WriteLine($"{Path.GetFileName(path)}: {expected.Count} functions, {infos} unwind infos, {codes} prolog codes, {chains} chains, " +
            $"{lowBit} low-bit entries, {v2} v2 infos, {handlers} handlers compared; {mismatches.Count} mismatches");
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches.Take(40)));
    }

    private static string FlagsText(JsonElement flags)
    {
        var names = flags.EnumerateArray().Select(f => "UNW_FLAG_" + f.GetString()).ToList();
        return names.Count == 0 ? "none" : string.Join(" | ", names);
    }

    // objdump's wording (binutils pex64igen.c) for each op, built from pelint's structured fields.
    private static string CodeText(JsonElement code)
    {
        var offset = code.GetProperty("offset").GetInt32().ToString("x2", CultureInfo.InvariantCulture);
        string Hex(string property) => "0x" + code.GetProperty(property).GetUInt32().ToString("x", CultureInfo.InvariantCulture);
        var text = code.GetProperty("op").GetString() switch
        {
            "PUSH_NONVOL" => $"push {code.GetProperty("register").GetString()}",
            "ALLOC_SMALL" => $"alloc small area: rsp = rsp - {Hex("size")}",
            "ALLOC_LARGE" => $"alloc large area: rsp = rsp - {Hex("size")}",
            "SET_FPREG" => $"FPReg: {code.GetProperty("register").GetString()} = rsp + {Hex("frameOffset")} (info = 0x{code.GetProperty("opInfo").GetUInt32():x})",
            "SAVE_NONVOL" or "SAVE_NONVOL_FAR" or "SAVE_XMM128" or "SAVE_XMM128_FAR" => $"save {code.GetProperty("register").GetString()} at rsp + {Hex("stackOffset")}",
            "PUSH_MACHFRAME" => code.GetProperty("errorCode").GetBoolean() ? "interrupt entry (SS, old RSP, EFLAGS, CS, RIP,ErrorCode)" : "interrupt entry (SS, old RSP, EFLAGS, CS, RIP)",
            var other => other!,
        };
        return $"{offset} {text}";
    }
}
