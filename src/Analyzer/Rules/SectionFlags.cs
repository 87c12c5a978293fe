using Pelint.Pe;
using Pelint.Pe.Headers;

namespace Pelint.Rules;

/// <summary>Shared shape of the section-permission rules: one finding per offending section header.</summary>
internal static class SectionFlags
{
    /// <summary>A section-permission message: location, fingerprint key, file, section name, Characteristics.</summary>
    public delegate Finding Message(FindingLocation location, string fingerprintKey, MessageArgument file, MessageArgument section, Hex characteristics);

    public static IEnumerable<Finding> Offenders(RuleContext context, Func<SectionInfo, bool> offends, Message message)
    {
        // A hostile image can declare 65,535 sections: past the rule's max-results they are only counted.
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var section in context.Image.Sections)
        {
            // Names repeat (and can be empty); the n-th section of a name is stable across rebuilds.
            var occurrence = seen[section.Name] = seen.GetValueOrDefault(section.Name) + 1;
            if (offends(section))
            {
                yield return context.IsPastCap ? Finding.PastCap : message(
                    new FindingLocation(section.HeaderFileOffset, SectionInfo.HeaderSize, section.VirtualAddress, Description: $"section header '{section.Name}'"),
                    $"section:{section.Name}:{occurrence}",
                    context.FileName, section.Name, new Hex((uint)section.Characteristics, 8));
            }
        }
    }
}
