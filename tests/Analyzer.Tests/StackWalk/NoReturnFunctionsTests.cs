using Iced.Intel;
using Pelint.Analysis.StackWalk;
using Pelint.Pe;
using Pelint.Testing;

namespace Pelint.Tests.StackWalk;

/// <summary>
/// Whether a callee never returns is a function of the callee alone: answers reused across the
/// depths of the search (see NoReturnFunctions) never differ from a fresh search's.
/// </summary>
public sealed class NoReturnFunctionsTests
{
    [Fact]
    public void Answers_are_the_same_whatever_was_asked_before_them()
    {
        using var image = PeImage.Open(Path.Combine(TestPaths.RuntimePackNative, "coreclr.dll")).Image!;
        var calls = DirectCalls(image, max: 4000);
        Assert.True(calls.Count >= 4000, $"{calls.Count} calls");

        var fresh = new List<bool>();
        foreach (var call in calls)
        {
            // Nothing asked before: every answer below is computed, none reused.
            using var probe = new NoReturnFunctions.Probe(image);
            fresh.Add(new NoReturnFunctions(image).NeverReturns(call, probe));
        }

        Assert.Equal(fresh, Ask(image, calls));
        Assert.Equal(Enumerable.Reverse(fresh), Ask(image, Enumerable.Reverse(calls).ToList()));
        Assert.Contains(true, fresh);
    }

    private static List<bool> Ask(PeImage image, List<Instruction> calls)
    {
        var shared = new NoReturnFunctions(image);
        using var probe = new NoReturnFunctions.Probe(image);
        return calls.ConvertAll(call => shared.NeverReturns(call, probe));
    }

    // The first direct calls to distinct targets, in address order.
    private static List<Instruction> DirectCalls(PeImage image, int max)
    {
        var calls = new List<Instruction>();
        var targets = new HashSet<ulong>();
        using var cursor = image.Code.OpenCursor();
        foreach (var function in image.ExceptionDirectory.Functions)
        {
            for (var rva = function.BeginAddress; rva < function.EndAddress && cursor.TryDecodeAt(rva, out var instruction) && !instruction.IsInvalid; rva = (uint)instruction.NextIP)
            {
                if (instruction.Code == Code.Call_rel32_64 && targets.Add(instruction.NearBranchTarget))
                {
                    calls.Add(instruction);
                    if (calls.Count == max)
                    {
                        return calls;
                    }
                }
            }
        }

        return calls;
    }
}
