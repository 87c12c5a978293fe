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

    private static Stack<string> CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new Stack<string>();
        for (var r = result; r is not null && r.Parent is System.CommandLine.Parsing.CommandResult; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Push(r.Command.Name);
        }

        return names;
    }

    /// <summary>Parses and runs a command line; usage errors exit with 2, not System.CommandLine's 1.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancellation = default)
    {
        var root = BuildRoot();
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line: the first problem and where to read more.
            var command = parse.CommandResult.Command;
            var name = command == root ? "pelint" : $"pelint {string.Join(' ', CommandPath(parse.CommandResult))}";
            error.WriteLine($"pelint: {ConsoleText.Escape(parse.Errors[0].Message)} (see '{name} --help')");
            return ExitCodes.UsageError;
        }

        // Signals are handled by the caller (Program), which cancels the token; System.CommandLine's own handler is off.
        return parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null }, cancellation)
            .GetAwaiter().GetResult();
    }
}
