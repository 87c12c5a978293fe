using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using static Pelint.Rules.UnwindRuleSupport;

namespace Pelint.Rules;

/// <summary>PE3004: a low-bit (RUNTIME_FUNCTION_INDIRECT) entry points at an entry boundary and resolves within 32 links.</summary>
public sealed class IndirectRuntimeFunctionRule : IRule
{
    public string Id => "PE3004";

    public Applicability GetApplicability(PeImage image) => X64WithExceptionDirectory(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = ExceptionDirectory.Of(image);
        var findings = new List<Finding>();
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (!f.IsIndirect || !directory.IsX64(f))
            {
                continue;
            }

            var walk = directory.ResolveIndirect(f);
            if (walk.IsComplete)
            {
                continue;
            }

            var why = walk.Problem switch
            {
                ChainProblem.Cycle => "it loops back to an entry already visited",
                ChainProblem.TooDeep => $"it does not reach a real UNWIND_INFO within {ExceptionDirectory.ChainLimit} links",
                _ => walk.Detail ?? walk.Problem.ToString(),
            };
            findings.Add(context.Report("broken", Location(image, f, $"RUNTIME_FUNCTION {f.Index}"), $"{Key(image, f)}:{walk.Problem}",
                context.FileName, Describe(image, f), $"0x{f.UnwindData:X}", why, walk.Describe()));
        }

        return Cap(context, findings);
    }
}
