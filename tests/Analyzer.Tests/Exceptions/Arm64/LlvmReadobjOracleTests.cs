using System.Globalization;
using System.Text.Json;
using Pelint.Pe;
using Pelint.Reporting;
using Pelint.Testing;
using Pelint.Testing.Oracles;
using Xunit.Abstractions;

namespace Pelint.Tests.Exceptions.Arm64;

/// <summary>
/// `pelint dump unwind --format json` agrees with `llvm-readobj-22 --unwind` on every ARM64
/// function of real images (MSVC, LLVM and Rust builds), over every field llvm-readobj prints:
/// function and .xdata addresses, function length, version, X, E, epilog count, code bytes,
/// every prolog and epilog opcode (bytes and instruction text), every epilog scope (offset,
/// index, reserved bits), the handler and its parameter; for packed entries Fragment,
/// FunctionLength, RegF, RegI, H, CR, FrameSize and the synthesized prolog.
/// </summary>
public sealed class LlvmReadobjOracleTests(ITestOutputHelper output)
{
    public static TheoryData<Arm64Images.Image> NuGetImages() => [.. Arm64Images.NuGet.Concat(Arm64Images.Arm64X)];

    [SkippableTheory]
    [MemberData(nameof(NuGetImages))]
    public void Dump_unwind_agrees_with_llvm_readobj_on_every_arm64_function(Arm64Images.Image image) => Compare(image);

    [SkippableFact]
    public void Dump_unwind_agrees_with_llvm_readobj_on_the_npm_images()
    {
        var images = Arm64Images.Npm();
        RequireOrSkip(images.Count == Arm64Images.NpmPackages.Count, $"the npm win32-arm64 packages are not in ${Arm64Images.NpmFolderVariable} (.ci/run fetches them)");
        foreach (var image in images)
        {
            Compare(image);
        }
    }

