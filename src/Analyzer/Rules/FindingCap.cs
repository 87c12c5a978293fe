using System.Globalization;

namespace Pelint.Rules;

/// <summary>
/// The per-image result cap the per-item rules share: a broken image can have thousands of bad
/// entries, so past a rule's limit its findings end in one "capped" summary (file, dropped, limit).
/// </summary>
internal static class FindingCap
{
    public static List<Finding> Apply(RuleContext context, List<Finding> findings, int max, FindingLocation summaryAt)
    {
        if (findings.Count <= max)
        {
            return findings;
        }

        var dropped = findings.Count - max;
        findings.RemoveRange(max, dropped);
        findings.Add(context.Report("capped", summaryAt, "capped", context.FileName,
            dropped.ToString(CultureInfo.InvariantCulture), max.ToString(CultureInfo.InvariantCulture)));
        return findings;
    }
}
