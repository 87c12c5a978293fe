using Pelint.Analysis.StackWalk;

namespace Pelint.Tests.StackWalk;

/// <summary>
/// The verifier's lookups by RVA (<see cref="RvaIndex"/>, <see cref="RvaTable{T}"/>) answer as a
/// dictionary would, function after function: inside the direct range and outside it, across
/// growth, and with nothing left over from the function before.
/// </summary>
public sealed class RvaIndexTests
{
    [Theory]
    [InlineData(0x1000u, 0x1400u)] // a small function
    [InlineData(0x20000u, 0x20000u + (uint)RvaIndex.MaxDirect + 0x3000u)] // larger than the direct table: its end is hashed
    [InlineData(0x5000u, 0x5000u)] // an empty range: everything hashed
    public void Index_answers_as_a_dictionary_over_many_functions(uint begin, uint end)
    {
        var random = new Random(11);
        var index = new RvaIndex(smallCapacity: 8, keptCapacity: 64);
        for (var function = 0; function < 40; function++)
        {
            // Each function moves, so stale entries of the one before would show at new places.
            var shift = (uint)(function * 0x40);
            var (from, to) = (begin + shift, end + shift);
            index.Clear(from, to);
            var expected = new Dictionary<uint, int>();
            for (var k = 0; k < 500; k++)
            {
                // Mostly inside the range, some around it (chained fragments, addresses below the start).
                var rva = random.Next(10) < 8 && to > from
                    ? from + (uint)random.Next((int)(to - from))
                    : (uint)random.Next((int)from - 0x800, (int)to + 0x800);
                if (expected.ContainsKey(rva))
                {
                    continue;
                }

                var value = random.Next(int.MaxValue);
                index.Add(rva, value);
                expected.Add(rva, value);
            }

            for (var rva = from - 0x800; rva < to + 0x800; rva++)
            {
                var found = index.TryGetValue(rva, out var value);
                Assert.Equal(expected.TryGetValue(rva, out var want), found);
                if (found)
                {
                    Assert.Equal(want, value);
                }
            }
        }
    }

    [Fact]
    public void Table_answers_as_a_dictionary_across_growth_and_clearing()
    {
        var random = new Random(5);
        var table = new RvaTable<long>(smallCapacity: 4, keptCapacity: 256);
        for (var walk = 0; walk < 30; walk++)
        {
            table.Clear();
            var expected = new Dictionary<uint, long>();
            var count = random.Next(1, walk % 3 == 0 ? 2000 : 40); // some walks grow past the kept tables
            while (expected.Count < count)
            {
                var rva = (uint)random.Next(0x1000, 0x9000);
                var value = random.NextInt64();
                Assert.Equal(!expected.ContainsKey(rva), table.TryAdd(rva, value));
                expected.TryAdd(rva, value);
            }

            Assert.Equal(expected.Count, table.Count);
            for (var rva = 0x1000u; rva < 0x9000u; rva++)
            {
                Assert.Equal(expected.TryGetValue(rva, out var want), table.TryGetValue(rva, out var value));
                Assert.Equal(want, value);
            }
        }
    }
}
