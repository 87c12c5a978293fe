using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Pelint.Tests.Exceptions.Arm64;

/// <summary>One epilog scope as llvm-readobj prints it.</summary>
internal sealed record LlvmEpilogScope(uint StartOffsetWords, int StartIndex, int ReservedBits, List<(string Bytes, string Text)> Codes);

/// <summary>
/// One ARM64 RuntimeFunction as `llvm-readobj-22 --unwind` prints it: an .xdata record
/// (ExceptionRecord and its fields, prolog opcodes, epilog scopes, handler) or a packed entry
/// (its fields and the prolog llvm-readobj synthesizes). Addresses are VAs, as printed.
/// </summary>
internal sealed class LlvmArm64Function
{
    public ulong Function { get; set; }

    public ulong? ExceptionRecord { get; set; }

    public Dictionary<string, string> Fields { get; } = [];

    public List<(string Bytes, string Text)> Prolog { get; } = [];

    public List<(string Bytes, string Text)> Epilogue { get; } = [];

    public List<LlvmEpilogScope> Scopes { get; } = [];

    public ulong? HandlerRoutine { get; set; }

    public uint? HandlerParameter { get; set; }

    public bool IsPacked => ExceptionRecord is null;

    public int Int(string field) => int.Parse(Fields[field], CultureInfo.InvariantCulture);

    public bool Bool(string field) => Fields[field] == "Yes";
}

/// <summary>Runs llvm-readobj-22 --unwind and parses its ARM64 output (a test-side parser, independent of pelint).</summary>
internal static partial class LlvmArm64Unwind
{
    public const string Tool = "llvm-readobj-22";

    public static bool IsAvailable()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(Tool, "--version") { RedirectStandardOutput = true, RedirectStandardError = true });
            p!.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    public static List<LlvmArm64Function> Run(string path)
    {
        var psi = new ProcessStartInfo(Tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("--unwind");
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{Tool} --unwind {path} failed: {stderr.Result}");
        return Parse(text);
    }

    public static List<LlvmArm64Function> Parse(string text)
    {
        var functions = new List<LlvmArm64Function>();
        LlvmArm64Function? current = null;
        var scopes = new Stack<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line == "RuntimeFunction {")
            {
                current = new LlvmArm64Function();
                functions.Add(current);
                scopes.Clear();
                scopes.Push("RuntimeFunction");
                continue;
            }

            if (current is null || line.Length == 0)
            {
                continue;
            }

            if (line.EndsWith('[') || line.EndsWith('{'))
            {
                var name = line[..^1].Trim();
                scopes.Push(name);
                if (name == "EpilogueScope")
                {
                    current.Scopes.Add(new LlvmEpilogScope(0, 0, 0, []));
                }

                continue;
            }

            if (line is "]" or "}")
            {
                if (scopes.Count > 0)
                {
                    scopes.Pop();
                }

                continue;
            }

            var context = scopes.Count > 0 ? scopes.Peek() : string.Empty;
            if (context is "Prologue" or "Epilogue" or "Opcodes")
            {
                var m = OpcodeLine().Match(line);
                var item = m.Success ? (m.Groups[1].Value, m.Groups[2].Value) : (string.Empty, line);
                if (context == "Prologue")
                {
                    current.Prolog.Add(item);
                }
                else if (context == "Epilogue")
                {
                    current.Epilogue.Add(item);
                }
                else
                {
                    current.Scopes[^1].Codes.Add(item);
                }

                continue;
            }

            var field = FieldLine().Match(line);
            if (!field.Success)
            {
                continue;
            }

            var (key, value) = (field.Groups[1].Value, field.Groups[2].Value);
            switch (context)
            {
                case "EpilogueScope":
                    var s = current.Scopes[^1];
                    current.Scopes[^1] = key switch
                    {
                        "StartOffset" => s with { StartOffsetWords = uint.Parse(value, CultureInfo.InvariantCulture) },
                        "EpilogueStartIndex" => s with { StartIndex = int.Parse(value, CultureInfo.InvariantCulture) },
                        "ReservedBits" => s with { ReservedBits = int.Parse(value, CultureInfo.InvariantCulture) },
                        _ => s,
                    };
                    break;
                case "ExceptionHandler":
                    if (key == "Routine")
                    {
                        current.HandlerRoutine = Address(value);
                    }
                    else if (key == "Parameter")
                    {
                        current.HandlerParameter = (uint)Address(value);
                    }

                    break;
                default:
                    if (key == "Function")
                    {
                        current.Function = Address(value);
                    }
                    else if (key == "ExceptionRecord")
                    {
                        current.ExceptionRecord = Address(value);
                    }
                    else
                    {
                        current.Fields[key] = value;
                    }

                    break;
            }
        }

        return functions;
    }

    // "0x18000100", "name (0x18000100)" or "name +0x10 (0x18000110)": the address is the last hex number.
    private static ulong Address(string value) =>
        ulong.Parse(LastHex().Match(value).Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(0x[0-9a-f]+)\s+; (.*)$")]
    private static partial Regex OpcodeLine();

    [GeneratedRegex(@"^(\w+): (.*)$")]
    private static partial Regex FieldLine();

    [GeneratedRegex(@"0x([0-9A-Fa-f]+)\)?$")]
    private static partial Regex LastHex();
}
