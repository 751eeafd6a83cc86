using KvmStat.Tui;

namespace KvmStat.Cli;

/// <summary>Runs the screen: waits for the next refresh, a key or a signal, and draws each change with one write.</summary>
internal static class ScreenLoop
{
    internal static int Run(TuiApp app, AnsiTerminal terminal, Signals signals, KeyboardReader keyboard, TimeProvider time)
    {
        (int rows, int columns) = terminal.QuerySize();
        var grid = new ScreenGrid(rows, columns);
        var frames = new AnsiFrameWriter();
        bool dirty = true;
        while (true)
        {
            signals.ResetWake();
            if (signals.StopRequested || keyboard.Closed)
                break;
            if (signals.TakeContinued())
            {
                terminal.Activate();
                frames.Invalidate();
                dirty = true;
            }
            if (signals.TakeResize())
            {
                (rows, columns) = terminal.QuerySize();
                grid.Resize(rows, columns);
                frames.Invalidate();
                dirty = true;
            }
            while (keyboard.TryTake(out Key key))
            {
                app.OnKey(key);
                dirty = true;
            }
            if (app.QuitRequested)
                break;
            if (time.GetTimestamp() >= app.NextRefresh)
            {
                app.Refresh();
                app.FollowGuest();
                dirty = true;
            }
            if (dirty)
            {
                app.Draw(grid);
                terminal.Write(frames.Render(grid));
                dirty = false;
            }
            long now = time.GetTimestamp();
            signals.Wait(app.NextRefresh == long.MaxValue ? Timeout.InfiniteTimeSpan : time.GetElapsedTime(now, Math.Max(now, app.NextRefresh)));
        }
        return 0;
    }
}
