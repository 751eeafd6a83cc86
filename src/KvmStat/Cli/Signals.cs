using System.Runtime.InteropServices;

namespace KvmStat.Cli;

/// <summary>
/// Signals and wake-ups for the loops. SIGINT and SIGTERM ask the running mode to finish cleanly
/// (write what it has, flush, exit 0); SIGHUP asks a log file to reopen, or the exporter to reload
/// its web configuration, and otherwise (the terminal went away) does the same as SIGTERM.
/// For the screen, SIGWINCH asks for a redraw, and SIGTSTP/SIGCONT give the terminal back while
/// stopped and take it again.
/// A loop calls <see cref="ResetWake"/>, then looks at everything it waits for, then
/// <see cref="Wait"/>: a wake-up that comes in between is never lost.
/// </summary>
internal sealed class Signals : ILoopSignals, IDisposable
{
    // No spinning: a wait between samples is long, and spinning would only add sched_yield calls.
    private static PosixSignalRegistration? s_early;
    private static int s_earlyHangup;
    private static bool s_hangupsIgnored;

    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _stop;
    private int _hangup;
    private int _resized;
    private int _continued;

    /// <param name="handleHangup">SIGHUP is reported (<see cref="TakeHangup"/>: -L reopens its file, --serve reloads) instead of ending the tool.</param>
    /// <param name="suspending">
    /// For the interactive screen: what to do just before the process is stopped (Ctrl-Z), which is
    /// to give the terminal back. Resizes and continuations are then reported too.
    /// </param>
    internal Signals(bool handleHangup, Action? suspending = null)
    {
        Register(PosixSignal.SIGINT, () => Raise(ref _stop));
        Register(PosixSignal.SIGTERM, () => Raise(ref _stop));
        // Without a file to reopen, a hangup (the terminal went away) ends the run like SIGTERM:
        // a log still writes its last partial interval instead of dying with it.
        // Started with hangups ignored (nohup): a mode that would end on one goes on ignoring them.
        if (handleHangup)
            Register(PosixSignal.SIGHUP, () => Raise(ref _hangup));
        else if (s_hangupsIgnored)
            Register(PosixSignal.SIGHUP, () => { });
        else
            Register(PosixSignal.SIGHUP, () => Raise(ref _stop));
        // A hangup since start, held by HoldHangups until now: it ends a mode that ends on one; a
        // mode that reloads or reopens reads its files after this, so there is nothing to do again.
        Interlocked.Exchange(ref s_early, null)?.Dispose();
        if (Interlocked.Exchange(ref s_earlyHangup, 0) == 1 && !handleHangup && !s_hangupsIgnored)
            Raise(ref _stop);
        if (suspending is null)
            return;
        Register(PosixSignal.SIGWINCH, () => Raise(ref _resized));
        Register(PosixSignal.SIGCONT, () => Raise(ref _continued));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTSTP, context =>
        {
            // Give the terminal back, then let the default action stop the process.
            suspending();
            context.Cancel = false;
        }));
    }

    /// <summary>
    /// The first thing the process does: a SIGHUP from now on is held (not the default end of the
    /// process) until a mode's <see cref="Signals"/> says what it means, so that a reload sent just
    /// after the exporter started (systemctl reload during start-up) never ends it.
    /// </summary>
    /// <remarks>
    /// A SIGHUP ignored since start (nohup) is taken back first: the runtime never catches a signal
    /// it found ignored, so -L could not reopen its file after logrotate (the log would go on into
    /// the rotated file, to be compressed and lost) and the exporter could not reload.
    /// </remarks>
    internal static void HoldHangups()
    {
        if (Interop.Libc.IsIgnored(Interop.Abi.SIGHUP) && Interop.Libc.SetDefault(Interop.Abi.SIGHUP) == 0)
            s_hangupsIgnored = true;
        s_early = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            Volatile.Write(ref s_earlyHangup, 1);
        });
    }

    private void Register(PosixSignal signal, Action action) =>
        _registrations.Add(PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;
            action();
        }));

    private void Raise(ref int flag)
    {
        Volatile.Write(ref flag, 1);
        _wake.Set();
    }

    private static bool Take(ref int flag) => Interlocked.Exchange(ref flag, 0) == 1;

    public bool StopRequested => Volatile.Read(ref _stop) == 1;

    /// <summary>True once per SIGHUP received (log file and exporter).</summary>
    public bool TakeHangup() => Take(ref _hangup);

    /// <summary>True once per SIGWINCH received.</summary>
    internal bool TakeResize() => Take(ref _resized);

    /// <summary>True once per SIGCONT received.</summary>
    internal bool TakeContinued() => Take(ref _continued);

    /// <summary>Lets another part (a key press) wake the waiting loop.</summary>
    internal void Wake() => _wake.Set();

    /// <summary>Call before looking at what to do; see the class summary.</summary>
    public void ResetWake() => _wake.Reset();

    /// <summary>Returns after <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/>: never), or at a signal since <see cref="ResetWake"/>.</summary>
    public void Wait(TimeSpan timeout)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
            _wake.Wait();
        else if (timeout > TimeSpan.Zero)
            _wake.Wait((int)Math.Min(Math.Ceiling(timeout.TotalMilliseconds), int.MaxValue));
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
            registration.Dispose();
        _wake.Dispose();
    }
}
