using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace KvmStat.Sources;

/// <summary>
/// The fork behind <see cref="CounterDescriptors.Dispose"/>: a child that inherits some descriptors,
/// closes every other one, and waits until its parent has gone (or let it go, <see cref="HandOff.Release"/>)
/// before it exits, and so closes them: the kernel's grace periods are the child's to wait for.
/// The child runs one method, compiled before the fork, that makes raw system calls only, so the
/// same code runs in the published binary and under the tests' JIT.
/// </summary>
internal static class DescriptorHandOff
{
    /// <summary>Everything the child needs, on the parent's stack before the fork.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct Plan
    {
        internal int* Keep;
        internal int KeepCount;
        internal uint Highest;
        internal int Parent;
        internal int ReadEnd;
        internal int DryRun;
        internal short PollIn;
        internal long CloseRange, Close, Read, Ppoll, GetPpid, SetSid, ExitGroup;
    }

    /// <summary>The child holding the descriptors, or null when none could be made (the descriptors then close with this process).</summary>
    internal static unsafe HandOff? Fork(int[] descriptors)
    {
        if (Interop.Libc.Pipe2(out int readEnd, out int writeEnd) != 0)
            return null;
        int[] keep = [.. descriptors, readEnd];
        Array.Sort(keep);
        uint highest = (uint)keep[^1];
        if (Interop.Libc.GetRLimit(Interop.Abi.RLIMIT_NOFILE, out Interop.Libc.RLimit limit) == 0)
            highest = (uint)Math.Min(limit.Current, int.MaxValue);
        int child;
        fixed (int* kept = keep)
        {
            var plan = new Plan
            {
                Keep = kept, KeepCount = keep.Length, Highest = highest, Parent = Environment.ProcessId, ReadEnd = readEnd,
                PollIn = Interop.Abi.POLLIN, CloseRange = Interop.Abi.SYS_close_range, Close = Interop.Abi.SYS_close,
                Read = Interop.Abi.SYS_read, Ppoll = Interop.Abi.SYS_ppoll, GetPpid = Interop.Abi.SYS_getppid,
                SetSid = Interop.Abi.SYS_setsid, ExitGroup = Interop.Abi.SYS_exit_group, DryRun = 1,
            };
            // A dry run compiles the child's method and binds its system call before the fork: the
            // child must not need the JIT or the loader, whose threads it does not have.
            RunChild(&plan);
            plan.DryRun = 0;

            // No collection may be under way when the process forks: the child has only this thread,
            // and its GC polls would wait forever for a collection whose threads were not copied.
            bool noGc = false;
            try
            {
                noGc = GC.TryStartNoGCRegion(1 << 20);
            }
            catch (InvalidOperationException)
            {
                // Already in a no-GC region (it covers the fork as well): nothing to end after it.
            }
            child = Interop.Libc.Fork();
            if (child == 0)
                RunChild(&plan);
            if (noGc && System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.NoGCRegion)
                GC.EndNoGCRegion();
        }
        // The pipe's ends are this process's own: a close of one cannot fail in a way that loses anything.
        _ = Interop.Libc.Close(readEnd);
        if (child > 0)
            return new HandOff(child, new Interop.FileDescriptor(writeEnd));
        _ = Interop.Libc.Close(writeEnd);
        return null;
    }

    /// <summary>
    /// The child: straight-line code over raw system calls, no allocation, no statics, never
    /// returning. Closes all but the kept descriptors, then waits for end of file on the pipe (the
    /// parent gone, or the hand-off released) or for another parent, and exits.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RunChild(Plan* plan)
    {
        if (plan->DryRun != 0)
        {
            // The dry run only proves the path runs in-process (its result is nothing to act on).
            _ = Interop.ForkChild.Syscall(plan->GetPpid, 0, 0, 0, 0, 0);
            return;
        }
        // Out of the tool's session and process group, so that Ctrl-C or a hang-up does not end the closing; a child
        // that stays in it (setsid failing) still closes, so nothing is lost either way.
        _ = Interop.ForkChild.Syscall(plan->SetSid, 0, 0, 0, 0, 0);
        uint next = 0;
        for (int i = 0; i <= plan->KeepCount; i++)
        {
            uint first = next, last = i < plan->KeepCount ? (uint)plan->Keep[i] - 1 : uint.MaxValue;
            if (i < plan->KeepCount)
                next = (uint)plan->Keep[i] + 1;
            if (first > last || (i < plan->KeepCount && plan->Keep[i] == 0))
                continue;
            // close_range(2) is from Linux 5.9: before, close one by one up to the highest open.
            if (Interop.ForkChild.Syscall(plan->CloseRange, first, last, 0, 0, 0) == 0)
                continue;
            // Most of these numbers are not open (EBADF): nothing to report of a close in the child.
            for (uint fd = first; fd <= last && fd <= plan->Highest; fd++)
                _ = Interop.ForkChild.Syscall(plan->Close, fd, 0, 0, 0, 0);
        }
        long* poll = stackalloc long[1];
        ((int*)poll)[0] = plan->ReadEnd;
        ((short*)poll)[2] = plan->PollIn;
        ((short*)poll)[3] = 0;
        long* timeout = stackalloc long[2];
        timeout[0] = 1;
        timeout[1] = 0;
        byte* scratch = stackalloc byte[1];
        while (Interop.ForkChild.Syscall(plan->GetPpid, 0, 0, 0, 0, 0) == plan->Parent)
        {
            if (Interop.ForkChild.Syscall(plan->Ppoll, (long)poll, 1, (long)timeout, 0, 0) > 0 &&
                Interop.ForkChild.Syscall(plan->Read, plan->ReadEnd, (long)scratch, 1, 0, 0) == 0)
                break;
        }
        // exit_group does not return.
        _ = Interop.ForkChild.Syscall(plan->ExitGroup, 0, 0, 0, 0, 0);
    }
}
