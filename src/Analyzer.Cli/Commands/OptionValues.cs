using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Pelint.Cli.Commands;

/// <summary>
/// Options whose values are parsed by pelint, never by a validator that assumes they parsed: a
/// value that does not parse or makes no sense is a parse error, so the command line is rejected
/// as a usage error (exit 2) before anything runs.
/// </summary>
internal static class OptionValues
{
    /// <summary>A size in bytes: 1048576, 1e6, 1MB (10^6), 64MiB (2^26), 2GB, 512k; case-insensitive.</summary>
    public static Option<long> ByteSize(string name, string description, long defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => Parse(result, name, (string text, out long value) => TryParseByteSize(text, out value),
            "a positive size in bytes, e.g. 1048576, 1MB or 64MiB"),
    };

    /// <summary>A duration in seconds: 30, 2.5, 500ms, 30s, 2m, 1h; between 0 and a day.</summary>
    public static Option<double> Seconds(string name, string description) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => 0,
        CustomParser = result => Parse(result, name, (string text, out double value) => TryParseSeconds(text, out value),
            "a number of seconds from 0 to 86400, e.g. 30, 2.5 or 500ms"),
    };

    /// <summary>A whole number in [min, max].</summary>
    public static Option<int> Count(string name, string description, int min, int max, int defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result => Parse(result, name,
            (string text, out int value) => int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value) && value >= min && value <= max,
            $"a whole number from {min:N0} to {max:N0}"),
    };

    private delegate bool TryParseValue<T>(string text, out T value);

    private static T Parse<T>(ArgumentResult result, string name, TryParseValue<T> tryParse, string expected)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
        if (tryParse(text.Trim(), out var value))
        {
            return value;
        }

        result.AddError($"{name} expects {expected}, not '{text}'");
        return default!;
    }

    public static bool TryParseByteSize(string text, out long bytes)
    {
        bytes = 0;
        var unitStart = text.Length;
        while (unitStart > 0 && char.IsAsciiLetter(text[unitStart - 1]))
        {
            unitStart--;
        }

        double multiplier = text[unitStart..].ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" => 1e3,
            "M" or "MB" => 1e6,
            "G" or "GB" => 1e9,
            "T" or "TB" => 1e12,
            "KIB" => 1L << 10,
            "MIB" => 1L << 20,
            "GIB" => 1L << 30,
            "TIB" => 1L << 40,
            _ => double.NaN,
        };
        if (double.IsNaN(multiplier) || !double.TryParse(text[..unitStart].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var total = number * multiplier;
        if (!double.IsFinite(total) || total < 1 || total > long.MaxValue || total != Math.Floor(total))
        {
            return false;
        }

        bytes = (long)total;
        return true;
    }

    public static bool TryParseSeconds(string text, out double seconds)
    {
        seconds = 0;
        var (number, scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (text[..^2], 0.001),
            _ when text.EndsWith('s') || text.EndsWith('S') => (text[..^1], 1.0),
            _ when text.EndsWith('m') || text.EndsWith('M') => (text[..^1], 60.0),
            _ when text.EndsWith('h') || text.EndsWith('H') => (text[..^1], 3600.0),
            _ => (text, 1.0),
        };
        if (!double.TryParse(number.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        seconds = value * scale;
        return double.IsFinite(seconds) && seconds is >= 0 and <= 86400;
    }
}
