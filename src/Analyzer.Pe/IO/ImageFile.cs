using Microsoft.Win32.SafeHandles;

namespace Pelint.Pe.IO;

/// <summary>
/// Where an image's bytes come from: an open file read at explicit offsets (pread), or an array
/// (tests, fuzzing). Nothing is mapped and nothing is read whole, so memory follows what is read,
/// and a file truncated or rewritten by another process mid-scan makes reads come up short (noted
/// here) instead of raising SIGBUS, which a memory mapping would. Thread-safe: reads share no state.
/// </summary>
internal sealed class ImageFile : IDisposable
{
    private readonly SafeFileHandle? _handle;
    private readonly FileStream? _owner;
    private readonly DateTime _lastWrite;
    private int _shortReads;

    private ImageFile(FileStream? owner, byte[]? memory, long length, DateTime lastWrite)
    {
        _owner = owner;
        _handle = owner?.SafeFileHandle;
        Memory = memory;
        Length = length;
        _lastWrite = lastWrite;
        Pages = memory is null ? FilePages.For(this) : null;
    }

    /// <summary>The file's length when it was opened; every mapping and bound uses this one.</summary>
    public long Length { get; }

    /// <summary>The bytes, for an in-memory image (readers slice them instead of copying).</summary>
    public byte[]? Memory { get; }

    /// <summary>The file's pages shared by the image's readers; null for an in-memory image or a large file.</summary>
    public FilePages? Pages { get; }

    /// <summary>Reads through the stream's handle (never through the stream), and closes it on disposal.</summary>
    public static ImageFile Open(FileStream stream) =>
        new(stream, null, RandomAccess.GetLength(stream.SafeFileHandle), File.GetLastWriteTimeUtc(stream.SafeFileHandle));

    public static ImageFile InMemory(byte[] bytes) => new(null, bytes, bytes.Length, default);

    /// <summary>
    /// Reads file bytes from <paramref name="offset"/> into <paramref name="destination"/> and
    /// returns how many were there. Fewer than asked for, inside the length the file had when it
    /// was opened, means the file shrank: that is remembered (see <see cref="Changed"/>).
    /// </summary>
    public int Read(long offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= Length || destination.IsEmpty)
        {
            return 0;
        }

        var wanted = (int)Math.Min(destination.Length, Length - offset);
        if (Memory is { } memory)
        {
            memory.AsSpan((int)offset, wanted).CopyTo(destination);
            return wanted;
        }

        var read = 0;
        try
        {
            while (read < wanted)
            {
                var n = RandomAccess.Read(_handle!, destination[read..wanted], offset + read);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }
        }
        catch (IOException)
        {
            // An I/O error mid-scan (a vanished network file, a bad sector) reads as missing bytes.
        }

        if (read < wanted)
        {
            Interlocked.Exchange(ref _shortReads, 1);
        }

        return read;
    }

    /// <summary>
    /// Null while the file is as it was opened; else what changed: a read came up short, or the
    /// file's length or last-write time moved. (A file replaced by a rename is not a change: the
    /// open handle still reads the old file.)
    /// </summary>
    public string? Changed()
    {
        if (_handle is null)
        {
            return null;
        }

        if (Volatile.Read(ref _shortReads) != 0)
        {
            return "it was truncated while it was being read";
        }

        try
        {
            var length = RandomAccess.GetLength(_handle);
            if (length != Length)
            {
                return $"its length changed from {Length:N0} to {length:N0} bytes while it was being read";
            }

            if (File.GetLastWriteTimeUtc(_handle) != _lastWrite)
            {
                return "it was rewritten while it was being read";
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"it could not be checked after reading: {e.Message}";
        }

        return null;
    }

    public void Dispose() => _owner?.Dispose();
}
