namespace Pelint.Sarif;

/// <summary>
/// Makes what was read from someone else's SARIF safe to use: the deserializer rejects a null
/// where the model wants a value, but not a null entry in a list, so those are dropped here;
/// a result without a rule or a message is unusable and dropped whole.
/// </summary>
public static class SarifSanitizer
{
    public static SarifResult? Clean(SarifResult? result)
    {
        if (result is null || string.IsNullOrEmpty(result.RuleId) || result.Message is null)
        {
            return null;
        }

        return result with
        {
            Locations = Clean(result.Locations),
            RelatedLocations = Clean(result.RelatedLocations),
            PartialFingerprints = result.PartialFingerprints?.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
        };
    }

    public static Run Clean(Run run) => run with
    {
        Tool = run.Tool with
        {
            Driver = run.Tool.Driver with
            {
                Rules = run.Tool.Driver.Rules?.Where(r => r is not null && r.Id is not null).ToList(),
                Notifications = run.Tool.Driver.Notifications?.Where(r => r is not null && r.Id is not null).ToList(),
            },
        },
        Artifacts = run.Artifacts?.Where(a => a is not null).ToList(),
        Invocations = run.Invocations?.Where(i => i is not null).Select(i => i with
        {
            ToolExecutionNotifications = Clean(i.ToolExecutionNotifications),
            ToolConfigurationNotifications = Clean(i.ToolConfigurationNotifications),
        }).ToList(),
        Results = [.. run.Results.Select(Clean).OfType<SarifResult>()],
    };

    private static List<Notification>? Clean(List<Notification>? notifications) =>
        notifications?.Where(n => n is not null && n.Message is not null).Select(n => n with { Locations = Clean(n.Locations) }).ToList();

    private static List<Location>? Clean(List<Location>? locations) =>
        locations?.Where(l => l is not null).Select(l => l with { LogicalLocations = l.LogicalLocations?.Where(x => x is not null).ToList() }).ToList();
}
