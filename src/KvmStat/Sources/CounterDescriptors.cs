using KvmStat.Host;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources;

/// <summary>
/// Owns the perf descriptors of a run. Closing the last perf event of a tracepoint makes the kernel
/// wait for an RCU grace period (about 35 ms here, about 3 s for all kvm tracepoints), so no one
/// waits for a close: descriptors released during the run (the screen changed its fields, a thread
/// or VM went away) are closed on a background thread; at the end of the run <see cref="EndRun"/>
/// stops that (what the sources release from then on stays open), and <see cref="Dispose"/> hands
/// every descriptor still open to a forked child, which closes them once this process has gone.
/// The run's <c>Cli.Session</c> owns it and does the two in that order.
/// </summary>
internal sealed class CounterDescriptors : IDisposable
{
    private readonly object _lock = new();
    private readonly HashSet<Interop.FileDescriptor> _open = new(ReferenceEqualityComparer.Instance);
    private readonly Queue<Interop.FileDescriptor[]> _toClose = new();
    private readonly Action<string>? _verbose;
    private Thread? _closer;
    private bool _ended;
    private bool _handedOff;

    /// <param name="verbose">Where to say which process closes the descriptors at exit (--verbose).</param>
    internal CounterDescriptors(Action<string>? verbose = null) => _verbose = verbose;

    internal int OpenCount
    {
        get
        {
            lock (_lock)
                return _open.Count;
        }
    }

    /// <summary>Makes room for <paramref name="descriptors"/> more open files, or explains why it cannot.</summary>
    internal void EnsureRoom(int descriptors, string purpose) => FileLimit.EnsureRoom(OpenCount + descriptors, purpose);

    internal void Track(IReadOnlyList<Interop.FileDescriptor> descriptors)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_handedOff, this);
            foreach (Interop.FileDescriptor fd in descriptors)
                _open.Add(fd);
        }
    }

    /// <summary>No longer needed: closed in the background, so a refresh never waits for the kernel.</summary>
    internal void Release(IReadOnlyList<Interop.FileDescriptor> descriptors)
    {
        Interop.FileDescriptor[] copy = [.. descriptors];
        lock (_lock)
        {
            if (_ended)
                return;
            _toClose.Enqueue(copy);
            if (_closer is null)
            {
                _closer = new Thread(CloseLoop) { IsBackground = true, Name = "perf closer" };
                _closer.Start();
            }
            else
            {
                Monitor.Pulse(_lock);
            }
        }
    }

    private void CloseLoop()
    {
        while (true)
        {
            Interop.FileDescriptor[] batch;
            lock (_lock)
            {
                while (_toClose.Count == 0 && !_ended)
                    Monitor.Wait(_lock);
                if (_ended)
                    return;
                batch = _toClose.Dequeue();
            }
            foreach (Interop.FileDescriptor fd in batch)
            {
                // Forget the descriptor before closing it: the hand-off at the end must never keep a
                // number that a later open (the hand-off's own pipe) may reuse.
                lock (_lock)
                {
                    if (_ended)
                        return;
                    _open.Remove(fd);
                }
                fd.Dispose();
            }
        }
    }

    /// <summary>
    /// The run is over: nothing is closed in the background any more (a close would hold the exit
    /// for a grace period); descriptors released from now on stay open for <see cref="Dispose"/>.
    /// </summary>
    internal void EndRun()
    {
        lock (_lock)
        {
            _ended = true;
            Monitor.Pulse(_lock);
        }
    }

    /// <summary>
    /// Ends the run if that was not done, and hands every descriptor still open to a child process
    /// that closes them after this one has exited. The child keeps nothing else: no standard
    /// streams (a pipe reader sees end-of-file at once), no log file, no listening socket.
    /// </summary>
    public void Dispose()
    {
        Interop.FileDescriptor[] keep;
        lock (_lock)
        {
            if (_handedOff)
                return;
            _ended = true;
            _handedOff = true;
            Monitor.Pulse(_lock);
            if (_open.Count == 0)
                return;
            keep = [.. _open];
            _open.Clear();
        }
        HandedOffTo = DescriptorHandOff.Fork([.. keep.Select(fd => fd.Number)]);
        if (HandedOffTo is null)
        {
            // No child could be made: they close here, and this process waits for the kernel.
            foreach (Interop.FileDescriptor fd in keep)
                fd.Dispose();
            return;
        }
        // The child holds them now: this process's copies close without waiting (nothing is released
        // while another descriptor of the event is open).
        foreach (Interop.FileDescriptor fd in keep)
            fd.Dispose();
        _verbose?.Invoke($"{keep.Length} perf descriptors handed to process {HandedOffTo.Pid}, which closes them after this one exits");
    }

    /// <summary>The child that holds the descriptors open at the end of the run, if there were any.</summary>
    internal HandOff? HandedOffTo { get; private set; }
}
