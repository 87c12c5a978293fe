using System.Buffers.Binary;
using Iced.Intel;
using Pelint.Pe.IO;

namespace Pelint.Analysis.Epilogs;

/// <summary>
/// Finds MSVC switch tables inside a function's bytes: a memory operand with an index register
/// and a displacement that lies inside the function (<c>mov ecx, [rdx+rax*4+table]</c> with rdx
/// = image base) names a table of 4-byte RVAs into the function, or a 1-byte index table.
/// </summary>
public static class JumpTables
{
    /// <summary>A table longer than this is not a switch a compiler wrote.</summary>
    public const int MaxEntries = 4096;

    /// <summary>The table one instruction indexes, if it indexes one in [sectionStart, sectionEnd).</summary>
    public static (uint Start, int Scale)? Reference(in Instruction instruction, uint sectionStart, uint sectionEnd)
    {
        if (instruction.MemoryIndex == Register.None || instruction.MemoryBase == Register.RIP || instruction.Code == Code.INVALID
            || instruction.MemoryIndexScale is not (1 or 4))
        {
            return null;
        }

        var displacement = instruction.MemoryDisplacement64;
        return displacement >= sectionStart && displacement < sectionEnd ? ((uint)displacement, instruction.MemoryIndexScale) : null;
    }

    /// <summary>Data ranges [Start, End) inside [begin, end) for the table references given, sorted and merged.</summary>
    public static IReadOnlyList<(uint Start, uint End)> Ranges(ImageReader image, IEnumerable<(uint Start, int Scale)> references, uint begin, uint end)
    {
        var ranges = new List<(uint Start, uint End)>();
        var dwordEntries = 0;
        var byteTables = new List<uint>();
        foreach (var (start, scale) in references)
        {
            if (start < begin || start >= end)
            {
                continue;
            }

            if (scale == 4)
            {
                var count = 0;
                while (count < MaxEntries && start + (uint)(count * 4) + 4 <= end
                    && image.TryGetSpan(start + (uint)(count * 4), 4, out var entry)
                    && BinaryPrimitives.ReadUInt32LittleEndian(entry) is var target
                    && image.Map.FindSection(target) is { IsExecutable: true })
                {
                    count++;
                }

                if (count > 0)
                {
                    ranges.Add((start, start + (uint)(count * 4)));
                    dwordEntries = Math.Max(dwordEntries, count);
                }
            }
            else
            {
                byteTables.Add(start);
            }
        }

        foreach (var start in byteTables)
        {
            // A byte table indexes a dword table: it runs while its bytes are valid indexes.
            var count = 0u;
            while (count < MaxEntries && start + count < end && image.TryGetSpan(start + count, 1, out var b) && b[0] < Math.Max(dwordEntries, 1))
            {
                count++;
            }

            ranges.Add((start, start + count));
        }

        ranges.RemoveAll(r => r.End <= r.Start);
        ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
        var merged = new List<(uint Start, uint End)>();
        foreach (var range in ranges)
        {
            if (merged.Count > 0 && range.Start <= merged[^1].End)
            {
                merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, range.End));
            }
            else
            {
                merged.Add(range);
            }
        }

        return merged;
    }
}
