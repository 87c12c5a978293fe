using System.Text.Json;
using Pelint.Pe.IO;
using Pelint.Rules;

namespace Pelint.Sarif;

/// <summary>
/// Reads and writes SARIF logs. A write is atomic: a temporary file beside the target, then a
/// rename over it. The target must be a regular file or not exist yet; through a symbolic link
/// the link's final target is written (the link stays). The temporary file is removed when the
/// write fails or is cancelled (Ctrl-C, SIGTERM).
/// </summary>
public static class SarifFile
{
    /// <summary>Where a write to <paramref name="path"/> lands, or why it may not: null and a reason for a folder, a device, a FIFO...</summary>
    public static string? ResolveTarget(string path, out string? refusal)
    {
        refusal = null;
        var full = Path.GetFullPath(path);
        try
        {
            var info = new FileInfo(full);
            if (info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
            {
                full = target.FullName;
            }
        }
        catch (IOException e)
        {
            refusal = $"{path} is a symbolic link that cannot be followed ({e.Message})";
            return null;
        }

        var kind = HostFiles.KindOf(full);
        if (kind is not (FileKind.Regular or FileKind.Missing))
        {
            refusal = $"{path} is {HostFiles.Describe(kind)}; -o writes only to a regular file";
            return null;
        }

        return full;
    }

    public static void Write(SarifLog log, string path, CancellationToken cancellation = default)
    {
        var full = ResolveTarget(path, out var refusal) ?? throw new IOException(refusal);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var stream = new CancellableStream(file, cancellation))
            {
                JsonSerializer.Serialize(stream, log, SarifJsonContext.Default.SarifLog);
                stream.WriteByte((byte)'\n');
                file.Flush(flushToDisk: true);
            }

            cancellation.ThrowIfCancellationRequested();
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

    public static void Serialize(SarifLog log, Stream output, CancellationToken cancellation = default)
    {
        using var stream = new CancellableStream(output, cancellation, leaveOpen: true);
        JsonSerializer.Serialize(stream, log, SarifJsonContext.Default.SarifLog);
        stream.WriteByte((byte)'\n');
    }

    /// <summary>Reads a whole log (tests, small logs). Hostile or large input: <see cref="SarifStreamReader"/>.</summary>
    public static SarifLog Read(string path)
    {
        using var stream = HostFiles.OpenRegular(path);
        return JsonSerializer.Deserialize(stream, SarifJsonContext.Default.SarifLog)
            ?? throw new InvalidDataException($"{path} is not a SARIF log");
    }

    // Observes cancellation between writes, so a signal stops a large write within one buffer.
    private sealed class CancellableStream(Stream inner, CancellationToken cancellation, bool leaveOpen = false) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            cancellation.ThrowIfCancellationRequested();
            inner.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            cancellation.ThrowIfCancellationRequested();
            inner.Write(buffer);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !leaveOpen)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
