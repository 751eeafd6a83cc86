using System.CommandLine;
using KvmStat.Output;
using KvmStat.Sources.Debugfs;
using KvmStat.Sources.Tracing;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>Parses the command line, sets up a session and runs the chosen mode.</summary>
internal static class Runner
{
    internal static int Run(string[] args, HostPaths paths, TextWriter output, TextWriter error)
    {
        RootCommand root = CommandLine.Build();
        ParseResult result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            error.WriteLine($"kvm_stat: error: {result.Errors[0].Message}");
            error.WriteLine("kvm_stat: see kvm_stat --help for the options.");
            return KvmStatException.UsageExitCode;
        }
        // The root command has no action of its own: one here is -h/--help or --version.
        if (result.Action is not null)
            return result.Invoke(new InvocationConfiguration { Output = output, Error = error });

        Options options = CommandLine.ToOptions(result);
        var reporter = new Reporter(options.Verbose, error);

        if (options.FieldsHelp)
            return ListFields(options, paths, output, reporter);

        if (!options.Once && !options.Logging)
            throw new UsageException(
                "the interactive screen is not available in this build.",
                "Use -1 for one sample, or -l / -L FILE to log.");

        // The log file is opened before the counters, so a bad path fails fast.
        using OutputSink sink = options.LogFile is string file ? OutputSink.AppendTo(file) : OutputSink.Stdout(output);
        using Session session = Session.Open(options, paths, reporter);
        using var signals = new Signals(handleHangup: options.LogFile is not null);
        void Ready() => reporter.Verbose("counting started");

        if (options.Once)
        {
            double seconds = options.DelayGiven ? options.Delay : 1.0;
            return Modes.RunBatch(session.Stats, seconds, signals, new BatchRenderer(sink), Ready);
        }
        ILogFormat format = options.Csv ? new CsvLogFormat() : new PlainLogFormat();
        var renderer = new LogRenderer(sink, format, options.SkipZeroRecords);
        return Modes.RunLog(session.Stats, options.Delay, signals, renderer, sink, Ready);
    }

    /// <summary>-f help: the parent fields of the chosen sources, one per line, indented by two spaces.</summary>
    private static int ListFields(Options options, HostPaths paths, TextWriter output, Reporter reporter)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (options.UseTracepoints)
        {
            Tracefs tracefs = Tracefs.Locate(paths);
            foreach (string name in tracefs.ListKvmEvents())
                names.Add(name);
        }
        if (options.Debugfs)
        {
            using var debugfs = new DebugfsSource(paths, FieldFilter.Default, 0, false, new StatFileReader(), _ => { });
            foreach (string name in debugfs.AllFieldNames)
                names.Add(name);
        }
        foreach (string name in names)
            output.WriteLine("  " + name);
        return 0;
    }
}