    private void Compare(Arm64Images.Image image)
    {
        RequireOrSkip(LlvmArm64Unwind.IsAvailable(), $"{LlvmArm64Unwind.Tool} is not installed");
        Assert.True(File.Exists(image.Path), $"{image.Path} missing: run dotnet restore");
        using var pe = PeImage.Open(image.Path).Image!;
        using var json = JsonDocument.Parse(UnwindDump.ToJsonString(pe));
        var actual = json.RootElement.GetProperty("arm64Functions").EnumerateArray().ToList();
        var imageBase = pe.ImageBase;

        // llvm-readobj decodes every section named .pdata, whole, as ARM64 entries. An ARM64X
        // image's .pdata also holds the x64 extra table (12-byte entries), which it refuses
        // (".pdata content is not 8-byte aligned") or misreads. It is given a copy whose .pdata
        // VirtualSize ends where the exception directory's ARM64 table ends.
        var path = image.Path;
        var trimmed = 0;
        if (pe.Chpe is not null && pe.Machine == System.Reflection.PortableExecutable.Machine.Arm64)
        {
            var patch = ImagePatch.FromFile(image.Path);
            var (rva, size) = patch.GetDirectory(3);
            var header = patch.SectionHeaderOffset(patch.FindSection(".pdata"));
            var va = BitConverter.ToUInt32(patch.Bytes, header + 12);
            var virtualSize = BitConverter.ToUInt32(patch.Bytes, header + 8);
            Assert.Equal(va, rva);
            patch.WriteUInt32(header + 8, size);
            trimmed = (int)(virtualSize - size);
            path = patch.SaveTo(Path.Combine(Path.GetTempPath(), "pelint-arm64x"), image.Name);
        }

        var expected = LlvmArm64Unwind.Run(path);
        var extra = trimmed;
        if (trimmed > 0)
        {
            // For an ARM64X image llvm-readobj prints the sections twice: the native view, then
            // the hybrid (EC) view, whose .pdata section is the same bytes.
            Assert.Equal(2 * actual.Count, expected.Count);
            Assert.Equal(expected[..actual.Count].Select(f => f.Function), expected[actual.Count..].Select(f => f.Function));
            expected = expected[..actual.Count];
        }
        Assert.Equal(expected.Count, actual.Count);
        var mismatches = new List<string>();
        int packed = 0, xdata = 0, scopes = 0, codes = 0, handlers = 0, twoSubs = 0;
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var a = actual[i];
            var begin = e.Function - imageBase;
            void Check(string what, object? want, object? got)
            {
                if (!Equals(want, got) && mismatches.Count < 20)
                {
                    mismatches.Add($"function 0x{begin:X}: {what}: llvm-readobj {want}, pelint {got}");
                }
            }

            Check("begin", begin, (ulong)a.GetProperty("begin").GetUInt32());
            if (e.IsPacked)
            {
                packed++;
                var p = a.GetProperty("packed");
                Check("Fragment", e.Bool("Fragment"), a.GetProperty("flag").GetInt32() == 2);
                Check("FunctionLength", e.Int("FunctionLength"), p.GetProperty("functionLength").GetInt32());
                Check("RegF", e.Int("RegF"), p.GetProperty("regF").GetInt32());
                Check("RegI", e.Int("RegI"), p.GetProperty("regI").GetInt32());
                Check("HomedParameters", e.Bool("HomedParameters"), p.GetProperty("homedParameters").GetBoolean());
                Check("CR", e.Int("CR"), p.GetProperty("cr").GetInt32());
                Check("FrameSize", e.Int("FrameSize"), p.GetProperty("frameSize").GetInt32());
                var mine = a.GetProperty("expanded").GetProperty("prolog").EnumerateArray().Select(c => Normalize(c.GetProperty("text").GetString()!)).ToList();
                var theirs = e.Prolog.Select(c => Normalize(c.Text)).ToList();
                if (TwoSubsForOne(theirs, mine))
                {
                    twoSubs++;
                }
                else
                {
                    Check("packed prolog", string.Join("; ", theirs), string.Join("; ", mine));
                }

                codes += mine.Count;
                continue;
            }

            xdata++;
            var x = a.GetProperty("xdata");
            Check("ExceptionRecord", e.ExceptionRecord - imageBase, (ulong?)x.GetProperty("rva").GetUInt32());
            Check("FunctionLength", e.Int("FunctionLength"), x.GetProperty("functionLength").GetInt32());
            Check("Version", e.Int("Version"), x.GetProperty("version").GetInt32());
            Check("ExceptionData", e.Bool("ExceptionData"), x.GetProperty("exceptionData").GetBoolean());
            var inHeader = x.GetProperty("epilogInHeader").GetBoolean();
            Check("EpiloguePacked", e.Bool("EpiloguePacked"), inHeader);
            Check(inHeader ? "EpilogueOffset" : "EpilogueScopes", e.Int(inHeader ? "EpilogueOffset" : "EpilogueScopes"), x.GetProperty("epilogCount").GetInt32());
            Check("ByteCodeLength", e.Int("ByteCodeLength"), x.GetProperty("codeWords").GetInt32() * 4);
            var prolog = Codes(x.GetProperty("prolog"));
            Check("prolog", Join(e.Prolog), Join(prolog));
            codes += prolog.Count;
            var epilogs = x.GetProperty("epilogs").EnumerateArray().ToList();
            if (inHeader)
            {
                // llvm-readobj prints the header's epilog only when its code index is not 0.
                if (e.Epilogue.Count > 0)
                {
                    Check("epilog", Join(e.Epilogue), Join(Codes(epilogs[0].GetProperty("codes"))));
                }
            }
            else
            {
                Check("scope count", e.Scopes.Count, epilogs.Count);
                foreach (var (s, mine) in e.Scopes.Zip(epilogs))
                {
                    scopes++;
                    Check("StartOffset", s.StartOffsetWords * 4, mine.GetProperty("startOffset").GetUInt32());
                    Check("EpilogueStartIndex", s.StartIndex, mine.GetProperty("startIndex").GetInt32());
                    Check("ReservedBits", s.ReservedBits, mine.GetProperty("reserved").GetInt32());
                    var epilogCodes = Codes(mine.GetProperty("codes"));
                    Check("epilog opcodes", Join(s.Codes), Join(epilogCodes));
                    codes += epilogCodes.Count;
                }
            }

            var hasHandler = x.TryGetProperty("handler", out var handler);
            Check("handler present", e.HandlerRoutine is not null, hasHandler);
            if (e.HandlerRoutine is { } routine && hasHandler)
            {
                handlers++;
                Check("Routine", routine - imageBase, (ulong)handler.GetProperty("rva").GetUInt32());
                Check("Parameter", e.HandlerParameter, handler.TryGetProperty("parameter", out var parameter) ? parameter.GetUInt32() : (uint?)null);
            }
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{image.Name} ({image.Toolchain}): {expected.Count} functions compared ({xdata} .xdata, {packed} packed), {scopes} epilog scopes, {codes} opcodes, {handlers} handlers{(extra > 0 ? $"; llvm-readobj given a copy whose .pdata ends before the {extra}-byte x64 extra table" : string.Empty)}{(twoSubs > 0 ? $"; {twoSubs} packed frames over 4080 bytes where llvm-readobj prints the documentation's two subs" : string.Empty)}"));
        Assert.True(mismatches.Count == 0, string.Join(Environment.NewLine, mismatches));
    }

