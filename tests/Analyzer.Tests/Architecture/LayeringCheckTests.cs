using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Pelint.Engine;

namespace Pelint.Tests.Architecture;

/// <summary>
/// The layering check itself: small assemblies compiled in memory, each with one way for an
/// analysis to reach up into the rules, must each be reported; downward uses must not be.
/// </summary>
public sealed class LayeringCheckTests
{
    // The test host's assemblies without pelint's own, so the snippets' Pelint.* types are the only ones.
    private static readonly ImmutableArray<MetadataReference> Framework =
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => !Path.GetFileName(p).StartsWith("Pelint.", StringComparison.OrdinalIgnoreCase))
            .Select(p => MetadataReference.CreateFromFile(p)),
    ];

    // The higher layer the snippets reach into: a rule type of each kind a use can name.
    private const string Rules = """
        namespace Pelint.Rules
        {
            public class Rule : System.Attribute
            {
                public static int Count;
                public int Value;
                public static void Run() { }
            }

            public interface IRuleLike { }

            public sealed class RuleException : System.Exception { }
        }
        """;

    public static TheoryData<string, string> UpwardUses => new()
    {
        { "class A { void M() => Pelint.Rules.Rule.Run(); }", "A" },
        { "class A { int M() => Pelint.Rules.Rule.Count; }", "A" },
        { "class A { private Pelint.Rules.Rule? _rule; public object? Rule => _rule; }", "A" },
        { "class A : Pelint.Rules.Rule { }", "A" },
        { "class A : Pelint.Rules.IRuleLike { }", "A" },
        { "class A<T> where T : Pelint.Rules.Rule { }", "A`1" },
        { "[Pelint.Rules.Rule] class A { }", "A" },
        { "class A { System.Type M() => typeof(Pelint.Rules.Rule); }", "A" },
        { "class A { int M() { var rules = new System.Collections.Generic.List<Pelint.Rules.Rule>(); return rules.Count; } }", "A" },
        { "class A { void M() { try { M(); } catch (Pelint.Rules.RuleException) { } } }", "A" },
        { "class A { System.Func<object> M() => () => new Pelint.Rules.Rule(); }", "A+<>c" },
        { "class A { void M(object o) { if (o is Pelint.Rules.Rule r) { System.GC.KeepAlive(r); } } }", "A" },
        { "using R = Pelint.Rules.Rule; class A { object M() => new R(); }", "A" },
    };

    [Theory]
    [MemberData(nameof(UpwardUses))]
    public void An_analysis_type_that_uses_a_rule_type_is_reported(string analysis, string user)
    {
        var uses = Compile(Rules, AnalysisNamespace(analysis));

        var upward = Layers.UpwardUses(uses);

        Assert.Contains(upward, v => v.StartsWith($"Pelint.Analysis.Probe.{user} (analysis) uses Pelint.Rules.", StringComparison.Ordinal));
        Assert.All(upward, v => Assert.Contains(" (analysis) uses Pelint.Rules.", v, StringComparison.Ordinal));
    }

    [Fact]
    public void A_reader_type_that_uses_an_engine_type_of_another_assembly_is_reported()
    {
        var engine = Emit("Upper", "namespace Pelint.Engine { public sealed class Scan { public static void Run() { } } }", []);
        var reader = "namespace Pelint.Pe.Probe { class Image { void Open() => Pelint.Engine.Scan.Run(); } }";

        var upward = Layers.UpwardUses(TypeUses.Read(new MemoryStream(Emit("Lower", reader, [MetadataReference.CreateFromImage(engine)]))));

        Assert.Equal(["Pelint.Pe.Probe.Image (reading) uses Pelint.Engine.Scan (engine) in method Open"], upward);
    }

    [Fact]
    public void Uses_down_the_layers_and_within_one_layer_are_not_reported()
    {
        var source = """
            namespace Pelint.Analysis.Probe { public sealed class Facts { public static Facts Of(Pelint.Pe.Image image) => new(); } }
            namespace Pelint.Pe { public sealed class Image { } }
            namespace Pelint.Rules { public sealed class Rule { public object M() => Pelint.Analysis.Probe.Facts.Of(new Pelint.Pe.Image()); } }
            namespace Pelint.Engine { public sealed class Engine { public object Run() => new Pelint.Rules.Rule().M(); } }
            namespace Pelint.Sarif { public sealed class Log { public object Write() => new Pelint.Engine.Engine().Run(); } }
            namespace Pelint.Reporting { public sealed class Text { public object Render() => new Pelint.Sarif.Log().Write(); } }
            """;

        var uses = Compile(source);

        Assert.Empty(Layers.UpwardUses(uses));
        Assert.Contains(uses, u => u.User == "Pelint.Reporting.Text" && u.Used == "Pelint.Sarif.Log");
    }

    [Fact]
    public void The_real_assemblies_show_a_use_between_each_pair_of_adjacent_layers()
    {
        // Guards the reader against seeing nothing: every layer of the analyzer uses the one below.
        var uses = TypeUses.Read(typeof(RuleEngine).Assembly.Location);
        var pairs = uses.Select(u => (From: Layers.Of(u.UserNamespace)?.Name, To: Layers.Of(u.UsedNamespace)?.Name)).ToHashSet();

        Assert.Contains(("analysis", "reading"), pairs);
        Assert.Contains(("rules", "analysis"), pairs);
        Assert.Contains(("engine", "rules"), pairs);
        Assert.Contains(("sinks", "engine"), pairs);
    }

    private static string AnalysisNamespace(string types) => $"namespace Pelint.Analysis.Probe {{ {types} }}";

    private static IReadOnlyList<TypeUse> Compile(params string[] sources) =>
        TypeUses.Read(new MemoryStream(Emit("Probe", string.Join('\n', sources), [])));

    private static byte[] Emit(string name, string source, IEnumerable<MetadataReference> references)
    {
        var compilation = CSharpCompilation.Create(
            name,
            [CSharpSyntaxTree.ParseText(source)],
            [.. Framework, .. references],
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var image = new MemoryStream();
        var result = compilation.Emit(image);
        Assert.True(result.Success, string.Join('\n', result.Diagnostics));
        return image.ToArray();
    }
}
