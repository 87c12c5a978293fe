using System.Globalization;

namespace Pelint.Rules;

/// <summary>
/// A message argument for a <c>0x{n}</c> placeholder: upper-case hexadecimal digits without the
/// prefix, as few as the value needs, or at least <c>digits</c> (a 16-bit flags field reads 0x0160).
/// Signed values convert only explicitly, so a negative number is never printed by accident.
/// </summary>
public readonly struct Hex
{
    private readonly ulong _value;
    private readonly int _digits;

    public Hex(ulong value, int digits = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(digits);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(digits, 16);
        _value = value;
        _digits = digits;
    }

    public string Text => _value.ToString(_digits == 0 ? "X" : "X" + _digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public static implicit operator Hex(uint value) => new(value);

    public static implicit operator Hex(ulong value) => new(value);

    public override string ToString() => Text;
}
