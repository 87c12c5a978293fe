using System.Globalization;
using System.Text;
using System.Text.Json;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using Pelint.Pe.Headers;
using Pelint.Rules;

namespace Pelint.Reporting;

/// <summary>
/// `pelint dump unwind`: every RUNTIME_FUNCTION with its decoded unwind data, as JSON (RVAs as
/// integers) or as text close to dumpbin /unwindinfo. Problems are printed, never thrown.
/// </summary>
public static class UnwindDump
{
    public static void WriteJson(PeImage image, Stream output)
    {
        var directory = image.ExceptionDirectory;
        var handlers = image.LanguageHandlers;
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
        json.WriteStartObject();
        json.WriteString("file", image.Path);
        json.WriteString("machine", MachineNames.Of(image.Machine));
        json.WriteStartArray("problems");
        foreach (var p in directory.Problems)
        {
            json.WriteStringValue(p.Message);
        }

        json.WriteEndArray();
        json.WriteStartArray("functions");
        foreach (var f in directory.Functions)
        {
            WriteFunction(json, image, directory, handlers, f);
            // Streamed: the writer holds at most one chunk, whatever the number of entries.
            if (json.BytesPending > FlushThreshold)
            {
                json.Flush();
            }
        }

        json.WriteEndArray();
        if (image.Arm64Exceptions.HasArm64Code)
        {
            Arm64UnwindDump.WriteJson(image, json);
        }

        json.WriteEndObject();
    }

    private const int FlushThreshold = 1 << 16;

    public static void WriteText(PeImage image, TextWriter output)
    {
        var directory = image.ExceptionDirectory;
        var handlers = image.LanguageHandlers;
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine($"File: {image.Path}");
        if (image.Arm64Exceptions.HasArm64Code)
        {
            Arm64UnwindDump.WriteText(image, output);
            if (!directory.IsPresent)
            {
                return;
            }

            output.WriteLine();
            output.WriteLine($"x64 function table ({(image.Machine == System.Reflection.PortableExecutable.Machine.Arm64 ? "CHPE extra table" : "exception directory")}):");
        }

        output.WriteLine($"Machine: {MachineNames.Of(image.Machine)}, {directory.Functions.Count} function table entries");
        foreach (var p in directory.Problems)
        {
            output.WriteLine($"  problem: {p.Message}");
        }

        foreach (var f in directory.Functions)
        {
            output.WriteLine();
            var name = image.Exports.NameOf(f.BeginAddress);
            output.WriteLine(string.Format(inv, "  {0,8:X8} {1:X8} {2:X8} {3:X8}{4}", f.FileOffset, f.BeginAddress, f.EndAddress, f.UnwindData, name is null ? string.Empty : "  " + name));
            if (!directory.IsX64(f))
            {
                output.WriteLine("    not analyzed: ARM64 unwind data (ARM64EC image)");
                continue;
            }

            var source = f;
            if (f.IsIndirect)
            {
                var walk = directory.ResolveIndirect(f);
                if (walk.End is not { } end)
                {
                    output.WriteLine($"    Indirect entry: {walk.Problem}");
                    continue;
                }

                output.WriteLine($"    Indirect entry: unwind data of the entry at {end.BeginAddress:X8}");
                source = end;
            }

            var info = directory.UnwindInfoAt(source);
            output.WriteLine(info.IsDecoded ? $"    Unwind version: {info.Version}" : $"    Unwind version: {info.Version} (APX; its payload is not decoded)");
            output.WriteLine($"    Unwind flags: {FlagText(info.Flags)}");
            output.WriteLine($"    Size of prologue: 0x{info.SizeOfProlog:X2}");
            output.WriteLine($"    Count of codes: {info.CountOfCodes}");
            if (info.FrameRegister != 0)
            {
                output.WriteLine($"    Frame register: {X64Registers.Name(info.FrameRegister)}, offset 0x{info.FrameOffset:X}");
            }

            if (info.Epilogs is { } epilogs)
            {
                output.WriteLine($"    Epilogs (size 0x{epilogs.Size:X2}): {string.Join(", ", epilogs.StartsFor(f).Select(r => r.ToString("X8", inv)))}");
            }

            if (info.Codes.Length > 0)
            {
                output.WriteLine("    Unwind codes:");
                foreach (var c in info.Codes)
                {
                    output.WriteLine($"      {c.CodeOffset:X2}: {Describe(c, info)}");
                }
            }

            if (info.Chained is { } chained)
            {
                output.WriteLine($"    Chained to: {chained.BeginAddress:X8} {chained.EndAddress:X8} {chained.UnwindData:X8}");
            }

            if (info.HasHandler && info.HandlerRva is { } handler)
            {
                var identity = handlers.Identify(handler);
                output.WriteLine($"    Handler: {handler:X8}{(identity?.Name is { } n ? $" {n} ({identity.How})" : string.Empty)}");
                if (identity?.UsesScopeTable == true && info.LanguageDataRva is { } data)
                {
                    var table = ScopeTable.Read(image, data);
                    output.WriteLine($"    Count of scope table entries: {table.Count}{(table.Problem is { } tp ? $" ({tp})" : string.Empty)}");
                    foreach (var r in table.Records)
                    {
                        output.WriteLine($"      Begin {r.BeginAddress:X8} End {r.EndAddress:X8} Handler {r.HandlerAddress:X8} Target {r.JumpTarget:X8}");
                    }
                }
            }

            foreach (var p in info.Problems)
            {
                output.WriteLine($"    problem: {p.Message}");
            }
        }
    }

