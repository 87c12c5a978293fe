using System.Globalization;
using System.Text;
using Pelint.Analysis.StackWalk;
using Pelint.Pe;
using Pelint.Testing;

namespace Pelint.Tests.StackWalk;

/// <summary>
/// The verifier answers most instructions without running the unwinder again: it reuses the
/// last answer while the unwinder's inputs are unchanged, and skips the epilog scan at
/// instructions that cannot start an epilog (a direct jump within the function among them).
/// Both are shortcuts, so the verdicts must be those of unwinding every instruction from
/// scratch with the scan always tried (the verifier's mode while it is observed).
/// </summary>
public sealed class AnswerReuseTests
{
    public static TheoryData<string, int> Images() => new()
    {
        { TestPaths.RuntimeDll("coreclr.dll"), 5 },
        { TestPaths.RuntimeDll("hostfxr.dll"), 1 },
        { TestPaths.RuntimeDll("System.IO.Compression.Native.dll"), 1 },
        { Path.Combine(TestPaths.SamplesBin, "stackwalk-hazards.x64.exe"), 1 },
        { Path.Combine(TestPaths.SamplesBin, "epilog-undocumented.x64.exe"), 1 },
        { Path.Combine(TestPaths.SamplesBin, "epilog-mismatch.x64.exe"), 1 },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void Verdicts_with_answers_reused_are_those_of_unwinding_every_instruction_from_scratch(string path, int everyNthFunction)
    {
        using var image = PeImage.Open(path).Image!;

        var reused = Verdicts(image, everyNthFunction, observe: null);
        var observed = 0L;
        var scratch = Verdicts(image, everyNthFunction, (_, _, _) => observed++);

        Assert.True(observed >= 10, $"only {observed} instructions judged");
        Assert.Equal(scratch.Count, reused.Count);
        for (var k = 0; k < scratch.Count; k++)
        {
            Assert.Equal(scratch[k], reused[k]);
        }
    }

    // Each verdict as text, taken as it is yielded (the verifier reuses verdict objects).
    private static List<string> Verdicts(PeImage image, int everyNthFunction, Action<uint, Pelint.Pe.Exceptions.RuntimeFunction, StackState>? observe)
    {
        var index = 0;
        var verdicts = new List<string>();
        foreach (var verdict in StackWalkAnalysis.VerifyEach(image, _ => index++ % everyNthFunction == 0, null, observe))
        {
            verdicts.Add(Describe(verdict));
        }

        return verdicts;
    }

    private static string Describe(FunctionVerdict verdict)
    {
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"0x{verdict.Primary.BeginAddress:X} depth {verdict.FrameDepth} {verdict.Description} checked {verdict.InstructionsChecked} unjudged {verdict.InstructionsUnjudged}")
            .Append(CultureInfo.InvariantCulture, $" exits {verdict.ExitsReached} not analyzed {verdict.NotAnalyzed}");
        foreach (var kind in Enum.GetValues<HazardKind>())
        {
            text.Append(CultureInfo.InvariantCulture, $" {kind} {verdict.Count(kind)}");
        }

        foreach (var hazard in verdict.Hazards)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n  {hazard}");
        }

        text.Append(CultureInfo.InvariantCulture, $"\n  joins {string.Join(",", verdict.UnbalancedJoins)}; unfollowed {string.Join(",", verdict.Unfollowed)}; forms {string.Join(",", verdict.UndocumentedForms)}");
        return text.ToString();
    }
}
