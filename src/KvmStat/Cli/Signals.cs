using System.Diagnostics;
using System.Runtime.InteropServices;

namespace KvmStat.Cli;

/// <summary>
/// SIGINT and SIGTERM ask the running mode to finish cleanly (write what it has, flush, exit 0);
/// SIGHUP asks a log to reopen its file. Waits between samples wake up at once for any of them.
/// </summary>
internal sealed class Signals : IDisposable
{
    // No spinning: a wait between samples is long, and spinning would only add sched_yield calls.
    private readonly ManualResetEventSlim _wake = new(false, spinCount: 0);
    private readonly List<PosixSignalRegistration> _registrations = [];
    private volatile bool _stop;
    private volatile bool _hangup;

    internal Signals(bool handleHangup)
    {
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStop));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStop));
        if (handleHangup)
            _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnHangup));
    }

    internal bool StopRequested => _stop;

    private void OnStop(PosixSignalContext context)
    {
        context.Cancel = true;
        _stop = true;
        _wake.Set();
    }

    private void OnHangup(PosixSignalContext context)
    {
        context.Cancel = true;
        _hangup = true;
        _wake.Set();
    }

    /// <summary>True once per SIGHUP received.</summary>
    internal bool TakeHangup()
    {
        if (!_hangup)
            return false;
        _hangup = false;
        return true;
    }

    /// <summary>Waits until the monotonic <paramref name="dueTimestamp"/> or a signal, whichever comes first.</summary>
    internal void WaitUntil(long dueTimestamp)
    {
        long remaining = dueTimestamp - Stopwatch.GetTimestamp();
        if (remaining <= 0 || _stop || _hangup)
            return;
        int milliseconds = (int)Math.Ceiling(remaining * 1000.0 / Stopwatch.Frequency);
        _wake.Wait(milliseconds);
        if (!_stop && !_hangup)
            _wake.Reset();
    }

    /// <summary>Lets another part (a key press, a resize) wake the waiting loop.</summary>
    internal void Wake() => _wake.Set();

    internal void ClearWake() => _wake.Reset();

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
            registration.Dispose();
        _wake.Dispose();
    }
}
