using System.Globalization;
using System.Text.Json;
using Pelint.Pe;
using Pelint.Pe.Chpe;
using Pelint.Pe.Exceptions.Arm64;

namespace Pelint.Reporting;

/// <summary>
/// The ARM64 part of `pelint dump unwind`: every ARM64 .pdata entry with its packed data or
/// .xdata record, the unwind codes of the prolog and of each epilog (in llvm-readobj's
/// notation: a prolog's stores, an epilog's loads), the handler, and the CHPE code map of an
/// ARM64EC or ARM64X image. Packed entries also show the codes the unwinder expands them to.
/// </summary>
internal static class Arm64UnwindDump
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void WriteText(PeImage image, TextWriter output)
    {
        var arm64 = image.Arm64Exceptions;
        var table = arm64.Table;
        if (arm64.CodeMap is { } map)
        {
            output.WriteLine($"{arm64.Flavor} code map ({map.Ranges.Count} ranges, with the entries of each table that start in them):");
            var x64 = image.ExceptionDirectory.Functions;
            foreach (var range in map.Ranges)
            {
                var arm64Entries = table.Functions.Count(f => range.Contains(f.BeginAddress));
                var x64Entries = x64.Count(f => range.Contains(f.BeginAddress));
                output.WriteLine(string.Format(Inv, "  {0:X8}-{1:X8} {2,-7} {3} ARM64, {4} x64", range.Start, range.End, KindName(range.Kind), arm64Entries, x64Entries));
            }
        }

        output.WriteLine($"ARM64 function table ({table.Source}): {table.Functions.Count} entries");
        foreach (var p in table.Problems)
        {
            output.WriteLine($"  problem: {p.Message}");
        }

        foreach (var f in table.Functions)
        {
            output.WriteLine();
            var name = image.Exports.NameOf(f.BeginAddress);
            output.WriteLine(string.Format(Inv, "  {0,8:X8} {1:X8} {2:X8} {3}{4}", f.FileOffset, f.BeginAddress, f.UnwindData, KindOf(f), name is null ? string.Empty : "  " + name));
            if (f.Flag == 3)
            {
                output.WriteLine("    Flag 3 is reserved");
                continue;
            }

            if (f.IsPacked)
            {
                var p = f.Packed;
                output.WriteLine(string.Format(Inv, "    Function length: {0}, RegF: {1}, RegI: {2}, H: {3}, CR: {4}, Frame size: {5}", p.FunctionLength, p.RegF, p.RegI, p.H ? 1 : 0, p.CR, p.FrameSize));
            }

            if (table.RecordOf(f) is not { } record)
            {
                continue;
            }

            if (!f.IsPacked)
            {
                output.WriteLine(string.Format(Inv, "    Function length: {0}, Version: {1}, X: {2}, E: {3}, {4}: {5}, Code words: {6}{7}",
                    record.FunctionLength, record.Version, record.HasHandler ? 1 : 0, record.EpilogInHeader ? 1 : 0,
                    record.EpilogInHeader ? "Epilog index" : "Epilog count", record.EpilogCount, record.CodeWords, record.ExtensionWord is null ? string.Empty : " (extended header)"));
            }

            WriteCodes(output, f.IsPacked ? "    Prolog (expanded):" : "    Prolog:", record.DecodeSequence(0, out _, out _), prolog: true);
            foreach (var (start, index) in record.Epilogs())
            {
                WriteCodes(output, string.Format(Inv, "    Epilog at +0x{0:X}, code index {1}{2}:", start, index, f.IsPacked ? " (expanded)" : string.Empty), record.DecodeSequence(index, out _, out _), prolog: false);
            }

            if (record.HasHandler && record.HandlerRva is { } handler)
            {
                output.WriteLine($"    Handler: {handler:X8}{(Parameter(image, record) is { } parameter ? $", parameter 0x{parameter:X}" : string.Empty)}");
            }

            foreach (var problem in record.Problems)
            {
                output.WriteLine($"    problem: {problem.Message}");
            }
        }
    }

    private static void WriteCodes(TextWriter output, string title, List<Arm64UnwindCode> codes, bool prolog)
    {
        output.WriteLine(title);
        foreach (var c in codes)
        {
            output.WriteLine($"      {c.Hex,-12} {c.Name,-14} {c.Describe(prolog)}");
        }
    }

    public static void WriteJson(PeImage image, Utf8JsonWriter json)
    {
        var arm64 = image.Arm64Exceptions;
        var table = arm64.Table;
        json.WriteString("arm64Flavor", arm64.Flavor);
        json.WriteStartObject("arm64Table");
        json.WriteString("source", table.Source);
        json.WriteNumber("rva", table.Rva);
        json.WriteNumber("size", table.DeclaredSize);
        json.WriteStartArray("problems");
        foreach (var p in table.Problems)
        {
            json.WriteStringValue(p.Message);
        }

        json.WriteEndArray();
        json.WriteEndObject();
        if (arm64.CodeMap is { } map)
        {
            json.WriteStartArray("codeMap");
            foreach (var range in map.Ranges)
            {
                json.WriteStartObject();
                json.WriteNumber("start", range.Start);
                json.WriteNumber("end", range.End);
                json.WriteString("kind", KindName(range.Kind));
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteStartArray("arm64Functions");
        foreach (var f in table.Functions)
        {
            WriteFunction(image, table, json, f);
            if (json.BytesPending > 1 << 16)
            {
                json.Flush(); // streamed like the x64 list: one chunk held at a time
            }
        }

        json.WriteEndArray();
    }

    private static void WriteFunction(PeImage image, Arm64FunctionTable table, Utf8JsonWriter json, Arm64RuntimeFunction f)
    {
        json.WriteStartObject();
        json.WriteNumber("begin", f.BeginAddress);
        json.WriteNumber("unwindData", f.UnwindData);
        json.WriteNumber("flag", f.Flag);
        json.WriteString("kind", KindOf(f));
        if (f.IsPacked)
        {
            var p = f.Packed;
            json.WriteStartObject("packed");
            json.WriteNumber("functionLength", p.FunctionLength);
            json.WriteNumber("regF", p.RegF);
            json.WriteNumber("regI", p.RegI);
            json.WriteBoolean("homedParameters", p.H);
            json.WriteNumber("cr", p.CR);
            json.WriteNumber("frameSize", p.FrameSize);
            json.WriteEndObject();
        }

        var problems = new List<string>();
        if (table.RecordOf(f) is { } record)
        {
            json.WritePropertyName(f.IsPacked ? "expanded" : "xdata");
            json.WriteStartObject();
            if (record.Rva is { } rva)
            {
                json.WriteNumber("rva", rva);
            }

            json.WriteNumber("functionLength", record.FunctionLength);
            json.WriteNumber("version", record.Version);
            json.WriteBoolean("exceptionData", record.HasHandler);
            json.WriteBoolean("epilogInHeader", record.EpilogInHeader);
            json.WriteNumber("epilogCount", record.EpilogCount);
            json.WriteNumber("codeWords", record.CodeWords);
            json.WriteBoolean("extendedHeader", record.ExtensionWord is not null);
            json.WritePropertyName("prolog");
            WriteCodes(json, record.DecodeSequence(0, out _, out _), prolog: true);
            json.WriteStartArray("epilogs");
            var scopes = record.Scopes;
            var k = 0;
            foreach (var (start, index) in record.Epilogs())
            {
                json.WriteStartObject();
                json.WriteNumber("startOffset", start);
                json.WriteNumber("startIndex", index);
                if (!record.EpilogInHeader && k < scopes.Count)
                {
                    json.WriteNumber("reserved", scopes[k].Reserved);
                }

                json.WritePropertyName("codes");
                WriteCodes(json, record.DecodeSequence(index, out _, out _), prolog: false);
                json.WriteEndObject();
                k++;
            }

            json.WriteEndArray();
            if (record.HasHandler && record.HandlerRva is { } handler)
            {
                json.WriteStartObject("handler");
                json.WriteNumber("rva", handler);
                if (record.HandlerDataRva is { } data)
                {
                    json.WriteNumber("dataRva", data);
                }

                if (Parameter(image, record) is { } parameter)
                {
                    json.WriteNumber("parameter", parameter);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
            problems.AddRange(record.Problems.Select(p => p.Message));
        }
        else if (f.Flag == 3)
        {
            problems.Add("Flag 3 is reserved");
        }

        json.WriteStartArray("problems");
        foreach (var p in problems)
        {
            json.WriteStringValue(p);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteCodes(Utf8JsonWriter json, List<Arm64UnwindCode> codes, bool prolog)
    {
        json.WriteStartArray();
        foreach (var c in codes)
        {
            json.WriteStartObject();
            json.WriteNumber("index", c.Index);
            json.WriteString("bytes", c.Hex);
            json.WriteString("op", c.Name);
            json.WriteString("text", c.Describe(prolog));
            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    // The first word of the handler's data (llvm-readobj prints it as "Parameter").
    private static uint? Parameter(PeImage image, Arm64UnwindRecord record)
    {
        Span<byte> scratch = stackalloc byte[4];
        using var reader = image.OpenReader();
        return record.HandlerDataRva is { } data && reader.TryRead(data, 4, scratch, out var bytes)
            ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes)
            : null;
    }

    private static string KindOf(Arm64RuntimeFunction f) => f.Flag switch
    {
        0 => "xdata",
        1 => "packed",
        2 => "packed-fragment",
        _ => "reserved",
    };

    private static string KindName(ChpeRangeKind kind) => kind switch
    {
        ChpeRangeKind.Arm64 => "ARM64",
        ChpeRangeKind.Arm64EC => "ARM64EC",
        ChpeRangeKind.Amd64 => "X64",
        _ => "unknown",
    };
}
