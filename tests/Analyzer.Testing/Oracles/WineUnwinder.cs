using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Pelint.Testing.Oracles;

/// <summary>
/// A real x64 unwinder as a test oracle: Wine's ntdll!RtlVirtualUnwind, called by the winunwind
/// harness (tests/oracles/winunwind) on one PE image loaded as data. One long-lived process
/// answers every query; a query that does not come back within <see cref="QueryTimeout"/> (Wine's
/// epilog scan follows jumps and can spin on <c>EB FE</c>) kills the process, is answered as
/// <see cref="UnwindOutcome.Hang"/>, and the next query starts a new one. With
/// <c>retryStall</c> (for images that cannot hang) a query that times out is asked once more of a
/// new harness before it counts as a hang: a loaded machine must not make an answer seem missing.
/// The harness's output is read by a thread of its own, not by the thread pool, whose starvation
/// by other tests in the process would delay an answer that has arrived. Not thread-safe beyond
/// serializing calls.
/// </summary>
public sealed class WineUnwinder : IDisposable
{
    private readonly object _gate = new();
    private readonly Queue<string> _stderr = new();
    private Process? _process;
    private BlockingCollection<string?>? _lines;
    private long _nextId;
    private bool _disposed;

    private WineUnwinder(string imagePath, TimeSpan queryTimeout, TimeSpan startTimeout, bool retryStall)
    {
        ImagePath = Path.GetFullPath(imagePath);
        QueryTimeout = queryTimeout;
        StartTimeout = startTimeout;
        RetryStall = retryStall;
    }

    public string ImagePath { get; }

    /// <summary>How long one query may take before it counts as a hang (default 2 s).</summary>
    public TimeSpan QueryTimeout { get; }

    /// <summary>How long a start of the harness may take (default 60 s).</summary>
    public TimeSpan StartTimeout { get; }

    /// <summary>Whether a query that times out is asked once more of a new harness.</summary>
    public bool RetryStall { get; }

    /// <summary>Queries that timed out and were answered when asked again (only with <see cref="RetryStall"/>).</summary>
    public int Stalls { get; private set; }

    /// <summary>Number of entries in the image's exception directory, as the harness read it.</summary>
    public int PdataCount { get; private set; }

    /// <summary>How long the last start of the harness took, up to its ready line.</summary>
    public TimeSpan LastStartTime { get; private set; }

    /// <summary>How many times the harness was started (1 + restarts after hangs or crashes).</summary>
    public int Starts { get; private set; }

    /// <summary>Queries answered, and the time spent waiting for their answers.</summary>
    public long Queries { get; private set; }

    public TimeSpan QueryTime { get; private set; }

    /// <summary>
    /// Builds the harness and the Wine prefix if needed (<see cref="WineOracle.EnsureReady"/>) and
    /// starts the harness on <paramref name="imagePath"/>.
    /// </summary>
    public static WineUnwinder Start(string imagePath, TimeSpan? queryTimeout = null, TimeSpan? startTimeout = null, bool retryStall = false)
    {
        if (!File.Exists(imagePath))
        {
            throw new FileNotFoundException("image not found", imagePath);
        }

        WineOracle.EnsureReady();
        var unwinder = new WineUnwinder(imagePath, queryTimeout ?? TimeSpan.FromSeconds(2), startTimeout ?? TimeSpan.FromSeconds(60), retryStall);
        try
        {
            unwinder.Launch();
        }
        catch
        {
            unwinder.Dispose();
            throw;
        }

        return unwinder;
    }

    /// <summary>Runs one RtlVirtualUnwind call in the harness.</summary>
    public UnwindAnswer Unwind(UnwindQuery query)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var answer = Ask(query);
            if (answer.Outcome == UnwindOutcome.Hang && RetryStall)
            {
                answer = Ask(query);
                if (answer.Outcome != UnwindOutcome.Hang)
                {
                    Stalls++;
                }
            }

