namespace KvmStat.Sources.Debugfs;

/// <summary>
/// Reads many VM folders on every CPU at once: a host of 1000 VMs has 60,000 debugfs files, each an
/// open, a read and a close, at every refresh. The threads are made once, on the first refresh
/// that has enough folders, and wait between refreshes; a refresh allocates nothing.
/// </summary>
internal sealed class FolderReaders(StatFileReader reader, byte[][] namesZ) : IDisposable
{
    /// <summary>Fewer folders than this per thread are read on the calling thread alone.</summary>
    private const int PerThread = 32;

    private readonly object _lock = new();
    private Thread[]? _threads;
    private IReadOnlyList<VmFolder>? _work;
    private int _next;
    private int _pending;
    private int _round;
    private bool _stopping;

    /// <summary>Reads every folder; returns when all are read.</summary>
    internal void ReadAll(IReadOnlyList<VmFolder> folders)
    {
        int helpers = Math.Min(Environment.ProcessorCount, 8) - 1;
        if (helpers <= 0 || folders.Count < 2 * PerThread)
        {
            // By index: a foreach over the interface would box an enumerator at every refresh.
            for (int i = 0; i < folders.Count; i++)
                folders[i].Read(reader, namesZ);
            return;
        }
        lock (_lock)
        {
            _threads ??= Start(helpers);
            _work = folders;
            _next = 0;
            _pending = _threads.Length;
            _round++;
            Monitor.PulseAll(_lock);
        }
        Drain(folders);
        lock (_lock)
        {
            while (_pending > 0)
                Monitor.Wait(_lock);
            _work = null;
        }
    }

    private Thread[] Start(int count)
    {
        var threads = new Thread[count];
        for (int i = 0; i < count; i++)
        {
            threads[i] = new Thread(Work) { IsBackground = true, Name = "debugfs reader" };
            threads[i].Start();
        }
        return threads;
    }

    private void Work()
    {
        int seen = 0;
        while (true)
        {
            IReadOnlyList<VmFolder> folders;
            lock (_lock)
            {
                while (_round == seen && !_stopping)
                    Monitor.Wait(_lock);
                if (_stopping)
                    return;
                seen = _round;
                folders = _work!;
            }
            Drain(folders);
            lock (_lock)
            {
                if (--_pending == 0)
                    Monitor.PulseAll(_lock);
            }
        }
    }

    /// <summary>Takes folders one at a time until none is left: a slow folder does not hold the others up.</summary>
    private void Drain(IReadOnlyList<VmFolder> folders)
    {
        int i;
        while ((i = Interlocked.Increment(ref _next) - 1) < folders.Count)
            folders[i].Read(reader, namesZ);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _stopping = true;
            Monitor.PulseAll(_lock);
        }
    }
}
