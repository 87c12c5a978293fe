using System.Globalization;

namespace Pelint.Rules;

/// <summary>
/// A message argument that is text: a name, a description, or a decimal number formatted with the
/// invariant culture (messages read the same on every machine). Hexadecimal placeholders, those
/// written <c>0x{n}</c> in a page, take a <see cref="Hex"/> instead.
/// </summary>
public readonly struct MessageArgument
{
    private MessageArgument(string text) => Text = text;

    public string Text { get; }

    public static implicit operator MessageArgument(string? text) => new(text ?? string.Empty);

    public static implicit operator MessageArgument(int value) => new(value.ToString(CultureInfo.InvariantCulture));

    public static implicit operator MessageArgument(uint value) => new(value.ToString(CultureInfo.InvariantCulture));

    public static implicit operator MessageArgument(long value) => new(value.ToString(CultureInfo.InvariantCulture));

    public static implicit operator MessageArgument(ulong value) => new(value.ToString(CultureInfo.InvariantCulture));

    public override string ToString() => Text;
}
