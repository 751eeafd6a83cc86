using System.Diagnostics;
using KvmStat.Output;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>The non-interactive modes: -1 (batch) and -l/-L (log). They drive a renderer over samples.</summary>
internal static class Modes
{
    /// <summary>-1: a baseline sample, one interval (1 s unless -s), a second sample, one output.</summary>
    internal static int RunBatch(StatsCollector stats, double seconds, Signals signals, IStatsRenderer renderer, Action ready) =>
        RunBatch(stats, seconds, signals, new LoopClock(signals), renderer, ready);

    internal static int RunBatch(StatsCollector stats, double seconds, Signals signals, LoopClock clock, IStatsRenderer renderer, Action ready)
    {
        // The renderer starts first: what it opens (per-guest counters) is not part of the interval.
        renderer.Start(stats);
        stats.Sample();
        ready();
        long due = clock.Now + (long)(seconds * Stopwatch.Frequency);
        while (true)
        {
            signals.ResetWake();
            // Interrupted before the interval ends: like the reference, nothing is printed.
            if (signals.StopRequested)
                return 0;
            if (clock.Now >= due)
                break;
            clock.WaitUntil(due);
        }
        stats.Sample();
        renderer.Render(stats, DateTime.Now);
        return 0;
    }

    /// <summary>
    /// -l/-L: a record every interval until SIGINT or SIGTERM, then a last record for the partial
    /// interval if anything happened in it. Interval N is due at start + N × delay, so timestamps
    /// do not drift; intervals missed entirely (the host was suspended) are skipped, not bunched.
    /// </summary>
    internal static int RunLog(StatsCollector stats, double delay, Signals signals, IStatsRenderer renderer, OutputSink sink, Action ready) =>
        RunLog(stats, delay, signals, new LoopClock(signals), renderer, sink, ready);

    internal static int RunLog(StatsCollector stats, double delay, Signals signals, LoopClock clock, IStatsRenderer renderer, OutputSink sink, Action ready)
    {
        renderer.Start(stats);
        stats.Sample();
        ready();
        long start = clock.Now;
        long interval = (long)(delay * Stopwatch.Frequency);
        long n = 0;
        while (true)
        {
            n++;
            long due = start + n * interval;
            while (true)
            {
                signals.ResetWake();
                if (signals.StopRequested)
                {
                    stats.Sample();
                    if (AnyNonZero(stats.Deltas))
                        renderer.Render(stats, DateTime.Now);
                    return 0;
                }
                if (signals.TakeHangup())
                {
                    sink.Reopen();
                    renderer.Reopened(stats);
                }
                if (clock.Now >= due)
                    break;
                clock.WaitUntil(due);
            }
            stats.Sample();
            renderer.Render(stats, DateTime.Now);

            long late = clock.Now - due;
            if (late > interval)
                n += late / interval;
        }
    }

    private static bool AnyNonZero(ReadOnlySpan<long> values)
    {
        foreach (long value in values)
        {
            if (value != 0)
                return true;
        }
        return false;
    }
}
