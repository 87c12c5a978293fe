using System.Text.Json;
using Pelint.Sarif;

namespace Pelint.Reporting;

/// <summary>
/// `--format json`: a flat document for scripts that do not want to walk SARIF: one object per
/// result (file, rule, level, message, function, RVA, baseline state, fingerprint, and for a
/// suppressed result <c>suppressed</c> and its justification) and the notifications.
/// </summary>
public static class JsonReport
{
    public static void Write(TextWriter writer, SarifLog log)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            var run = log.Runs[0];
            json.WriteStartObject();
            json.WriteStartArray("results");
            foreach (var result in run.Results)
            {
                var location = result.Locations?.FirstOrDefault();
                json.WriteStartObject();
                json.WriteString("file", location?.PhysicalLocation?.ArtifactLocation?.Uri);
                json.WriteString("ruleId", result.RuleId);
                json.WriteString("level", result.Level ?? "warning");
                json.WriteString("message", result.Message.Text);
                WriteIfPresent(json, "function", location?.LogicalLocations?.FirstOrDefault()?.Name);
                WriteIfPresent(json, "rva", result.Properties?["rva"]?.GetValue<string>());
                WriteIfPresent(json, "baselineState", result.BaselineState);
                WriteIfPresent(json, "fingerprint", result.PartialFingerprints?.GetValueOrDefault(Fingerprints.PelintKey));
                if (result.IsSuppressed)
                {
                    json.WriteBoolean("suppressed", true);
                    WriteIfPresent(json, "justification", result.Suppressions![0].Justification);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("notifications");
            foreach (var invocation in run.Invocations ?? [])
            {
                foreach (var n in (invocation.ToolConfigurationNotifications ?? []).Concat(invocation.ToolExecutionNotifications ?? []))
                {
                    json.WriteStartObject();
                    json.WriteString("id", n.Descriptor?.Id);
                    json.WriteString("level", n.Level ?? "warning");
                    json.WriteString("message", n.Message.Text);
                    json.WriteEndObject();
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        writer.Write(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        writer.WriteLine();
    }

    private static void WriteIfPresent(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}
