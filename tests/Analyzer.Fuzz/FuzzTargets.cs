using System.Text;
using Pelint.Configuration;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Reporting;
using Pelint.Rules;
using Pelint.Sarif;

namespace Pelint.Fuzz;

/// <summary>
/// What one fuzz input goes through. A target returns normally for any input, however hostile;
/// an exception that escapes (or a rule failure, which the engine would otherwise turn into a
/// PEL0003 notification) is a finding, and afl-fuzz records the input as a crash. A hang is one
/// too: afl-fuzz's -t limit catches it.
/// </summary>
public static class FuzzTargets
{
    private static readonly RuleEngine Engine = RuleEngine.CreateDefault();

    /// <summary>The readers, every rule (those off by default too) and both unwind dumps over one image.</summary>
    public static void Image(byte[] bytes)
    {
        var opened = PeImage.Load(bytes, "fuzz.dll");
        if (opened.Image is not { } image)
        {
            if (string.IsNullOrWhiteSpace(opened.Reason))
            {
                throw new InvalidOperationException("an image failed to open without a reason");
            }

            return;
        }

        using (image)
        {
            var report = Engine.Analyze(image, EveryRule.Instance);
            if (report.Notifications.FirstOrDefault(n => n.Id == ToolNotification.RuleFailed) is { } failed)
            {
                throw new InvalidOperationException(failed.Message);
            }

            foreach (var result in report.Results)
            {
                _ = result.Message; // message formatting runs on the rule's arguments
            }

            UnwindDump.WriteText(image, TextWriter.Null);
            UnwindDump.WriteJson(image, Stream.Null);
        }
    }

    /// <summary>
    /// Configuration inputs: a first byte that is even sends the rest to the .editorconfig parser
    /// and glob matcher, odd to the streaming SARIF reader as a baseline and as a merge input.
    /// </summary>
    public static void Configuration(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return;
        }

        var body = bytes.AsSpan(1).ToArray();
        if ((bytes[0] & 1) == 0)
        {
            var file = EditorConfigFile.Parse("/fuzz/.editorconfig", Encoding.UTF8.GetString(body));
            foreach (var path in SamplePaths)
            {
                foreach (var entry in file.EntriesFor(path, preambleApplies: true))
                {
                    _ = Severity.TryParse(entry.Value, out _);
                }
            }

            return;
        }

        var current = SarifBuilder.Build(Engine.Catalog, [], new SarifRunOptions { SourceRoot = "/fuzz" });
        _ = Baseline.Apply(current, () => new MemoryStream(body, writable: false), maxAbsent: 100);
        var merged = TolerantSarifReader.Read(new MemoryStream(body, writable: false), maxResults: 100);
        if (merged.Log.Runs.Count > 0)
        {
            _ = ResultCap.Apply(SarifMerge.Merge([merged.Log]), 100, merged.DroppedResults);
        }
    }

    private static readonly string[] SamplePaths =
    [
        "/fuzz/a.dll",
        "/fuzz/bin/x64/release/coreclr.dll",
        "/fuzz/" + new string('a', 200) + ".dll",
        "/fuzz/{weird},[name]!.exe",
    ];

    /// <summary>Every rule on, at its page's level: the fuzzer must reach rules that are off by default too.</summary>
    private sealed class EveryRule : ISeverityPolicy
    {
        public static readonly EveryRule Instance = new();

        public Level? LevelFor(RuleDescriptor rule, string path) => rule.DefaultLevel;
    }
}
