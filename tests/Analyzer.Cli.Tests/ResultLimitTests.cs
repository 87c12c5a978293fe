using Pelint.Engine;
using Pelint.Rules;
using Pelint.Sarif;
using Pelint.Testing;

namespace Pelint.Cli.Tests;

public sealed class ResultLimitTests : IDisposable
{
    private readonly ScanFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Max_results_caps_the_run_and_says_so_in_a_notification()
    {
        var log = _folder.PathOf("capped.sarif");

        CliRun.Of("scan", TestPaths.RuntimePackNative, "--fail-level", "none", "--max-results", "1", "-o", log);

        var run = SarifFile.Read(log).Runs[0];
        Assert.Single(run.Results);
        Assert.Contains(run.Invocations![0].ToolExecutionNotifications!, n => n.Descriptor?.Id == ToolNotification.ResultsCapped);
    }
}
