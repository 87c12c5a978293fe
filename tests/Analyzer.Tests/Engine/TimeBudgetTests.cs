using Pelint.Analysis;
using Pelint.Analysis.StackWalk;
using Pelint.Engine;
using Pelint.Pe;
using Pelint.Rules;
using Pelint.Testing;

namespace Pelint.Tests.Engine;

/// <summary>The per-file time budget (--timeout): work past it stops, the file says so (PEL0004), the other files are scanned.</summary>
public sealed class TimeBudgetTests
{
    /// <summary>Stands in for a rule that runs too long; it stops only when cancelled (or after a minute, to report that it was not).</summary>
    private sealed class SlowRule : IRule
    {
        public string Id => "PE1005"; // any catalogued ID: the engine needs the rule's page

        public Applicability GetApplicability(PeImage image) => Applicability.Applicable;

        public IEnumerable<Finding> Analyze(RuleContext context)
        {
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (DateTime.UtcNow < deadline)
            {
                context.Cancellation.ThrowIfCancellationRequested();
                Thread.Sleep(5);
            }

            yield return NxCompat.Messages.Missing(FindingLocation.Image, "never-cancelled", context.FileName, new Hex(0, 4));
        }
    }

    /// <summary>A clock the test moves by hand, whose timers never fire: a thread pool too busy to run the budget's timer.</summary>
    private sealed class StalledClock : TimeProvider
    {
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _now);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _now, by.Ticks);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) => new NeverFires();

        private sealed class NeverFires : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period) => true;

            public void Dispose()
            {
            }

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>A catalogued rule that moves the clock when it runs and counts its runs.</summary>
    private sealed class ClockRule(string id, StalledClock clock, TimeSpan takes) : IRule
    {
        public int Runs { get; private set; }

        public string Id => id;

        public Applicability GetApplicability(PeImage image) => Applicability.Applicable;

        public IEnumerable<Finding> Analyze(RuleContext context)
        {
            Runs++;
            clock.Advance(takes);
            return [];
        }
    }

    [Fact]
    public void Deadline_that_passed_is_noticed_at_the_next_check_though_the_timer_never_fired()
    {
        var clock = new StalledClock();
        using var budget = new TimeBudget(TimeSpan.FromMilliseconds(10), clock);

        clock.Advance(TimeSpan.FromMilliseconds(9));
        budget.CheckDeadline();
        var before = budget.Token.IsCancellationRequested;
        clock.Advance(TimeSpan.FromMilliseconds(1));
        budget.CheckDeadline();

        Assert.False(before);
        Assert.True(budget.Token.IsCancellationRequested);
    }

    [Fact]
    public void Engine_runs_no_rule_after_the_deadline_though_the_timer_never_fired()
    {
        var clock = new StalledClock();
        var first = new ClockRule("PE1001", clock, TimeSpan.FromSeconds(2));
        var second = new ClockRule("PE1002", clock, TimeSpan.Zero);
        using var budget = new TimeBudget(TimeSpan.FromSeconds(1), clock);
        using var image = PeImage.Open(TestPaths.RuntimeDll("hostfxr.dll")).Image!;
        var analysis = new AnalysisContext(image, new AnalysisSettings { Budget = budget });

        new RuleEngine(RuleCatalog.Embedded, [first, second]).Analyze(analysis, DefaultSeverityPolicy.Instance);

        Assert.Equal(1, first.Runs);
        Assert.Equal(0, second.Runs);
        Assert.True(budget.Token.IsCancellationRequested);
    }

    [Fact]
    public void Rule_running_past_the_budget_is_stopped_and_each_file_gets_one_notification()
    {
        var scanner = new Scanner(new RuleEngine(RuleCatalog.Embedded, [new SlowRule()]));
        ScanInput[] inputs = [new(TestPaths.RuntimeDll("hostfxr.dll"), true), new(TestPaths.RuntimeDll("createdump.exe"), true)];

        var reports = scanner.Scan(inputs, new ScanOptions { FileTimeBudget = TimeSpan.FromMilliseconds(100), MaxDegreeOfParallelism = 2 });

        Assert.Equal(inputs.Select(i => i.Path), reports.Select(r => r.Path));
        Assert.All(reports, r =>
        {
            Assert.Empty(r.Results);
            var notification = Assert.Single(r.Notifications, n => n.Id == ToolNotification.TimeBudgetExceeded);
            Assert.Contains("results are incomplete", notification.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Budget_that_runs_out_during_the_epilog_scan_stops_it_with_a_notification()
    {
        // coreclr.dll's epilog scan decodes 14,000 functions: far longer than a millisecond.
        var scanner = new Scanner(RuleEngine.CreateDefault());

        var report = scanner.ScanOne(new ScanInput(TestPaths.RuntimeDll("coreclr.dll"), true), new ScanOptions { FileTimeBudget = TimeSpan.FromMilliseconds(1) });

        Assert.Single(report.Notifications, n => n.Id == ToolNotification.TimeBudgetExceeded);
        Assert.DoesNotContain(report.Notifications, n => n.Id == ToolNotification.RuleFailed);
    }

    [Fact]
    public void Cancelled_image_stops_its_epilog_scan_with_OperationCanceledException()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        using var image = PeImage.Open(TestPaths.RuntimeDll("hostfxr.dll")).Image!;
        var analysis = new AnalysisContext(image, new AnalysisSettings { Cancellation = cancelled.Token });

        Assert.ThrowsAny<OperationCanceledException>(() => StackWalkAnalysis.Of(analysis));
    }
}
