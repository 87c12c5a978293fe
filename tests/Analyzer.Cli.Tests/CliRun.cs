using Pelint.Testing;

namespace Pelint.Cli.Tests;

/// <summary>Runs the real command line in-process and captures what it prints.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    public static CliRun Of(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = PelintCli.Run(args, output, error);
        return new CliRun(exit, output.ToString(), error.ToString());
    }
}

/// <summary>A temporary folder of real runtime DLLs to scan, removed afterwards.</summary>
internal sealed class ScanFolder : IDisposable
{
    public ScanFolder()
    {
        Root = Directory.CreateTempSubdirectory("pelint-cli-").FullName;
    }

    public string Root { get; }

    public string Copy(string runtimeDll, string relative)
    {
        var target = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(TestPaths.RuntimeDll(runtimeDll), target, overwrite: true);
        return target;
    }

    public string PathOf(string relative) => Path.Combine(Root, relative);

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
