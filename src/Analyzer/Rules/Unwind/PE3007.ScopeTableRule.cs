using Pelint.Pe;
using Pelint.Pe.Exceptions;

namespace Pelint.Rules;

/// <summary>
/// PE3007: the C scope tables of functions whose handler is __C_specific_handler (or
/// __GSHandlerCheck_SEH): sane count, records inside the function and its chained fragments,
/// filters in code, __except targets inside the function, nested records innermost first.
/// </summary>
[Rule("PE3007")]
public sealed partial class ScopeTableRule : IRule
{
    public Applicability GetApplicability(PeImage image) => UnwindFacts.ForX64ExceptionData(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = image.ExceptionDirectory;
        var handlers = image.LanguageHandlers;
        Dictionary<uint, List<RuntimeFunction>>? chained = null;
        foreach (var (f, identity, data, table) in handlers.ScopedFunctions())
        {
            context.Cancellation.ThrowIfCancellationRequested();
            chained ??= ChainedFragmentsByPrimary(directory);
            var primary = directory.PrimaryOf(f) ?? f;
            List<RuntimeFunction> ranges = chained.TryGetValue(primary.BeginAddress, out var list) ? list : [primary];
            if (table.Problem is { } unreadable)
            {
                yield return context.IsPastCap ? Finding.PastCap
                    : Messages.Table(new FindingLocation(image.FileOffsetOf(data), 4, data, image.Exports.NameOf(f.BeginAddress), f.BeginAddress, "scope table"),
                        $"{UnwindFacts.FunctionKey(context, f)}:{unreadable.Id}", context.FileName, UnwindFacts.Describe(context, f), unreadable.Message, How(identity));
                continue;
            }

            string? key = null, what = null, how = null;
            foreach (var (kind, problem, record) in Check(image, table, ranges))
            {
                if (context.IsPastCap)
                {
                    yield return Finding.PastCap;
                    continue;
                }

                key ??= UnwindFacts.FunctionKey(context, f);
                what ??= UnwindFacts.Describe(context, f);
                how ??= How(identity);
                var recordRva = data + 4 + (uint)(record * ScopeRecord.Size);
                yield return Messages.Record(new FindingLocation(image.FileOffsetOf(recordRva), ScopeRecord.Size, recordRva, image.Exports.NameOf(f.BeginAddress), f.BeginAddress, $"scope record {record}"),
                    $"{key}:{kind}:{record}", context.FileName, what, record, problem, how);
            }
        }
    }

    private static string How(HandlerIdentity identity) => $"{identity.Name} at 0x{identity.Rva:X}, {identity.How}";

    private static IEnumerable<(string Kind, string Problem, int Record)> Check(PeImage image, ScopeTable table, List<RuntimeFunction> ranges)
    {
        bool Inside(uint rva) => ranges.Any(r => r.Contains(rva));
        bool InsideOrEnd(uint rva) => ranges.Any(r => rva > r.BeginAddress && rva <= r.EndAddress);
        foreach (var r in table.Records)
        {
            if (r.BeginAddress >= r.EndAddress)
            {
                yield return ("empty", $"its range 0x{r.BeginAddress:X}-0x{r.EndAddress:X} is empty or reversed", r.Index);
                continue;
            }

            if (!Inside(r.BeginAddress) || !InsideOrEnd(r.EndAddress))
            {
                yield return ("outside-function", $"its range 0x{r.BeginAddress:X}-0x{r.EndAddress:X} is not inside the function or its chained fragments", r.Index);
            }

            if (r.HandlerAddress != 1 && image.Map.FindSection(r.HandlerAddress) is not { IsExecutable: true })
            {
                yield return ("handler-not-code", $"its {(r.IsFinally ? "termination handler" : "filter")} RVA 0x{r.HandlerAddress:X} is not in executable code", r.Index);
            }

            if (!r.IsFinally && !Inside(r.JumpTarget))
            {
                yield return ("target-outside-function", $"its __except target 0x{r.JumpTarget:X} is not inside the function", r.Index);
            }
        }

        // __C_specific_handler takes the first record that covers the faulting RVA, so an
        // enclosing scope listed before a scope nested in it would swallow the inner one's exceptions.
        for (var i = 0; i < table.Records.Count; i++)
        {
            var outer = table.Records[i];
            for (var j = i + 1; j < table.Records.Count; j++)
            {
                var inner = table.Records[j];
                var nested = inner.BeginAddress >= outer.BeginAddress && inner.EndAddress <= outer.EndAddress
                    && (inner.BeginAddress != outer.BeginAddress || inner.EndAddress != outer.EndAddress);
                if (nested && inner.BeginAddress < inner.EndAddress)
                {
                    yield return ("nesting-order", $"it encloses record {j} (0x{inner.BeginAddress:X}-0x{inner.EndAddress:X}) but is listed before it; nested scopes must come innermost first", i);
                    break;
                }
            }
        }
    }

    // Each primary function that has chained fragments, with them (primary first, then directory
    // order), so scope records may span hot and cold parts. Functions without fragments are their own range.
    private static Dictionary<uint, List<RuntimeFunction>> ChainedFragmentsByPrimary(ExceptionDirectory directory)
    {
        var map = new Dictionary<uint, List<RuntimeFunction>>();
        foreach (var f in directory.Functions)
        {
            if (f.IsIndirect || !directory.IsX64(f) || directory.UnwindInfoOf(f) is not { IsChained: true } || directory.PrimaryOf(f) is not { } primary)
            {
                continue;
            }

            if (!map.TryGetValue(primary.BeginAddress, out var list))
            {
                map[primary.BeginAddress] = list = [primary];
            }

            list.Add(f);
        }

        return map;
    }
}
