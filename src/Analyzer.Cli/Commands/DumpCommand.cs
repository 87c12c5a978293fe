using System.CommandLine;

namespace Pelint.Cli.Commands;

/// <summary>`pelint dump ...`: print decoded structures of an image (unwind data, ...).</summary>
internal static class DumpCommand
{
    public static Command Build()
    {
        var command = new Command("dump", "Print decoded structures of a PE image.");
        return command;
    }
}
