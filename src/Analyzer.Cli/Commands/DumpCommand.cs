using System.CommandLine;
using Pelint.Dump;
using Pelint.Pe;
using Pelint.Reporting;

namespace Pelint.Cli.Commands;

/// <summary>`pelint dump ...`: print decoded structures of an image (unwind data, ...).</summary>
internal static class DumpCommand
{
    public static Command Build()
    {
        var command = new Command("dump", "Print decoded structures of a PE image.")
        {
            BuildUnwind(),
        };
        return command;
    }

    private static Command BuildUnwind()
    {
        var file = new Argument<string>("file") { Description = "The PE image." };
        var format = new Option<string>("--format", "-f")
        {
            Description = "text (close to dumpbin /unwindinfo) or json.",
            DefaultValueFactory = _ => "text",
        };
        format.AcceptOnlyFromAmong("text", "json");
        var command = new Command("unwind", "Print the x64 exception directory: every RUNTIME_FUNCTION and its decoded UNWIND_INFO (like dumpbin /unwindinfo).")
        {
            file, format,
        };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            var opened = PeImage.Open(path);
            if (!opened.Success)
            {
                parse.InvocationConfiguration.Error.WriteLine($"pelint: {path}: {opened.Reason}");
                return ExitCodes.InputNotAnalyzed;
            }

            using var image = opened.Image!;
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(format) == "json")
            {
                using var buffer = new MemoryStream();
                UnwindDump.WriteJson(image, buffer);
                output.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
                output.WriteLine();
            }
            else
            {
                UnwindDump.WriteText(image, output);
            }

            return 0;
        });
        return command;
    }
}
