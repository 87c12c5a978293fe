namespace Pelint.Tests.Architecture;

/// <summary>A layer of pelint: the namespaces it owns and its height (a layer uses only layers at or below it).</summary>
public sealed record Layer(string Name, int Height, IReadOnlyList<string> Namespaces)
{
    /// <summary>Whether <paramref name="ns"/> is one of this layer's namespaces or nested in one.</summary>
    public bool Owns(string ns) =>
        Namespaces.Any(n => ns == n || (ns.StartsWith(n, StringComparison.Ordinal) && ns[n.Length] == '.'));
}

/// <summary>
/// The layers ARCHITECTURE.md describes, bottom to top: reading, analyses, rules, engine, sinks
/// (SARIF, reports, configuration; they may use each other), command line.
/// </summary>
public static class Layers
{
    public static readonly IReadOnlyList<Layer> All =
    [
        new("reading", 0, ["Pelint.Pe"]),
        new("analysis", 1, ["Pelint.Analysis"]),
        new("rules", 2, ["Pelint.Rules"]),
        new("engine", 3, ["Pelint.Engine"]),
        new("sinks", 4, ["Pelint.Sarif", "Pelint.Reporting", "Pelint.Configuration"]),
        new("command line", 5, ["Pelint.Cli"]),
    ];

    /// <summary>The layer owning <paramref name="ns"/>, or null for namespaces outside pelint (System, Iced, compiler-emitted types).</summary>
    public static Layer? Of(string ns) => All.FirstOrDefault(l => l.Owns(ns));

    /// <summary>Whether <paramref name="ns"/> is pelint's own (Pelint or below it) and so must belong to a layer.</summary>
    public static bool IsPelint(string ns) => ns == "Pelint" || ns.StartsWith("Pelint.", StringComparison.Ordinal);

    /// <summary>The uses that point from a layer up to a higher one, one line each.</summary>
    public static IReadOnlyList<string> UpwardUses(IEnumerable<TypeUse> uses) =>
    [
        .. uses
            .Select(u => (Use: u, From: Of(u.UserNamespace), To: Of(u.UsedNamespace)))
            .Where(x => x.From is not null && x.To is not null && x.To.Height > x.From.Height)
            .Select(x => $"{x.Use.User} ({x.From!.Name}) uses {x.Use.Used} ({x.To!.Name}) in {x.Use.Where}")
            .Distinct()
            .Order(StringComparer.Ordinal),
    ];
}
