using System.Diagnostics;
using System.Globalization;
using Pelint.Pe;
using Pelint.Testing;
using Pelint.Testing.Oracles;

namespace Pelint.Tests.LoadConfig;

/// <summary>
/// The safe exception handler table pelint reads (SEHandlerTable, SEHandlerCount, every handler)
/// is the one `llvm-readobj-22 --coff-load-config` prints (its `SEHTable [ VA... ]` list), and
/// NO_SEH is the flag `--file-headers` names, on every image of the x86 runtime pack.
/// </summary>
public sealed class SafeSehTableOracleTests
{
    private const string Tool = "llvm-readobj-22";

    public static TheoryData<string> X86PackImages() => SafeSehRulesTestsImages();

    [SkippableTheory]
    [MemberData(nameof(X86PackImages))]
    public void The_handler_table_is_the_one_llvm_readobj_prints(string name)
    {
        var path = TestPaths.X86RuntimeDll(name);
        var text = ReadObj(path);
        if (text is null)
        {
            Assert.False(WineOracle.Required, $"{Tool} is not installed ({WineOracle.RequireVariable}=1)");
            Skip.If(true, $"{Tool} is not installed");
        }

        var lines = text!.Split('\n').Select(l => l.Trim()).ToList();
        using var image = PeImage.Open(path).Image!;
        var table = image.SafeSeh;

        Assert.Equal(lines.Contains("IMAGE_DLL_CHARACTERISTICS_NO_SEH (0x400)"), (image.DllCharacteristics & System.Reflection.PortableExecutable.DllCharacteristics.NoSeh) != 0);
        var tableLine = lines.FirstOrDefault(l => l.StartsWith("SEHandlerTable: ", StringComparison.Ordinal));
        if (tableLine is null)
        {
            Assert.False(table.HasFields);
            Assert.Empty(table.Handlers);
            return;
        }

        Assert.True(table.HasFields);
        Assert.Equal(Hex(tableLine["SEHandlerTable: ".Length..]), table.TableVa);
        var countLine = lines.First(l => l.StartsWith("SEHandlerCount: ", StringComparison.Ordinal));
        Assert.Equal(ulong.Parse(countLine["SEHandlerCount: ".Length..], CultureInfo.InvariantCulture), table.DeclaredCount);

        // The last "SEHTable [" block is the list (llvm-readobj prints an empty one inside LoadConfig too).
        var start = lines.LastIndexOf("SEHTable [");
        var vas = lines.Skip(start + 1).TakeWhile(l => l != "]").Select(Hex).ToList();
        Assert.Equal((ulong)vas.Count, table.DeclaredCount);
        Assert.Equal(vas, table.Handlers.Select(rva => image.ImageBase + rva));
        Assert.Empty(table.Problems);
    }

    private static TheoryData<string> SafeSehRulesTestsImages() => Rules.SafeSehRulesTests.X86PackImages();

    private static ulong Hex(string text) => ulong.Parse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    private static string? ReadObj(string path)
    {
        try
        {
            var psi = new ProcessStartInfo(Tool) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("--file-headers");
            psi.ArgumentList.Add("--coff-load-config");
            psi.ArgumentList.Add(path);
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"{Tool} failed on {path}: {stderr.Result}");
            return text;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
