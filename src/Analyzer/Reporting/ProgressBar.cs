using System.Diagnostics;
using System.Globalization;

namespace Pelint.Reporting;

/// <summary>
/// A one-line progress bar on a terminal's stderr. It stays hidden for the first moment (quick
/// scans print nothing), redraws at most every 100 ms, and erases itself when disposed.
/// Called from the scanner's worker threads.
/// </summary>
public sealed class ProgressBar(TextWriter writer, int total, TimeSpan? delay = null) : IProgress<int>, IDisposable
{
    private const int Width = 30;
    private readonly Lock _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TimeSpan _delay = delay ?? TimeSpan.FromSeconds(1);
    private TimeSpan _lastDraw;
    private bool _shown;

    public void Report(int value)
    {
        lock (_gate)
        {
            var now = _clock.Elapsed;
            if (now < _delay || (_shown && now - _lastDraw < TimeSpan.FromMilliseconds(100) && value < total))
            {
                return;
            }

            _lastDraw = now;
            _shown = true;
            writer.Write(Render(value, total));
            writer.Flush();
        }
    }

    public static string Render(int done, int total)
    {
        var filled = total == 0 ? Width : (int)((long)done * Width / total);
        return string.Create(CultureInfo.InvariantCulture, $"\r[{new string('#', filled)}{new string(' ', Width - filled)}] {done}/{total} files");
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_shown)
            {
                writer.Write("\r" + new string(' ', Width + 30) + "\r");
                writer.Flush();
            }
        }
    }
}
