using System.Globalization;
using Microsoft.CodeAnalysis;

namespace Pelint.Generators.Tests;

/// <summary>
/// The build fails when a rule names a message its page lacks, passes the wrong number or kind of
/// arguments, or when a page is malformed; a sound page and sound calls compile cleanly.
/// </summary>
public sealed class RuleMessagesGeneratorTests
{
    private const string PagePath = "/repo/rules/PE9001.md";

    private const string Page = """
        ---
        id: PE9001
        name: sample-rule
        title: A sample rule
        description: Checks a sample flag.
        category: Security
        level: error
        max-results: 25
        messages:
          missing: "{0} lacks the sample flag (flags 0x{1})."
          two-names: "{0}: section '{1}' and '{2}' overlap."
          no-arguments: "Nothing to say."
        ---
        # PE9001: sample-rule
        """;

    [Fact]
    public void Sound_page_and_calls_compile_with_one_method_per_message()
    {
        var run = GeneratorRun.Of(Rule("""
            yield return Messages.Missing(FindingLocation.Image, "image", context.FileName, 0x160u);
            yield return Messages.TwoNames(FindingLocation.Image, "pair", context.FileName, ".text", ".data");
            yield return Messages.NoArguments(FindingLocation.Image, "none");
            """), (PagePath, Page));

        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Empty(run.CompilerErrors);
        var source = Assert.Single(run.GeneratedSources);
        Assert.Contains("public string Id => \"PE9001\";", source, StringComparison.Ordinal);
        Assert.Contains("Missing(global::Pelint.Rules.FindingLocation location, string fingerprintKey, global::Pelint.Rules.MessageArgument arg0, global::Pelint.Rules.Hex arg1)", source, StringComparison.Ordinal);
        Assert.Contains("NoArguments(global::Pelint.Rules.FindingLocation location, string fingerprintKey)", source, StringComparison.Ordinal);
    }

