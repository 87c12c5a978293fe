using Pelint.Analysis.Arm64;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>The shape PE4002 and PE4003 share: every .xdata record checked once, problems of one severity reported.</summary>
internal static class Arm64RecordRule
{
    public static IEnumerable<Finding> Analyze(RuleContext context, Arm64RecordSeverity severity)
    {
        var image = context.Image;
        var table = image.Arm64Exceptions.Table;
        var findings = new List<Finding>();
        var seen = new HashSet<uint>();
        foreach (var f in table.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();

            // Packed entries are PE4004's; records shared by several entries are checked once.
            if (f.Flag != 0 || !seen.Add(f.XdataRva) || table.RecordOf(f) is not { } record)
            {
                continue;
            }

            foreach (var problem in Arm64RecordChecks.Check(image, record))
            {
                if (problem.Severity == severity)
                {
                    findings.Add(context.Report("problem", Arm64Facts.RecordLocation(image, f, record), $"{Arm64Facts.Key(context, f)}:{problem.Kind}",
                        context.FileName, Arm64Facts.Hex(f.XdataRva), Arm64Facts.Describe(image, f.BeginAddress), problem.Message));
                }
            }
        }

        if (severity == Arm64RecordSeverity.Malformed)
        {
            foreach (var split in Arm64FrameCheck.Of(context.Analysis).SplitEpilogs)
            {
                var f = split.Entry;
                var record = table.RecordOf(f)!;
                findings.Add(context.Report("problem", Arm64Facts.RecordLocation(image, f, record), $"{Arm64Facts.Key(context, f)}:epilog-split",
                    context.FileName, Arm64Facts.Hex(f.XdataRva), Arm64Facts.Describe(image, f.BeginAddress),
                    $"its fragment ends at 0x{split.Boundary:X} inside an epilog, whose last {split.Remaining} restoring instructions and return lie in the next fragment without an epilog scope there: the unwinder takes them for body code and restores the frame twice"));
            }
        }

        return Arm64Facts.Capped(context, findings);
    }
}
