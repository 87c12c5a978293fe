using Pelint.Pe.IO;
using Pelint.Testing;

namespace Pelint.Pe.Tests.IO;

/// <summary>Reads served from shared pages are the file's bytes, shared between readers, and come up short once the file shrinks.</summary>
public sealed class FilePagesTests
{
    private static string Coreclr => Path.Combine(TestPaths.RuntimePackNative, "coreclr.dll");

    [Fact]
    public void Reads_inside_and_across_pages_return_the_files_bytes()
    {
        var bytes = File.ReadAllBytes(Coreclr);
        Assert.InRange(bytes.LongLength, FilePages.PageSize * 3, FilePages.MaxFileLength);
        using var image = PeImage.Open(Coreclr).Image!;
        using var reader = image.OpenReader();
        var random = new Random(11);
        for (var k = 0; k < 2000; k++)
        {
            // Every fourth read straddles a page boundary, where the reader's own window serves it.
            var length = random.Next(1, 9000);
            var offset = k % 4 == 0
                ? (random.Next(1, (int)(bytes.Length / FilePages.PageSize)) * (long)FilePages.PageSize) - random.Next(1, length)
                : random.NextInt64(0, bytes.Length);
            var expected = bytes.AsSpan((int)offset, (int)Math.Min(length, bytes.Length - offset));

            Assert.True(expected.SequenceEqual(reader.ReadAt(offset, length)), $"{length} bytes at 0x{offset:X}");
        }
    }

    [Fact]
    public void Two_readers_of_one_image_share_a_page()
    {
        using var image = PeImage.Open(Coreclr).Image!;
        using var first = image.OpenReader();
        using var second = image.OpenReader();

        var a = first.ReadSegmentAt(FilePages.PageSize + 16, 64);
        var b = second.ReadSegmentAt(FilePages.PageSize + 100, 64);

        Assert.Same(a.Array, b.Array);
    }

    [Fact]
    public void A_file_larger_than_the_limit_keeps_no_pages()
    {
        var path = Path.GetTempFileName();
        try
        {
            using (var file = File.OpenWrite(path))
            {
                file.SetLength(FilePages.MaxFileLength + 1); // sparse: nothing is written
            }

            using var image = ImageFile.Open(new FileStream(path, FileMode.Open, FileAccess.Read));
            Assert.Null(image.Pages);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_page_read_after_the_file_shrank_comes_up_short_and_is_noted()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.Copy(Coreclr, path, overwrite: true);
            using var image = PeImage.Open(path).Image!;
            using var reader = image.OpenReader();
            var half = new FileInfo(path).Length / 2;
            using (var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            {
                file.SetLength(half);
            }

            Assert.Equal(0, reader.ReadAt(half + (FilePages.PageSize * 2), 16).Length);
            Assert.Equal("it was truncated while it was being read", image.ChangedSinceOpen());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