            return answer;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_process is { } process)
            {
                try
                {
                    process.StandardInput.WriteLine("quit");
                    process.StandardInput.Close();
                    if (process.WaitForExit(2000))
                    {
                        process.Dispose();
                        _process = null;
                    }
                }
                catch (IOException)
                {
                }
            }

            Stop();
        }
    }

    private UnwindAnswer Ask(UnwindQuery query)
    {
        if (_process is null)
        {
            Launch();
        }

        var id = ++_nextId;
        var clock = Stopwatch.StartNew();
        try
        {
            _process!.StandardInput.WriteLine(query.ToProtocolLine(id));
            _process.StandardInput.Flush();
        }
        catch (IOException e)
        {
            Stop();
            return new UnwindAnswer { Outcome = UnwindOutcome.Failed, Error = "harness-exited " + e.Message + Diagnostics(), Raw = "" };
        }

        var line = ReadLine(QueryTimeout, out var timedOut);
        QueryTime += clock.Elapsed;
        Queries++;
        if (timedOut)
        {
            Stop();
            return new UnwindAnswer
            {
                Outcome = UnwindOutcome.Hang,
                Error = $"hang: no answer within {QueryTimeout.TotalSeconds:0.###} s; the harness was killed",
                Raw = "",
            };
        }

        if (line is null)
        {
            Stop();
            return new UnwindAnswer { Outcome = UnwindOutcome.Failed, Error = "harness-exited" + Diagnostics(), Raw = "" };
        }

        var expected = "id=" + id.ToString(CultureInfo.InvariantCulture);
        if (line.Split(' ').ElementAtOrDefault(1) != expected)
        {
            Stop();
            throw new InvalidOperationException($"harness answer out of step (wanted {expected}): '{line}'");
        }

        return UnwindAnswer.Parse(line);
    }

    private void Launch()
    {
        var clock = Stopwatch.StartNew();
        var process = Process.Start(WineOracle.StartInfo(WineOracle.ToWindowsPath(WineOracle.HarnessPath), WineOracle.ToWindowsPath(ImagePath)))
            ?? throw new InvalidOperationException("cannot start wine");
        _process = process;
        _lines = ReadLinesOnOwnThread(process.StandardOutput);
        Starts++;
        lock (_stderr)
        {
            _stderr.Clear();
        }

        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_stderr)
            {
                _stderr.Enqueue(e.Data);
                while (_stderr.Count > 20)
                {
                    _stderr.Dequeue();
                }
            }
        };
        process.BeginErrorReadLine();

        var ready = ReadLine(StartTimeout, out var timedOut);
        if (timedOut || ready is null || !ready.StartsWith("ready ", StringComparison.Ordinal))
        {
            var diagnostics = Diagnostics();
            Stop();
            throw new InvalidOperationException($"the winunwind harness did not start on {ImagePath}: {(timedOut ? "timed out" : ready ?? "exited")}{diagnostics}");
        }

        var pdata = ready.Split(' ').Single(t => t.StartsWith("pdata=", StringComparison.Ordinal));
        PdataCount = int.Parse(pdata.AsSpan(6), CultureInfo.InvariantCulture);
        LastStartTime = clock.Elapsed;
    }

    /// <summary>The lines of <paramref name="output"/>, then null at its end, read by a background thread.</summary>
    private static BlockingCollection<string?> ReadLinesOnOwnThread(StreamReader output)
    {
        var lines = new BlockingCollection<string?>();
        var reader = new Thread(() =>
        {
            try
            {
                while (output.ReadLine() is { } line)
                {
                    lines.Add(line);
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
            }

            lines.Add(null);
        })
        {
            IsBackground = true,
            Name = "winunwind stdout",
        };
        reader.Start();
        return lines;
    }

    private string? ReadLine(TimeSpan timeout, out bool timedOut)
    {
        timedOut = !_lines!.TryTake(out var line, timeout);
        return line;
    }

    private void Stop()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }

        // Not waited for: Wine may keep the pipe open a while after the kill; the reader thread ends
        // when it closes, and its lines go to a queue no later query reads.
        _lines = null;
        process.Dispose();
    }

    private string Diagnostics()
    {
        lock (_stderr)
        {
            return _stderr.Count == 0 ? "" : "; stderr: " + string.Join(" | ", _stderr);
        }
    }

    /// <summary>A summary of the costs measured so far, for test output.</summary>
    public override string ToString()
    {
        var perQuery = Queries == 0 ? 0 : QueryTime.TotalMilliseconds / Queries;
        return new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"{Path.GetFileName(ImagePath)}: {Starts} start(s), last {LastStartTime.TotalMilliseconds:0} ms; ")
            .Append(CultureInfo.InvariantCulture, $"{Queries} queries, {perQuery:0.000} ms each")
            .ToString();
    }
}