    private static List<(string Bytes, string Text)> Codes(JsonElement array) =>
        [.. array.EnumerateArray().Select(c => (c.GetProperty("bytes").GetString()!, c.GetProperty("text").GetString()!))];

    private static string Join(List<(string Bytes, string Text)> codes) => string.Join("; ", codes.Select(c => $"{c.Bytes} {c.Text}"));

    // llvm-readobj writes packed prologs in its own notation ("mov x29, sp", "stp x29, lr, [sp]",
    // "sub sp, sp, #16"), its opcode listing in another ("mov fp, sp", "stp x29, x30, [sp, #0]",
    // "sub sp, #16"); pelint uses the second for both. The same instruction, spelled two ways.
    private static string Normalize(string text) =>
        text.Replace("x29", "fp", StringComparison.Ordinal).Replace("x30", "lr", StringComparison.Ordinal)
            .Replace("sub sp, sp, #", "sub sp, #", StringComparison.Ordinal).Replace(", #0]", "]", StringComparison.Ordinal);

    // Packed frames whose local area exceeds 4080 bytes: the documentation (and llvm-readobj)
    // describe two subs, the unwinder's expansion (RtlpExpandCompactToFull) one alloc code of the
    // whole size. pelint shows what the unwinder uses; the totals must agree.
    private static bool TwoSubsForOne(List<string> theirs, List<string> mine)
    {
        if (theirs.Count != mine.Count + 1)
        {
            return false;
        }

        for (var k = 0; k < mine.Count; k++)
        {
            if (theirs[k] == mine[k])
            {
                continue;
            }

            return k + 1 < theirs.Count && SubOf(theirs[k]) is { } a && SubOf(theirs[k + 1]) is { } b && SubOf(mine[k]) == a + b
                && theirs.Skip(k + 2).SequenceEqual(mine.Skip(k + 1));
        }

        return false;
    }

    private static int? SubOf(string text) =>
        text.StartsWith("sub sp, #", StringComparison.Ordinal) && int.TryParse(text["sub sp, #".Length..], CultureInfo.InvariantCulture, out var n) ? n : null;

    private static void RequireOrSkip(bool condition, string reason)
    {
        if (!condition && Environment.GetEnvironmentVariable(WineOracle.RequireVariable) == "1")
        {
            Assert.Fail(reason + $" ({WineOracle.RequireVariable}=1)");
        }

        Skip.IfNot(condition, reason);
    }
}
