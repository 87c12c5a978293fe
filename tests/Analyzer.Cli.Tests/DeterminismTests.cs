using System.Text.RegularExpressions;
using Pelint.Testing;

namespace Pelint.Cli.Tests;

public sealed partial class DeterminismTests : IDisposable
{
    private readonly ScanFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Sarif_and_console_output_are_identical_apart_from_times_whatever_the_thread_count()
    {
        var native = TestPaths.RuntimePackNative;
        var outputs = new List<(string Sarif, string Console)>();
        foreach (var threads in new[] { "1", "2", "8" })
        {
            var log = _folder.PathOf($"t{threads}.sarif");
            var run = CliRun.Of("scan", native, "--threads", threads, "--source-root", native, "--fail-level", "none", "-o", log);
            Assert.Equal(0, run.ExitCode);
            outputs.Add((Times().Replace(File.ReadAllText(log), "\"$1\": \"T\""), run.Output));
        }

        Assert.Contains("\"results\"", outputs[0].Sarif, StringComparison.Ordinal);
        Assert.All(outputs, o => Assert.Equal(outputs[0].Sarif, o.Sarif));
        Assert.All(outputs, o => Assert.Equal(outputs[0].Console, o.Console));
    }

    [GeneratedRegex("\"(startTimeUtc|endTimeUtc)\": \"[^\"]*\"")]
    private static partial Regex Times();
}
