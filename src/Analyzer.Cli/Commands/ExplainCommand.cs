using System.CommandLine;
using Pelint.Engine;
using Pelint.Reporting;
using Pelint.Rules;

namespace Pelint.Cli.Commands;

/// <summary>`pelint explain ID|name`: print a rule's help page from rules/.</summary>
internal static class ExplainCommand
{
    public static Command Build()
    {
        var rule = new Argument<string>("rule") { Description = "A rule ID (PE1001) or name (dynamic-base)." };
        var command = new Command("explain", "Print a rule's help page: what it checks, why, an example, and how to fix it.") { rule };
        command.SetAction(parse =>
        {
            var key = parse.GetValue(rule)!;
            if (RuleCatalog.Embedded.Find(key) is not { } descriptor)
            {
                parse.InvocationConfiguration.Error.WriteLine($"pelint: no rule '{key}'. Run 'pelint rules' for the list.");
                return ExitCodes.UsageError;
            }

            var output = parse.InvocationConfiguration.Output;
            output.WriteLine($"{descriptor.Id} {descriptor.Name} (default: {descriptor.DefaultLevel.ToSarif()}, category: {descriptor.Category})");
            output.WriteLine();
            output.Write(descriptor.HelpMarkdown);
            return 0;
        });
        return command;
    }
}
