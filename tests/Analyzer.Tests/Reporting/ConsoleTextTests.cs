using Pelint.Reporting;

namespace Pelint.Tests.Reporting;

/// <summary>What reaches a terminal: control characters escaped, long lines wrapped at spaces.</summary>
public sealed class ConsoleTextTests
{
    [Theory]
    [InlineData("plain.dll", "plain.dll")]
    [InlineData("\u001b[2J", "\\x1B[2J")] // clear screen
    [InlineData("\u001b]0;title\u0007", "\\x1B]0;title\\x07")] // OSC: window title
    [InlineData("a\rb\nc\td", "a\\rb\\nc\\td")]
    [InlineData("\u009b31m", "\\u009B31m")] // C1 CSI
    [InlineData("abc\u202Eexe.dll", "abc\\u202Eexe.dll")] // right-to-left override
    [InlineData("\U0001F600 ok", "\U0001F600 ok")] // a surrogate pair is text
    public void Control_characters_are_escaped(string text, string expected) =>
        Assert.Equal(expected, ConsoleText.Escape(text));

    [Fact]
    public void Byte_of_a_name_that_is_not_utf8_is_shown_as_hex() =>
        Assert.Equal("bad\\xFF.exe", ConsoleText.Escape("bad\uDCFF.exe")); // not theory data: xunit mangles lone surrogates

    [Fact]
    public void Wrap_cuts_at_spaces_within_the_width()
    {
        var lines = ConsoleText.Wrap("one two three four five six", 10, 10).ToList();

        Assert.Equal(["one two", "three four", "five six"], lines);
        Assert.All(lines, l => Assert.True(l.Length <= 10));
    }

    [Fact]
    public void Wrap_cuts_a_word_longer_than_the_line()
    {
        Assert.Equal(["abcde", "fghij", "k"], ConsoleText.Wrap("abcdefghijk", 5, 5));
    }

    [Fact]
    public void Escaping_writer_escapes_each_line_and_keeps_the_newlines()
    {
        using var inner = new StringWriter();
        using (var writer = new EscapingWriter(inner))
        {
            writer.WriteLine("name \u001b[31mred");
            writer.Write("tail\u0007");
        }

        Assert.Equal("name \\x1B[31mred\ntail\\x07", inner.ToString());
    }
}
