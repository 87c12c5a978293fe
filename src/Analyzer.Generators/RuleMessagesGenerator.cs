using System.Collections.Immutable;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Pelint.Generators;

/// <summary>
/// Turns each rule page (an AdditionalFiles <c>rules/&lt;ID&gt;.md</c>) into members of the class
/// marked <c>[Rule("&lt;ID&gt;")]</c>: its <c>Id</c>, and a nested <c>Messages</c> class with one method
/// per message of the page, taking one argument per placeholder. A rule calls
/// <c>Messages.PageUnaligned(location, key, file, block, page)</c>, so a wrong message ID or argument
/// count does not compile, and a malformed page is a build error naming its line.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class RuleMessagesGenerator : IIncrementalGenerator
{
    public const string RuleAttributeName = "Pelint.Rules.RuleAttribute";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var pages = context.AdditionalTextsProvider
            .Where(static t => IsRulePage(t.Path))
            .Select(static (t, ct) => RulePageParser.Parse(t.Path, t.GetText(ct) ?? SourceText.From(string.Empty)));

        context.RegisterSourceOutput(pages, static (spc, page) =>
        {
            foreach (var problem in page.Problems)
            {
                var location = Location.Create(page.Path, new TextSpan(problem.Start, problem.Length),
                    new LinePositionSpan(new LinePosition(problem.Line, 0), new LinePosition(problem.Line, problem.Length)));
                spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.MalformedPage, location, PageName(page.FileId), problem.Message));
            }
        });

        var classes = context.SyntaxProvider.ForAttributeWithMetadataName(
            RuleAttributeName,
            static (node, _) => node is ClassDeclarationSyntax,
            static (ctx, ct) => ToModel(ctx, ct));

        context.RegisterSourceOutput(classes.Collect().Combine(pages.Collect()), static (spc, input) => Emit(spc, input.Left, input.Right));
    }

    private static bool IsRulePage(string path) =>
        path.EndsWith(".md", StringComparison.OrdinalIgnoreCase)
        && string.Equals(Path.GetFileName(Path.GetDirectoryName(path)), "rules", StringComparison.Ordinal);

    private static RuleClassModel ToModel(GeneratorAttributeSyntaxContext ctx, CancellationToken ct)
    {
        var symbol = (INamedTypeSymbol)ctx.TargetSymbol;
        var declaration = (ClassDeclarationSyntax)ctx.TargetNode;
        var attribute = ctx.Attributes[0];
        var id = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string : null;
        var where = attribute.ApplicationSyntaxReference?.GetSyntax(ct).GetLocation() ?? declaration.Identifier.GetLocation();
        var ns = symbol.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : null;
        return new RuleClassModel(ns, symbol.Name, id, declaration.Modifiers.Any(SyntaxKind.PartialKeyword), symbol.ContainingType is not null, LocationInfo.From(where));
    }

    private static void Emit(SourceProductionContext spc, ImmutableArray<RuleClassModel> classes, ImmutableArray<RulePageModel> pages)
    {
        var byId = new Dictionary<string, RulePageModel>(StringComparer.Ordinal);
        foreach (var page in pages)
        {
            if (!byId.ContainsKey(page.FileId))
            {
                byId[page.FileId] = page;
            }
        }

        var claims = classes.Where(c => c.Id is not null).GroupBy(c => c.Id!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var rule in classes)
        {
            var fullName = rule.Namespace is null ? rule.Name : $"{rule.Namespace}.{rule.Name}";
            if (!rule.IsPartial || rule.IsNested)
            {
                spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.NotPartial, rule.Where.ToLocation(), fullName));
                continue;
            }

            if (rule.Id is null || !byId.TryGetValue(rule.Id, out var page))
            {
                spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.NoPage, rule.Where.ToLocation(), fullName, rule.Id ?? "(none)"));
                continue;
            }

            if (claims[rule.Id].Count > 1)
            {
                spc.ReportDiagnostic(Diagnostic.Create(Diagnostics.DuplicateRule, rule.Where.ToLocation(), rule.Id,
                    string.Join(", ", claims[rule.Id].Select(c => c.Name).OrderBy(n => n, StringComparer.Ordinal))));
                continue;
            }

            spc.AddSource($"{fullName}.g.cs", SourceText.From(Source(rule, page), Encoding.UTF8));
        }
    }

    /// <summary>The generated members of one rule class (kept apart from Emit so tests can read it).</summary>
    internal static string Source(RuleClassModel rule, RulePageModel page)
    {
        const string Finding = "global::Pelint.Rules.Finding";
        var s = new StringBuilder();
        s.Append("// <auto-generated/>\n");
        s.Append("// Generated by Pelint.Generators from ").Append(PageName(page.FileId)).Append(": edit the page, not this file.\n");
        s.Append("#nullable enable\n\n");
        var indent = string.Empty;
        if (rule.Namespace is not null)
        {
            s.Append("namespace ").Append(rule.Namespace).Append("\n{\n");
            indent = "    ";
        }

        s.Append(indent).Append("partial class ").Append(rule.Name).Append('\n').Append(indent).Append("{\n");
        s.Append(indent).Append("    /// <summary>The rule's permanent ID; its page is ").Append(PageName(page.FileId)).Append(".</summary>\n");
        s.Append(indent).Append("    public string Id => \"").Append(page.FileId).Append("\";\n\n");
        s.Append(indent).Append("    /// <summary>\n");
        s.Append(indent).Append("    /// The messages of ").Append(PageName(page.FileId)).Append(", one method each: it makes a finding of this rule\n");
        s.Append(indent).Append("    /// at <paramref name=\"location\"/>, identified across rebuilds by <paramref name=\"fingerprintKey\"/>,\n");
        s.Append(indent).Append("    /// with one argument per placeholder of the template.\n");
        s.Append(indent).Append("    /// </summary>\n");
        s.Append(indent).Append("    internal static class Messages\n").Append(indent).Append("    {\n");
        var first = true;
        foreach (var message in page.Messages)
        {
            if (!first)
            {
                s.Append('\n');
            }

            first = false;
            var member = indent + "        ";
            s.Append(member).Append("/// <summary>Message <c>").Append(message.Id).Append("</c>: ").Append(XmlEscape(message.Template)).Append("</summary>\n");
            s.Append(member).Append("public static ").Append(Finding).Append(' ').Append(message.MethodName)
                .Append("(global::Pelint.Rules.FindingLocation location, string fingerprintKey");
            for (var i = 0; i < message.Placeholders.Count; i++)
            {
                s.Append(message.Placeholders[i].Kind == PlaceholderKind.Hex ? ", global::Pelint.Rules.Hex arg" : ", global::Pelint.Rules.MessageArgument arg").Append(i);
            }

            s.Append(") =>\n").Append(member).Append("    new ").Append(Finding).Append("(\"").Append(page.FileId).Append("\", \"").Append(message.Id).Append("\", ");
            if (message.Placeholders.Count == 0)
            {
                s.Append("global::System.Array.Empty<string>()");
            }
            else
            {
                s.Append("new string[] { ");
                for (var i = 0; i < message.Placeholders.Count; i++)
                {
                    s.Append(i == 0 ? string.Empty : ", ").Append("arg").Append(i).Append(".Text");
                }

                s.Append(" }");
            }

            s.Append(", location, fingerprintKey);\n");
        }

        s.Append(indent).Append("    }\n").Append(indent).Append("}\n");
        if (rule.Namespace is not null)
        {
            s.Append("}\n");
        }

        return s.ToString();
    }

    private static string PageName(string fileId) => $"rules/{fileId}.md";

    private static string XmlEscape(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
