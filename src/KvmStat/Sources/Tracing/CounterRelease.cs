namespace KvmStat.Sources.Tracing;

/// <summary>
/// Owns the lifetime of perf descriptors. Closing the last perf event of a tracepoint makes the
/// kernel wait for an RCU grace period (about 35 ms here, about 3 s for all kvm tracepoints),
/// so descriptors are never closed on a path the user waits for:
/// during a run they are closed on a background thread, and at exit a forked child inherits
/// them, waits until this process is gone, and pays that cost after the prompt is back.
/// </summary>
internal static class CounterRelease
{
    private static readonly object s_lock = new();
    private static readonly HashSet<int> s_open = [];
    private static readonly Queue<int[]> s_toClose = new();
    private static Thread? s_closer;
    private static bool s_exiting;

    internal static void Track(IReadOnlyList<int> descriptors)
    {
        lock (s_lock)
        {
            foreach (int fd in descriptors)
                s_open.Add(fd);
        }
    }

    internal static int OpenCount
    {
        get
        {
            lock (s_lock)
                return s_open.Count;
        }
    }

    /// <summary>
    /// The run is over: descriptors released from now on stay open for <see cref="HandOffBeforeExit"/>
    /// (closing them here would hold the exit for a grace period each).
    /// </summary>
    internal static void StopClosing()
    {
        lock (s_lock)
            s_exiting = true;
    }

    /// <summary>Closes descriptors on a background thread, so a refresh never waits for the kernel.</summary>
    internal static void CloseLater(IReadOnlyList<int> descriptors)
    {
        int[] copy = [.. descriptors];
        lock (s_lock)
        {
            if (s_exiting)
                return;
            s_toClose.Enqueue(copy);
            if (s_closer is null)
            {
                s_closer = new Thread(CloseLoop) { IsBackground = true, Name = "perf closer" };
                s_closer.Start();
            }
            else
            {
                Monitor.Pulse(s_lock);
            }
        }
    }

    private static void CloseLoop()
    {
        while (true)
        {
            int[] batch;
            lock (s_lock)
            {
                while (s_toClose.Count == 0)
                    Monitor.Wait(s_lock);
                batch = s_toClose.Dequeue();
            }
            foreach (int fd in batch)
            {
                // Forget the descriptor before closing it: a hand-off at exit must never keep a
                // number that a later open (the hand-off's own pipe) may reuse.
                lock (s_lock)
                {
                    if (s_exiting)
                        return;
                    s_open.Remove(fd);
                }
                _ = Interop.Libc.Close(fd);
            }
        }
    }

    /// <summary>
    /// Call once, just before the process exits: hands every open perf descriptor to a child that
    /// closes them after this process has gone. The child keeps nothing else: no standard streams
    /// (a pipe reader sees end-of-file at once), no log file, no listening socket.
    /// </summary>
    internal static unsafe void HandOffBeforeExit()
    {
        int* pipe = stackalloc int[2];
        int[] keep;
        lock (s_lock)
        {
            // Whatever the closer has not closed yet goes to the child: no grace period at exit.
            s_exiting = true;
            if (s_open.Count == 0 || Interop.Libc.Pipe2(pipe, 0) != 0)
                return;
            keep = new int[s_open.Count + 1];
            s_open.CopyTo(keep);
        }
        int readEnd = pipe[0];
        int writeEnd = pipe[1];
        keep[^1] = readEnd;
        Array.Sort(keep);
        uint highest = (uint)keep[^1];
        if (Interop.Libc.GetRLimit(Interop.Libc.RLIMIT_NOFILE, out Interop.Libc.RLimit limit) == 0)
            highest = (uint)Math.Min(limit.Current, int.MaxValue);
        byte* scratch = stackalloc byte[1];
        int parent = Environment.ProcessId;

        // No collection may be under way when the process forks: the child has only this thread,
        // and its GC polls would wait forever for a collection whose threads were not copied.
        bool noGc = false;
        try
        {
            noGc = GC.TryStartNoGCRegion(1 << 20);
        }
        catch (InvalidOperationException)
        {
        }

        int child = Interop.Libc.Fork();
        if (child == 0)
        {
            // The child: straight-line code, no allocation, only calls without GC transitions.
            _ = Interop.Libc.SetSid();
            uint next = 0;
            foreach (int fd in keep)
            {
                if (fd == writeEnd)
                    continue;
                if ((uint)fd > next)
                    Interop.ForkChild.CloseRange(next, (uint)fd - 1, highest);
                next = (uint)fd + 1;
            }
            Interop.ForkChild.CloseRange(next, uint.MaxValue, highest);
            _ = Interop.ForkChild.Close(writeEnd);
            // End of file on the pipe says the parent is gone; its pid is checked too, so nothing
            // that might still hold the write end can keep this child (and the counters) alive.
            while (Interop.ForkChild.GetParentPid() == parent)
            {
                if (Interop.ForkChild.WaitReadable(readEnd, 1000) && Interop.ForkChild.Read(readEnd, scratch, 1) == 0)
                    break;
            }
            Interop.Libc.ExitImmediately(0);
        }
        if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
            GC.EndNoGCRegion();
        // The parent keeps the write end open until it exits.
        _ = Interop.Libc.Close(readEnd);
    }
}
