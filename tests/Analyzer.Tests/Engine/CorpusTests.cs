using Pelint.Engine;
using Pelint.Rules;
using Pelint.Sarif;
using Pelint.Testing;

namespace Pelint.Tests.Engine;

/// <summary>Every hand-made odd PE of the corkami corpus is scanned without an exception, a rule failure or a hang.</summary>
public sealed class CorpusTests
{
    public static TheoryData<string> CorkamiFiles()
    {
        var data = new TheoryData<string>();
        if (Directory.Exists(TestPaths.CorkamiCorpus))
        {
            foreach (var file in Directory.GetFiles(TestPaths.CorkamiCorpus).Order(StringComparer.Ordinal))
            {
                data.Add(Path.GetFileName(file));
            }
        }

        return data;
    }

    [Fact]
    public void Corkami_corpus_is_present_beside_the_repository()
    {
        Assert.True(Directory.Exists(TestPaths.CorkamiCorpus), TestPaths.CorkamiCorpus);
        Assert.True(Directory.GetFiles(TestPaths.CorkamiCorpus).Length >= 200);
    }

    [Theory]
    [MemberData(nameof(CorkamiFiles))]
    public async Task Corkami_file_is_analyzed_or_reported_without_any_rule_failing(string name)
    {
        var path = Path.Combine(TestPaths.CorkamiCorpus, name);

        // A hang fails the test (TimeoutException) instead of stalling the run. On a thread of its own:
        // queued to a thread pool that other tests keep busy, the analysis could wait out the watchdog.
        var analysis = Task.Factory.StartNew(() => RuleHarness.Analyze(path), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var report = await analysis.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.DoesNotContain(report.Notifications, n => n.Id == ToolNotification.RuleFailed);
        if (report.Status == FileStatus.Failed)
        {
            Assert.Contains(report.Notifications, n => n.Message.Contains(name, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Whole_corpus_scan_builds_a_sarif_log_with_one_artifact_per_analyzed_file()
    {
        var inputs = InputEnumerator.Enumerate([TestPaths.CorkamiCorpus]);
        var reports = new Scanner(RuleHarness.Engine).Scan(inputs.Inputs, new ScanOptions());

        var log = SarifBuilder.Build(RuleHarness.Engine.Catalog, reports, new SarifRunOptions { SourceRoot = TestPaths.CorkamiCorpus });

        var run = Assert.Single(log.Runs);
        Assert.Equal(reports.Count(r => r.Status == FileStatus.Analyzed), run.Artifacts!.Count);
        Assert.All(run.Results, r => Assert.False(string.IsNullOrEmpty(r.Message.Text)));
    }
}
