using System.CommandLine;
using Pelint.Configuration;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Reporting;
using Pelint.Rules;
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
            Description = "What to print on standard output: text (a report for people), sarif (the log itself) or json (one object per result).",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "sarif", "json");
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
        var config = new Option<string?>("--config")
        {
            Description = "An .editorconfig-format file of rule severities applied to every file, below the .editorconfig files found next to the scanned files.",
        };
        var baseline = new Option<string?>("--baseline")
        {
            Description = "A SARIF log of an earlier scan: results get baselineState new, unchanged, updated or absent.",
        };
        var failOnBaselineState = new Option<string>("--fail-on-baseline-state")
        {
            Description = "With --baseline: which results the gate counts, only new ones (default) or all.",
            DefaultValueFactory = _ => "new",
        };
        failOnBaselineState.AcceptOnlyFromAmong("new", "all");
        var shard = new Option<string?>("--shard")
        {
            Description = "Scan only shard K of N (e.g. 2/4), chosen by a hash of each file's path relative to --source-root; merge the logs with 'pelint merge'.",
        };
        shard.Validators.Add(result =>
        {
            if (!Shard.TryParse(result.GetValueOrDefault<string?>(), out _, out var error))
            {
                result.AddError(error!);
            }
        });
        var maxResults = new Option<int>("--max-results")
        {
            Description = "Results kept per SARIF run (GitHub code scanning accepts 25,000); the least severe past it are dropped with a notification.",
            DefaultValueFactory = _ => 25_000,
        };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bar on standard error." };
        // Limits (issue 6): a file over --max-file-size is reported unreadable (PEL0001) and not read;
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
            paths, output, format, failLevel, sourceRoot, category, threads, config, baseline, failOnBaselineState, shard, maxResults, quiet, maxFileSize, timeout,
        };
        command.SetAction(parse =>
        {
            var settings = new ScanSettings
            {
                Paths = parse.GetValue(paths)!,
                Output = parse.GetValue(output),
                Format = parse.GetValue(format)!,
                FailLevel = LevelNames.TryParse(parse.GetValue(failLevel), out var l) && l != Level.None ? l : null,
                SourceRoot = parse.GetValue(sourceRoot) ?? Directory.GetCurrentDirectory(),
                Category = parse.GetValue(category),
                Threads = Math.Max(1, parse.GetValue(threads)),
                Config = parse.GetValue(config),
                Baseline = parse.GetValue(baseline),
                FailOnAllBaselineStates = parse.GetValue(failOnBaselineState) == "all",
                Shard = Shard.TryParse(parse.GetValue(shard), out var selected, out _) ? selected : null,
                MaxResults = Math.Max(0, parse.GetValue(maxResults)),
                Quiet = parse.GetValue(quiet),
                MaxFileSize = parse.GetValue(maxFileSize),
                FileTimeBudget = parse.GetValue(timeout) is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : null,
            };
            return Run(settings, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        });
        return command;
    }

    public static int Run(ScanSettings settings, TextWriter stdout, TextWriter stderr)
    {
        var started = DateTimeOffset.UtcNow;
        var enumeration = InputEnumerator.Enumerate(settings.Paths);
        var inputs = settings.Shard is { } shard ? shard.Select(enumeration.Inputs, settings.SourceRoot) : enumeration.Inputs;
        var engine = RuleEngine.CreateDefault();
        var policy = new EditorConfigPolicy(engine.Catalog, settings.Config);
        var options = new ScanOptions
        {
            MaxDegreeOfParallelism = settings.Threads,
            Policy = policy,
            Open = new PeOpenOptions { MaxFileSize = settings.MaxFileSize },
            FileTimeBudget = settings.FileTimeBudget,
        };
        var terminal = Terminal.Detect(stdout, stderr);
        var writerReady = settings.Output is not null || settings.Format == "sarif"
            ? Task.Run(() => SarifFile.WarmUp(engine.Catalog))
            : Task.CompletedTask;
        IReadOnlyList<FileReport> reports;
        using (var progress = terminal.StderrIsTerminal && !settings.Quiet ? new ProgressBar(stderr, inputs.Count) : null)
        {
            reports = new Scanner(engine).Scan(inputs, options, progress);
        }

        var configurationNotifications = new List<ToolNotification>(policy.Notifications);
        SarifLog? baseline = null;
        if (settings.Baseline is { } baselinePath)
        {
            try
            {
                baseline = SarifFile.Read(baselinePath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidDataException)
            {
                configurationNotifications.Add(new ToolNotification(ToolNotification.Configuration, Level.Error,
                    $"{baselinePath}: cannot read the baseline ({e.Message}); every result counts as new", baselinePath));
            }
        }

        writerReady.Wait();
        var log = SarifBuilder.Build(engine.Catalog, reports, new SarifRunOptions
        {
            SourceRoot = settings.SourceRoot,
            Category = settings.Category,
            StartTime = started,
            MaxResults = settings.MaxResults,
            ExecutionNotifications = enumeration.Notifications,
            ConfigurationNotifications = configurationNotifications,
        });
        if (baseline is not null)
        {
            log = Baseline.Apply(log, baseline);
        }

        var counted = log.Runs[0].Results
            .Where(r => Baseline.CountsForGate(r, settings.FailOnAllBaselineStates))
            .Select(r => LevelNames.TryParse(r.Level, out var level) ? level : Level.Warning);
        var exit = ExitCodePolicy.Decide(reports, enumeration.Notifications, settings.FailLevel, counted);
        log = WithInvocationEnd(log, exit);

        if (settings.Output is { } outputPath)
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

        switch (settings.Format)
        {
            case "sarif":
                stdout.Write(SarifFile.Serialize(log));
                break;
            case "json":
                JsonReport.Write(stdout, log);
                break;
            default:
                var style = terminal.Color ? new ConsoleStyle(true) : ConsoleStyle.Plain;
                ConsoleReport.Write(stdout, reports, [.. configurationNotifications, .. enumeration.Notifications], style, Directory.GetCurrentDirectory());
                break;
        }

        return exit;
    }

    // The exit code is only known once the baseline has been applied, after the log is built.
    private static SarifLog WithInvocationEnd(SarifLog log, int exit)
    {
        var run = log.Runs[0];
        var invocations = run.Invocations?.Select(i => i with
        {
            ExitCode = exit,
            EndTimeUtc = DateTimeOffset.UtcNow.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
        }).ToList();
        return log with { Runs = [run with { Invocations = invocations }, .. log.Runs.Skip(1)] };
    }
}
