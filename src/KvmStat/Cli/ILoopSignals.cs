namespace KvmStat.Cli;

/// <summary>
/// What the batch and log loops wait on: a stop (SIGINT, SIGTERM, a hangup without a file), a
/// reopen (SIGHUP with -L), or the end of a wait. <see cref="Signals"/> is the real one.
/// A loop calls <see cref="ResetWake"/>, looks at everything it waits for, then <see cref="Wait"/>:
/// a signal that comes in between is never lost.
/// </summary>
internal interface ILoopSignals
{
    bool StopRequested { get; }

    /// <summary>True once per SIGHUP received with a log file to reopen.</summary>
    bool TakeHangup();

    void ResetWake();

    /// <summary>Returns after <paramref name="timeout"/>, or at a signal since <see cref="ResetWake"/>.</summary>
    void Wait(TimeSpan timeout);

    /// <summary>
    /// Waits until <paramref name="due"/> (a timestamp of <paramref name="time"/>): true then, false
    /// as soon as a stop is asked; a hangup meanwhile runs <paramref name="onHangup"/> and the wait goes on.
    /// </summary>
    bool WaitUntil(TimeProvider time, long due, Action? onHangup = null)
    {
        while (true)
        {
            ResetWake();
            if (StopRequested)
                return false;
            if (onHangup is not null && TakeHangup())
                onHangup();
            long now = time.GetTimestamp();
            if (now >= due)
                return true;
            Wait(time.GetElapsedTime(now, due));
        }
    }
}
