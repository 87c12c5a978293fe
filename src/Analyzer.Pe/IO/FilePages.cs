namespace Pelint.Pe.IO;

/// <summary>
/// The pages of an image's file (<see cref="PageSize"/> bytes each, each read with one pread
/// when first asked for) shared by every reader of the image on every thread, for files of at
/// most <see cref="MaxFileLength"/> bytes. The verifier reads code all over an image (a callee,
/// its callees, an unwind record shared by many functions), and readers with windows of their own
/// read the same bytes again and again: coreclr.dll (4.6 MB) took 23,000 preads, 176 MB copied, 12%
/// of its scan's time. A page is written once, before it is published, and never dropped, so
/// readers take its bytes without a lock. Larger files are read through each reader's windows
/// only: there the reads cost little (biome.exe, 79 MB: 60,000 preads, under 2% of the scan)
/// and pages held for the whole scan would grow memory with the file.
/// </summary>
internal sealed class FilePages
{
    /// <summary>Below the GC's large-object threshold (85,000 bytes).</summary>
    public const int PageSize = 64 * 1024;

    /// <summary>Files up to this length are read through pages; what they hold never exceeds it.</summary>
    public const long MaxFileLength = 16L * 1024 * 1024;

    private const int PageShift = 16;

    private readonly ImageFile _file;
    private readonly Page?[] _pages;
    private readonly Lock _lock = new();

    private FilePages(ImageFile file)
    {
        _file = file;
        _pages = new Page?[(file.Length + PageSize - 1) >> PageShift];
    }

    /// <summary>The pages of <paramref name="file"/>, or null when it is too large to keep them.</summary>
    public static FilePages? For(ImageFile file) => file.Length <= MaxFileLength ? new FilePages(file) : null;

    /// <summary>
    /// The bytes [offset, offset+length) when they lie in one page and the file still had them
    /// when the page was read; else false (the caller reads them another way). They stay valid.
    /// </summary>
    public bool TryGet(long offset, int length, out ArraySegment<byte> bytes)
    {
        bytes = default;
        var index = offset >> PageShift;
        if (offset < 0 || length <= 0 || index >= _pages.Length || ((offset + length - 1) >> PageShift) != index)
        {
            return false;
        }

        var page = Volatile.Read(ref _pages[index]) ?? Load((int)index);
        var skip = (int)(offset - (index << PageShift));
        if (skip + length > page.Count)
        {
            return false; // the file shrank before the page was read
        }

        bytes = new ArraySegment<byte>(page.Bytes, skip, length);
        return true;
    }

    private Page Load(int index)
    {
        var start = (long)index << PageShift;
        var buffer = GC.AllocateUninitializedArray<byte>((int)Math.Min(PageSize, _file.Length - start));
        var page = new Page(buffer, _file.Read(start, buffer));
        lock (_lock)
        {
            // Another thread may have read it first: every reader then sees that one page.
            _pages[index] ??= page;
            return _pages[index]!;
        }
    }

    private sealed record Page(byte[] Bytes, int Count);
}
