using Pelint.Pe;
using Pelint.Pe.Exceptions.Arm64;

namespace Pelint.Rules;

/// <summary>PE4001: the ARM64 .pdata table is a sorted table of 8-byte entries for functions in code.</summary>
[Rule("PE4001")]
public sealed partial class Arm64FunctionTableRule : IRule
{
    public Applicability GetApplicability(PeImage image) => Arm64Facts.ForArm64UnwindData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var table = image.Arm64Exceptions.Table;
        var name = context.FileName;
        foreach (var p in table.Problems)
        {
            yield return Messages.Table(new FindingLocation(p.FileOffset, p.Length, p.Rva, Description: $"ARM64 function table ({table.Source})"), $"table:{p.Id}", name, p.Message);
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
                yield return context.IsPastCap ? Finding.PastCap : Messages.Flag3(Location(context, f), Key(context, f, "flag-3"), name, Function(context, f));
            }
            else if (!f.IsPacked && table.RecordOf(f) is { } record && record.Problems.Any(p => p.Code == ProblemCode.Arm64XdataUnmapped))
            {
                yield return context.IsPastCap ? Finding.PastCap : Messages.XdataOutside(Location(context, f), Key(context, f, "xdata-outside"), name, Function(context, f), f.XdataRva);
            }

            if ((f.BeginAddress & 3) != 0)
            {
                yield return context.IsPastCap ? Finding.PastCap : Messages.Misaligned(Location(context, f), Key(context, f, "misaligned"), name, Function(context, f));
            }

            var section = image.Map.FindSection(f.BeginAddress);
            if (section is not { IsExecutable: true } || end > (ulong)section.VirtualAddress + section.MappedSize)
            {
                yield return context.IsPastCap ? Finding.PastCap : Messages.OutsideCode(Location(context, f), Key(context, f, "outside-code"), name, Function(context, f), length, section?.Name ?? "no section");
            }

            if (previous is { } prev)
            {
                if (f.BeginAddress < prev.BeginAddress)
                {
                    yield return context.IsPastCap ? Finding.PastCap : Messages.Unsorted(Location(context, f), Key(context, f, "unsorted"), name, Function(context, f), f.Index, prev.BeginAddress);
                }
                else if (f.BeginAddress == prev.BeginAddress)
                {
                    // lld keeps one .pdata entry per folded copy of a function: identical data is harmless.
                    if (!SameUnwind(table, prev, f))
                    {
                        yield return context.IsPastCap ? Finding.PastCap : Messages.Duplicate(Location(context, f), Key(context, f, "duplicate"), name, Function(context, f), prev.UnwindData, f.UnwindData);
                    }
                }
                else if (f.BeginAddress < previousEnd)
                {
                    yield return context.IsPastCap ? Finding.PastCap : Messages.Overlap(Location(context, f), Key(context, f, "overlap"), name, Function(context, f), prev.BeginAddress, (uint)Math.Min(previousEnd, uint.MaxValue));
                }
            }

            if (previous is null || f.BeginAddress != previous.Value.BeginAddress)
            {
                previousEnd = end;
            }

            previous = f;
        }
    }

    private static FindingLocation Location(RuleContext context, Arm64RuntimeFunction f) => Arm64Facts.EntryLocation(context.Image, f);

    private static string Key(RuleContext context, Arm64RuntimeFunction f, string kind) => $"{Arm64Facts.Key(context, f)}:{kind}";

    private static string Function(RuleContext context, Arm64RuntimeFunction f) => Arm64Facts.Describe(context.Image, f.BeginAddress);

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
