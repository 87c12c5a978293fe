using System.CommandLine;
using Pelint.Configuration;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Pe.IO;
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
            Description = "What to print on standard output: text (a report for people), sarif (the log itself) or json (one document: a 'results' array, one object per result with file, ruleId, level, message, function, rva, baselineState and fingerprint, and a 'notifications' array).",
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
        var threads = OptionValues.Count("--threads", "Files scanned in parallel (default: the number of processors).", 1, 1024, Environment.ProcessorCount);
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
        var maxResults = OptionValues.Count("--max-results",
            "Results kept in the SARIF log and the report (GitHub code scanning accepts 25,000 per run); past it the least severe are dropped with a PEL0006 notification. The exit code is decided from every result, before this cap.",
            1, int.MaxValue, 25_000);
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress bar on standard error." };
        var allowEmpty = new Option<bool>("--allow-empty") { Description = "Exit with 0 when no PE image was found in the inputs (by default a scan that checked nothing exits with 3)." };
        // A file over --max-file-size is reported unreadable (PEL0001) and not read; a file whose
        // analysis runs past --timeout stops there (PEL0004) and the scan exits with 3.
        var maxFileSize = OptionValues.ByteSize("--max-file-size",
            "Skip (and report, PEL0001) files larger than this: bytes, or with a unit (1MB = 10^6, 64MiB = 2^26; default 2GiB - 1).", int.MaxValue);
        var timeout = OptionValues.Seconds("--timeout",
            "Per-file time budget (seconds, or 500ms, 2m): a file's analysis still running past it is stopped, reported (PEL0004) and fails the gate (exit 3). 0: no budget.");
        var command = new Command("scan", "Lint PE images and report findings as text and SARIF.\n\n" + ExitCodes.HelpText)
        {
            paths, output, format, failLevel, sourceRoot, category, threads, config, baseline, failOnBaselineState, shard, maxResults, quiet, allowEmpty, maxFileSize, timeout,
        };
        command.SetAction((parse, cancellation) =>
        {
            var settings = new ScanSettings
            {
                Paths = parse.GetValue(paths)!,
                Output = parse.GetValue(output),
                Format = parse.GetValue(format)!,
                FailLevel = LevelNames.TryParse(parse.GetValue(failLevel), out var l) && l != Level.None ? l : null,
                SourceRoot = parse.GetValue(sourceRoot) ?? Directory.GetCurrentDirectory(),
                Category = parse.GetValue(category),
                Threads = parse.GetValue(threads),
                Config = parse.GetValue(config),
                Baseline = parse.GetValue(baseline),
                FailOnAllBaselineStates = parse.GetValue(failOnBaselineState) == "all",
                Shard = Shard.TryParse(parse.GetValue(shard), out var selected, out _) ? selected : null,
                MaxResults = parse.GetValue(maxResults),
                Quiet = parse.GetValue(quiet),
                AllowEmpty = parse.GetValue(allowEmpty),
                MaxFileSize = parse.GetValue(maxFileSize),
                FileTimeBudget = parse.GetValue(timeout) is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : null,
            };
            return Task.FromResult(Run(settings, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, cancellation));
        });
        return command;
    }


    public static int Run(ScanSettings settings, TextWriter stdout, TextWriter stderr, CancellationToken cancellation = default)
    {
        // Files the user named must be usable before anything is scanned: a typo is a usage error, not a warning.
        if ((UnusableFile(settings.Config, "--config") ?? UnusableFile(settings.Baseline, "--baseline")) is { } unusable)
        {
            stderr.WriteLine($"pelint: {unusable}");
            return ExitCodes.UsageError;
        }

        if (settings.Output is { } requested && SarifFile.ResolveTarget(requested, out var refusal) is null)
        {
            stderr.WriteLine($"pelint: {ConsoleText.Escape(refusal)}");
            return ExitCodes.UsageError;
        }

        try
        {
            return Scan(settings, stdout, stderr, cancellation);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            stderr.WriteLine("pelint: interrupted; nothing was written");
            return ExitCodes.Interrupted;
        }
    }

    private static int Scan(ScanSettings settings, TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
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
            ? Task.Run(() => SarifFile.WarmUp(engine.Catalog), CancellationToken.None)
            : Task.CompletedTask;
        IReadOnlyList<FileReport> reports;
        using (var progress = terminal.StderrIsTerminal && !settings.Quiet ? new ProgressBar(stderr, inputs.Count) : null)
        {
            reports = new Scanner(engine).Scan(inputs, options, progress, cancellation);
        }

        var summary = ScanSummary.Of(reports, enumeration.Notifications);
        var executionNotifications = new List<ToolNotification>(enumeration.Notifications);
        if (summary.Analyzed == 0)
        {
            executionNotifications.Add(new ToolNotification(ToolNotification.NothingScanned, settings.AllowEmpty ? Level.Note : Level.Error,
                settings.AllowEmpty
                    ? "no PE image was found in the inputs; nothing was checked (--allow-empty)"
                    : "no PE image was found in the inputs, so nothing was checked; the gate fails (exit 3) unless --allow-empty"));
        }

        writerReady.Wait(CancellationToken.None);
        var log = SarifBuilder.Build(engine.Catalog, reports, new SarifRunOptions
        {
            SourceRoot = settings.SourceRoot,
            Category = settings.Category,
            StartTime = started,
            ExecutionNotifications = executionNotifications,
            ConfigurationNotifications = policy.Notifications,
        });

        var absentDropped = 0;
        if (settings.Baseline is { } baselinePath)
        {
            var outcome = Baseline.Apply(log, () => HostFiles.OpenRegular(baselinePath, 1 << 16), Math.Max(0, settings.MaxResults - log.Runs[0].Results.Count));
            log = outcome.Log;
            absentDropped = outcome.AbsentDropped;
            if (outcome.Problems.Count > 0)
            {
                log = WithConfigurationNotice(log, $"{baselinePath}: parts of the baseline cannot be read ({string.Join("; ", outcome.Problems)}); the results they held count as new", baselinePath);
            }
        }

        // The gate is decided on every result, before the cap: dropping results must never pass it.
        var counted = log.Runs[0].Results
            .Where(r => Baseline.CountsForGate(r, settings.FailOnAllBaselineStates))
            .Select(r => LevelNames.TryParse(r.Level, out var level) ? level : Level.Warning);
        var exit = ExitCodePolicy.Decide(summary, settings.FailLevel, counted, settings.AllowEmpty);
        log = ResultCap.Apply(log, settings.MaxResults, absentDropped);
        log = WithInvocationEnd(log, exit);

        if (settings.Output is { } outputPath)
        {
            try
            {
                SarifFile.Write(log, outputPath, cancellation);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The report below is still printed: the results were found, only the log is missing.
                stderr.WriteLine($"pelint: cannot write {ConsoleText.Escape(outputPath)}: {ConsoleText.Escape(e.Message)}");
                exit = ExitCodes.InputNotAnalyzed;
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
                var style = new ConsoleStyle(terminal.Color, terminal.StdoutIsTerminal ? terminal.Width : 0);
                ConsoleReport.Write(stdout, log, summary, engine.Catalog, style, settings.Output);
                break;
        }

        return exit;
    }

    // A file named by an option must exist, be a regular file and be readable.
    internal static string? UnusableFile(string? path, string option)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            using var stream = HostFiles.OpenRegular(path);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"{option} {ConsoleText.Escape(path)}: {ConsoleText.Escape(e is FileNotFoundException ? "no such file" : e.Message)}";
        }
    }

    private static SarifLog WithConfigurationNotice(SarifLog log, string message, string path)
    {
        var run = log.Runs[0];
        var notice = new Notification
        {
            Descriptor = new ReportingDescriptorReference { Id = ToolNotification.Configuration },
            Level = "warning",
            Message = new Message { Text = message },
            Locations = [new Location { PhysicalLocation = new PhysicalLocation { ArtifactLocation = new ArtifactUris(Directory.GetCurrentDirectory()).LocationOf(path) } }],
        };
        var invocations = run.Invocations?.Select((i, k) => k == 0 ? i with { ToolConfigurationNotifications = [.. i.ToolConfigurationNotifications ?? [], notice] } : i).ToList();
        return log with { Runs = [run with { Invocations = invocations }, .. log.Runs.Skip(1)] };
    }

    // The exit code is only known once the baseline has been applied, after the log is built.
    private static SarifLog WithInvocationEnd(SarifLog log, int exit)
    {
        var run = log.Runs[0];
        var invocations = run.Invocations?.Select(i => i with
        {
            ExitCode = exit,
            ExecutionSuccessful = i.ExecutionSuccessful && exit != ExitCodes.InputNotAnalyzed,
            EndTimeUtc = DateTimeOffset.UtcNow.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
        }).ToList();
        return log with { Runs = [run with { Invocations = invocations }, .. log.Runs.Skip(1)] };
    }
}
