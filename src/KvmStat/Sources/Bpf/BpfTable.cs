using System.Runtime.InteropServices;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// The maps of a <see cref="BpfTableLayout"/> (see <see cref="CounterProgram"/> for what each
/// holds), with what user space does to them: read a row, read whose a slot is, take a process's
/// slot away, and give a slot back once its last counts are read; the same for the rows of vCPU
/// threads (--vcpus). Per process, the rows and the epoch are mapped into this process, and so are
/// the threads' rows: a capture reads them without system calls.
/// </summary>
internal sealed class BpfTable : IDisposable
{
    private readonly Dictionary<string, BpfMap> _maps = new(StringComparer.Ordinal);
    private readonly BpfMapping? _rows;
    private readonly BpfMapping? _epoch;
    private readonly BpfMapping? _threads;
    private readonly byte[] _perCpuRow;

    internal BpfTable(BpfTableLayout layout)
    {
        Layout = layout;
        _perCpuRow = layout.PerProcess ? [] : new byte[layout.RowWords * 8 * layout.Cpus];
        try
        {
            if (layout.Latency)
            {
                Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_LRU_HASH, 4, layout.PendingValueSize, BpfTableLayout.PendingThreads, LatencyProgram.Pending));
                Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_HASH, 8, LatencyProgram.BucketValueSize, layout.Buckets, LatencyProgram.Histograms));
                Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1, LatencyProgram.Lost));
            }
            if (layout.PerThread)
            {
                Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_ARRAY, 4, layout.ThreadRowWords * 8, layout.Threads + 1, ThreadProgram.Rows, Interop.Abi.BPF_F_MMAPABLE));
                Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_HASH, 4, 4, layout.Threads, ThreadProgram.Tids));
                Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_QUEUE, 0, 4, layout.Threads, ThreadProgram.Free));
                _threads = _maps[ThreadProgram.Rows].MapMemory();
                for (uint row = 1; row <= layout.Threads; row++)
                    Push(ThreadProgram.Free, row);
            }
            if (!layout.PerProcess)
            {
                Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_PERCPU_ARRAY, 4, layout.RowWords * 8, 1, CounterProgram.Counts));
                return;
            }
            Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_ARRAY, 4, layout.RowWords * 8, layout.CountRows, CounterProgram.Counts, Interop.Abi.BPF_F_MMAPABLE));
            Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_HASH, 4, 4, layout.Capacity + BpfTableLayout.OutsideRoom, CounterProgram.Slots));
            Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_QUEUE, 0, 4, layout.Capacity, CounterProgram.Free));
            Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_PERCPU_ARRAY, 4, BpfTableLayout.CacheEntryBytes, 1, CounterProgram.Cache));
            Add(BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_ARRAY, 4, 8, 1, CounterProgram.Epoch, Interop.Abi.BPF_F_MMAPABLE));
            _rows = _maps[CounterProgram.Counts].MapMemory();
            _epoch = _maps[CounterProgram.Epoch].MapMemory();
            for (uint slot = 1; slot <= layout.Capacity; slot++)
                Push(CounterProgram.Free, slot);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The maps of a layout; a refusal of them says what they take together (what a locked-memory limit must allow).</summary>
    internal static BpfTable Open(BpfTableLayout layout)
    {
        // Where a kernel before 5.11 is pretended, its refusal of maps beyond the locked-memory limit.
        if (BpfSupport.PretendsLockedMemory && (ulong)layout.MapBytes() > BpfSupport.LockedMemoryLimit)
            throw new BpfException("creating the BPF map counts", Interop.Errno.EPERM).WithMapBytes(layout.MapBytes());
        try
        {
            return new BpfTable(layout);
        }
        catch (BpfException e) when (e.Errno == Interop.Errno.EPERM)
        {
            throw e.WithMapBytes(layout.MapBytes());
        }
    }

    internal BpfTableLayout Layout { get; }

    /// <summary>The maps by the names programs use.</summary>
    internal IReadOnlyDictionary<string, BpfMap> Maps => _maps;

    private void Add(BpfMap map) => _maps.Add(map.Name, map);

    /// <summary>A slot's owner word (0 while free); see <see cref="BpfTableLayout.OwnerInUse"/>.</summary>
    internal long Owner(int slot) => _rows!.Read((long)slot * Layout.RowWords);

    /// <summary>A row's counters into <paramref name="into"/>: per process as they are, per CPU summed over the CPUs.</summary>
    internal void ReadRow(int slot, Span<long> into)
    {
        if (_rows is not null)
        {
            long first = (long)slot * Layout.RowWords + 1;
            for (int field = 0; field < Layout.Fields; field++)
                into[field] = _rows.Read(first + field);
            return;
        }
        uint key = (uint)slot;
        int result = _maps[CounterProgram.Counts].Lookup(BpfMap.Key(ref key), _perCpuRow);
        if (result != 0)
            throw new BpfException("reading the BPF counters", -result);
        ReadOnlySpan<long> perCpu = MemoryMarshal.Cast<byte, long>(_perCpuRow);
        for (int field = 0; field < Layout.Fields; field++)
        {
            long sum = 0;
            for (int cpu = 0; cpu < Layout.Cpus; cpu++)
                sum += perCpu[cpu * Layout.RowWords + field];
            into[field] = sum;
        }
    }

    /// <summary>
    /// Takes a process's slot away: its later events find no slot in the table (and no CPU trusts
    /// its cache from before), so they start a new one. The row stays until <see cref="Release"/>.
    /// The process's entry goes only while it still names this slot: the exit program may have taken
    /// it already, and a later process of the same pid may have one of its own.
    /// </summary>
    internal void Unassign(int tgid, int slot)
    {
        RemoveEntry(tgid, (uint)slot);
        _epoch!.Add(0, 1);
    }

    /// <summary>
    /// A process that runs no VM gives its slot back and keeps counting, in the row of processes
    /// outside VMs: its entry names that row from now on (no CPU trusts its cache from before), so
    /// it takes no slot again. Only while its entry still names <paramref name="slot"/>: where the
    /// exit program took it meanwhile, nothing is put back for a pid that may be anyone's next.
    /// The slot's row stays until <see cref="Release"/>.
    /// </summary>
    internal void MarkOutside(int tgid, int slot)
    {
        if (EntryOf(tgid, "moving a process that runs no VM to the row outside VMs") != (uint)slot)
            return;
        uint key = (uint)tgid, outside = (uint)Layout.OutsideSlot;
        int result = _maps[CounterProgram.Slots].Update(BpfMap.Key(ref key), BpfMap.Key(ref outside), Interop.Abi.BPF_EXIST);
        // ENOENT: the exit program took it first.
        if (result != 0 && result != -Interop.Errno.ENOENT)
            throw new BpfException("moving a process that runs no VM to the row outside VMs", -result);
        // Every CPU's cache forgets its slot; where nothing changed, none needs to.
        if (result == 0)
            _epoch!.Add(0, 1);
    }

    /// <summary>Whether a process's entry names the row outside VMs (none once the exit program took it).</summary>
    internal bool NamesOutside(int tgid) => EntryOf(tgid, "reading the BPF table of processes") == (uint)Layout.OutsideSlot;

    /// <summary>
    /// A process counted outside VMs no longer is (it holds a VM now): its next event takes a slot.
    /// Only while its entry still names the row outside VMs, looked at just before: a pid taken by
    /// a new process since (a VM with a slot of its own) keeps its entry.
    /// </summary>
    internal void Forget(int tgid)
    {
        if (RemoveEntry(tgid, (uint)Layout.OutsideSlot))
            _epoch!.Add(0, 1);
    }

    /// <summary>The slot (or row) a process's entry names; null where it has none (the exit program took it).</summary>
    private uint? EntryOf(int tgid, string step)
    {
        uint key = (uint)tgid, value = 0;
        int result = _maps[CounterProgram.Slots].Lookup(BpfMap.Key(ref key), MemoryMarshal.AsBytes(new Span<uint>(ref value)));
        if (result == -Interop.Errno.ENOENT)
            return null;
        return result == 0 ? value : throw new BpfException(step, -result);
    }

    /// <summary>Removes a process's entry while it names <paramref name="slot"/>; whether it did.</summary>
    private bool RemoveEntry(int tgid, uint slot)
    {
        const string Step = "removing a process from the BPF table";
        if (EntryOf(tgid, Step) != slot)
            return false;
        uint key = (uint)tgid;
        int result = _maps[CounterProgram.Slots].Delete(BpfMap.Key(ref key));
        // ENOENT: the exit program took it first.
        if (result != 0 && result != -Interop.Errno.ENOENT)
            throw new BpfException(Step, -result);
        return result == 0;
    }

    /// <summary>A slot whose last counts have been read: its row is cleared and it is free again.</summary>
    internal void Release(int slot)
    {
        long first = (long)slot * Layout.RowWords;
        for (int word = 1; word < Layout.RowWords; word++)
            _rows!.Write(first + word, 0);
        _rows!.Write(first, 0);
        Push(CounterProgram.Free, (uint)slot);
    }

    /// <summary>A thread row's owner word (0 while free): the thread id, in use, exited (as a process's).</summary>
    internal long ThreadOwner(int row) => _threads!.Read((long)row * Layout.ThreadRowWords);

    /// <summary>The process (thread group) of a thread row; 0 while the row is being placed.</summary>
    internal int ThreadProcess(int row) => (int)_threads!.Read((long)row * Layout.ThreadRowWords + 1);

    /// <summary>A thread row's counters, one per tracepoint.</summary>
    internal void ReadThreadRow(int row, Span<long> into)
    {
        long first = (long)row * Layout.ThreadRowWords + 2;
        for (int i = 0; i < Layout.ThreadFields; i++)
            into[i] = _threads!.Read(first + i);
    }

    /// <summary>
    /// A thread row's exits by reason into <paramref name="totals"/>, at each reason's field (a slot
    /// is its field + 1 in the top 16 bits, its count below; free slots are 0); returns the exits
    /// whose reason found no slot.
    /// </summary>
    internal long ReadThreadReasons(int row, long[] totals)
    {
        long first = (long)row * Layout.ThreadRowWords + 2 + Layout.ThreadFields;
        for (int slot = 0; slot < Layout.ThreadReasons; slot++)
        {
            long word = _threads!.Read(first + slot);
            int field = (int)((ulong)word >> 48) - 1;
            if (field < 0)
                break;
            if (field < totals.Length)
                totals[field] = word & BpfTableLayout.ReasonCountMask;
        }
        return _threads!.Read(first + Layout.ThreadReasons);
    }

    /// <summary>A thread row's exit latencies of one kind: its buckets into <paramref name="buckets"/>; returns their nanoseconds.</summary>
    internal ulong ReadThreadLatency(int row, int kind, Span<ulong> buckets)
    {
        long first = ((long)row * Layout.ThreadRowWords * 8 + Layout.ThreadLatencyOffset(kind)) / 8;
        for (int b = 0; b < BpfTableLayout.ThreadLatencyBuckets; b++)
            buckets[b] = (ulong)_threads!.Read(first + b);
        return (ulong)_threads!.Read(first + BpfTableLayout.ThreadLatencyBuckets);
    }

    /// <summary>Takes a running thread's row away: its later events take a new one. The row stays until <see cref="ReleaseThread"/>.</summary>
    internal void UnassignThread(int tid)
    {
        uint key = (uint)tid;
        int result = _maps[ThreadProgram.Tids].Delete(BpfMap.Key(ref key));
        // ENOENT: the exit program took it first.
        if (result != 0 && result != -Interop.Errno.ENOENT)
            throw new BpfException("removing a thread from the BPF table", -result);
    }

    /// <summary>A thread row whose last counts have been read: cleared and free again.</summary>
    internal void ReleaseThread(int row)
    {
        long first = (long)row * Layout.ThreadRowWords;
        for (int word = 1; word < Layout.ThreadRowWords; word++)
            _threads!.Write(first + word, 0);
        _threads!.Write(first, 0);
        Push(ThreadProgram.Free, (uint)row);
    }

    private void Push(string queue, uint slot)
    {
        int result = _maps[queue].Update([], BpfMap.Key(ref slot), Interop.Abi.BPF_ANY);
        if (result != 0)
            throw new BpfException("returning a slot to the BPF table", -result);
    }

    public void Dispose()
    {
        _rows?.Dispose();
        _epoch?.Dispose();
        _threads?.Dispose();
        foreach (BpfMap map in _maps.Values)
            map.Dispose();
        _maps.Clear();
    }
}
