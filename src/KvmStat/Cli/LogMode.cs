using KvmStat.Output;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>
/// -l/-L: a record every interval until SIGINT or SIGTERM, then a last record for the partial
/// interval if anything happened in it. Interval N is due at start + N × delay, so timestamps do
/// not drift; intervals missed entirely (the host was suspended) are skipped, not bunched.
/// </summary>
internal static class LogMode
{
    internal static int Run(Session session, Reporter reporter, TextWriter output)
    {
        Options options = session.Options;
        // Before the file is opened: a SIGHUP from then on reopens it.
        using var signals = new Signals(handleHangup: options.LogFile is not null);
        // The log file is opened before the counters, so a bad path fails fast.
        using OutputSink sink = options.LogFile is string file ? OutputSink.AppendTo(file) : OutputSink.Stdout(output);
        Sampler sampler;
        try
        {
            sampler = session.OpenSampler();
        }
        catch
        {
            // A start that fails leaves no empty log file of its own behind.
            sink.RemoveIfCreatedAndUnused();
            throw;
        }
        session.SayWhetherVmsCanRun(reporter);
        IStatsRenderer renderer = options.Format switch
        {
            OutputFormat.Json => new JsonRenderer(sink, options.SkipZeroRecords, session.GuestFilter, session.Selection.Filter),
            OutputFormat.Csv => new LogRenderer(sink, new CsvLogFormat(), options.SkipZeroRecords, reporter.Warn),
            _ => new LogRenderer(sink, new PlainLogFormat(), options.SkipZeroRecords),
        };
        return Run(sampler, options.Delay, signals, session.Time, renderer, sink, () => reporter.Verbose("counting started"), reporter.Warn);
    }

    /// <param name="warn">Where a log file that cannot be reopened on SIGHUP is said (records go on to the file open before).</param>
    internal static int Run(Sampler sampler, double delay, ILoopSignals signals, TimeProvider time, IStatsRenderer renderer, OutputSink sink, Action ready,
        Action<string> warn)
    {
        Snapshot snapshot = sampler.Snapshot;
        renderer.Start(snapshot);
        sampler.Sample();
        ready();
        long start = time.GetTimestamp();
        long interval = (long)(delay * time.TimestampFrequency);
        long n = 0;
        Action reopen = () => Reopen(sink, renderer, snapshot, warn);
        while (true)
        {
            n++;
            long due = start + n * interval;
            if (!signals.WaitUntil(time, due, reopen))
            {
                sampler.Sample();
                if (Counts.AnyNonZero(snapshot.Host.Deltas))
                    renderer.Render(snapshot);
                sink.Close();
                return 0;
            }
            sampler.Sample();
            renderer.Render(snapshot);

            long late = time.GetTimestamp() - due;
            if (late > interval)
                n += late / interval;
        }
    }

    /// <summary>
    /// SIGHUP: the log file again by its name (logrotate moved the old one away). Where the name
    /// now holds what may not be written (a link, another user's file), logging goes on into the
    /// file open before, so no record is lost; the next SIGHUP tries again.
    /// </summary>
    private static void Reopen(OutputSink sink, IStatsRenderer renderer, Snapshot snapshot, Action<string> warn)
    {
        try
        {
            if (sink.Reopen() is string closeFailed)
                warn(closeFailed);
        }
        catch (EnvironmentException e)
        {
            warn($"{e.Message} Records go on to the file open before; the next SIGHUP tries again.");
            return;
        }
        renderer.Reopened(snapshot);
    }
}
