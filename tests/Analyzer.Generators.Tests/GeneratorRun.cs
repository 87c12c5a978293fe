using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace Pelint.Generators.Tests;

/// <summary>
/// Compiles a snippet of C# with the rule-message generator and the given rule pages, as the
/// build of src/Analyzer does: the generator's own diagnostics, and the compiler's errors on
/// the snippet together with the generated code.
/// </summary>
internal sealed class GeneratorRun
{
    // The snippet compiles as this assembly, which pelint's Analyzer grants its internals (the
    // generated Messages call Finding's internal constructor, as they do inside Pelint.Analyzer).
    private const string SnippetAssemblyName = "Analyzer.Generators.Tests";

    private static readonly ImmutableArray<MetadataReference> References =
    [
        .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).Select(p => MetadataReference.CreateFromFile(p)),
        MetadataReference.CreateFromFile(typeof(Pelint.Rules.Finding).Assembly.Location),
        MetadataReference.CreateFromFile(typeof(Pelint.Pe.PeImage).Assembly.Location),
    ];

    private GeneratorRun(ImmutableArray<Diagnostic> generator, ImmutableArray<Diagnostic> compiler, IReadOnlyList<string> sources)
    {
        GeneratorDiagnostics = generator;
        CompilerErrors = [.. compiler.Where(d => d.Severity == DiagnosticSeverity.Error)];
        GeneratedSources = sources;
    }

    public ImmutableArray<Diagnostic> GeneratorDiagnostics { get; }

    public ImmutableArray<Diagnostic> CompilerErrors { get; }

    public IReadOnlyList<string> GeneratedSources { get; }

    /// <summary>Every error the build would print: the generator's and the compiler's.</summary>
    public IEnumerable<Diagnostic> Errors => GeneratorDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Concat(CompilerErrors);

    public static GeneratorRun Of(string source, params (string Path, string Text)[] pages)
    {
        var compilation = CSharpCompilation.Create(
            SnippetAssemblyName,
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest), path: "Snippet.cs")],
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            [new RuleMessagesGenerator().AsSourceGenerator()],
            [.. pages.Select(p => (AdditionalText)new PageText(p.Path, p.Text))],
            new CSharpParseOptions(LanguageVersion.Latest));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var sources = driver.GetRunResult().GeneratedTrees.Select(t => t.ToString()).ToList();
        return new GeneratorRun(generatorDiagnostics, output.GetDiagnostics(), sources);
    }

    private sealed class PageText(string path, string text) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }
}
