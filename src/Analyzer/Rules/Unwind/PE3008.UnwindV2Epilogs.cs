using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>PE3008: version 2 epilog codes lead the code array and describe epilogs inside the function.</summary>
public sealed class UnwindV2Epilogs : IRule
{
    public string Id => "PE3008";

    public Applicability GetApplicability(PeImage image) => UnwindFacts.ForX64ExceptionData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = image.ExceptionDirectory;
        var findings = new List<Finding>();
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (f.IsIndirect || !directory.IsX64(f) || directory.UnwindInfoOf(f) is not { Version: 2 } info)
            {
                continue;
            }

            var key = UnwindFacts.FunctionKey(context, f);
            var where = new FindingLocation(image.FileOffsetOf(info.Rva), info.CodeArrayEnd, info.Rva, image.Exports.NameOf(f.BeginAddress), f.BeginAddress, "UNWIND_INFO");
            void Add(string kind, string problem) =>
                findings.Add(context.Report("problem", where, $"{key}:{kind}", context.FileName, UnwindFacts.Describe(context, f), UnwindFacts.Hex(info.Rva), problem));

            if (info.Epilogs is not { } epilogs)
            {
                if (info.CountOfCodes > 0)
                {
                    Add("no-epilog-code", "it is version 2 but its first unwind code is not UWOP_EPILOG");
                }

                continue;
            }

            if (epilogs.Size == 0)
            {
                Add("zero-size", "its first UWOP_EPILOG gives an epilog size of 0");
                continue;
            }

            foreach (var start in epilogs.StartsFor(f))
            {
                if (start < f.BeginAddress || (ulong)start + (uint)epilogs.Size > f.EndAddress)
                {
                    Add("outside-function", $"an epilog code places a {epilogs.Size}-byte epilog at 0x{start:X}, outside the function (0x{f.BeginAddress:X}-0x{f.EndAddress:X})");
                    break;
                }
            }
        }

        return UnwindFacts.Capped(context, findings);
    }
}
