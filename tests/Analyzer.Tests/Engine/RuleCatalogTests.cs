using System.Text.RegularExpressions;
using Pelint.Engine;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Engine;

public sealed partial class RuleCatalogTests
{
    [Fact]
    public void Every_rule_class_has_a_page_and_every_page_a_class()
    {
        var classes = RuleRegistry.CreateAll().Select(r => r.Id).Order(StringComparer.Ordinal).ToList();
        var pages = Directory.GetFiles(Path.Combine(TestPaths.RepositoryRoot, "rules"), "*.md")
            .Select(p => Path.GetFileNameWithoutExtension(p)!).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(pages, classes);
        Assert.Equal(pages, RuleCatalog.Embedded.Rules.Select(r => r.Id).ToList());
    }

    [Fact]
    public void Every_rule_class_in_the_assembly_is_registered()
    {
        // The registry is a hand-written list (the NativeAOT build cannot discover types); a class
        // left out of it would silently never run.
        var registered = RuleRegistry.CreateAll().Select(r => r.GetType()).ToHashSet();
        var classes = typeof(RuleRegistry).Assembly.GetTypes()
            .Where(t => typeof(IRule).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false });

        Assert.All(classes, c => Assert.Contains(c, registered));
        Assert.Equal(registered.Count, RuleRegistry.CreateAll().Select(r => r.Id).Distinct().Count());
    }

    [Fact]
    public void Rule_pages_have_ids_matching_file_names_kebab_names_and_help_sections()
    {
        // The help's sections, each once and in this order (what, why, a real case, the fix).
        string[] sections = ["## What it checks", "## Why it matters", "## Example", "## How to fix"];
        foreach (var rule in RuleCatalog.Embedded.Rules)
        {
            Assert.Matches(IdPattern(), rule.Id);
            Assert.Matches(KebabPattern(), rule.Name);
            Assert.NotEmpty(rule.Messages);
            var headings = rule.HelpMarkdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n')
                .Where(l => l.StartsWith("## ", StringComparison.Ordinal)).Select(l => l.TrimEnd());
            Assert.True(headings.SequenceEqual(sections), $"{rule.Id}: sections {string.Join(", ", headings)}");
        }
    }

    [Fact]
    public void Plain_text_help_drops_markup_but_keeps_code_blocks_as_written()
    {
        const string Markdown = "## Example\n```\n$ llvm-readobj-22 --unwind a.dll\n    Type: `x` **y**\n# comment\n```\nThe `a.dll` **file**.";
        var rule = new RuleDescriptor("PE9999", "n", "t", "d", "c", Level.Error, true, new Dictionary<string, string>(), [], null, Markdown, "u");

        Assert.Equal("EXAMPLE\n$ llvm-readobj-22 --unwind a.dll\n    Type: `x` **y**\n# comment\nThe a.dll file.", rule.HelpText);
    }

    [Fact]
    public void Every_message_template_is_a_sentence_ending_in_a_period()
    {
        // The SARIF validator's SARIF2001 asks plain-text messages to be complete sentences.
        foreach (var rule in RuleCatalog.Embedded.Rules)
        {
            foreach (var (id, template) in rule.Messages)
            {
                Assert.True(template.EndsWith('.'), $"{rule.Id} message '{id}' does not end with a period: {template}");
            }
        }
    }

    [Fact]
    public void Names_are_accepted_wherever_ids_are()
    {
        Assert.Same(RuleCatalog.Embedded.Find("PE1001"), RuleCatalog.Embedded.Find("dynamic-base"));
        Assert.Null(RuleCatalog.Embedded.Find("no-such-rule"));
    }

    [Fact]
    public void Message_templates_substitute_arguments_and_keep_escaped_braces()
    {
        Assert.Equal("a {x} b 2", MessageTemplate.Format("{0} {{x}} b {1}", ["a", "2"]));
        Assert.Equal(2, MessageTemplate.ArgumentCount("{0} {{x}} b {1}"));
    }

    [GeneratedRegex("^PE[0-9]{4}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex KebabPattern();
}
