using System.Diagnostics;
using KvmStat.Output;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>Monotonic time and waiting for the loops; tests replace it to check the schedule.</summary>
internal class LoopClock
{
    private readonly Signals? _signals;

    internal LoopClock(Signals signals) => _signals = signals;

    /// <summary>For clocks that wait in their own way.</summary>
    protected LoopClock()
    {
    }

    internal virtual long Now => Stopwatch.GetTimestamp();

    /// <summary>Returns at <paramref name="due"/> or at a wake-up (a signal).</summary>
    internal virtual void WaitUntil(long due) => _signals?.WaitUntil(due);
}
