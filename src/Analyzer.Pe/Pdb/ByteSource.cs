using Microsoft.Win32.SafeHandles;

namespace Pelint.Pe.Pdb;

/// <summary>
/// Bytes read at an offset, never past <see cref="Length"/>: the one way the PDB reader touches
/// its file, so no read can leave it whatever the file's fields say.
/// </summary>
internal abstract class ByteSource : IDisposable
{
    public abstract long Length { get; }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; false when any of it lies outside the source or cannot be read.</summary>
    public bool TryRead(long offset, Span<byte> buffer)
    {
        if (offset < 0 || offset > Length || buffer.Length > Length - offset)
        {
            return false;
        }

        return buffer.IsEmpty || ReadCore(offset, buffer);
    }

    // Called with a range inside the source.
    protected abstract bool ReadCore(long offset, Span<byte> buffer);

    public abstract void Dispose();
}

/// <summary>A file read with positional reads (pread): no shared file position, no mapping.</summary>
internal sealed class FileByteSource(FileStream file, long length) : ByteSource
{
    private readonly SafeFileHandle _handle = file.SafeFileHandle;

    public override long Length { get; } = length;

    protected override bool ReadCore(long offset, Span<byte> buffer)
    {
        // A file truncated since its length was taken reads short: that is a failed read, not zeros.
        try
        {
            var done = 0;
            while (done < buffer.Length)
            {
                var n = RandomAccess.Read(_handle, buffer[done..], offset + done);
                if (n <= 0)
                {
                    return false;
                }

                done += n;
            }

            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    public override void Dispose() => file.Dispose();
}

/// <summary>Bytes in memory (tests, and PDBs handed over whole).</summary>
internal sealed class MemoryByteSource(ReadOnlyMemory<byte> bytes) : ByteSource
{
    public override long Length => bytes.Length;

    protected override bool ReadCore(long offset, Span<byte> buffer)
    {
        bytes.Span.Slice((int)offset, buffer.Length).CopyTo(buffer);
        return true;
    }

    public override void Dispose()
    {
    }
}
