using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Engine;

/// <summary>
/// A file truncated or rewritten while it is scanned: a memory mapping would lose its pages (the
/// next read raises SIGBUS and ends the process); the image is a snapshot read at open, so the scan
/// finishes on the bytes it opened.
/// </summary>
public sealed class FileChangedDuringScanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pelint-changed-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void File_truncated_after_open_is_analyzed_from_its_snapshot()
    {
        var path = Path.Combine(_dir, "hostpolicy.dll");
        File.Copy(TestPaths.RuntimeDll("hostpolicy.dll"), path);
        var expected = RuleHarness.Analyze(path).RuleIds();
        using var image = PeImage.Open(path).Image!;

        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            file.SetLength(4096);
        }

        var report = RuleHarness.Engine.Analyze(image, DefaultSeverityPolicy.Instance);

        Assert.Equal(expected, report.RuleIds());
        Assert.DoesNotContain(report.Notifications, n => n.Id == ToolNotification.RuleFailed);
    }

    [Fact]
    public void File_over_the_snapshot_limit_is_mapped_and_still_analyzed()
    {
        var path = TestPaths.RuntimeDll("hostfxr.dll");

        using var mapped = PeImage.Open(path, new PeOpenOptions { SnapshotLimit = 0 }).Image!;
        using var snapshot = PeImage.Open(path).Image!;

        Assert.Equal(
            RuleHarness.Engine.Analyze(snapshot, DefaultSeverityPolicy.Instance).RuleIds(),
            RuleHarness.Engine.Analyze(mapped, DefaultSeverityPolicy.Instance).RuleIds());
    }
}
