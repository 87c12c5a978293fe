using System.CommandLine;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Reporting;
using Pelint.Sarif;

namespace Pelint.Cli.Commands;

/// <summary>`pelint scan PATH...`: lint files and folders, write SARIF, exit per the fail level.</summary>
internal static class ScanCommand
{
    public static Command Build()
    {
        var paths = new Argument<string[]>("paths")
        {
            Description = "Files, folders (scanned recursively; non-PE files in them are skipped) or globs (bin/*.dll, drop/**/*.exe).",
            Arity = ArgumentArity.OneOrMore,
        };
        // An unknown --option would otherwise be taken for a path; a file named like one can be given as ./--name.
        paths.Validators.Add(result =>
        {
            foreach (var token in result.Tokens.Where(t => t.Value.StartsWith('-') && t.Value.Length > 1))
            {
                result.AddError($"unknown option '{token.Value}'");
            }
        });
        var output = new Option<string?>("--output", "-o") { Description = "Write a SARIF 2.1.0 log to this file (atomically)." };
        var format = new Option<string>("--format", "-f")
        {
            Description = "What to print on standard output: text (a report for people) or sarif (the log itself).",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "sarif");
        var failLevel = new Option<string>("--fail-level")
        {
            Description = "Exit with 1 when a result is at or above this level; none never fails on results.",
            DefaultValueFactory = _ => "error",
        };
        failLevel.AcceptOnlyFromAmong("error", "warning", "note", "none");
        var sourceRoot = new Option<string?>("--source-root")
        {
            Description = "Artifact URIs in SARIF are relative to this folder (%SRCROOT%); default: the current directory.",
        };
        var category = new Option<string?>("--category")
        {
            Description = "SARIF automationDetails.id, so GitHub code scanning keeps this analysis apart from others (e.g. pelint/x64).",
        };
        var threads = new Option<int>("--threads")
        {
            Description = "Files scanned in parallel (default: the number of processors).",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        // Limits (issue 6): a file over --max-file-size is reported unreadable (PEL0001) and not mapped;
        // a file whose rules run past --timeout seconds is reported with PEL0004 and its partial results kept.
        var maxFileSize = new Option<long>("--max-file-size")
        {
            Description = "Skip (and report, PEL0001) files larger than this many bytes (default: 2 GiB - 1).",
            DefaultValueFactory = _ => int.MaxValue,
        };
        maxFileSize.Validators.Add(r => { if (r.GetValueOrDefault<long>() <= 0) { r.AddError("--max-file-size must be positive"); } });
        var timeout = new Option<double>("--timeout")
        {
            Description = "Per-file time budget in seconds; rules still running past it are stopped (PEL0004). 0: no budget.",
            DefaultValueFactory = _ => 0,
        };
        timeout.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 0 or > 86400 or double.NaN) { r.AddError("--timeout must be between 0 and 86400 seconds"); } });
        var command = new Command("scan", "Lint PE images and report findings as text and SARIF.\n\n" + ExitCodes.HelpText)
        {
            paths, output, format, failLevel, sourceRoot, category, threads, maxFileSize, timeout,
        };
        command.SetAction(parse =>
        {
            var stdout = parse.InvocationConfiguration.Output;
            var stderr = parse.InvocationConfiguration.Error;
            var started = DateTimeOffset.UtcNow;
            var enumeration = InputEnumerator.Enumerate(parse.GetValue(paths)!);
            var engine = RuleEngine.CreateDefault();
            var options = new ScanOptions
            {
                MaxDegreeOfParallelism = Math.Max(1, parse.GetValue(threads)),
                Open = new PeOpenOptions { MaxFileSize = parse.GetValue(maxFileSize) },
                FileTimeBudget = parse.GetValue(timeout) is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : null,
            };
            var reports = new Scanner(engine).Scan(enumeration.Inputs, options);
            Level? fail = LevelNames.TryParse(parse.GetValue(failLevel), out var l) && l != Level.None ? l : null;
            var exit = ExitCodePolicy.Decide(reports, enumeration.Notifications, fail);
            var log = SarifBuilder.Build(engine.Catalog, reports, new SarifRunOptions
            {
                SourceRoot = parse.GetValue(sourceRoot) ?? Directory.GetCurrentDirectory(),
                Category = parse.GetValue(category),
                StartTime = started,
                EndTime = DateTimeOffset.UtcNow,
                ExitCode = exit,
                ExecutionNotifications = enumeration.Notifications,
            });
            if (parse.GetValue(output) is { } outputPath)
            {
                try
                {
                    SarifFile.Write(log, outputPath);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    stderr.WriteLine($"pelint: cannot write {outputPath}: {e.Message}");
                    return ExitCodes.InputNotAnalyzed;
                }
            }

            if (parse.GetValue(format) == "sarif")
            {
                stdout.Write(SarifFile.Serialize(log));
            }
            else
            {
                ConsoleReport.Write(stdout, reports, enumeration.Notifications, ConsoleStyle.Plain, Directory.GetCurrentDirectory());
            }

            return exit;
        });
        return command;
    }
}
