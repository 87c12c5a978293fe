using Pelint.Engine;
using Pelint.Pe;

namespace Pelint.Tests.Architecture;

/// <summary>
/// Keeps ARCHITECTURE.md true: layers point down only (reading &lt;- analysis &lt;- rules &lt;- engine
/// &lt;- sinks &lt;- command line), checked on the compiled assemblies' metadata, so every use counts
/// however the source spells it.
/// </summary>
public sealed class LayeringTests
{
    private static readonly string ReadingAssembly = typeof(PeImage).Assembly.Location;
    private static readonly string AnalyzerAssembly = typeof(RuleEngine).Assembly.Location;

    [Fact]
    public void No_type_of_the_reader_or_the_analyzer_uses_a_type_of_a_higher_layer()
    {
        var uses = TypeUses.Read(ReadingAssembly).Concat(TypeUses.Read(AnalyzerAssembly));

        var upward = Layers.UpwardUses(uses);

        Assert.True(upward.Count == 0, $"{upward.Count} uses point up a layer (ARCHITECTURE.md):\n" + string.Join('\n', upward));
    }

    [Fact]
    public void The_reader_assembly_references_no_other_pelint_assembly()
    {
        var references = TypeUses.AssemblyReferences(ReadingAssembly);

        Assert.DoesNotContain(references, r => r.StartsWith("Pelint", StringComparison.OrdinalIgnoreCase) || r == "pelint");
    }

    [Fact]
    public void The_reader_assembly_declares_only_reading_namespaces()
    {
        var namespaces = TypeUses.DeclaredTypes(ReadingAssembly).Select(t => t.Namespace).Where(Layers.IsPelint).Distinct();

        Assert.All(namespaces, ns => Assert.Equal("reading", Layers.Of(ns)?.Name));
    }

    [Fact]
    public void Every_pelint_namespace_of_the_analyzer_belongs_to_a_layer_above_reading()
    {
        var namespaces = TypeUses.DeclaredTypes(AnalyzerAssembly).Select(t => t.Namespace).Where(Layers.IsPelint).Distinct().ToList();

        Assert.All(namespaces, ns => Assert.True(Layers.Of(ns) is { Height: > 0 and < 5 }, $"{ns} is in no layer of the analyzer (see Layers.All)"));
        // Each layer of the analyzer assembly still exists under the name the map gives it.
        Assert.All(Layers.All.Where(l => l.Height is > 0 and < 5).SelectMany(l => l.Namespaces), ns => Assert.Contains(ns, namespaces));
    }

    [Fact]
    public void Every_type_outside_the_pelint_namespaces_is_emitted_by_the_compiler()
    {
        // A type written by hand in no namespace, or in another one, would escape the layer check.
        var strays = new[] { ReadingAssembly, AnalyzerAssembly }
            .SelectMany(TypeUses.DeclaredTypes)
            .Where(t => !Layers.IsPelint(t.Namespace) && !IsCompilerEmitted(t.Name, t.Namespace))
            .Select(t => t.Name);

        Assert.Empty(strays);
    }

    private static bool IsCompilerEmitted(string name, string ns) =>
        name.StartsWith('<')
        || ns is "System.Runtime.CompilerServices" or "Microsoft.CodeAnalysis" or "System.Diagnostics.CodeAnalysis"
        || ns.StartsWith("System.Text.RegularExpressions.Generated", StringComparison.Ordinal);
}
