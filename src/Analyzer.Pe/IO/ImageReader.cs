using System.Buffers;

namespace Pelint.Pe.IO;

/// <summary>
/// A window onto an image's file for one reader at a time: every read returns the bytes asked
/// for as a span that is valid until the next read on this reader. A read inside one page of a
/// file small enough to keep its pages (<see cref="FilePages"/>, shared by all readers) is served
/// from that page. Other reads are served from the reader's window when they fall inside it;
/// otherwise a window is refilled from the file (one pread).
/// A reader that moves forward (through code, through a table) streams: each refill starts at
/// the request and reads ahead, twice as far as the last up to <see cref="MaxWindow"/>, so a
/// scan costs one read per window. A read far from the stream (a record shared by many
/// functions, a table elsewhere) goes to a small second window and leaves the stream's in place.
/// Memory stays at the windows' size however large the file. Not thread-safe: each worker opens
/// its own (<see cref="PeImage.OpenReader"/>).
/// </summary>
public sealed class ImageReader : IDisposable
{
    /// <summary>A stream's first refill reads this much; each further one doubles it up to <see cref="MaxWindow"/>.</summary>
    public const int MinWindow = 16 * 1024;

    /// <summary>Read-ahead stops growing here; a single read larger than this gets a window of its size.</summary>
    /// <remarks>
    /// Below the GC's large-object threshold (85,000 bytes): a worker keeps several readers, and
    /// windows in the large-object heap brought full collections that stopped every worker (a
    /// coreclr.dll scan with two threads: 8 MB of them, 45 -> 37 MiB peak RSS at 64 KiB, no slower).
    /// </remarks>
    public const int MaxWindow = 64 * 1024;

    // A read that lands in [window start, window end + Reach) continues that window's stream.
    private const int Reach = 64 * 1024;

    // What a read away from the stream fetches.
    private const int SideWindow = 4096;

    private readonly ImageFile _file;
    private readonly RvaMap _map;
    private Window _stream = new();
    private Window _side = new();
    private int _next = MinWindow;

    internal ImageReader(ImageFile file, RvaMap map)
    {
        _file = file;
        _map = map;
    }

    /// <summary>The image's RVA map, which this reader reads through.</summary>
    public RvaMap Map => _map;

    /// <summary>The file's length when the image was opened.</summary>
    public long FileLength => _file.Length;

    /// <summary>
    /// The file bytes from <paramref name="fileOffset"/> on, at most <paramref name="maxLength"/>
    /// of them: fewer at the end of the file (or of what is left of a file truncated mid-scan),
    /// none outside it. Valid until the next read on this reader.
    /// </summary>
    public ReadOnlySpan<byte> ReadAt(long fileOffset, int maxLength) => ReadSegmentAt(fileOffset, maxLength);

    /// <summary>
    /// As <see cref="ReadAt"/>, as the array that holds the bytes (the reader's window, or an
    /// in-memory image's bytes), for a caller that keeps a position in it between reads of its
    /// own; valid until the next read on this reader.
    /// </summary>
    public ArraySegment<byte> ReadSegmentAt(long fileOffset, int maxLength)
    {
        if (fileOffset < 0 || maxLength <= 0 || fileOffset >= _file.Length)
        {
            return ArraySegment<byte>.Empty;
        }

        var length = (int)Math.Min(maxLength, _file.Length - fileOffset);
        if (_file.Memory is { } memory)
        {
            return new ArraySegment<byte>(memory, (int)fileOffset, length);
        }

        if (_file.Pages is { } pages && pages.TryGet(fileOffset, length, out var paged))
        {
            return paged;
        }

        if (_stream.Holds(fileOffset, length))
        {
            return _stream.Slice(fileOffset, length);
        }

        if (_side.Holds(fileOffset, length))
        {
            return _side.Slice(fileOffset, length);
        }

        if (_stream.Continues(fileOffset) || _side.Continues(fileOffset))
        {
            var size = Math.Max(length, _next);
            _next = Math.Min(_next * 2, MaxWindow);
            _stream.Fill(_file, fileOffset, length, size);
            return _stream.Slice(fileOffset, length);
        }

        // A jump: fetch just what is asked for (and the rest of its page), and start a new
        // stream from there if the next reads follow it.
        _next = MinWindow;
        _side.Fill(_file, fileOffset, length, Math.Max(length, SideWindow));
        return _side.Slice(fileOffset, length);
    }
    /// <summary>
    /// The bytes of [rva, rva+length) when every one of them is in the file (see
    /// <see cref="RvaMap.TryGetFileOffset"/>); valid until the next read on this reader. Use for
    /// code and tables; use <see cref="TryRead"/> for small structures that may lie in zero-fill.
    /// </summary>
    public bool TryGetSpan(uint rva, int length, out ReadOnlySpan<byte> span)
    {
        span = default;
        if (length < 0 || !_map.TryGetFileOffset(rva, out var offset, out var available) || available < length)
        {
            return false;
        }

        var bytes = ReadAt(offset, length);
        if (bytes.Length < length)
        {
            return false; // the file shrank under us
        }

        span = bytes;
        return true;
    }