    [Fact]
    public void Message_the_page_does_not_define_fails_the_build()
    {
        var run = GeneratorRun.Of(Rule("""yield return Messages.Absent(FindingLocation.Image, "image", context.FileName);"""), (PagePath, Page));

        var error = Assert.Single(run.Errors);
        Assert.Equal("CS0117", error.Id); // 'Messages' does not contain a definition for 'Absent'
        Assert.Contains("Absent", error.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""Messages.Missing(FindingLocation.Image, "image", context.FileName)""")]
    [InlineData("""Messages.Missing(FindingLocation.Image, "image", context.FileName, 1u, 2u)""")]
    [InlineData("""Messages.NoArguments(FindingLocation.Image, "none", context.FileName)""")]
    public void Wrong_argument_count_fails_the_build(string call)
    {
        var run = GeneratorRun.Of(Rule($"yield return {call};"), (PagePath, Page));

        var error = Assert.Single(run.Errors);
        Assert.True(error.Id is "CS1501" or "CS7036", error.ToString()); // no overload takes that many arguments; a required argument is missing
    }

    [Theory]
    [InlineData("\"160\"")] // a string where the page says 0x{1}
    [InlineData("-1")]      // a signed number: no implicit hexadecimal form
    [InlineData("1.5")]     // not a message argument at all
    public void Argument_of_the_wrong_kind_fails_the_build(string argument)
    {
        var run = GeneratorRun.Of(Rule($"""yield return Messages.Missing(FindingLocation.Image, "image", context.FileName, {argument});"""), (PagePath, Page));

        var error = Assert.Single(run.Errors);
        Assert.Equal("CS1503", error.Id); // cannot convert the argument
    }

    [Theory]
    // A missing key is reported at the line that closes the front matter, where it belongs.
    [InlineData("id: PE9001\n", "", 11, "has no 'id'")]
    [InlineData("name: sample-rule\n", "", 11, "has no 'name'")]
    [InlineData("level: error\n", "", 11, "has no 'level'")]
    [InlineData("level: error\n", "level: loud\n", 6, "level 'loud' is not one of error, warning, note, none")]
    [InlineData("name: sample-rule\n", "name: Sample Rule\n", 2, "is not kebab-case")]
    [InlineData("id: PE9001\n", "id: PE9002\n", 1, "does not match the page's file name PE9001.md")]
    [InlineData("max-results: 25\n", "max-results: 0\n", 7, "max-results '0' is not a whole number from 1 to 100,000")]
    [InlineData("max-results: 25\n", "max-result: 25\n", 7, "unknown front matter key 'max-result'")]
    [InlineData("\"{0} lacks the sample flag (flags 0x{1}).\"", "\"{0} lacks the sample flag (flags 0x{2}).\"", 9, "placeholder {1} is never used, but {2} is")]
    [InlineData("\"{0} lacks the sample flag (flags 0x{1}).\"", "\"{0} lacks the {sample} flag (flags 0x{1}).\"", 9, "starts no placeholder")]
    [InlineData("\"{0} lacks the sample flag (flags 0x{1}).\"", "\"{0} lacks the sample flag (flags 0x{1}, {1}).\"", 9, "used both after '0x' (hexadecimal) and not")]
    [InlineData("  missing:", "  capped:", 9, "message ID 'capped' is the engine's summary")]
    [InlineData("  two-names:", "  missing:", 10, "message 'missing' is defined twice")]
    [InlineData("  missing:", "  Missing:", 9, "message ID 'Missing' is not kebab-case")]
    [InlineData("  missing:", "\tmissing:", 9, "indent with spaces")]
    public void Malformed_page_is_a_build_error_at_its_line(string original, string replacement, int line, string expected)
    {
        Assert.Contains(original, Page, StringComparison.Ordinal);
        var run = GeneratorRun.Of(Rule("yield break;"), (PagePath, Page.Replace(original, replacement, StringComparison.Ordinal)));

        var error = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("PELG001", error.Id);
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        var where = error.Location.GetLineSpan();
        Assert.Equal(PagePath, where.Path);
        Assert.Equal(line, where.StartLinePosition.Line);
        Assert.StartsWith("rules/PE9001.md: ", error.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        Assert.Contains(expected, error.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Fact]
    public void Page_without_messages_is_a_build_error()
    {
        var page = Page[..Page.IndexOf("messages:", StringComparison.Ordinal)] + "---\n";
        var run = GeneratorRun.Of(Rule("yield break;"), (PagePath, page));

        var error = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("PELG001", error.Id);
        Assert.Contains("defines no messages", error.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Fact]
    public void Page_without_front_matter_is_a_build_error_at_line_1()
    {
        var run = GeneratorRun.Of(Rule("yield break;"), (PagePath, "# PE9001\n"));

        var error = Assert.Single(run.GeneratorDiagnostics, d => d.Id == "PELG001");
        Assert.Equal(0, error.Location.GetLineSpan().StartLinePosition.Line);
        Assert.Contains("does not start with a '---' line", error.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Fact]
    public void Rule_whose_page_is_missing_is_a_build_error_at_its_attribute()
    {
        var run = GeneratorRun.Of(Rule("yield break;", id: "PE9002"), (PagePath, Page));

        var error = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal("PELG002", error.Id);
        Assert.Equal("Snippet.cs", error.Location.GetLineSpan().Path);
        Assert.Contains("no rules/PE9002.md", error.GetMessage(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    [Fact]
    public void Rule_class_that_is_not_partial_is_a_build_error()
    {
        var run = GeneratorRun.Of(Rule("yield break;").Replace("sealed partial class", "sealed class", StringComparison.Ordinal), (PagePath, Page));

        Assert.Contains(run.GeneratorDiagnostics, d => d.Id == "PELG004");
    }

    [Fact]
    public void Two_classes_claiming_one_page_are_a_build_error()
    {
        var twice = Rule("yield break;") + Rule("yield break;", className: "Again").Replace("using Pelint.Pe;\nusing Pelint.Rules;\n", string.Empty, StringComparison.Ordinal);
        var run = GeneratorRun.Of(twice, (PagePath, Page));

        Assert.Equal(2, run.GeneratorDiagnostics.Count(d => d.Id == "PELG003"));
    }

    private static string Rule(string body, string id = "PE9001", string className = "SampleRule") => $$"""
        using Pelint.Pe;
        using Pelint.Rules;

        [Rule("{{id}}")]
        public sealed partial class {{className}} : IRule
        {
            public Applicability GetApplicability(PeImage image) => Applicability.Applicable;

            public System.Collections.Generic.IEnumerable<Finding> Analyze(RuleContext context)
            {
                {{body}}
            }
        }

        """;
}
