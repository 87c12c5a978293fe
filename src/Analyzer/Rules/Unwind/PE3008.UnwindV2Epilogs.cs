using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>PE3008: version 2 epilog codes lead the code array and describe epilogs inside the function.</summary>
[Rule("PE3008")]
public sealed partial class UnwindV2Epilogs : IRule
{
    public Applicability GetApplicability(PeImage image) => UnwindFacts.ForX64ExceptionData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = image.ExceptionDirectory;
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (f.IsIndirect || !directory.IsX64(f) || directory.UnwindInfoOf(f) is not { Version: 2 } info
                || Problem(f, info) is not ({ } kind, { } problem))
            {
                continue;
            }

            if (context.IsPastCap)
            {
                yield return Finding.PastCap;
                continue;
            }

            var where = new FindingLocation(image.FileOffsetOf(info.Rva), info.CodeArrayEnd, info.Rva, image.Exports.NameOf(f.BeginAddress), f.BeginAddress, "UNWIND_INFO");
            yield return Messages.Problem(where, $"{UnwindFacts.FunctionKey(context, f)}:{kind}", context.FileName, UnwindFacts.Describe(context, f), info.Rva, problem);
        }
    }

    /// <summary>The first thing wrong with a version 2 unwind info's epilog codes (kind, description), or null.</summary>
    private static (string Kind, string Problem)? Problem(RuntimeFunction f, UnwindInfo info)
    {
        if (info.Epilogs is not { } epilogs)
        {
            return info.CountOfCodes > 0 ? ("no-epilog-code", "it is version 2 but its first unwind code is not UWOP_EPILOG") : null;
        }

        if (epilogs.Size == 0)
        {
            return ("zero-size", "its first UWOP_EPILOG gives an epilog size of 0");
        }

        foreach (var start in epilogs.StartsFor(f))
        {
            if (start < f.BeginAddress || (ulong)start + (uint)epilogs.Size > f.EndAddress)
            {
                return ("outside-function", $"an epilog code places a {epilogs.Size}-byte epilog at 0x{start:X}, outside the function (0x{f.BeginAddress:X}-0x{f.EndAddress:X})");
            }
        }

        return null;
    }
}
