using System.CommandLine;
using Pelint.Reporting;
using Pelint.Sarif;

namespace Pelint.Cli.Commands;

/// <summary>`pelint merge A.sarif B.sarif ... -o all.sarif`: one run from the logs of a sharded scan.</summary>
internal static class MergeCommand
{
    public static Command Build()
    {
        var logs = new Argument<string[]>("logs") { Description = "SARIF logs written by 'pelint scan --shard K/N -o ...'.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string?>("--output", "-o") { Description = "Write the merged log to this file (atomically); default: standard output." };
        var command = new Command("merge", "Merge the SARIF logs of a sharded scan into one run (rules once, results in a stable order, notifications kept).")
        {
            logs, output,
        };
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var read = new List<SarifLog>();
            foreach (var path in parse.GetValue(logs)!)
            {
                try
                {
                    read.Add(SarifFile.Read(path));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidDataException)
                {
                    stderr.WriteLine($"pelint: cannot read {path}: {e.Message}");
                    return ExitCodes.InputNotAnalyzed;
                }
            }

            var merged = SarifMerge.Merge(read);
            if (parse.GetValue(output) is not { } outputPath)
            {
                stdout.Write(SarifFile.Serialize(merged));
                return ExitCodes.Success;
            }

            try
            {
                SarifFile.Write(merged, outputPath);
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"pelint: cannot write {outputPath}: {e.Message}");
                return ExitCodes.InputNotAnalyzed;
            }
        });
        return command;
    }
}
