using KvmStat.Output;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>-1: a baseline sample, one interval (1 s unless -s), a second sample, one output.</summary>
internal static class BatchMode
{
    internal static int Run(Session session, Reporter reporter, TextWriter output)
    {
        using OutputSink sink = OutputSink.Stdout(output);
        Sampler sampler = session.OpenSampler();
        using var signals = new Signals(handleHangup: false);
        session.SayWhetherVmsCanRun(reporter);
        IStatsRenderer renderer = session.Options.Format == OutputFormat.Json
            ? new JsonRenderer(sink, skipZeroRecords: false, session.GuestFilter, session.Selection.Filter)
            : new BatchRenderer(sink);
        return Run(sampler, session.Options.BatchSeconds, signals, session.Time, renderer, () => reporter.Verbose("counting started"));
    }

    internal static int Run(Sampler sampler, double seconds, ILoopSignals signals, TimeProvider time, IStatsRenderer renderer, Action ready)
    {
        renderer.Start(sampler.Snapshot);
        sampler.Sample();
        ready();
        long due = time.GetTimestamp() + (long)(seconds * time.TimestampFrequency);
        // Interrupted before the interval ends: like the reference, nothing is printed.
        if (!signals.WaitUntil(time, due))
            return 0;
        sampler.Sample();
        renderer.Render(sampler.Snapshot);
        return 0;
    }
}
