using System.CommandLine;
using Pelint.Pe.IO;
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
        var maxResults = OptionValues.Count("--max-results",
            "Results kept in the merged run (GitHub code scanning accepts 25,000 per run); past it the least severe are dropped with a PEL0006 notification.",
            1, int.MaxValue, 25_000);
        var command = new Command("merge", "Merge the SARIF logs of a sharded scan into one run (rules once, results in a stable order, notifications kept). " +
            "Inputs are streamed; a run or result that cannot be read is left out and reported, and the exit code is then 3.")
        {
            logs, output, maxResults,
        };
        command.SetAction((parse, cancellation) =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var max = parse.GetValue(maxResults);
            var outputPath = parse.GetValue(output);
            if (outputPath is not null && SarifFile.ResolveTarget(outputPath, out var refusal) is null)
            {
                stderr.WriteLine($"pelint: {ConsoleText.Escape(refusal)}");
                return Task.FromResult(ExitCodes.UsageError);
            }

            var read = new List<SarifLog>();
            var dropped = 0;
            var incomplete = false;
            foreach (var path in parse.GetValue(logs)!)
            {
                try
                {
                    using var stream = HostFiles.OpenRegular(path, 1 << 16);
                    var outcome = TolerantSarifReader.Read(stream, max);
                    foreach (var problem in outcome.Problems)
                    {
                        stderr.WriteLine($"pelint: {ConsoleText.Escape(path)}: {ConsoleText.Escape(problem)}");
                        incomplete = true;
                    }

                    dropped += outcome.DroppedResults;
                    read.Add(outcome.Log);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    stderr.WriteLine($"pelint: cannot read {ConsoleText.Escape(path)}: {ConsoleText.Escape(e.Message)}");
                    incomplete = true;
                }
            }

            if (!read.Any(l => l.Runs.Count > 0))
            {
                stderr.WriteLine("pelint: no run could be read from the inputs; nothing to merge");
                return Task.FromResult(ExitCodes.InputNotAnalyzed);
            }

            var merged = ResultCap.Apply(SarifMerge.Merge(read), max, dropped);
            var exit = incomplete ? ExitCodes.InputNotAnalyzed : ExitCodes.Success;
            try
            {
                if (outputPath is null)
                {
                    stdout.Write(SarifFile.Serialize(merged));
                }
                else
                {
                    SarifFile.Write(merged, outputPath, cancellation);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"pelint: cannot write {ConsoleText.Escape(outputPath)}: {ConsoleText.Escape(e.Message)}");
                exit = ExitCodes.InputNotAnalyzed;
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                stderr.WriteLine("pelint: interrupted; nothing was written");
                exit = ExitCodes.Interrupted;
            }

            return Task.FromResult(exit);
        });
        return command;
    }
}
