namespace KvmStat.Tests.Infrastructure;

/// <summary>Collects the lines a child process writes and lets a test await a condition on them.</summary>
internal sealed class LineCollector
{
    private readonly List<string> _lines = [];
    private readonly object _lock = new();
    private bool _closed;

    internal void Add(string? line)
    {
        lock (_lock)
        {
            if (line is null)
                _closed = true;
            else
                _lines.Add(line);
            Monitor.PulseAll(_lock);
        }
    }

    internal string[] Lines
    {
        get
        {
            lock (_lock)
                return [.. _lines];
        }
    }

    internal string Text => string.Join('\n', Lines);

    /// <summary>Waits until <paramref name="condition"/> holds over the lines so far; fails after the time-out or at end of stream.</summary>
    internal string[] WaitFor(Func<IReadOnlyList<string>, bool> condition, TimeSpan timeout, string what)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        lock (_lock)
        {
            while (!condition(_lines))
            {
                TimeSpan left = deadline - DateTime.UtcNow;
                if (_closed || left <= TimeSpan.Zero)
                    throw new TimeoutException($"{what}: not seen {(_closed ? "before the stream ended" : $"within {timeout}")}. Lines:\n{string.Join('\n', _lines)}");
                Monitor.Wait(_lock, left);
            }
            return [.. _lines];
        }
    }

    internal string WaitForLine(Func<string, bool> match, TimeSpan timeout, string what) =>
        WaitFor(lines => lines.Any(match), timeout, what).First(match);
}
