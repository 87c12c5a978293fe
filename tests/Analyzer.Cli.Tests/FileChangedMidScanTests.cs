using System.Text.Json;
using Pelint.Testing;

namespace Pelint.Cli.Tests;

/// <summary>
/// Large files truncated or rewritten by another process while `pelint scan` reads them. Files
/// over 256 MiB used to be memory-mapped, and a truncation mid-scan killed the process with
/// SIGBUS (exit 134, every file's results lost). The scan runs in this process: were it to fault,
/// the test run itself would die. Each test starts the scan, waits until it holds the file open,
/// changes the file, and expects exit 3 with a PEL0001 error that says what happened.
/// </summary>
public sealed class FileChangedMidScanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pelint-midscan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [SkippableFact]
    public void Image_over_256_MiB_truncated_mid_scan_exits_3_with_a_notification()
    {
        var path = WriteLargeImage();

        var (code, notification) = ScanWhile(path, () => Truncate(path, 4096));

        Assert.Equal(3, code);
        Assert.Contains("could not be analyzed", notification, StringComparison.Ordinal);
        Assert.True(notification.Contains("truncated", StringComparison.Ordinal) || notification.Contains("length changed", StringComparison.Ordinal), notification);
    }

    [SkippableFact]
    public void Image_over_256_MiB_rewritten_mid_scan_exits_3_with_a_notification()
    {
        var path = WriteLargeImage();

        var (code, notification) = ScanWhile(path, () => Rewrite(path));

        Assert.Equal(3, code);
        Assert.Contains("rewritten", notification, StringComparison.Ordinal);
    }

    // biome.exe (79 MB) is read through each reader's windows; coreclr.dll (4.6 MB) through the
    // pages all readers share (FilePages): a page read before the change keeps the old bytes, one
    // read after it comes up short or new, and the file is reported either way.
    [SkippableTheory]
    [InlineData("biome.exe")]
    [InlineData("coreclr.dll")]
    public void Real_image_truncated_mid_scan_exits_3_with_a_notification(string image)
    {
        var path = CopyRealImage(image);

        var (code, notification) = ScanWhile(path, () => Truncate(path, 1 << 20));

        Assert.Equal(3, code);
        Assert.True(notification.Contains("truncated", StringComparison.Ordinal) || notification.Contains("length changed", StringComparison.Ordinal), notification);
    }

    [SkippableTheory]
    [InlineData("biome.exe")]
    [InlineData("coreclr.dll")]
    public void Real_image_rewritten_mid_scan_exits_3_with_a_notification(string image)
    {
        var path = CopyRealImage(image);

        var (code, notification) = ScanWhile(path, () => Rewrite(path));

        Assert.Equal(3, code);
        Assert.Contains("rewritten", notification, StringComparison.Ordinal);
    }

    // Runs the scan on another thread, applies `change` once the scan holds the file open, and
    // returns the exit code and the text of the file's one execution notification.
    private (int Code, string Notification) ScanWhile(string path, Action change)
    {
        Skip.IfNot(OpenFiles.Supported, "needs /proc/self/fd to see when the scan has opened the file");
        var sarif = Path.Combine(_dir, "out.sarif");
        var scan = Task.Run(() => CliRunner.Run("scan", path, "-o", sarif, "--fail-level", "none", "--source-root", _dir));
        Assert.True(OpenFiles.WaitUntilOpen(path, TimeSpan.FromSeconds(30)), "the scan never opened the file");
        change();
        // Generous: the scan runs in this process, on a machine other test runs share.
        Assert.True(scan.Wait(TimeSpan.FromMinutes(5)), "the scan did not finish");

        // The file was the only input: the gate's PEL0007 (nothing was checked) comes with the file's PEL0001.
        using var log = JsonDocument.Parse(File.ReadAllText(sarif));
        var notifications = log.RootElement.GetProperty("runs")[0].GetProperty("invocations")[0].GetProperty("toolExecutionNotifications");
        var only = Assert.Single(notifications.EnumerateArray(), n => n.GetProperty("descriptor").GetProperty("id").GetString() != "PEL0007");
        Assert.Equal("PEL0001", only.GetProperty("descriptor").GetProperty("id").GetString());
        Assert.Equal("error", only.GetProperty("level").GetString());
        return (scan.Result.ExitCode, only.GetProperty("message").GetProperty("text").GetString()!);
    }

    private string WriteLargeImage()
    {
        var path = Path.Combine(_dir, "large.dll");
        // 300 MiB, over the size files used to be mapped from; 1,024 functions described, so
        // the scan is long enough to be caught mid-way and short enough for a test.
        File.WriteAllBytes(path, LargeImage.Build(300 << 20, describedFunctions: 1024));
        return path;
    }

    // biome.exe when it was fetched (PELINT_BIOME), else the test skips; coreclr.dll from the runtime pack.
    private string CopyRealImage(string image)
    {
        var source = image == "biome.exe" ? TestPaths.BiomeExe : Path.Combine(TestPaths.RuntimePackNative, image);
        Skip.If(source is null, "biome.exe not found (PELINT_BIOME, or artifacts/bench/biome/package/biome.exe from benchmarks/compare.sh)");
        var path = Path.Combine(_dir, image);
        File.Copy(source, path);
        return path;
    }

    private static void Truncate(string path, long length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        file.SetLength(length);
    }

    // Same length, other bytes from the middle on, a later write time: a build writing over its output.
    private static void Rewrite(string path)
    {
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            file.Position = file.Length / 2;
            file.Write(new byte[1 << 16]);
        }

        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
    }
}
