using Pelint.Analysis.Epilogs;
using Pelint.Pe.Code;
using Pelint.Pe.Exceptions;

namespace Pelint.Tests.Epilogs;

/// <summary>The epilog matcher against one-case-per-line golden cases written from the x64 epilog rules.</summary>
public sealed class EpilogMatcherGoldenTests
{
    private const ulong Base = 0x1000;

    public static TheoryData<string, string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string, string>();
        var path = Path.Combine(AppContext.BaseDirectory, "Epilogs", "epilog-matcher.golden.txt");
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = line.Split('|', StringSplitOptions.TrimEntries);
            data.Add(parts[0], parts[1], parts[2], parts[3]);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Epilog_bytes_get_the_verdict_the_rules_give(string hex, string frameRegister, string expected, string description)
    {
        var bytes = Convert.FromHexString(hex);
        var instructions = ImageCode.DecodeAll(bytes, 64, Base);
        var exit = instructions.Count - 1;
        var end = Base + (ulong)bytes.Length;
        var frame = frameRegister == "-" ? 0 : Enumerable.Range(0, 16).First(r => X64Registers.Name(r) == frameRegister);

        string verdict;
        if (!EpilogMatcher.IsExit(instructions[exit], new CodeBytes(bytes, Base), target => target >= Base && target < end))
        {
            verdict = "not-exit";
        }
        else
        {
            verdict = EpilogMatcher.Classify(instructions, exit, frame).Verdict switch
            {
                EpilogVerdict.Legal => "legal",
                EpilogVerdict.Undocumented => "undocumented",
                _ => "broken",
            };
        }

        Assert.True(expected == verdict, $"{description}: expected {expected}, got {verdict}");
    }

    [Fact]
    public void Golden_file_covers_every_verdict()
    {
        var verdicts = Cases().Select(row => (string)row[2]).ToHashSet();

        Assert.Equal(["broken", "legal", "not-exit", "undocumented"], verdicts.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Scheduled_instruction_is_the_one_after_the_partial_restore()
    {
        // add rsp,0x28 (4 bytes) then mov eax,1 at +4: that mov is what runs on a partly restored frame.
        var instructions = ImageCode.DecodeAll(Convert.FromHexString("4883C428B8010000005E5BC3"), 64, Base);

        var shape = EpilogMatcher.Classify(instructions, instructions.Count - 1, 0);

        Assert.Equal(EpilogVerdict.Broken, shape.Verdict);
        Assert.Equal(Base + 4, instructions[shape.ScheduledIndex!.Value].IP);
        Assert.Equal(0, shape.StartIndex);
    }

    [Fact]
    public void Epilog_starts_at_the_frame_release()
    {
        // mov eax,1 (5 bytes) then add rsp,0x28: the epilog starts at the add.
        var instructions = ImageCode.DecodeAll(Convert.FromHexString("B8010000004883C4285BC3"), 64, Base);

        var shape = EpilogMatcher.Classify(instructions, instructions.Count - 1, 0);

        Assert.Equal(Base + 5, instructions[shape.StartIndex].IP);
    }
}
