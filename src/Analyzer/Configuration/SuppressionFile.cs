using System.Text;
using System.Text.Json;
using Pelint.Rules;

namespace Pelint.Configuration;

/// <summary>
/// One entry of a suppressions file: the results of <see cref="RuleId"/> in files matching
/// <see cref="Files"/> (relative to <see cref="SuppressionFile.BaseDirectory"/>), narrowed to a
/// function name and/or a fingerprint, are not acted on, for the stated reason.
/// </summary>
public sealed record SuppressionEntry(
    string Source,
    int Line,
    string RuleId,
    EditorConfigGlob Files,
    string? Function,
    string? Fingerprint,
    string Justification);

/// <summary>
/// A committed suppressions file, <c>.pelint/suppressions.json</c>:
/// <code>
/// { "suppressions": [
///     { "rule": "PE2002", "files": "bin/legacy/*.dll", "function": "old_entry",
///       "justification": "patched by replacement, never hot-patched" } ] }
/// </code>
/// <c>rule</c> (ID or name), <c>files</c> (an .editorconfig-style glob) and a non-blank
/// <c>justification</c> are required; <c>function</c> and <c>fingerprint</c> (the result's
/// pelint/v1 fingerprint) narrow it. The file is hostile input: it is read up to
/// <see cref="MaxBytes"/>, with at most <see cref="MaxEntries"/> entries, by a reader that tracks
/// lines for messages; whatever cannot be used is a problem, never an exception.
/// </summary>
public sealed record SuppressionFile(string Path, string BaseDirectory, IReadOnlyList<SuppressionEntry> Entries, IReadOnlyList<EditorConfigProblem> Problems)
{
    public const string FolderName = ".pelint";
    public const string FileName = "suppressions.json";
    public const int MaxBytes = 1 << 20;
    public const int MaxEntries = 10_000;
    private const int MaxFieldLength = 4096;

    /// <summary>
    /// Globs are relative to the folder that holds <c>.pelint/</c> (a file inside a folder named
    /// .pelint), else to the file's own folder.
    /// </summary>
    public static string BaseOf(string path)
    {
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? "/";
        return System.IO.Path.GetFileName(folder) == FolderName ? System.IO.Path.GetDirectoryName(folder) ?? folder : folder;
    }

    public static SuppressionFile Parse(string path, ReadOnlySpan<byte> json, RuleCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var entries = new List<SuppressionEntry>();
        var problems = new List<EditorConfigProblem>();
        var file = new SuppressionFile(path, BaseOf(path), entries, problems);
        var lines = new LineIndex(json);
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 16 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problems.Add(new EditorConfigProblem(lines.LineOf(reader.TokenStartIndex), "the file must hold one JSON object with a \"suppressions\" array"));
                return file;
            }

            var found = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                var line = lines.LineOf(reader.TokenStartIndex);
                reader.Read();
                if (name != "suppressions")
                {
                    problems.Add(new EditorConfigProblem(line, $"unknown member \"{Shorten(name)}\" (only \"suppressions\" is read); ignored"));
                    reader.Skip();
                    continue;
                }

