using System.Globalization;
using System.Reflection;
using System.Text.Json.Nodes;
using Pelint.Engine;
using Pelint.Rules;

namespace Pelint.Sarif;

/// <summary>How one SARIF run is written.</summary>
public sealed record SarifRunOptions
{
    public string SourceRoot { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>runs[0].automationDetails.id: GitHub keeps one analysis per category.</summary>
    public string? Category { get; init; }

    /// <summary>GitHub accepts at most 1,000 related locations per result.</summary>
    public int MaxRelatedLocations { get; init; } = 1_000;

    public DateTimeOffset? StartTime { get; init; }

    public DateTimeOffset? EndTime { get; init; }

    public int? ExitCode { get; init; }

    public IReadOnlyList<ToolNotification> ExecutionNotifications { get; init; } = [];

    public IReadOnlyList<ToolNotification> ConfigurationNotifications { get; init; } = [];
}

/// <summary>
/// Turns file reports into one SARIF 2.1.0 run, deterministically (input order, then rule order),
/// with every result: the baseline (<see cref="Baseline"/>) and the cap (<see cref="ResultCap"/>) come after.
/// </summary>
public static class SarifBuilder
{
    public const string ToolName = "pelint";

    public static string ToolVersion { get; } =
        typeof(SarifBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static SarifLog Build(RuleCatalog catalog, IReadOnlyList<FileReport> reports, SarifRunOptions options)
    {
        var uris = new ArtifactUris(options.SourceRoot);
        var ruleIndex = catalog.Rules.Select((r, i) => (r.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        var artifacts = new List<Artifact>();
        var artifactIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var results = new List<SarifResult>();
        var executionNotifications = new List<Notification>();
        var usedFingerprints = new HashSet<string>(StringComparer.Ordinal);

        foreach (var n in options.ExecutionNotifications)
        {
            executionNotifications.Add(ToNotification(n, uris, null));
        }

        foreach (var report in reports)
        {
            if (report.Status == FileStatus.Skipped)
            {
                continue;
            }

            int? index = null;
            if (report.Status == FileStatus.Analyzed)
            {
                var location = uris.LocationOf(report.Path);
                if (!artifactIndex.TryGetValue(location.Uri!, out var i))
                {
                    i = artifacts.Count;
                    artifactIndex[location.Uri!] = i;
                    artifacts.Add(new Artifact { Location = location with { Index = null }, Length = report.FileLength, Roles = ["analysisTarget"] });
                }

                index = i;
            }

            foreach (var n in report.Notifications)
            {
                executionNotifications.Add(ToNotification(n, uris, index));
            }

            foreach (var result in report.Results)
            {
                results.Add(ToResult(result, uris, index, ruleIndex, usedFingerprints, options.MaxRelatedLocations));
            }
        }

        var invocation = new Invocation
        {
            ExecutionSuccessful = !reports.Any(r => r.Status == FileStatus.Failed) && executionNotifications.All(n => n.Level != "error"),
            StartTimeUtc = options.StartTime?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            EndTimeUtc = options.EndTime?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            ExitCode = options.ExitCode,
            ToolExecutionNotifications = executionNotifications.Count > 0 ? executionNotifications : null,
            ToolConfigurationNotifications = options.ConfigurationNotifications.Count > 0
                ? [.. options.ConfigurationNotifications.Select(n => ToNotification(n, uris, null))]
                : null,
        };

        var run = new Run
        {
            Tool = new Tool { Driver = Driver(catalog) },
            AutomationDetails = string.IsNullOrWhiteSpace(options.Category) ? null : new RunAutomationDetails { Id = NormalizeCategory(options.Category) },
            OriginalUriBaseIds = new Dictionary<string, ArtifactLocation>(StringComparer.Ordinal)
            {
                [ArtifactUris.SourceRootId] = new ArtifactLocation { Uri = uris.SourceRootUri },
            },
            Artifacts = artifacts,
            Invocations = [invocation],
            Results = results,
            ColumnKind = "utf16CodeUnits",
        };
        return new SarifLog { Runs = [run] };
    }

    public static ToolComponent Driver(RuleCatalog catalog) => new()
    {
        Name = ToolName,
        FullName = $"pelint {ToolVersion}",
        Version = ToolVersion,
        SemanticVersion = ToolVersion,
        InformationUri = RuleDescriptor.RepositoryUri,
        Rules = [.. catalog.Rules.Select(Descriptor)],
        Notifications = [.. NotificationDescriptors()],
    };

    public static ReportingDescriptor Descriptor(RuleDescriptor rule)
    {
        var tags = new JsonArray();
        foreach (var tag in rule.Tags)
        {
            tags.Add((JsonNode?)JsonValue.Create(tag)); // the JsonNode overload: Add<T> needs reflection (not under NativeAOT)
        }

        var properties = new JsonObject
        {
            ["category"] = rule.Category,
            ["precision"] = rule.Precision,
            ["problem.severity"] = rule.DefaultLevel switch { Level.Error => "error", Level.Warning => "warning", _ => "recommendation" },
            ["tags"] = tags,
        };
        if (rule.SecuritySeverity is { } severity)
        {
            properties["security-severity"] = severity;
        }

        return new ReportingDescriptor
        {
            Id = rule.Id,
            Name = PascalName(rule.Name),
            ShortDescription = new MultiformatMessageString { Text = rule.Title },
            FullDescription = new MultiformatMessageString { Text = rule.Description },
            MessageStrings = rule.Messages.OrderBy(m => m.Key, StringComparer.Ordinal)
                .ToDictionary(m => m.Key, m => new MultiformatMessageString { Text = m.Value }, StringComparer.Ordinal),
            Help = new MultiformatMessageString { Text = rule.HelpText, Markdown = rule.HelpMarkdown },
            HelpUri = rule.HelpUri,
            DefaultConfiguration = new ReportingConfiguration { Enabled = rule.EnabledByDefault, Level = rule.DefaultLevel.ToSarif() },
            Properties = properties,
        };
    }

    /// <summary>SARIF's convention for reportingDescriptor.name is PascalCase (the kebab-case name stays the user-facing alias).</summary>
    public static string PascalName(string kebab) =>
        string.Concat(kebab.Split('-', StringSplitOptions.RemoveEmptyEntries).Select(p => char.ToUpperInvariant(p[0]) + p[1..]));

    private static SarifResult ToResult(Result result, ArtifactUris uris, int? artifactIndex, Dictionary<string, int> ruleIndex,
        HashSet<string> usedFingerprints, int maxRelated)
    {
        var finding = result.Finding;
        var artifact = uris.LocationOf(ReportPathOf(result, uris), artifactIndex);
        var hash = Fingerprints.Compute(finding.RuleId, finding.MessageId, finding.FingerprintKey);
        var unique = hash;
        for (var n = 2; !usedFingerprints.Add($"{artifact.Uri}|{finding.RuleId}|{unique}"); n++)
        {
            unique = Fingerprints.Compute(finding.RuleId, finding.MessageId, $"{finding.FingerprintKey}#{n}");
        }

        var properties = new JsonObject();
        if (finding.Location.Rva is { } rva)
        {
            properties["rva"] = $"0x{rva:X}";
        }

        foreach (var (key, value) in finding.Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            properties[key] = value switch
            {
                int i => JsonValue.Create(i),
                long l => JsonValue.Create(l),
                uint u => JsonValue.Create(u),
                double d => JsonValue.Create(d),
                bool b => JsonValue.Create(b),
                _ => JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
            };
        }

        var related = finding.RelatedLocations.Take(maxRelated).Select((l, i) => ToLocation(l, artifact, i + 1)).ToList();
        return new SarifResult
        {
            RuleId = finding.RuleId,
            RuleIndex = ruleIndex.TryGetValue(finding.RuleId, out var ri) ? ri : null,
            Level = result.Level.ToSarif(),
            Message = new Message { Text = result.Message, Id = finding.MessageId, Arguments = [.. finding.Arguments] },
            Locations = [ToLocation(finding.Location, artifact, null)],
            RelatedLocations = related.Count > 0 ? related : null,
            PartialFingerprints = Fingerprints.For(unique),
            BaselineState = result.BaselineState,
            Properties = properties.Count > 0 ? properties : null,
        };
    }

    private static string ReportPathOf(Result result, ArtifactUris uris) => result.Path ?? uris.SourceRoot;

    private static Location ToLocation(FindingLocation where, ArtifactLocation artifact, int? id)
    {
        var region = new Region
        {
            StartLine = 1,
            ByteOffset = where.FileOffset,
            ByteLength = where.FileOffset is null ? null : where.Length ?? 0,
        };
        List<LogicalLocation>? logical = null;
        if (where.Function is { } function)
        {
            logical = [new LogicalLocation { Name = function, FullyQualifiedName = function, Kind = "function" }];
        }

        string? text = where.Description;
        if (id is not null)
        {
            var parts = new List<string>();
            if (where.Function is { } f)
            {
                parts.Add(f);
            }

            if (where.Rva is { } rva)
            {
                parts.Add($"RVA 0x{rva:X}");
            }

            if (where.Description is { } d)
            {
                parts.Add(d);
            }

            text = parts.Count > 0 ? string.Join(", ", parts) : "related location";
        }

        return new Location
        {
            Id = id,
            PhysicalLocation = new PhysicalLocation { ArtifactLocation = artifact, Region = region },
            LogicalLocations = logical,
            Message = text is null ? null : new Message { Text = text },
        };
    }

    private static Notification ToNotification(ToolNotification n, ArtifactUris uris, int? artifactIndex) => new()
    {
        Descriptor = new ReportingDescriptorReference { Id = n.Id },
        AssociatedRule = n.RuleId is null ? null : new ReportingDescriptorReference { Id = n.RuleId },
        Level = n.Level.ToSarif(),
        Message = new Message { Text = n.Message },
        Locations = n.Path is null ? null :
        [
            new Location { PhysicalLocation = new PhysicalLocation { ArtifactLocation = uris.LocationOf(n.Path, artifactIndex) } },
        ],
    };

    private static IEnumerable<ReportingDescriptor> NotificationDescriptors()
    {
        (string Id, string Name, string Text)[] all =
        [
            (ToolNotification.FileUnreadable, "FileUnreadable", "A file could not be read."),
            (ToolNotification.FileMalformed, "FileMalformed", "A file has a PE signature but headers that cannot be read."),
            (ToolNotification.RuleFailed, "RuleFailed", "A rule failed while analyzing a file; the other rules' results are kept."),
            (ToolNotification.TimeBudgetExceeded, "TimeBudgetExceeded", "Analysis of a file stopped at its time budget; its results are incomplete."),
            (ToolNotification.NotAPeFile, "NotAPeFile", "A file named on the command line is not a PE image."),
            (ToolNotification.ResultsCapped, "ResultsCapped", "Results were dropped to respect the per-run limit."),
            (ToolNotification.NothingScanned, "NothingScanned", "No PE image was found in the inputs, so nothing was checked."),
            (ToolNotification.AnalysisNote, "AnalysisNote", "A note on how a file was analyzed, e.g. a PDB found for the image but not used because it does not match or cannot be read."),
            (ToolNotification.Configuration, "ConfigurationProblem", "A configuration entry is invalid and was ignored."),
            (ToolNotification.StaleSuppression, "StaleSuppression", "A suppression matched no result in the files it names that were scanned."),
        ];
        return all.Select(n => new ReportingDescriptor
        {
            Id = n.Id,
            Name = n.Name,
            ShortDescription = new MultiformatMessageString { Text = n.Text },
            FullDescription = new MultiformatMessageString { Text = n.Text },
            Help = new MultiformatMessageString { Text = $"{n.Text} See the tool notifications section of the README.", Markdown = $"{n.Text} See [tool notifications]({RuleDescriptor.RepositoryUri}#tool-notifications)." },
            HelpUri = $"{RuleDescriptor.RepositoryUri}#tool-notifications",
        });
    }

    /// <summary>GitHub treats automationDetails.id as "category/run-id"; a trailing slash marks the category alone.</summary>
    public static string NormalizeCategory(string category) => category.EndsWith('/') ? category : category + "/";
}
