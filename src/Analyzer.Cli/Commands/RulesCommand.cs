using System.CommandLine;
using Pelint.Engine;

namespace Pelint.Cli.Commands;

/// <summary>`pelint rules`: the catalogue, one line per rule.</summary>
internal static class RulesCommand
{
    public static Command Build()
    {
        var command = new Command("rules", "List every rule: ID, name, default level, category and title.");
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            foreach (var rule in RuleCatalog.Embedded.Rules)
            {
                var level = rule.EnabledByDefault ? rule.DefaultLevel.ToSarif() : "off";
                output.WriteLine($"{rule.Id}  {rule.Name,-30} {level,-8} {rule.Category,-12} {rule.Title}");
            }

            return 0;
        });
        return command;
    }
}
