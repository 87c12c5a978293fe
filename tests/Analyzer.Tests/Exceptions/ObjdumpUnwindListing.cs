using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Pelint.Tests.Exceptions;

/// <summary>One function as GNU objdump -p prints it (.pdata row plus its .xdata block), in RVAs.</summary>
internal sealed record ObjdumpFunction(uint Begin, uint End, uint UnwindData)
{
    public bool SharedWithPrevious { get; set; }

    public uint? SharesWithUnwindData { get; set; }

    public int? Version { get; set; }

    public string? Flags { get; set; }

    public int? CodeCount { get; set; }

    public int? PrologSize { get; set; }

    public int? FrameOffsetNibble { get; set; }

    public string? FrameRegister { get; set; }

    public int? EpilogSize { get; set; }

    public List<uint> EpilogOffsets { get; } = [];

    public List<string> Codes { get; } = [];

    public uint? Handler { get; set; }

    public (uint Begin, uint End, uint UnwindData)? Chain { get; set; }
}

/// <summary>
/// An independent parser of `objdump -p` output for x64 images (binutils pei-x86-64): the
/// function table, then one .xdata block per function in the same order. Written from the
/// format objdump prints, with no pelint code involved.
/// </summary>
internal static partial class ObjdumpUnwindListing
{
    public static IReadOnlyList<ObjdumpFunction> Run(string path)
    {
        var start = new ProcessStartInfo("objdump", ["-p", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("GNU objdump is required for the oracle tests (Debian package binutils; .ci/run installs it)", e);
        }

        using (process)
        {
            var text = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.Equal(0, process.ExitCode);
            return Parse(text);
        }
    }

    public static IReadOnlyList<ObjdumpFunction> Parse(string text)
    {
        var lines = text.Split('\n');
        var imageBase = ulong.Parse(ImageBaseLine().Match(text).Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        uint Rva(string hex) => (uint)(ulong.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture) - imageBase);
        uint Raw(string hex) => (uint)ulong.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

        var functions = new List<ObjdumpFunction>();
        var i = Array.FindIndex(lines, l => l.StartsWith("The Function Table", StringComparison.Ordinal));
        Assert.True(i >= 0, "objdump printed no function table");
        for (i += 2; i < lines.Length; i++)
        {
            var m = TableRow().Match(lines[i]);
            if (!m.Success)
            {
                break;
            }

            functions.Add(new ObjdumpFunction(Rva(m.Groups[1].Value), Rva(m.Groups[2].Value), Rva(m.Groups[3].Value)));
        }

        var k = -1;
        ObjdumpFunction? current = null;
        for (; i < lines.Length; i++)
        {
            var line = lines[i];
            if (AlsoUsed().IsMatch(line))
            {
                current = functions[++k];
                current.SharedWithPrevious = true;
                continue;
            }

            if (BlockHeader().Match(line) is { Success: true } header)
            {
                current = functions[++k];
                Assert.Equal(current.Begin, Rva(header.Groups[1].Value));
                continue;
            }

            if (current is null)
            {
                continue;
            }

            if (Shares().Match(line) is { Success: true } shares)
            {
                current.SharesWithUnwindData = Raw(shares.Groups[1].Value);
            }
            else if (VersionLine().Match(line) is { Success: true } v)
            {
                current.Version = int.Parse(v.Groups[1].Value, CultureInfo.InvariantCulture);
                current.Flags = v.Groups[2].Value.Trim();
            }
            else if (CountsLine().Match(line) is { Success: true } c)
            {
                current.CodeCount = int.Parse(c.Groups[1].Value, CultureInfo.InvariantCulture);
                current.PrologSize = int.Parse(c.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                current.FrameOffsetNibble = int.Parse(c.Groups[3].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                current.FrameRegister = c.Groups[4].Value.Trim();
            }
            else if (EpilogLine().Match(line) is { Success: true } e)
            {
                current.EpilogSize = int.Parse(e.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                foreach (Match offset in HexNumber().Matches(e.Groups[2].Value))
                {
                    current.EpilogOffsets.Add(uint.Parse(offset.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }
            else if (CodeLine().Match(line) is { Success: true } code)
            {
                current.Codes.Add($"{int.Parse(code.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture):x2} {code.Groups[2].Value.Trim()}");
            }
            else if (HandlerLine().Match(line) is { Success: true } h)
            {
                current.Handler = Rva(h.Groups[1].Value);
            }
            else if (ChainLine().Match(line) is { Success: true } chain)
            {
                var unwind = ChainUnwindLine().Match(lines[++i]);
                Assert.True(unwind.Success, lines[i]);
                current.Chain = (Raw(chain.Groups[1].Value), Raw(chain.Groups[2].Value), Raw(unwind.Groups[1].Value));
            }
        }

        return functions;
    }

    [GeneratedRegex(@"^ImageBase\s+([0-9a-fA-F]+)", RegexOptions.Multiline)]
    private static partial Regex ImageBaseLine();

    [GeneratedRegex(@"^ [0-9a-f]{16}:\t([0-9a-f]{16}) ([0-9a-f]{16}) ([0-9a-f]{16})$")]
    private static partial Regex TableRow();

    [GeneratedRegex(@"^ [0-9a-f]{16} also used for function at ([0-9a-f]{16})$")]
    private static partial Regex AlsoUsed();

    [GeneratedRegex(@"^ [0-9a-f]{16} \(rva: [0-9a-f]{8}\): ([0-9a-f]{16}) - ([0-9a-f]{16})$")]
    private static partial Regex BlockHeader();

    [GeneratedRegex(@"^\t shares information with pdata element at 0x([0-9a-f]+)\.$")]
    private static partial Regex Shares();

    [GeneratedRegex(@"^\tVersion: (\d+), Flags: (.*)$")]
    private static partial Regex VersionLine();

    [GeneratedRegex(@"^\tNbr codes: (\d+), Prologue size: 0x([0-9a-f]+), Frame offset: 0x([0-9a-f]+), Frame reg: (\w+)$")]
    private static partial Regex CountsLine();

    [GeneratedRegex(@"^\tv2 epilog \(length: ([0-9a-f]+)\) at pc\+:(.*)$")]
    private static partial Regex EpilogLine();

    [GeneratedRegex(@"0x([0-9a-f]+)")]
    private static partial Regex HexNumber();

    [GeneratedRegex(@"^\t  pc\+0x([0-9a-f]+): (.*)$")]
    private static partial Regex CodeLine();

    [GeneratedRegex(@"^\tHandler: ([0-9a-f]{16})\.$")]
    private static partial Regex HandlerLine();

    [GeneratedRegex(@"^\tChain: start: ([0-9a-f]{16}), end: ([0-9a-f]{16})$")]
    private static partial Regex ChainLine();

    [GeneratedRegex(@"^\t unwind data: ([0-9a-f]{16})\.$")]
    private static partial Regex ChainUnwindLine();
}
