using Pelint.Analysis.Arm64;

namespace Pelint.Rules;

/// <summary>The shape PE4002 and PE4003 share: every .xdata record checked once, problems of one severity reported.</summary>
internal static class Arm64RecordRule
{
    /// <summary>The rule's "problem" message: location, fingerprint key, file, .xdata RVA, function, what is wrong.</summary>
    public delegate Finding Message(FindingLocation location, string fingerprintKey, MessageArgument file, Hex xdata, MessageArgument function, MessageArgument problem);

    public static IEnumerable<Finding> Analyze(RuleContext context, Arm64RecordSeverity severity, Message message)
    {
        var image = context.Image;
        var table = image.Arm64Exceptions.Table;
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
                    yield return context.IsPastCap ? Finding.PastCap
                        : message(Arm64Facts.RecordLocation(image, f, record), $"{Arm64Facts.Key(context, f)}:{problem.Kind}",
                            context.FileName, f.XdataRva, Arm64Facts.Describe(image, f.BeginAddress), problem.Message);
                }
            }
        }

        if (severity == Arm64RecordSeverity.Malformed)
        {
            var frames = Arm64FrameCheck.Of(context.Analysis);
            foreach (var split in frames.SplitEpilogs)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                var f = split.Entry;
                yield return context.IsPastCap ? Finding.PastCap
                    : message(Arm64Facts.RecordLocation(image, f, table.RecordOf(f)!), $"{Arm64Facts.Key(context, f)}:epilog-split",
                        context.FileName, f.XdataRva, Arm64Facts.Describe(image, f.BeginAddress),
                        $"its fragment ends at 0x{split.Boundary:X} inside an epilog, whose last {split.Remaining} restoring instructions and return lie in the next fragment without an epilog scope there: the unwinder takes them for body code and restores the frame twice");
            }

            // Past the analysis's MaxKept only counted; far past this rule's cap, so counted here too.
            for (var i = frames.SplitEpilogsNotKept; i > 0; i--)
            {
                yield return Finding.PastCap;
            }
        }
    }
}
