using System.Reflection;

namespace Pelint.Rules;

/// <summary>
/// Every rule's descriptor, parsed from the <c>rules/*.md</c> pages embedded in this assembly.
/// IDs and kebab-case names are both accepted wherever a rule is named.
/// </summary>
public sealed class RuleCatalog
{
    private readonly Dictionary<string, RuleDescriptor> _byKey;

    public RuleCatalog(IEnumerable<RuleDescriptor> rules)
    {
        Rules = [.. rules.OrderBy(r => r.Id, StringComparer.Ordinal)];
        _byKey = new Dictionary<string, RuleDescriptor>(StringComparer.OrdinalIgnoreCase);
        foreach (var r in Rules)
        {
            if (!_byKey.TryAdd(r.Id, r) || !_byKey.TryAdd(r.Name, r))
            {
                throw new InvalidOperationException($"rule id or name used twice: {r.Id} {r.Name}");
            }
        }
    }

    public IReadOnlyList<RuleDescriptor> Rules { get; }

    public static RuleCatalog Embedded { get; } = LoadEmbedded();

    public RuleDescriptor? Find(string idOrName) => _byKey.GetValueOrDefault(idOrName.Trim());

    private static RuleCatalog LoadEmbedded()
    {
        var assembly = typeof(RuleCatalog).Assembly;
        var descriptors = new List<RuleDescriptor>();
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("rules/", StringComparison.Ordinal) && n.EndsWith(".md", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            descriptors.Add(RulePage.Parse(reader.ReadToEnd(), name));
        }

        return new RuleCatalog(descriptors);
    }
}
