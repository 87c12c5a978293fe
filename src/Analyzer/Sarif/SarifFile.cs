using System.Text.Json;

using Pelint.Rules;

namespace Pelint.Sarif;

/// <summary>Reads and writes SARIF logs. Writes are atomic: a temp file in the same folder, then a rename.</summary>
public static class SarifFile
{
    public static void Write(SarifLog log, string path)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                JsonSerializer.Serialize(stream, log, SarifJsonContext.Default.SarifLog);
                stream.WriteByte((byte)'\n');
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>
    /// Builds and serializes an empty log with the full rule metadata, to nowhere: the first use of
    /// the SARIF model and serializer costs tens of milliseconds of type initialization, which a
    /// scan can pay on an idle core while it analyzes instead of after.
    /// </summary>
    public static void WarmUp(RuleCatalog catalog) =>
        JsonSerializer.Serialize(Stream.Null, SarifBuilder.Build(catalog, [], new SarifRunOptions { SourceRoot = "/" }), SarifJsonContext.Default.SarifLog);

    public static string Serialize(SarifLog log) => JsonSerializer.Serialize(log, SarifJsonContext.Default.SarifLog) + "\n";

    public static SarifLog Read(string path)
    {
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize(stream, SarifJsonContext.Default.SarifLog)
            ?? throw new InvalidDataException($"{path} is not a SARIF log");
    }
}
