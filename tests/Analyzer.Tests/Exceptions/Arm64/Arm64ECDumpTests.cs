using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pelint.Pe;
using Pelint.Reporting;
using Pelint.Testing;
using Pelint.Testing.Oracles;

namespace Pelint.Tests.Exceptions.Arm64;

/// <summary>
/// The ARM64EC vcruntime140_1.dll of @microsoft/sarif-multitool-linux 5.7.0 (arm64/ folder; x64
/// header, CHPE metadata) is dumped with both function tables: its ARM64 entries (the CHPE extra
/// table) and its x64 entries (the exception directory), and the code map. Expected values come
/// from llvm-readobj-22 --coff-load-config (code map, ExtraRFETable and its size) and from the
/// data directory read here.
/// </summary>
public sealed partial class Arm64ECDumpTests
{
    [SkippableFact]
    public void The_arm64ec_vcruntime_is_dumped_with_both_tables_and_the_code_map()
    {
        var path = Arm64Images.SarifMultitoolVcruntime();
        if (path is null && Environment.GetEnvironmentVariable(WineOracle.RequireVariable) == "1")
        {
            Assert.Fail("@microsoft/sarif-multitool 5.7.0 is not installed (PELINT_SARIF_MULTITOOL_DIR; .ci/run installs it)");
        }

        Skip.If(path is null, "@microsoft/sarif-multitool 5.7.0 is not installed (set PELINT_SARIF_MULTITOOL_DIR to the folder of its node_modules)");
        Skip.IfNot(LlvmArm64Unwind.IsAvailable(), $"{LlvmArm64Unwind.Tool} is not installed");
        var loadConfig = Run("--coff-load-config", path!);
        var ranges = CodeMapLine().Matches(loadConfig).Select(m => (Start: Hex(m.Groups[1].Value), End: Hex(m.Groups[2].Value), Kind: m.Groups[3].Value)).ToList();
        var extraSize = Hex(ExtraSize().Match(loadConfig).Groups[1].Value);
        var patch = ImagePatch.FromFile(path!);
        var (_, directorySize) = patch.GetDirectory(3);

        using var image = PeImage.Open(path!).Image!;
        Assert.Equal(System.Reflection.PortableExecutable.Machine.Amd64, image.Machine);
        using var json = JsonDocument.Parse(UnwindDump.ToJsonString(image));
        var root = json.RootElement;
        Assert.Equal("ARM64EC", root.GetProperty("arm64Flavor").GetString());
        Assert.Equal("CHPE extra table", root.GetProperty("arm64Table").GetProperty("source").GetString());
        Assert.Equal((int)(extraSize / 8), root.GetProperty("arm64Functions").GetArrayLength());
        Assert.Equal((int)(directorySize / 12), root.GetProperty("functions").GetArrayLength());
        Assert.Equal(
            ranges.Select(r => $"{r.Start:X}-{r.End:X} {r.Kind}"),
            root.GetProperty("codeMap").EnumerateArray().Select(r => $"{r.GetProperty("start").GetUInt32():X}-{r.GetProperty("end").GetUInt32():X} {r.GetProperty("kind").GetString()}"));

        // Every x64 entry decodes as x64 unwind info, every ARM64 entry as ARM64 data.
        Assert.All(root.GetProperty("functions").EnumerateArray(), f => Assert.Equal(JsonValueKind.Object, f.GetProperty("unwindInfo").ValueKind));
        Assert.All(root.GetProperty("arm64Functions").EnumerateArray(), f => Assert.Empty(f.GetProperty("problems").EnumerateArray()));

        var text = new StringWriter();
        UnwindDump.WriteText(image, text);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"ARM64 function table (CHPE extra table): {extraSize / 8} entries"), text.ToString(), StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"Machine: x64, {directorySize / 12} function table entries"), text.ToString(), StringComparison.Ordinal);
    }

    private static uint Hex(string s) => uint.Parse(s.StartsWith("0x", StringComparison.Ordinal) ? s[2..] : s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static string Run(string option, string path)
    {
        var psi = new ProcessStartInfo(LlvmArm64Unwind.Tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(option);
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return text;
    }

    [GeneratedRegex(@"^\s+0x([0-9A-F]+) - 0x([0-9A-F]+)\s+(ARM64EC|ARM64|X64)\s*$", RegexOptions.Multiline)]
    private static partial Regex CodeMapLine();

    [GeneratedRegex(@"ExtraRFETableSize: (0x[0-9A-F]+)")]
    private static partial Regex ExtraSize();
}
