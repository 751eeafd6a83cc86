using System.CommandLine;
using KvmStat.Guests;
using KvmStat.Output;
using KvmStat.Sources.Tracing;
using KvmStat.Stats;
using KvmStat.Tui;
using KvmStat.Host;

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

        if (result.GetValue(CommandLine.ManPage))
        {
            output.Write(Cli.ManPage.Render(root));
            return 0;
        }
        Options options = CommandLine.ToOptions(result);
        var reporter = new Reporter(options.Verbose, error);

        if (options.Doctor)
            return new Doctor(paths, output).Run(TimeSpan.FromSeconds(1));
        if (options.FieldsHelp)
            return ListFields(options, paths, output, reporter);

        if (options.Serving)
            return ExporterMode.Run(options, paths, reporter);
        if (!options.Once && !options.Logging)
            return RunScreen(options, paths, reporter);

        // The log file is opened before the counters, so a bad path fails fast.
        using OutputSink sink = options.LogFile is string file ? OutputSink.AppendTo(file) : OutputSink.Stdout(output);
        using Session session = Session.Open(options, paths, reporter);
        using var signals = new Signals(handleHangup: options.LogFile is not null);
        void Ready() => reporter.Verbose("counting started");

        using GuestStats? guests = options.Json ? session.OpenGuestStats(options) : null;
        IStatsRenderer renderer = options.Json
            ? new JsonRenderer(sink, guests, session.Pid, session.GuestName, options.SkipZeroRecords)
            : options.Once
                ? new BatchRenderer(sink)
                : new LogRenderer(sink, options.Csv ? new CsvLogFormat() : new PlainLogFormat(), options.SkipZeroRecords);
        try
        {
            if (options.Once)
            {
                double seconds = options.DelayGiven ? options.Delay : 1.0;
                return Modes.RunBatch(session.Stats, seconds, signals, renderer, Ready);
            }
            return Modes.RunLog(session.Stats, options.Delay, signals, renderer, sink, Ready);
        }
        finally
        {
            // Before the session is disposed: its descriptors go to the exit hand-off, not to a closer.
            CounterRelease.StopClosing();
        }
    }

    /// <summary>
    /// The interactive screen. Everything that can fail at start (no terminal, no tracefs, no such
    /// guest) fails before the screen opens, as a plain error.
    /// </summary>
    private static int RunScreen(Options options, HostPaths paths, Reporter reporter)
    {
        AnsiTerminal.RequireTerminalOutput();
        var guests = new GuestFinder(paths);
        (int pid, string? guestName) = Session.ResolveVm(options, guests);
        var backend = new TuiBackend(new SourceFactory(options, paths, reporter), guests);
        using var app = new TuiApp(backend, FieldFilter.Create(options.Fields), pid, guestName, options.Delay);
        app.Start();

        using AnsiTerminal terminal = AnsiTerminal.Open();
        using var signals = new Signals(handleHangup: false, suspending: terminal.Deactivate);
        var keyboard = new KeyboardReader(signals.Wake);
        reporter.ShowOn(app.Notice);
        try
        {
            return ScreenLoop.Run(app, terminal, signals, keyboard);
        }
        finally
        {
            reporter.ShowOn(null);
            CounterRelease.StopClosing();
        }
    }

    /// <summary>-f help: the parent fields of the chosen sources, one per line, indented by two spaces.</summary>
    private static int ListFields(Options options, HostPaths paths, TextWriter output, Reporter reporter)
    {
        foreach (string name in new SourceFactory(options, paths, reporter).ParentFieldNames())
            output.WriteLine("  " + name);
        return 0;
    }
}
