namespace Pelint.Analysis;

/// <summary>
/// A per-file time budget. A timer cancels <see cref="Token"/> when the time is up, but the timer
/// runs on the thread pool, which the scan's own workers may keep busy until the file is done; so
/// the work also checks the deadline itself at its boundaries (<see cref="CheckDeadline"/>: between
/// rules, chunks of work and the functions the stack-walk verifier follows) and cancels the token
/// when it finds it passed.
/// </summary>
public sealed class TimeBudget : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly ITimer _timer;

    public TimeBudget(TimeSpan limit, CancellationToken outer = default)
        : this(limit, TimeProvider.System, outer)
    {
    }

    /// <summary>A budget measured on <paramref name="time"/> (tests stand in a clock whose timers do not fire).</summary>
    public TimeBudget(TimeSpan limit, TimeProvider time, CancellationToken outer = default)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, TimeSpan.Zero);
        Limit = limit;
        _time = time;
        _source = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _start = _time.GetTimestamp();
        _timer = _time.CreateTimer(static s => ((TimeBudget)s!).Expire(), this, limit, Timeout.InfiniteTimeSpan);
    }

    public TimeSpan Limit { get; }

    /// <summary>Cancelled when the budget runs out or the outer token is cancelled.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>Cancels <see cref="Token"/> if the deadline has passed (the timer may not have fired yet).</summary>
    public void CheckDeadline()
    {
        if (!_source.IsCancellationRequested && _time.GetElapsedTime(_start) >= Limit)
        {
            Expire();
        }
    }

    public void Dispose()
    {
        _timer.Dispose();
        _source.Dispose();
    }

    private void Expire()
    {
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The timer fired as the file finished: nothing left to stop.
        }
    }
}
