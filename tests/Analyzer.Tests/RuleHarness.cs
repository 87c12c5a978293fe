using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;

namespace Pelint.Tests;

/// <summary>Runs the real engine (all rules, default levels) on in-memory or on-disk images.</summary>
internal static class RuleHarness
{
    public static readonly RuleEngine Engine = RuleEngine.CreateDefault();

    public static FileReport Analyze(byte[] bytes, string name = "test.dll")
    {
        var opened = PeImage.Load(bytes, name);
        Assert.True(opened.Success, opened.Reason);
        using var image = opened.Image!;
        return Engine.Analyze(image, DefaultSeverityPolicy.Instance);
    }

    public static FileReport Analyze(string path) =>
        new Scanner(Engine).ScanOne(new ScanInput(path, Explicit: true), new ScanOptions());

    public static IReadOnlyList<string> RuleIds(this FileReport report) =>
        [.. report.Results.Select(r => r.Rule.Id).Order(StringComparer.Ordinal)];
}
