using System.CommandLine;
using Pelint.Configuration;
using Pelint.Engine;
using Pelint.Reporting;
using Pelint.Rules;

namespace Pelint.Cli.Commands;

/// <summary>`pelint rules [--path P] [--config FILE]`: the catalogue, one line per rule, with the level in effect.</summary>
internal static class RulesCommand
{
    public static Command Build()
    {
        var path = new Option<string?>("--path")
        {
            Description = "Show the level each rule has for this file after .editorconfig (silent = reported with level none, off = not run).",
        };
        var config = new Option<string?>("--config") { Description = "An .editorconfig-format file, as for 'pelint scan --config'." };
        var command = new Command("rules", "List every rule: ID, name, level (default, or in effect for --path), category and title.") { path, config };
        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            if (ScanCommand.UnusableFile(parse.GetValue(config), "--config") is { } unusable)
            {
                parse.InvocationConfiguration.Error.WriteLine($"pelint: {unusable}");
                return ExitCodes.UsageError;
            }

            var target = parse.GetValue(path);
            ISeverityPolicy policy = target is null && parse.GetValue(config) is null
                ? DefaultSeverityPolicy.Instance
                : new EditorConfigPolicy(RuleCatalog.Embedded, parse.GetValue(config));
            var file = Path.GetFullPath(target ?? Path.Combine(Directory.GetCurrentDirectory(), "_"));
            foreach (var rule in RuleCatalog.Embedded.Rules)
            {
                var level = policy.LevelFor(rule, file) switch
                {
                    null => "off",
                    Level.None => "silent",
                    { } l => l.ToSarif(),
                };
                output.WriteLine($"{rule.Id}  {rule.Name,-30} {level,-8} {rule.Category,-12} {rule.Title}");
            }

            if (target is not null && policy.RequirementsFor(file).HotPatchable)
            {
                output.WriteLine("hot-patchability required (pelint_hotpatch_required): PE2001, PE2002 and PE2003 report each function that falls short as an error");
            }

            if (policy is EditorConfigPolicy configured)
            {
                foreach (var n in configured.Notifications)
                {
                    parse.InvocationConfiguration.Error.WriteLine($"pelint: {n.Id} {ConsoleText.Escape(n.Message)}");
                }
            }

            return 0;
        });
        return command;
    }
}
