namespace Pelint.Cli.Tests;

public sealed class RulesCommandTests : IDisposable
{
    private readonly ScanFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Rules_with_a_path_show_the_levels_editorconfig_gives_that_file()
    {
        File.WriteAllText(_folder.PathOf(".editorconfig"), """
            root = true
            [legacy/*.dll]
            dotnet_diagnostic.PE1001.severity = none
            dotnet_diagnostic.nx-compat.severity = suggestion
            dotnet_diagnostic.PE1002.severity = silent
            dotnet_diagnostic.PE1003.severity = loud
            """);

        var run = CliRun.Of("rules", "--path", _folder.PathOf("legacy/old.dll"));

        Assert.Equal(0, run.ExitCode);
        var lines = run.Output.Split('\n');
        Assert.Matches(@"^PE1001\s+dynamic-base\s+off\s", lines.Single(l => l.StartsWith("PE1001", StringComparison.Ordinal)));
        Assert.Matches(@"^PE1005\s+nx-compat\s+note\s", lines.Single(l => l.StartsWith("PE1005", StringComparison.Ordinal)));
        Assert.Matches(@"^PE1002\s+\S+\s+silent\s", lines.Single(l => l.StartsWith("PE1002", StringComparison.Ordinal)));
        Assert.Contains("PEL0100", run.Error, StringComparison.Ordinal);
        Assert.Contains("'loud'", run.Error, StringComparison.Ordinal);
    }
}
