using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Perf;

/// <summary>
/// The fork behind <see cref="CounterDescriptors.Dispose"/>: a child that inherits some descriptors,
/// closes every other one, and waits until its parent has gone before it exits (and so closes them).
/// </summary>
internal static class DescriptorHandOff
{
    /// <summary>Returns the child's pid, or 0 when no child could be made (the descriptors then close with this process).</summary>
    internal static unsafe int Fork(int[] descriptors)
    {
        if (Interop.Libc.Pipe2(out int readEnd, out int _) != 0)
            return 0;
        int[] keep = [.. descriptors, readEnd];
        Array.Sort(keep);
        uint highest = (uint)keep[^1];
        if (Interop.Libc.GetRLimit(Interop.Abi.RLIMIT_NOFILE, out Interop.Libc.RLimit limit) == 0)
            highest = (uint)Math.Min(limit.Current, int.MaxValue);
        byte* scratch = stackalloc byte[1];
        int parent = Environment.ProcessId;
        // The child reads no statics and runs no code that is not compiled yet: all it needs is here.
        long closeRange = Interop.Abi.SYS_close_range;
        short pollIn = Interop.Abi.POLLIN;

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
                if ((uint)fd > next)
                    Interop.ForkChild.CloseRange(closeRange, next, (uint)fd - 1, highest);
                next = (uint)fd + 1;
            }
            Interop.ForkChild.CloseRange(closeRange, next, uint.MaxValue, highest);
            // writeEnd is not in keep, so it is closed above: only the parent holds it now.
            // End of file on the pipe says the parent is gone; its pid is checked too, so nothing
            // that might still hold the write end can keep this child (and the counters) alive.
            while (Interop.ForkChild.GetParentPid() == parent)
            {
                if (Interop.ForkChild.WaitReadable(readEnd, 1000, pollIn) && Interop.ForkChild.Read(readEnd, scratch, 1) == 0)
                    break;
            }
            Interop.Libc.ExitImmediately(0);
        }
        if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
            GC.EndNoGCRegion();
        // The parent keeps the write end open until it exits.
        _ = Interop.Libc.Close(readEnd);
        return child > 0 ? child : 0;
    }
}