                found = true;
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    problems.Add(new EditorConfigProblem(line, "\"suppressions\" must be an array; no suppression was read"));
                    reader.Skip();
                    continue;
                }

                ReadEntries(ref reader, lines, path, catalog, entries, problems);
            }

            if (!found)
            {
                problems.Add(new EditorConfigProblem(1, "no \"suppressions\" array; no suppression was read"));
            }
        }
        catch (JsonException e)
        {
            problems.Add(new EditorConfigProblem((int)Math.Min(int.MaxValue, (e.LineNumber ?? 0) + 1),
                $"not valid JSON ({e.Message.Split(" LineNumber", StringSplitOptions.None)[0].TrimEnd('.', ' ')}); no suppression from this file is used"));
            entries.Clear();
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader.GetString throws this, not a JsonException, for a string whose
            // escapes leave a UTF-16 surrogate unpaired ("\ud800").
            problems.Add(new EditorConfigProblem(0, "not valid JSON (a string escapes an unpaired UTF-16 surrogate); no suppression from this file is used"));
            entries.Clear();
        }

        return file;
    }

    private static void ReadEntries(ref Utf8JsonReader reader, LineIndex lines, string path, RuleCatalog catalog, List<SuppressionEntry> entries, List<EditorConfigProblem> problems)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var line = lines.LineOf(reader.TokenStartIndex);
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                problems.Add(new EditorConfigProblem(line, "a suppression must be an object; ignored"));
                reader.Skip();
                continue;
            }

            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            var bad = new List<string>();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (name is not ("rule" or "files" or "function" or "fingerprint" or "justification"))
                {
                    bad.Add($"unknown member \"{Shorten(name)}\"");
                    reader.Skip();
                }
                else if (reader.TokenType != JsonTokenType.String)
                {
                    bad.Add($"\"{name}\" is not a string");
                    reader.Skip();
                }
                else
                {
                    fields[name] = reader.GetString()!;
                }
            }

            if (entries.Count == MaxEntries)
            {
                problems.Add(new EditorConfigProblem(line, $"more than {MaxEntries:N0} suppressions; the rest are ignored"));
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    reader.Skip();
                }

                return;
            }

            var entry = Entry(fields, bad, line, path, catalog);
            if (entry is not null)
            {
                entries.Add(entry);
            }

            if (bad.Count > 0)
            {
                problems.Add(new EditorConfigProblem(line, string.Join("; ", bad) + (entry is null ? "; the suppression is ignored" : "; the rest of the suppression is used")));
            }
        }
    }

    // The entry, or null with the reasons added to `bad` (an entry missing a required member is ignored whole).
    private static SuppressionEntry? Entry(Dictionary<string, string> fields, List<string> bad, int line, string path, RuleCatalog catalog)
    {
        string? Field(string name) => fields.TryGetValue(name, out var v) && v.Trim().Length > 0 ? v.Trim() : null;
        var errors = bad.Count;
        var rule = Field("rule");
        var files = Field("files");
        var justification = Field("justification");
        RuleDescriptor? descriptor = null;
        if (rule is null)
        {
            bad.Add("no \"rule\" (a rule ID or name)");
        }
        else if ((descriptor = catalog.Find(rule)) is null)
        {
            bad.Add($"no pelint rule has the ID or name '{Shorten(rule)}'");
        }

        if (files is null)
        {
            bad.Add("no \"files\" (a glob such as \"bin/*.dll\" or \"**\")");
        }

        if (justification is null)
        {
            bad.Add("no \"justification\": a suppression must say why the result is not acted on");
        }

        foreach (var (name, value) in fields)
        {
            if (value.Length > MaxFieldLength)
            {
                bad.Add($"\"{name}\" is longer than {MaxFieldLength:N0} characters");
            }
        }

        if (bad.Count > errors)
        {
            return null;
        }

        return new SuppressionEntry(path, line, descriptor!.Id, EditorConfigGlob.Compile(files!), Field("function"), Field("fingerprint")?.ToLowerInvariant(), justification!);
    }

    private static string Shorten(string? text) => text is null ? string.Empty : text.Length <= 80 ? text : text[..80] + "...";

    /// <summary>Line numbers (1-based) of byte offsets, for messages about entries.</summary>
    private sealed class LineIndex
    {
        private readonly List<long> _starts = [0];

        public LineIndex(ReadOnlySpan<byte> text)
        {
            var offset = 0;
            int newline;
            while ((newline = text[offset..].IndexOf((byte)'\n')) >= 0)
            {
                offset += newline + 1;
                _starts.Add(offset);
            }
        }

        public int LineOf(long offset)
        {
            var index = _starts.BinarySearch(offset);
            return (index >= 0 ? index : ~index - 1) + 1;
        }
    }

    /// <summary>Reads a suppressions file from disk (a regular file only), or says why it cannot be.</summary>
    public static SuppressionFile Read(string path, RuleCatalog catalog)
    {
        try
        {
            using var stream = Pelint.Pe.IO.HostFiles.OpenRegular(path);
            // One byte past the limit tells a file over it, whatever its length said when opened.
            var buffer = new byte[(int)Math.Min(stream.Length, MaxBytes) + 1];
            var length = 0;
            int n;
            while (length < buffer.Length && (n = stream.Read(buffer, length, buffer.Length - length)) > 0)
            {
                length += n;
            }

            if (length > MaxBytes || stream.Length > MaxBytes)
            {
                return new SuppressionFile(path, BaseOf(path), [], [new EditorConfigProblem(0, $"larger than {MaxBytes:N0} bytes; no suppression from this file is used")]);
            }

            var bytes = buffer.AsSpan(0, length);
            if (bytes.StartsWith(Encoding.UTF8.Preamble))
            {
                bytes = bytes[Encoding.UTF8.Preamble.Length..];
            }

            return Parse(path, bytes, catalog);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new SuppressionFile(path, BaseOf(path), [], [new EditorConfigProblem(0, $"cannot be read: {e.Message}")]);
        }
    }
}
