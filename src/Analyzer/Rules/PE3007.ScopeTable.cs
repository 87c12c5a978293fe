using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.Exceptions;
using static Pelint.Rules.UnwindRuleSupport;

namespace Pelint.Rules;

/// <summary>PE3007: the C SCOPE_TABLE of functions handled by __C_specific_handler is well-formed.</summary>
public sealed class ScopeTableRule : IRule
{
    public string Id => "PE3007";

    public Applicability GetApplicability(PeImage image) => X64WithExceptionDirectory(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var directory = ExceptionDirectory.Of(image);
        var handlers = HandlerCatalog.Of(image);
        var name = context.FileName;
        var findings = new List<Finding>();
        Dictionary<int, List<RuntimeFunction>>? fragments = null;
        foreach (var f in directory.Functions)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            if (f.IsIndirect || !directory.IsX64(f) || !image.Map.IsMapped(f.UnwindInfoRva, 1))
            {
                continue;
            }

            var info = directory.GetUnwindInfo(f);
            if (info.HandlerRva is not { } handlerRva || info.LanguageDataRva is not { } data)
            {
                continue;
            }

            var handler = handlers.Identify(handlerRva);
            if (!handler.UsesScopeTable)
            {
                continue;
            }

            var fn = Describe(image, f);
            var key = Key(image, f);
            var how = handler.Describe();
            var table = ScopeTable.Read(image, data);
            var tableWhere = Location(image, f, "scope table") with { Rva = data, FileOffset = image.FileOffsetOf(data), Length = 4 };
            if (table.Problem is { } p)
            {
                findings.Add(context.Report("table", tableWhere, $"{key}:{p.Code}", name, fn, p.Message, how));
                continue;
            }

            foreach (var r in table.Records)
            {
                var at = data + 4 + ((uint)r.Index * ScopeRecord.Size);
                var where = tableWhere with { Rva = at, FileOffset = image.FileOffsetOf(at), Length = ScopeRecord.Size };
                var rkey = $"{key}:scope{r.Index}";
                bool Inside(uint rva, bool endInclusive)
                {
                    if (rva >= f.BeginAddress && (rva < f.EndAddress || (endInclusive && rva <= f.EndAddress + 1)))
                    {
                        return true;
                    }

                    // The guarded range may sit in a chained fragment of the same function.
                    fragments ??= GroupFragments(directory);
                    var primary = directory.PrimaryOf(f);
                    return primary is { } pr && fragments.TryGetValue(pr.Index, out var list)
                        && list.Exists(x => rva >= x.BeginAddress && (rva < x.EndAddress || (endInclusive && rva <= x.EndAddress + 1)));
                }

                if (r.BeginAddress >= r.EndAddress)
                {
                    findings.Add(context.Report("empty-range", where, $"{rkey}:empty", name, fn, Num(r.Index), $"0x{r.BeginAddress:X}", $"0x{r.EndAddress:X}", how));
                }
                else if (!Inside(r.BeginAddress, false) || !Inside(r.EndAddress, true))
                {
                    findings.Add(context.Report("outside-function", where, $"{rkey}:outside", name, fn, Num(r.Index), $"0x{r.BeginAddress:X}", $"0x{r.EndAddress:X}", how));
                }

                if (r.HandlerAddress != 1 && image.Map.FindSection(r.HandlerAddress) is not { IsExecutable: true })
                {
                    findings.Add(context.Report("bad-handler", where, $"{rkey}:handler", name, fn, Num(r.Index), $"0x{r.HandlerAddress:X}", how));
                }

                if (r.JumpTarget != 0 && !Inside(r.JumpTarget, false))
                {
                    findings.Add(context.Report("bad-target", where, $"{rkey}:target", name, fn, Num(r.Index), $"0x{r.JumpTarget:X}", how));
                }
            }

            // Innermost first: an earlier record must not strictly enclose a later one.
            for (var i = 0; i < table.Records.Count; i++)
            {
                for (var j = i + 1; j < table.Records.Count; j++)
                {
                    var (a, b) = (table.Records[i], table.Records[j]);
                    if (a.BeginAddress <= b.BeginAddress && a.EndAddress >= b.EndAddress && (a.BeginAddress, a.EndAddress) != (b.BeginAddress, b.EndAddress))
                    {
                        findings.Add(context.Report("nesting-order", tableWhere, $"{key}:order{i}", name, fn, Num(i), Num(j), how));
                    }
                }
            }
        }

        return Cap(context, findings);
    }

    private static Dictionary<int, List<RuntimeFunction>> GroupFragments(ExceptionDirectory directory)
    {
        var map = new Dictionary<int, List<RuntimeFunction>>();
        foreach (var f in directory.Functions)
        {
            if (!f.IsIndirect && directory.IsX64(f) && directory.PrimaryOf(f) is { } primary)
            {
                if (!map.TryGetValue(primary.Index, out var list))
                {
                    map[primary.Index] = list = [];
                }

                list.Add(f);
            }
        }

        return map;
    }
}
