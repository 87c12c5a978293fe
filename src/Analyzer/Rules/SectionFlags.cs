using System.Globalization;
using Pelint.Pe;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>Shared shape of the section-permission rules: one finding per offending section header, capped per image.</summary>
internal static class SectionFlags
{
    /// <summary>A hostile image can declare 65,535 sections; past this many offenders, one summary result.</summary>
    public const int MaxFindingsPerImage = 50;

    public static IEnumerable<Finding> Report(RuleContext context, Func<SectionInfo, bool> offends, string messageId) =>
        FindingCap.Apply(context, [.. Offenders(context, offends, messageId)], MaxFindingsPerImage, FindingLocation.Image);

    private static IEnumerable<Finding> Offenders(RuleContext context, Func<SectionInfo, bool> offends, string messageId)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var section in context.Image.Sections)
        {
            // Names repeat (and can be empty); the n-th section of a name is stable across rebuilds.
            var occurrence = seen[section.Name] = seen.GetValueOrDefault(section.Name) + 1;
            if (offends(section))
            {
                yield return context.Report(messageId,
                    new FindingLocation(section.HeaderFileOffset, SectionInfo.HeaderSize, section.VirtualAddress, Description: $"section header '{section.Name}'"),
                    $"section:{section.Name}:{occurrence}",
                    context.FileName, section.Name, ((uint)section.Characteristics).ToString("X8", CultureInfo.InvariantCulture));
            }
        }
    }
}
