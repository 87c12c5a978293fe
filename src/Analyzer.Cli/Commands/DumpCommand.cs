using System.CommandLine;
using Pelint.Pe;
using Pelint.Reporting;

namespace Pelint.Cli.Commands;

/// <summary>`pelint dump ...`: print decoded structures of an image.</summary>
internal static class DumpCommand
{
    public static Command Build()
    {
        var file = new Argument<string>("file") { Description = "The PE image to dump." };
        var format = new Option<string>("--format", "-f") { Description = "text (like dumpbin /unwindinfo) or json.", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var unwind = new Command("unwind", "Print the exception data: x64 RUNTIME_FUNCTIONs with their UNWIND_INFO (codes, v2 epilogs, chains, low-bit indirect entries), handler and C scope table; ARM64 .pdata entries with their packed data or .xdata (epilog scopes, unwind codes, handler) and, for ARM64EC/ARM64X, the code map and both tables.")
        {
            file, format,
        };
        unwind.SetAction(parse =>
        {
            var path = parse.GetValue(file)!;
            var opened = PeImage.Open(path);
            if (opened.Image is not { } image)
            {
                parse.InvocationConfiguration.Error.WriteLine($"pelint: {path}: {opened.Reason}");
                return ExitCodes.InputNotAnalyzed;
            }

            using (image)
            {
                if (parse.GetValue(format) == "json")
                {
                    var output = parse.InvocationConfiguration.Output;
                    output.Write(UnwindDump.ToJsonString(image));
                    output.WriteLine();
                }
                else
                {
                    UnwindDump.WriteText(image, parse.InvocationConfiguration.Output);
                }
            }

            return ExitCodes.Success;
        });
        return new Command("dump", "Print decoded structures of a PE image.") { unwind };
    }
}
