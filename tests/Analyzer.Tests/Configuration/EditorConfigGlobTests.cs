using System.Diagnostics;
using Pelint.Configuration;

namespace Pelint.Tests.Configuration;

/// <summary>Section globs as the editorconfig specification defines them, and matching that never backtracks.</summary>
public sealed class EditorConfigGlobTests
{
    [Theory]
    [InlineData("*.dll", "a.dll", true)]
    [InlineData("*.dll", "bin/x64/a.dll", true)] // no '/': the file name in any folder
    [InlineData("*.dll", "a.exe", false)]
    [InlineData("bin/*.dll", "bin/a.dll", true)]
    [InlineData("bin/*.dll", "bin/x/a.dll", false)] // '*' stays within a folder
    [InlineData("bin/**.dll", "bin/x/a.dll", true)]
    [InlineData("**/legacy/*.dll", "legacy/a.dll", true)] // "**/" may match no folder
    [InlineData("**/legacy/*.dll", "x/y/legacy/a.dll", true)]
    [InlineData("a?.dll", "ab.dll", true)]
    [InlineData("a?.dll", "a/.dll", false)]
    [InlineData("[abc].dll", "b.dll", true)]
    [InlineData("[!abc].dll", "b.dll", false)]
    [InlineData("[a-c]x.dll", "cx.dll", true)]
    [InlineData("*.{dll,exe}", "a.exe", true)]
    [InlineData("*.{dll,exe}", "a.sys", false)]
    [InlineData("{x{1,2},y}.dll", "x2.dll", true)]
    [InlineData("{x{1,2},y}.dll", "x3.dll", false)]
    [InlineData("[*.exe", "[a.exe", true)] // an unclosed class is literal
    [InlineData("{a,b", "{a,b", true)] // an unclosed brace is literal
    public void Glob_matches_as_editorconfig_defines(string glob, string path, bool expected) =>
        Assert.Equal(expected, EditorConfigGlob.Compile(glob).IsMatch(path));

    [Fact]
    public void Nested_wildcards_against_a_long_name_match_in_linear_time()
    {
        var name = new string('a', 200) + ".exe";
        var globs = new[] { "*a*a*a*a*b.dll", "*a*a*a*a*a*a*a*a*a*a*a*a*b.dll", "**a**a**a**a**a**a**b", "{*a,*a*a}{*a,*a*a}{*a,*a*a}*b" };
        var watch = Stopwatch.StartNew();

        foreach (var glob in globs)
        {
            Assert.False(EditorConfigGlob.Compile(glob).IsMatch(name));
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"{watch.Elapsed.TotalSeconds:0.00} s");
    }

    [Fact]
    public void Unclosed_section_header_and_garbage_lines_are_problems_and_the_keys_below_apply_nowhere()
    {
        var file = EditorConfigFile.Parse("/x/.editorconfig", "root = true\n[*]\na = 1\n[*.exe\nb = 2\nnot a key\nstill not\n");

        Assert.Equal(3, file.Problems.Count); // the header, the first garbage line, and "1 more line"
        Assert.Contains(file.Problems, p => p.Line == 6);
        Assert.Contains(file.Problems, p => p.Line == 4 && p.Message.Contains("not closed", StringComparison.Ordinal));
        var keys = file.EntriesFor("/x/a.exe", preambleApplies: false).Select(e => e.Key).ToList();
        Assert.Equal(["a"], keys);
    }

    [Fact]
    public void Binary_file_is_one_problem_and_no_section()
    {
        var file = EditorConfigFile.Parse("/x/.editorconfig", "[*]\0\u0001dotnet_diagnostic.PE1001.severity = none");

        Assert.Single(file.Problems);
        Assert.Empty(file.Sections);
    }
}