    private static void WriteFunction(Utf8JsonWriter json, PeImage image, ExceptionDirectory directory, LanguageHandlers handlers, RuntimeFunction f)
    {
        json.WriteStartObject();
        json.WriteNumber("begin", f.BeginAddress);
        json.WriteNumber("end", f.EndAddress);
        json.WriteNumber("unwindData", f.UnwindData);
        json.WriteBoolean("indirect", f.IsIndirect);
        var problems = new List<string>();
        RuntimeFunction? source = f;
        if (!directory.IsX64(f))
        {
            source = null;
            problems.Add("not analyzed: ARM64 unwind data (ARM64EC image)");
        }
        else if (f.IsIndirect)
        {
            var walk = directory.ResolveIndirect(f);
            source = walk.End;
            if (walk.Problem is { } p)
            {
                problems.Add(p.Message);
            }
        }

        if (f.IsIndirect && source is { } resolved)
        {
            json.WriteNumber("resolvedFrom", resolved.BeginAddress);
        }
        else
        {
            json.WriteNull("resolvedFrom");
        }

        if (source is { } s)
        {
            var info = directory.UnwindInfoAt(s);
            json.WritePropertyName("unwindInfo");
            WriteInfo(json, image, handlers, f, info);
            foreach (var p in info.Problems)
            {
                problems.Add(p.Message);
            }
        }
        else
        {
            json.WriteNull("unwindInfo");
        }

        json.WriteStartArray("problems");
        foreach (var p in problems)
        {
            json.WriteStringValue(p);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteInfo(Utf8JsonWriter json, PeImage image, LanguageHandlers handlers, RuntimeFunction f, UnwindInfo info)
    {
        json.WriteStartObject();
        json.WriteNumber("rva", info.Rva);
        json.WriteNumber("version", info.Version);
        json.WriteBoolean("decoded", info.IsDecoded);
        json.WriteStartArray("flags");
        foreach (var flag in FlagNames(info.Flags))
        {
            json.WriteStringValue(flag);
        }

        json.WriteEndArray();
        json.WriteNumber("prologSize", info.SizeOfProlog);
        json.WriteNumber("countOfCodes", info.CountOfCodes);
        if (info.FrameRegister == 0)
        {
            json.WriteNull("frameRegister");
        }
        else
        {
            json.WriteString("frameRegister", X64Registers.Name(info.FrameRegister));
        }

        json.WriteNumber("frameOffset", info.FrameOffset);
        json.WriteStartArray("codes");
        foreach (var c in info.Codes)
        {
            json.WriteStartObject();
            json.WriteNumber("offset", c.CodeOffset);
            json.WriteString("op", UnwindCode.OpName(c.Op));
            switch (c.Op)
            {
                case UnwindOp.PushNonvol:
                    json.WriteString("register", X64Registers.Name(c.Register));
                    break;
                case UnwindOp.AllocSmall or UnwindOp.AllocLarge:
                    json.WriteNumber("size", c.Value);
                    break;
                case UnwindOp.SetFpreg:
                    json.WriteString("register", X64Registers.Name(info.FrameRegister));
                    json.WriteNumber("frameOffset", info.FrameOffset);
                    json.WriteNumber("opInfo", c.OpInfo);
                    break;
                case UnwindOp.SaveNonvol or UnwindOp.SaveNonvolFar:
                    json.WriteString("register", X64Registers.Name(c.Register));
                    json.WriteNumber("stackOffset", c.Value);
                    break;
                case UnwindOp.SaveXmm128 or UnwindOp.SaveXmm128Far:
                    json.WriteString("register", $"xmm{c.Register}");
                    json.WriteNumber("stackOffset", c.Value);
                    break;
                case UnwindOp.PushMachframe:
                    json.WriteBoolean("errorCode", c.OpInfo == 1);
                    break;
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        if (info.Epilogs is { } epilogs)
        {
            json.WriteStartArray("epilogs");
            foreach (var start in epilogs.StartsFor(f))
            {
                json.WriteStartObject();
                json.WriteNumber("rva", start);
                json.WriteNumber("size", epilogs.Size);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        if (info.Chained is { } chained)
        {
            json.WriteStartObject("chained");
            json.WriteNumber("begin", chained.BeginAddress);
            json.WriteNumber("end", chained.EndAddress);
            json.WriteNumber("unwindData", chained.UnwindData);
            json.WriteEndObject();
        }

        if (info.HasHandler && info.HandlerRva is { } handler)
        {
            var identity = handlers.Identify(handler);
            json.WriteStartObject("handler");
            json.WriteNumber("rva", handler);
            if (identity?.Name is { } name)
            {
                json.WriteString("name", name);
                json.WriteString("identifiedBy", identity.How);
            }
            else
            {
                json.WriteNull("name");
            }

            json.WriteEndObject();
            if (identity?.UsesScopeTable == true && info.LanguageDataRva is { } data)
            {
                var table = ScopeTable.Read(image, data);
                json.WriteStartArray("scopeTable");
                foreach (var r in table.Records)
                {
                    json.WriteStartObject();
                    json.WriteNumber("begin", r.BeginAddress);
                    json.WriteNumber("end", r.EndAddress);
                    json.WriteNumber("handler", r.HandlerAddress);
                    json.WriteNumber("jumpTarget", r.JumpTarget);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }
        }

        json.WriteEndObject();
    }

    private static IEnumerable<string> FlagNames(UnwindFlags flags)
    {
        if ((flags & UnwindFlags.EHandler) != 0)
        {
            yield return "EHANDLER";
        }

        if ((flags & UnwindFlags.UHandler) != 0)
        {
            yield return "UHANDLER";
        }

        if ((flags & UnwindFlags.ChainInfo) != 0)
        {
            yield return "CHAININFO";
        }
    }

    private static string FlagText(UnwindFlags flags)
    {
        var names = FlagNames(flags).ToList();
        return names.Count == 0 ? "none" : string.Join(" ", names);
    }

    private static string Describe(UnwindCode c, UnwindInfo info) => c.Op switch
    {
        UnwindOp.PushNonvol => $"PUSH_NONVOL, register={X64Registers.Name(c.Register)}",
        UnwindOp.AllocSmall or UnwindOp.AllocLarge => $"{UnwindCode.OpName(c.Op)}, size=0x{c.Value:X}",
        UnwindOp.SetFpreg => $"SET_FPREG, register={X64Registers.Name(info.FrameRegister)}, offset=0x{info.FrameOffset:X}",
        UnwindOp.SaveNonvol or UnwindOp.SaveNonvolFar => $"{UnwindCode.OpName(c.Op)}, register={X64Registers.Name(c.Register)} offset=0x{c.Value:X}",
        UnwindOp.SaveXmm128 or UnwindOp.SaveXmm128Far => $"{UnwindCode.OpName(c.Op)}, register=xmm{c.Register} offset=0x{c.Value:X}",
        UnwindOp.PushMachframe => $"PUSH_MACHFRAME{(c.OpInfo == 1 ? ", with error code" : string.Empty)}",
        _ => UnwindCode.OpName(c.Op),
    };

    public static string ToJsonString(PeImage image)
    {
        using var stream = new MemoryStream();
        WriteJson(image, stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
