using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Engine;

/// <summary>
/// A file truncated or rewritten by another process while it is scanned. A memory mapping would
/// lose its pages (the next read raises SIGBUS and ends the process); the image reads the open
/// file at explicit offsets, so reads of what is gone come up short, the rules finish, and the
/// scan reports the file as not analyzed, saying what happened to it.
/// </summary>
public sealed class FileChangedDuringScanTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pelint-changed-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void File_truncated_after_open_is_analyzed_without_a_rule_failure_and_known_to_have_changed()
    {
        var path = Copy("hostpolicy.dll");
        using var image = PeImage.Open(path).Image!;
        Assert.Null(image.ChangedSinceOpen());

        Truncate(path, 4096);
        var report = RuleHarness.Engine.Analyze(image, DefaultSeverityPolicy.Instance);

        Assert.DoesNotContain(report.Notifications, n => n.Id == ToolNotification.RuleFailed);
        Assert.Contains("truncated", image.ChangedSinceOpen(), StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_of_a_file_truncated_by_a_rule_mid_scan_fails_with_an_unreadable_notification()
    {
        var path = Copy("hostpolicy.dll");
        var scanner = ScannerWith(new ChangeTheFile(() => Truncate(path, 4096)));

        var report = scanner.ScanOne(new ScanInput(path, Explicit: true), new ScanOptions { MaxDegreeOfParallelism = 1 });

        Assert.Equal(FileStatus.Failed, report.Status);
        var notification = Assert.Single(report.Notifications);
        Assert.Equal(ToolNotification.FileUnreadable, notification.Id);
        Assert.Equal(Level.Error, notification.Level);
        Assert.Contains("truncated", notification.Message, StringComparison.Ordinal);
        Assert.Empty(report.Results);
    }

    [Fact]
    public void Scan_of_a_file_rewritten_in_place_mid_scan_fails_with_an_unreadable_notification()
    {
        var path = Copy("hostpolicy.dll");
        var length = new FileInfo(path).Length;
        var scanner = ScannerWith(new ChangeTheFile(() =>
        {
            // Same length, other bytes, a later write time: what a build writing over its output does.
            using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            file.Position = length / 2;
            file.Write(new byte[4096]);
            file.Flush();
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));
        }));

        var report = scanner.ScanOne(new ScanInput(path, Explicit: true), new ScanOptions { MaxDegreeOfParallelism = 1 });

        Assert.Equal(FileStatus.Failed, report.Status);
        Assert.Contains("rewritten", Assert.Single(report.Notifications).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_of_a_file_replaced_by_a_rename_mid_scan_reads_the_file_it_opened()
    {
        var path = Copy("hostpolicy.dll");
        var expected = RuleHarness.Analyze(path).RuleIds();
        var replacement = Copy("createdump.exe");
        var scanner = ScannerWith(new ChangeTheFile(() => File.Move(replacement, path, overwrite: true)));

        var report = scanner.ScanOne(new ScanInput(path, Explicit: true), new ScanOptions { MaxDegreeOfParallelism = 1 });

        // The open handle still reads the old file: nothing changed under the rules.
        Assert.Equal(FileStatus.Analyzed, report.Status);
        Assert.Equal(expected.Where(id => id != "PE1001"), report.RuleIds().Where(id => id != "PE1001"));
    }

    private string Copy(string runtimeDll)
    {
        var path = Path.Combine(_dir, runtimeDll);
        File.Copy(TestPaths.RuntimeDll(runtimeDll), path, overwrite: true);
        return path;
    }

    private static void Truncate(string path, long length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        file.SetLength(length);
    }

    // The real rules, with PE1001's place taken by one that changes the file before the others
    // read their tables and code (the engine runs rules in ID order).
    private static Scanner ScannerWith(IRule first) =>
        new(new RuleEngine(RuleCatalog.Embedded, [first, .. RuleRegistry.CreateAll().Where(r => r.Id != "PE1001")]));

    private sealed class ChangeTheFile(Action change) : IRule
    {
        public string Id => "PE1001";

        public Applicability GetApplicability(PeImage image) => Applicability.Applicable;

        public IEnumerable<Finding> Analyze(RuleContext context)
        {
            change();
            return [];
        }
    }
}