    /// <summary>The longest file-backed run starting at <paramref name="rva"/>, capped at <paramref name="maxLength"/>; valid until the next read.</summary>
    public ReadOnlySpan<byte> GetAvailableSpan(uint rva, int maxLength)
    {
        if (maxLength <= 0 || !_map.TryGetFileOffset(rva, out var offset, out var available))
        {
            return default;
        }

        return ReadAt(offset, (int)Math.Min(available, maxLength));
    }

    /// <summary>
    /// Reads [rva, rva+length) as the loader would see it: file bytes where present, zero past a
    /// section's raw data. Returns the window when it can, else fills <paramref name="scratch"/>.
    /// False when the range is not inside one mapped region.
    /// </summary>
    public bool TryRead(uint rva, int length, Span<byte> scratch, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (length < 0 || length > scratch.Length || !_map.IsMapped(rva, (uint)length))
        {
            return false;
        }

        if (TryGetSpan(rva, length, out bytes))
        {
            return true;
        }

        var destination = scratch[..length];
        destination.Clear();
        GetAvailableSpan(rva, length).CopyTo(destination);
        bytes = destination;
        return true;
    }

    /// <summary>Reads a NUL-terminated printable ASCII name at an RVA (bounded, file-backed).</summary>
    public bool TryReadAsciiZ(uint rva, int maxLength, out string value) =>
        SpanRead.TryAsciiZ(GetAvailableSpan(rva, maxLength + 1), 0, maxLength + 1, out value);

    public void Dispose()
    {
        _stream.Release();
        _side.Release();
    }

    /// <summary>A buffer and the file range it holds.</summary>
    private struct Window()
    {
        // Buffers up to this size come from the shared pool; larger ones (a big table read once)
        // are left to the GC rather than kept in the pool for the rest of the process.
        private const int PooledLimit = 1 << 20;
        private const int Alignment = 4096;

        private byte[] _buffer = [];
        private bool _pooled;
        private long _start;
        private int _count;

        public readonly bool Holds(long offset, int length) => offset >= _start && offset + length <= _start + _count;

        public readonly bool Continues(long offset) => _count > 0 && offset >= _start && offset < _start + _count + Reach;

        public readonly ArraySegment<byte> Slice(long offset, int length)
        {
            var skip = offset - _start;
            return skip < 0 || skip >= _count ? ArraySegment<byte>.Empty : new ArraySegment<byte>(_buffer, (int)skip, (int)Math.Min(length, _count - skip));
        }

        /// <summary>Reads <paramref name="size"/> bytes (at least the <paramref name="length"/> asked for) from the page of <paramref name="offset"/> on.</summary>
        public void Fill(ImageFile file, long offset, int length, int size)
        {
            if (_buffer.Length < size)
            {
                Release();
                _pooled = size <= PooledLimit;
                _buffer = _pooled ? ArrayPool<byte>.Shared.Rent(size) : new byte[size];
            }

            // From the page boundary below the request when the request still fits: a reader
            // that steps back a little (the padding before a function) stays inside.
            var start = offset - (offset % Alignment);
            if (offset + length - start > _buffer.Length)
            {
                start = offset;
            }

            var wanted = (int)Math.Min(Math.Min(_buffer.Length, size + (offset - start)), file.Length - start);
            _start = start;
            _count = file.Read(start, _buffer.AsSpan(0, wanted));
        }

        public void Release()
        {
            if (_pooled)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            _buffer = [];
            _pooled = false;
            _count = 0;
        }
    }
}
