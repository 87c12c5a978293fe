using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Pelint.Sarif;

// A typed subset of SARIF 2.1.0: what pelint writes and reads back (baselines, merge).
// Property names follow the spec; null members are omitted on output.

public sealed record SarifLog
{
    [JsonPropertyName("$schema")]
    public string Schema { get; init; } = "https://json.schemastore.org/sarif-2.1.0.json";

    public string Version { get; init; } = "2.1.0";

    public List<Run> Runs { get; init; } = [];
}

public sealed record Run
{
    public required Tool Tool { get; init; }

    public RunAutomationDetails? AutomationDetails { get; init; }

    public Dictionary<string, ArtifactLocation>? OriginalUriBaseIds { get; init; }

    public List<Artifact>? Artifacts { get; init; }

    public List<Invocation>? Invocations { get; init; }

    public List<SarifResult> Results { get; init; } = [];

    public string? ColumnKind { get; init; }

    public JsonObject? Properties { get; init; }
}

public sealed record Tool
{
    public required ToolComponent Driver { get; init; }
}

public sealed record ToolComponent
{
    public required string Name { get; init; }

    public string? FullName { get; init; }

    public string? Version { get; init; }

    public string? SemanticVersion { get; init; }

    public string? InformationUri { get; init; }

    public List<ReportingDescriptor>? Rules { get; init; }

    public List<ReportingDescriptor>? Notifications { get; init; }
}

public sealed record ReportingDescriptor
{
    public required string Id { get; init; }

    public string? Name { get; init; }

    public MultiformatMessageString? ShortDescription { get; init; }

    public MultiformatMessageString? FullDescription { get; init; }

    public Dictionary<string, MultiformatMessageString>? MessageStrings { get; init; }

    public MultiformatMessageString? Help { get; init; }

    public string? HelpUri { get; init; }

    public ReportingConfiguration? DefaultConfiguration { get; init; }

    public JsonObject? Properties { get; init; }
}

public sealed record ReportingConfiguration
{
    public bool? Enabled { get; init; }

    public string? Level { get; init; }
}

public sealed record MultiformatMessageString
{
    public required string Text { get; init; }

    public string? Markdown { get; init; }
}

public sealed record Message
{
    public string? Text { get; init; }

    public string? Id { get; init; }

    public List<string>? Arguments { get; init; }
}

public sealed record RunAutomationDetails
{
    public string? Id { get; init; }
}

public sealed record Artifact
{
    public ArtifactLocation? Location { get; init; }

    public long? Length { get; init; }

    public List<string>? Roles { get; init; }
}

public sealed record ArtifactLocation
{
    public string? Uri { get; init; }

    public string? UriBaseId { get; init; }

    public int? Index { get; init; }

    public Message? Description { get; init; }
}

public sealed record Invocation
{
    public bool ExecutionSuccessful { get; init; }

    public string? StartTimeUtc { get; init; }

    public string? EndTimeUtc { get; init; }

    public int? ExitCode { get; init; }

    public List<Notification>? ToolExecutionNotifications { get; init; }

    public List<Notification>? ToolConfigurationNotifications { get; init; }
}

public sealed record Notification
{
    public ReportingDescriptorReference? Descriptor { get; init; }

    public ReportingDescriptorReference? AssociatedRule { get; init; }

    public string? Level { get; init; }

    public required Message Message { get; init; }

    public List<Location>? Locations { get; init; }
}

public sealed record ReportingDescriptorReference
{
    public string? Id { get; init; }

    public int? Index { get; init; }
}

public sealed record SarifResult
{
    public required string RuleId { get; init; }

    public int? RuleIndex { get; init; }

    public string? Level { get; init; }

    public required Message Message { get; init; }

    public List<Location>? Locations { get; init; }

    public List<Location>? RelatedLocations { get; init; }

    public Dictionary<string, string>? PartialFingerprints { get; init; }

    public string? BaselineState { get; init; }

    public JsonObject? Properties { get; init; }
}

public sealed record Location
{
    public int? Id { get; init; }

    public PhysicalLocation? PhysicalLocation { get; init; }

    public List<LogicalLocation>? LogicalLocations { get; init; }

    public Message? Message { get; init; }
}

public sealed record PhysicalLocation
{
    public ArtifactLocation? ArtifactLocation { get; init; }

    public Region? Region { get; init; }
}

public sealed record Region
{
    public int? StartLine { get; init; }

    public long? ByteOffset { get; init; }

    public long? ByteLength { get; init; }
}

public sealed record LogicalLocation
{
    public string? Name { get; init; }

    public string? FullyQualifiedName { get; init; }

    public string? Kind { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true,
    AllowTrailingCommas = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    RespectNullableAnnotations = true,
    MaxDepth = 256)]
[JsonSerializable(typeof(SarifLog))]
[JsonSerializable(typeof(SarifResult))]
[JsonSerializable(typeof(Run))]
[JsonSerializable(typeof(string))]
public sealed partial class SarifJsonContext : JsonSerializerContext;
