using System.CommandLine;
using Pelint.Pe;
using Pelint.Pe.IO;
using Pelint.Reporting;

namespace Pelint.Cli.Commands;

/// <summary>`pelint dump ...`: print decoded structures of an image.</summary>
internal static class DumpCommand
{
    public static Command Build()
    {
        var file = new Argument<string>("file") { Description = "The PE image to dump." };
        var format = new Option<string>("--format", "-f") { Description = "text (like dumpbin /unwindinfo) or json (one object, streamed).", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var unwind = new Command("unwind", "Print the exception data: x64 RUNTIME_FUNCTIONs with their UNWIND_INFO (codes, v2 epilogs, chains, low-bit indirect entries), handler and C scope table; ARM64 .pdata entries with their packed data or .xdata (epilog scopes, unwind codes, handler) and, for ARM64EC/ARM64X, the code map and both tables.")
        {
            file, format,
        };
        unwind.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            var error = parse.InvocationConfiguration.Error;
            if (HostFiles.KindOf(path) == FileKind.Directory)
            {
                error.WriteLine($"pelint: {ConsoleText.Escape(path)} is a folder; 'dump unwind' takes one PE image (e.g. {ConsoleText.Escape(Path.Combine(path, "a.dll"))})");
                return ExitCodes.UsageError;
            }

            var opened = PeImage.Open(path);
            if (opened.Image is not { } image)
            {
                error.WriteLine($"pelint: {ConsoleText.Escape(path)}: {ConsoleText.Escape(opened.Reason)}");
                return ExitCodes.InputNotAnalyzed;
            }

            using (image)
            {
                var output = parse.InvocationConfiguration.Output;
                if (parse.GetValue(format) == "json")
                {
                    using (var stream = new TextWriterStream(output))
                    {
                        UnwindDump.WriteJson(image, stream);
                    }

                    output.WriteLine();
                }
                else
                {
                    // Export and handler names come from the file: escaped, like every console line.
                    using var escaped = new EscapingWriter(output);
                    UnwindDump.WriteText(image, escaped);
                }
            }

            return ExitCodes.Success;
        });
        return new Command("dump", "Print decoded structures of a PE image.") { unwind };
    }
}
