using System.Text;
using Pelint.Configuration;
using Pelint.Rules;

namespace Pelint.Tests.Configuration;

/// <summary>
/// A suppressions file is hostile input: whatever its bytes, parsing returns entries and problems,
/// never throws, and every entry it keeps names a known rule and has a justification.
/// </summary>
public sealed class SuppressionFileTests
{
    private const string Seed = """
        {
          // comments and trailing commas are accepted
          "suppressions": [
            { "rule": "PE2002", "files": "bin/legacy/*.dll", "function": "old_entry", "justification": "never hot-patched", },
            { "rule": "nx-compat", "files": "**/{a,b}[0-9].exe", "fingerprint": "0123456789ABCDEF", "justification": "test image" },
          ],
        }
        """;

    [Fact]
    public void The_seed_parses_into_two_entries_with_their_lines()
    {
        var file = SuppressionFile.Parse("/repo/.pelint/suppressions.json", Encoding.UTF8.GetBytes(Seed), RuleCatalog.Embedded);

        Assert.Empty(file.Problems);
        Assert.Equal("/repo", file.BaseDirectory);
        Assert.Equal(["PE2002", "PE1005"], file.Entries.Select(e => e.RuleId));
        Assert.Equal([4, 5], file.Entries.Select(e => e.Line));
        Assert.Equal("old_entry", file.Entries[0].Function);
        Assert.Equal("0123456789abcdef", file.Entries[1].Fingerprint);
        Assert.True(file.Entries[1].Files.IsMatch("x/y/a7.exe"));
    }

    [Fact]
    public void Every_truncation_and_thousands_of_mutants_parse_without_an_exception()
    {
        var seed = Encoding.UTF8.GetBytes(Seed);
        var inputs = Enumerable.Range(0, seed.Length).Select(n => seed[..n]).ToList();
        var random = new Random(13);
        string[] tokens = ["{", "}", "[", "]", "\"", ":", ",", "\\", "\\u0000", "\\ud800", "/*", "//", "\n", "null", "true", "1e999", "\"suppressions\"", "\"rule\"", "\"justification\"", "\u00ff", "**/**/**/*[!a-"];
        for (var i = 0; i < 3_000; i++)
        {
            var bytes = seed.ToList();
            for (var steps = 1 + random.Next(4); steps > 0; steps--)
            {
                var at = random.Next(bytes.Count + 1);
                switch (random.Next(4))
                {
                    case 0 when bytes.Count > 0:
                        bytes.RemoveRange(Math.Min(at, bytes.Count - 1), Math.Min(1 + random.Next(16), bytes.Count - Math.Min(at, bytes.Count - 1)));
                        break;
                    case 1:
                        bytes.InsertRange(at, Encoding.UTF8.GetBytes(tokens[random.Next(tokens.Length)]));
                        break;
                    case 2:
                        bytes.InsertRange(at, Enumerable.Repeat((byte)(random.Next(2) == 0 ? '[' : '{'), random.Next(64)));
                        break;
                    default:
                        if (bytes.Count > 0)
                        {
                            bytes[Math.Min(at, bytes.Count - 1)] = (byte)random.Next(256);
                        }

                        break;
                }
            }

            inputs.Add([.. bytes]);
        }

        foreach (var input in inputs)
        {
            var file = SuppressionFile.Parse("/repo/.pelint/suppressions.json", input, RuleCatalog.Embedded);
            Assert.InRange(file.Entries.Count, 0, 2); // a mutant can lose entries, never gain a complete one
            Assert.All(file.Entries, e =>
            {
                Assert.NotNull(RuleCatalog.Embedded.Find(e.RuleId));
                Assert.False(string.IsNullOrWhiteSpace(e.Justification));
            });
            Assert.All(file.Problems, p => Assert.False(string.IsNullOrWhiteSpace(p.Message)));
        }
    }

    [Fact]
    public void More_than_ten_thousand_entries_keep_the_first_ten_thousand_and_say_so()
    {
        var entry = """{ "rule": "PE1001", "files": "**", "justification": "x" },""";
        var text = "{ \"suppressions\": [" + string.Concat(Enumerable.Repeat(entry, SuppressionFile.MaxEntries + 5)) + "] }";

        var file = SuppressionFile.Parse("/repo/s.json", Encoding.UTF8.GetBytes(text), RuleCatalog.Embedded);

        Assert.Equal(SuppressionFile.MaxEntries, file.Entries.Count);
        Assert.Contains(file.Problems, p => p.Message.Contains("more than 10,000 suppressions", StringComparison.Ordinal));
    }
}
