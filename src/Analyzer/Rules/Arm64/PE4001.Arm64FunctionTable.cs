using Pelint.Pe;
using Pelint.Pe.Exceptions.Arm64;

namespace Pelint.Rules;

/// <summary>PE4001: the ARM64 .pdata table is a sorted table of 8-byte entries for functions in code.</summary>
public sealed class Arm64FunctionTableRule : IRule
{
    public string Id => "PE4001";

    public Applicability GetApplicability(PeImage image) => Arm64Facts.ForArm64UnwindData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var table = image.Arm64Exceptions.Table;
        var name = context.FileName;
        var findings = new List<Finding>();
        foreach (var p in table.Problems)
        {
            findings.Add(context.Report("table", new FindingLocation(p.FileOffset, p.Length, p.Rva, Description: $"ARM64 function table ({table.Source})"), $"table:{p.Id}", name, p.Message));
        }

        Arm64RuntimeFunction? previous = null;
        var previousEnd = 0UL;
        foreach (var f in table.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var length = table.LengthOf(f);
            var end = (ulong)f.BeginAddress + length;
            if (f.Flag == 3)
            {
                findings.Add(Report(context, f, "flag-3", name));
            }
            else if (!f.IsPacked && table.RecordOf(f) is { } record && record.Problems.Any(p => p.Code == ProblemCode.Arm64XdataUnmapped))
            {
                findings.Add(Report(context, f, "xdata-outside", name, Arm64Facts.Hex(f.XdataRva)));
            }

            if ((f.BeginAddress & 3) != 0)
            {
                findings.Add(Report(context, f, "misaligned", name));
            }

            var section = image.Map.FindSection(f.BeginAddress);
            if (section is not { IsExecutable: true } || end > (ulong)section.VirtualAddress + section.MappedSize)
            {
                findings.Add(Report(context, f, "outside-code", name, Arm64Facts.Dec(length), section?.Name ?? "no section"));
            }

            if (previous is { } prev)
            {
                if (f.BeginAddress < prev.BeginAddress)
                {
                    findings.Add(Report(context, f, "unsorted", name, Arm64Facts.Dec(f.Index), Arm64Facts.Hex(prev.BeginAddress)));
                }
                else if (f.BeginAddress == prev.BeginAddress)
                {
                    // lld keeps one .pdata entry per folded copy of a function: identical data is harmless.
                    if (!SameUnwind(table, prev, f))
                    {
                        findings.Add(Report(context, f, "duplicate", name, Arm64Facts.Hex(prev.UnwindData), Arm64Facts.Hex(f.UnwindData)));
                    }
                }
                else if (f.BeginAddress < previousEnd)
                {
                    findings.Add(Report(context, f, "overlap", name, Arm64Facts.Hex(prev.BeginAddress), Arm64Facts.Hex((uint)Math.Min(previousEnd, uint.MaxValue))));
                }
            }

            if (previous is null || f.BeginAddress != previous.Value.BeginAddress)
            {
                previousEnd = end;
            }

            previous = f;
        }

        return Arm64Facts.Capped(context, findings);
    }

    private static Finding Report(RuleContext context, Arm64RuntimeFunction f, string kind, string file, params string[] more) =>
        context.Report(kind, Arm64Facts.EntryLocation(context.Image, f), $"{Arm64Facts.Key(context, f)}:{kind}", [file, Arm64Facts.Describe(context.Image, f.BeginAddress), .. more]);

    private static bool SameUnwind(Arm64FunctionTable table, Arm64RuntimeFunction a, Arm64RuntimeFunction b)
    {
        if (a.UnwindData == b.UnwindData)
        {
            return true;
        }

        if (a.Flag != 0 || b.Flag != 0 || table.RecordOf(a) is not { } ra || table.RecordOf(b) is not { } rb)
        {
            return false;
        }

        return ra.HeaderWord == rb.HeaderWord && ra.ExtensionWord == rb.ExtensionWord && ra.Scopes.SequenceEqual(rb.Scopes)
            && ra.Codes.SequenceEqual(rb.Codes) && ra.HandlerRva == rb.HandlerRva;
    }
}
