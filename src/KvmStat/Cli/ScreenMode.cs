using KvmStat.Stats;
using KvmStat.Tui;

namespace KvmStat.Cli;

/// <summary>
/// The interactive screen. Everything that can fail at start (no terminal, no tracefs, no such
/// guest) fails before the screen opens, as a plain error.
/// </summary>
internal static class ScreenMode
{
    internal static int Run(Session session, Reporter reporter)
    {
        AnsiTerminal.RequireTerminalOutput();
        Options options = session.Options;
        var backend = new TuiBackend(session);
        // The run's -f filter, as every output's: a name met later that takes it a second is said.
        var app = new TuiApp(backend, session.Selection.Filter, session.Pid, session.Vm?.Name, options.Delay, session.Time, options.Latency);
        app.Start();

        try
        {
            // Closed at the end of this block, before the finally: what the screen showed is then
            // said on stderr, on the terminal's own screen again.
            using AnsiTerminal terminal = AnsiTerminal.Open();
            using var signals = new Signals(handleHangup: false, suspending: terminal.Deactivate);
            var keyboard = new KeyboardReader(signals.Wake);
            reporter.ShowOn(app.Notice);
            // Said on stderr before the screen opened, where it is out of sight until the screen
            // closes: shown on the screen too, not said again on stderr after it.
            if (session.Options.FellBackToDebugfs)
                app.Notice(Session.FallbackNotice(session.Factory.Paths));
            return ScreenLoop.Run(app, terminal, signals, keyboard, session.Time);
        }
        finally
        {
            reporter.ShowOn(null);
        }
    }
}
