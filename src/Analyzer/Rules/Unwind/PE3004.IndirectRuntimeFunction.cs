using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>PE3004: low-bit (RUNTIME_FUNCTION_INDIRECT) entries point at entries and resolve without a cycle.</summary>
[Rule("PE3004")]
public sealed partial class IndirectRuntimeFunction : IRule
{
    public Applicability GetApplicability(PeImage image) => UnwindFacts.ForX64ExceptionData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = image.ExceptionDirectory;
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (!f.IsIndirect || !directory.IsX64(f))
            {
                continue;
            }

            var walk = directory.ResolveIndirect(f);
            if (!walk.IsSound)
            {
                yield return context.IsPastCap ? Finding.PastCap
                    : Messages.Unresolved(UnwindFacts.EntryLocation(context, f), $"{UnwindFacts.FunctionKey(context, f)}:{walk.Problem!.Id}",
                        context.FileName, UnwindFacts.Describe(context, f), walk.Problem!.Message, UnwindFacts.Path(walk.Path));
            }
        }
    }
}
