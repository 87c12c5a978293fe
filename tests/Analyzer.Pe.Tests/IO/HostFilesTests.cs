using System.Diagnostics;
using Pelint.Pe.IO;

namespace Pelint.Pe.Tests.IO;

/// <summary>Only regular files are read; names that are not UTF-8 survive the round trip.</summary>
public sealed class HostFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pelint-hostfiles-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Path_bytes_that_are_not_utf8_round_trip_through_lone_surrogates()
    {
        byte[] raw = [.. "bad"u8, 0xFF, 0xC3, .. ".exe"u8, 0xE2, 0x82, 0xAC]; // 0xFF and a cut sequence, then a valid euro sign

        var text = HostFiles.FromBytes(raw);

        Assert.Equal("bad\uDCFF\uDCC3.exe\u20AC", text);
        Assert.Equal(raw, HostFiles.ToBytes(text));
    }

    [Fact]
    public void Fifo_is_seen_as_one_and_opening_it_fails_at_once_instead_of_blocking()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // FIFOs and the native checks are Linux-only
        }

        var fifo = Path.Combine(_dir, "pipe.dll");
        using (var mkfifo = Process.Start("mkfifo", [fifo])!)
        {
            mkfifo.WaitForExit();
        }

        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<IOException>(() => HostFiles.OpenRegular(fifo));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal(FileKind.Fifo, HostFiles.KindOf(fifo));
        Assert.Contains("FIFO", error.Message, StringComparison.Ordinal);
        var open = PeImage.Open(fifo);
        Assert.Equal(PeOpenFailure.Unreadable, open.Failure);
    }

    [Fact]
    public void Regular_file_and_folder_are_told_apart_and_listed()
    {
        File.WriteAllText(Path.Combine(_dir, "a.dll"), "x");
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));

        var entries = HostFiles.List(_dir).OrderBy(e => e.Path, StringComparer.Ordinal).ToList();

        Assert.Equal([(Path.Combine(_dir, "a.dll"), FileKind.Regular), (Path.Combine(_dir, "sub"), FileKind.Directory)], entries);
        using var stream = HostFiles.OpenRegular(Path.Combine(_dir, "a.dll"));
        Assert.Equal(1, stream.Length);
    }
}
