namespace Pelint.Cli.Tests;

/// <summary>Runs the real command line in-process and captures its output.</summary>
internal static class CliRunner
{
    public static (int ExitCode, string Output, string Error) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = PelintCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
