using System.Globalization;
using System.Text.Json;
using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Dump;

/// <summary>
/// `pelint dump unwind`: every RUNTIME_FUNCTION with its decoded UNWIND_INFO, as JSON (the shape
/// documented in README) or as text close to dumpbin /unwindinfo. Never throws on image content.
/// </summary>
public static class UnwindDump
{
    public static void WriteJson(PeImage image, Stream output)
    {
        var directory = ExceptionDirectory.Of(image);
        var handlers = HandlerCatalog.Of(image);
        using var w = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false });
        w.WriteStartObject();
        w.WriteString("file", Path.GetFileName(image.Path));
        w.WriteString("machine", image.Machine == System.Reflection.PortableExecutable.Machine.Amd64 ? "x64" : image.Machine.ToString().ToLowerInvariant());
        w.WriteStartArray("problems");
        foreach (var p in directory.Problems)
        {
            w.WriteStringValue(p.Message);
        }

        w.WriteEndArray();
        w.WriteStartArray("functions");
        foreach (var f in directory.Functions)
        {
            WriteFunction(w, image, directory, handlers, f);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteFunction(Utf8JsonWriter w, PeImage image, ExceptionDirectory directory, HandlerCatalog handlers, RuntimeFunction f)
    {
        var problems = new List<string>();
        w.WriteStartObject();
        w.WriteNumber("begin", f.BeginAddress);
        w.WriteNumber("end", f.EndAddress);
        w.WriteNumber("unwindData", f.UnwindData);
        w.WriteBoolean("indirect", f.IsIndirect);
        UnwindInfo? info = null;
        if (!directory.IsX64(f))
        {
            w.WriteNull("resolvedFrom");
            problems.Add("not analyzed (ARM64 unwind data)");
        }
        else if (f.IsIndirect)
        {
            var walk = directory.ResolveIndirect(f);
            if (walk.IsComplete)
            {
                w.WriteNumber("resolvedFrom", walk.End.BeginAddress);
                info = directory.GetUnwindInfo(walk.End);
            }
            else
            {
                w.WriteNull("resolvedFrom");
                problems.Add($"low-bit entry does not resolve ({walk.Problem}: {walk.Detail ?? walk.Describe()})");
            }
        }
        else
        {
            w.WriteNull("resolvedFrom");
            info = directory.GetUnwindInfo(f);
        }

        if (info is null)
        {
            w.WriteNull("unwindInfo");
        }
        else
        {
            w.WritePropertyName("unwindInfo");
            WriteInfo(w, image, handlers, info, problems);
        }

        w.WriteStartArray("problems");
        foreach (var p in problems)
        {
            w.WriteStringValue(p);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteInfo(Utf8JsonWriter w, PeImage image, HandlerCatalog handlers, UnwindInfo info, List<string> problems)
    {
        problems.AddRange(info.Problems.Select(p => p.Message));
        w.WriteStartObject();
        w.WriteNumber("rva", info.Rva);
        if (!info.IsReadable)
        {
            w.WriteEndObject();
            return;
        }

        w.WriteNumber("version", info.Version);
        w.WriteStartArray("flags");
        foreach (var flag in UnwindNames.Flags(info.Flags))
        {
            w.WriteStringValue(flag);
        }

        w.WriteEndArray();
        w.WriteNumber("prologSize", info.SizeOfProlog);
        w.WriteNumber("countOfCodes", info.CountOfCodes);
        if (info.FrameRegisterName is { } fr)
        {
            w.WriteString("frameRegister", fr);
        }
        else
        {
            w.WriteNull("frameRegister");
        }

        w.WriteNumber("frameOffset", info.FrameOffset);
        w.WriteStartArray("codes");
        foreach (var c in info.Codes)
        {
            w.WriteStartObject();
            w.WriteNumber("offset", c.CodeOffset);
            w.WriteString("op", UnwindNames.Op(c.Op));
            if (c.RegisterName is { } reg)
            {
                w.WriteString("register", reg);
            }

            if (c.Size is { } size)
            {
                w.WriteNumber("size", size);
            }

            if (c.StackOffset is { } so)
            {
                w.WriteNumber("stackOffset", so);
            }

            if (c.Op == UnwindOp.PushMachframe)
            {
                w.WriteBoolean("errorCode", c.OpInfo == 1);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (info.Version == 2)
        {
            w.WriteStartArray("epilogs");
            foreach (var e in info.Epilogs)
            {
                w.WriteStartObject();
                w.WriteNumber("rva", e.Rva);
                w.WriteNumber("size", e.Size);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (info.Chained is { } chained)
        {
            w.WriteStartObject("chained");
            w.WriteNumber("begin", chained.BeginAddress);
            w.WriteNumber("end", chained.EndAddress);
            w.WriteNumber("unwindData", chained.UnwindData);
            w.WriteEndObject();
        }

        if (info.HandlerRva is { } handlerRva)
        {
            var identity = handlers.Identify(handlerRva);
            w.WriteStartObject("handler");
            w.WriteNumber("rva", handlerRva);
            if (identity.Name is { } name)
            {
                w.WriteString("name", name);
            }
            else
            {
                w.WriteNull("name");
            }

            w.WriteString("identifiedBy", identity.Evidence.ToString());
            w.WriteEndObject();
            if (identity.UsesScopeTable && info.LanguageDataRva is { } data)
            {
                var table = ScopeTable.Read(image, data);
                if (table.Problem is { } p)
                {
                    problems.Add(p.Message);
                }

                w.WriteStartArray("scopeTable");
                foreach (var r in table.Records)
                {
                    w.WriteStartObject();
                    w.WriteNumber("begin", r.BeginAddress);
                    w.WriteNumber("end", r.EndAddress);
                    w.WriteNumber("handler", r.HandlerAddress);
                    w.WriteNumber("jumpTarget", r.JumpTarget);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }
        }

        w.WriteEndObject();
    }

    /// <summary>Text close to dumpbin /unwindinfo: one block per function.</summary>
    public static void WriteText(PeImage image, TextWriter o)
    {
        var directory = ExceptionDirectory.Of(image);
        var handlers = HandlerCatalog.Of(image);
        o.WriteLine($"Dump of file {Path.GetFileName(image.Path)}");
        o.WriteLine();
        foreach (var p in directory.Problems)
        {
            o.WriteLine($"  problem: {p.Message}");
        }

        o.WriteLine("Function Table (" + directory.Functions.Count.ToString(CultureInfo.InvariantCulture) + ")");
        o.WriteLine();
        o.WriteLine("           Begin    End      Info");
        foreach (var f in directory.Functions)
        {
            o.WriteLine($"  {f.Index,8:D8} {f.BeginAddress:X8} {f.EndAddress:X8} {f.UnwindData:X8}");
            if (!directory.IsX64(f))
            {
                o.WriteLine("    not analyzed (ARM64 unwind data)");
                o.WriteLine();
                continue;
            }

            var info = directory.EffectiveUnwindInfo(f);
            if (f.IsIndirect)
            {
                var walk = directory.ResolveIndirect(f);
                o.WriteLine(walk.IsComplete
                    ? $"    Indirect: uses the unwind data of the entry at {walk.End.BeginAddress:X8}"
                    : $"    Indirect: does not resolve ({walk.Problem}: {walk.Detail ?? walk.Describe()})");
            }

            if (info is not null)
            {
                WriteInfoText(o, image, handlers, info);
            }

            o.WriteLine();
        }
    }

    private static void WriteInfoText(TextWriter o, PeImage image, HandlerCatalog handlers, UnwindInfo info)
    {
        if (!info.IsReadable)
        {
            o.WriteLine($"    Unwind info at {info.Rva:X8} cannot be read");
            return;
        }

        var flags = UnwindNames.Flags(info.Flags);
        o.WriteLine($"    Unwind version: {info.Version}");
        o.WriteLine($"    Unwind flags: {(flags.Count == 0 ? "None" : string.Join(" ", flags))}");
        o.WriteLine($"    Size of prologue: 0x{info.SizeOfProlog:X2}");
        o.WriteLine($"    Count of codes: {info.CountOfCodes}");
        if (info.FrameRegisterName is { } fr)
        {
            o.WriteLine($"    Frame register: {fr}");
            o.WriteLine($"    Frame offset: 0x{info.FrameOffset:X}");
        }

        if (info.Version == 2)
        {
            foreach (var e in info.Epilogs)
            {
                o.WriteLine($"    Epilog: {e.Rva:X8}, size 0x{e.Size:X}");
            }
        }

        o.WriteLine("    Unwind codes:");
        foreach (var c in info.Codes)
        {
            var detail = c.Op switch
            {
                UnwindOp.PushNonvol => $"PUSH_NONVOL, register={c.RegisterName}",
                UnwindOp.AllocSmall or UnwindOp.AllocLarge => $"{UnwindNames.Op(c.Op)}, size=0x{c.Size:X}",
                UnwindOp.SetFpreg => $"SET_FPREG, register={info.FrameRegisterName ?? "none"}, offset=0x{info.FrameOffset:X}",
                UnwindOp.SaveNonvol or UnwindOp.SaveNonvolFar or UnwindOp.SaveXmm128 or UnwindOp.SaveXmm128Far =>
                    $"{UnwindNames.Op(c.Op)}, register={c.RegisterName} offset=0x{c.StackOffset:X}",
                UnwindOp.PushMachframe => $"PUSH_MACHFRAME, error code={(c.OpInfo == 1 ? "yes" : "no")}",
                _ => $"{UnwindNames.Op(c.Op)} (op info {c.OpInfo})",
            };
            o.WriteLine($"      {c.CodeOffset:X2}: {detail}");
        }

        if (info.Chained is { } chained)
        {
            o.WriteLine($"    Chained to function: {chained.BeginAddress:X8} {chained.EndAddress:X8} {chained.UnwindData:X8}");
        }

        if (info.HandlerRva is { } h)
        {
            o.WriteLine($"    Handler: {h:X8} {handlers.Identify(h).Describe()}");
        }

        foreach (var p in info.Problems)
        {
            o.WriteLine($"    problem: {p.Message}");
        }
    }
}
