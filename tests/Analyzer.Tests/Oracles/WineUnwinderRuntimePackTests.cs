using System.Diagnostics;
using Pelint.Testing;
using Pelint.Testing.Oracles;
using Pelint.Tests.Exceptions;
using Xunit.Abstractions;

namespace Pelint.Tests.Oracles;

/// <summary>
/// The oracle on MSVC-built coreclr.dll from the runtime pack: its version 2 functions (with
/// UWOP_EPILOG codes) inside their epilogs, and thousands of body queries through one harness,
/// each checked against GNU objdump's listing of the function's codes.
/// </summary>
[Collection(WineOracleCollection.Name)]
public sealed class WineUnwinderRuntimePackTests(WineOracleFixture oracle, ITestOutputHelper output)
{
    private const int BodyQueries = 2000;

    private static readonly Lazy<IReadOnlyList<ObjdumpFunction>> Listing = new(() => ObjdumpUnwindListing.Run(CoreClr));

    private static string CoreClr => TestPaths.RuntimeDll("coreclr.dll");

    [SkippableFact]
    public void Version_2_functions_unwind_inside_every_epilog_instruction()
    {
        WineOracleFixture.RequireOracle();
        var v2 = Listing.Value.Where(f => f.Version == 2 && f.EpilogSize is not null).ToList();
        Assert.NotEmpty(v2);
        var unwinder = oracle.For(CoreClr);
        var image = ImagePatch.FromFile(CoreClr);
        var checkedInstructions = 0;
        foreach (var f in v2)
        {
            Assert.All(f.Codes, c => Assert.Matches(@"^[0-9a-f]{2} push \w+$", c));
            var pushed = f.Codes.Select(c => Enum.Parse<Gpr>(c[8..], ignoreCase: true)).ToList();
            foreach (var offset in f.EpilogOffsets)
            {
                // objdump -d: the epilog is the pops of the pushed registers in reverse push order, then ret.
                var at = f.Begin + offset;
                var bytes = image.Bytes.AsSpan(image.FileOffsetOf(at), f.EpilogSize!.Value).ToArray();
                var pops = Pops(bytes, out var end);
                Assert.Equal(bytes.Length - 1, end);
                Assert.Equal(0xC3, bytes[end]);
                Assert.Equal(pushed, pops.Select(p => p.Register));

                for (var i = 0; i <= pops.Count; i++)
                {
                    var pc = at + (i < pops.Count ? pops[i].Offset : (uint)end);
                    var rsp = 0x1000u + (uint)(8 * i);
                    var restored = pops.Skip(i).Select((p, k) => (p.Register, (ulong)(rsp + (8 * k)))).ToArray();
                    var returnSlot = rsp + (ulong)(8 * (pops.Count - i));
                    var query = UnwindQuery.At(pc, rsp).WithSlot((uint)returnSlot, StackValue.Literal(0x1_8000_0000));
                    new ExpectedUnwind(returnSlot + 8, returnSlot, restored.ToDictionary(r => r.Register, r => r.Item2))
                        .AssertMatches(query, unwinder.Unwind(query), $"0x{f.Begin:X} epilog pc+0x{offset:x} instruction {i}");
                    checkedInstructions++;
                }
            }
        }

        output.WriteLine($"{v2.Count} version 2 functions, {checkedInstructions} epilog instructions checked");
    }

    [SkippableFact]
    public void Thousands_of_body_queries_through_one_harness_agree_with_objdump()
    {
        WineOracleFixture.RequireOracle();
        var unwinder = oracle.For(CoreClr);
        var (startsBefore, stallsBefore) = (unwinder.Starts, unwinder.Stalls);
        var candidates = Listing.Value
            .Where(f => f.Version == 1 && f.FrameRegister == "none" && f.Chain is null && f.SharesWithUnwindData is null
                && !f.SharedWithPrevious && f.End - f.Begin > (uint)f.PrologSize!.Value)
            .Select(f => (Function: f, Expect: ExpectedUnwind.FromObjdump(f.Codes, f.PrologSize!.Value, f.PrologSize!.Value, 0x10000)))
            .Where(c => c.Expect is not null)
            .Take(BodyQueries)
            .ToList();
        Assert.Equal(BodyQueries, candidates.Count);

        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        foreach (var (f, expect) in candidates)
        {
            var query = UnwindQuery.At(f.Begin + (uint)f.PrologSize!.Value, 0x10000);
            var answer = unwinder.Unwind(query);
            try
            {
                expect!.AssertMatches(query, answer);
            }
            catch (Xunit.Sdk.XunitException e)
            {
                failures.Add($"0x{f.Begin:X} [{string.Join("; ", f.Codes)}]: {e.Message.Split('\n')[0]}");
            }
        }

        var elapsed = clock.Elapsed;
        output.WriteLine($"{candidates.Count} body queries in {elapsed.TotalMilliseconds:0} ms ({elapsed.TotalMilliseconds / candidates.Count:0.000} ms each); {unwinder}");
        output.WriteLine(WineOracle.PrefixCreationTime is { } created
            ? $"first start of Wine (prefix {WineOracle.PrefixPath} created) in this run: {created.TotalSeconds:0.0} s"
            : $"prefix {WineOracle.PrefixPath} existed before this run");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));

        // One harness answered them all: a new one only for a query that stalled and was answered when asked again.
        var stalls = unwinder.Stalls - stallsBefore;
        output.WriteLine($"{stalls} stalled queries asked again");
        Assert.Equal(startsBefore + stalls, unwinder.Starts);
    }

    /// <summary>The pops at the start of <paramref name="code"/> (58+r, or 41 58+r for r8-r15), with their offsets.</summary>
    private static List<(uint Offset, Gpr Register)> Pops(byte[] code, out int end)
    {
        var pops = new List<(uint, Gpr)>();
        var i = 0;
        while (i < code.Length)
        {
            if ((code[i] & 0xF8) == 0x58)
            {
                pops.Add(((uint)i, (Gpr)(code[i] & 7)));
                i++;
            }
            else if (code[i] == 0x41 && i + 1 < code.Length && (code[i + 1] & 0xF8) == 0x58)
            {
                pops.Add(((uint)i, (Gpr)(8 + (code[i + 1] & 7))));
                i += 2;
            }
            else
            {
                break;
            }
        }

        end = i;
        return pops;
    }
}
