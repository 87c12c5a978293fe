using System.CommandLine;
using Pelint.Cli.Commands;
using Pelint.Reporting;

namespace Pelint.Cli;

/// <summary>The `pelint` command line. The only place that knows about System.CommandLine.</summary>
public static class PelintCli
{
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "pelint: a static analyzer for Windows PE images (.exe, .dll, .sys, ...). Checks ASLR and hardening flags, " +
            "x64 unwind data, epilogs and hot-patchability; writes SARIF 2.1.0 for CI gates and GitHub code scanning.\n\n" +
            ExitCodes.HelpText)
        {
            ScanCommand.Build(),
            DumpCommand.Build(),
            RulesCommand.Build(),
            ExplainCommand.Build(),
            MergeCommand.Build(),
        };
        return root;
    }

    /// <summary>Parses and runs a command line; usage errors exit with 2, not System.CommandLine's 1.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = BuildRoot();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                error.WriteLine($"pelint: {e.Message}");
            }

            error.WriteLine("Run 'pelint --help' for usage.");
            return ExitCodes.UsageError;
        }

        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error });
    }
}
