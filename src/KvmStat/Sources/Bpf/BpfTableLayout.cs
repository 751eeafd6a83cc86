namespace KvmStat.Sources.Bpf;

/// <summary>
/// The kernel-side tables of the BPF engine, and what they cost. Per process (the per-VM views):
/// one shared row per slot that every CPU adds to atomically, so the table grows with the slots
/// and the fields, never with the CPUs; a row is an owner word (the process, and whether it has
/// exited) and then one counter per field; slot 0 counts the events of processes for which no slot
/// was left, and one more row (<see cref="OutsideSlot"/>) those of processes found to run no VM,
/// which keep no slot: their entry in the table of slots names that row until they exit. For the host's totals or one process: a single row per CPU (no shared cache line
/// between CPUs on the hottest path). With --vcpus, a row per vCPU thread besides (see
/// <see cref="ThreadProgram"/>): an owner word (the thread, and whether it has exited), its process,
/// a counter per tracepoint and, with latencies, a histogram per kind of exit; row 0 counts the
/// events of vCPU threads for which no row was left. A thread's exits' reasons are counted in its
/// row too, in slots the reasons it meets take (<see cref="ThreadReasons"/>).
/// </summary>
/// <param name="Fields">Counters in a row.</param>
/// <param name="Capacity">Processes with a slot at once (0 without processes to tell apart).</param>
/// <param name="Cpus">Possible CPUs: per-CPU maps keep a copy for each.</param>
/// <param name="Latency">Exit latencies too (see <see cref="LatencyProgram"/>): a stamp per thread, and histogram buckets as they are met.</param>
/// <param name="Threads">vCPU threads with a row at once (0: no counting per thread).</param>
/// <param name="ThreadFields">Counters in a thread's row: one per tracepoint (its exit reasons in <see cref="ThreadReasons"/>).</param>
/// <param name="Buckets">With latencies: histogram buckets in use at once (<see cref="HistogramBuckets"/>; fewer in tests of a full table).</param>
/// <param name="ThreadReasons">
/// Per vCPU thread: slots for its exits' reasons in its row, each taken by the first reason that
/// needs one (the reason's field in the top 16 bits, its count below), then a count of the exits
/// whose reason found no slot (0: no reasons per thread). A counter for every reason would take
/// 13 to 19 MiB more on VMX and SVM and leave room for fewer processes than a dense host's VMs;
/// a thread meets a dozen or so, each thread has its own slots, so no guest takes another's.
/// </param>
internal sealed record BpfTableLayout(int Fields, int Capacity, int Cpus, bool Latency = false, int Threads = 0, int ThreadFields = 0, int Buckets = BpfTableLayout.HistogramBuckets,
    int ThreadReasons = 0)
{
    /// <summary>vCPU threads with an exit not yet followed by an entry (least recently used go first).</summary>
    internal const int PendingThreads = 65536;

    /// <summary>
    /// Histogram buckets in use at once, over every process and reason: room for 4,000 VMs using 64
    /// each (a reason's exits mostly fall in a few buckets; a VM timing its exits to user space
    /// and, on VMX, a dozen kinds of exit in the kernel meets some tens).
    /// </summary>
    internal const int HistogramBuckets = 262144;

    /// <summary>Slots at most, however few fields: room for the 4,000 VMs of a dense microVM host and their helpers.</summary>
    internal const int MaxSlots = 8192;

    /// <summary>
    /// Processes that run no VM whose events are counted in the <see cref="OutsideSlot"/> row at once
    /// (vhost workers and kworkers that raise interrupts for guests, say): entries of the table of
    /// slots beside the slots; past them the oldest go back to taking a slot for a capture.
    /// </summary>
    internal const int OutsideRoom = 8192;

    /// <summary>The kernel memory every map of the engine may take at most together (the counts, latency and thread tables).</summary>
    internal const long MemoryBudget = 64L << 20;

    /// <summary>Kept within the budget for the maps of exit reasons, made after the layout: a few arrays of at most 4,096 entries.</summary>
    internal const long ReasonMapsMargin = 64L << 10;

    /// <summary>Thread rows at most: the 4,000 VMs of a dense host with 4 vCPUs each, and 384 to spare.</summary>
    internal const int MaxThreads = 16384;

    /// <summary>
    /// Slots for exit reasons in a thread's row: room for the dozen or so of kvm_exit's reasons a
    /// vCPU commonly meets and a few of kvm_userspace_exit's. Beyond, an exit counts in its
    /// tracepoint only, and as lost.
    /// </summary>
    internal const int ReasonSlots = 24;

    /// <summary>A reason slot's count: the bits below its field's.</summary>
    internal const long ReasonCountMask = (1L << 48) - 1;

    /// <summary>The kernel memory the thread rows may take at most.</summary>
    internal const long ThreadBudget = 32L << 20;

    /// <summary>
    /// A thread's exit latencies, per kind of exit: log2 buckets of nanoseconds 0 to 33 (the last
    /// also holds every longer exit, from 8.6 s; the exporter serves up to 2.1 s), then the
    /// nanoseconds they took.
    /// </summary>
    internal const int ThreadLatencyBuckets = 34;

    /// <summary>Kinds of exit timed per thread: handled in user space (kvm_userspace_exit), and in the kernel (kvm_exit).</summary>
    internal const int ExitKinds = 2;

    /// <summary>The owner word: the process id, this bit while the slot is in use, and <see cref="OwnerExited"/> once its process has exited.</summary>
    internal const long OwnerInUse = 1L << 32;

    internal const long OwnerExited = 1L << 33;

    /// <summary>Array entries of an exit-reason map at most: reasons beyond are compared one by one.</summary>
    internal const int MaxReasonArray = 4096;

    internal bool PerProcess => Capacity > 0;

    /// <summary>64-bit words in a row: the owner word first when rows belong to processes.</summary>
    internal int RowWords => PerProcess ? Fields + 1 : Fields;

    internal int Rows => PerProcess ? Capacity + 1 : 1;

    /// <summary>The row of the events of processes that run no VM, after the slots' rows (per process only).</summary>
    internal int OutsideSlot => Capacity + 1;

    /// <summary>Rows of the counters' map: the slots', slot 0's, and per process the <see cref="OutsideSlot"/> row.</summary>
    internal int CountRows => PerProcess ? Rows + 1 : 1;

    /// <summary>Where field <paramref name="field"/>'s counter is in a row, in bytes.</summary>
    internal int FieldOffset(int field) => (PerProcess ? 8 : 0) + field * 8;

    /// <summary>Counting per vCPU thread (--vcpus).</summary>
    internal bool PerThread => Threads > 0;

    /// <summary>64-bit words in a thread's row: owner, process, counters, reason slots and the count of reasons lost, and with latencies per kind of exit its buckets and nanoseconds.</summary>
    internal int ThreadRowWords => 2 + ThreadFields + ReasonWords + (Latency ? ExitKinds * (ThreadLatencyBuckets + 1) : 0);

    private int ReasonWords => ThreadReasons > 0 ? ThreadReasons + 1 : 0;

    /// <summary>Where reason slot <paramref name="slot"/> is in a thread's row, in bytes; slot <see cref="ThreadReasons"/> counts the exits whose reason found none.</summary>
    internal int ThreadReasonOffset(int slot) => (2 + ThreadFields + slot) * 8;

    /// <summary>Where the counter of the tracepoint of ordinal <paramref name="tracepoint"/> is in a thread's row, in bytes.</summary>
    internal int ThreadFieldOffset(int tracepoint) => (2 + tracepoint) * 8;

    /// <summary>Where a thread's histogram of a kind of exit starts in its row, in bytes: its buckets, then its nanoseconds.</summary>
    internal int ThreadLatencyOffset(int kind) => (2 + ThreadFields + ReasonWords + kind * (ThreadLatencyBuckets + 1)) * 8;

    /// <summary>An exit's stamp (see <see cref="LatencyProgram.EmitStamp"/>): time, reason, slot, the thread's row and the kind of exit.</summary>
    internal int PendingValueSize => LatencyProgram.StampSize;

    /// <summary>The layout for a scope: as many slots as fit the budget, up to <see cref="MaxSlots"/>.</summary>
    /// <param name="threadFields">With --vcpus: the tracepoints each vCPU thread's row counts (0: none).</param>
    /// <param name="threadReasons">With --vcpus: the tracepoints have exit reasons, counted per thread too (<see cref="ThreadReasons"/>).</param>
    /// <param name="threads">Rows for this many threads (default: as many as fit the thread budget, up to <see cref="MaxThreads"/>).</param>
    /// <param name="buckets">Histogram buckets with latencies (default: <see cref="HistogramBuckets"/>).</param>
    internal static BpfTableLayout For(int fields, BpfScope scope, int cpus, int? capacity = null, bool latency = false, int threadFields = 0, int? threads = null,
        int? buckets = null, bool threadReasons = false)
    {
        int bucketRoom = buckets ?? HistogramBuckets;
        int threadRows = 0, reasonSlots = threadFields > 0 && threadReasons ? ReasonSlots : 0;
        if (threadFields > 0)
        {
            long threadRowBytes = new BpfTableLayout(fields, 0, cpus, latency, 1, threadFields, ThreadReasons: reasonSlots).ThreadRowWords * 8L;
            threadRows = Math.Max(1, threads ?? (int)Math.Min(MaxThreads, ThreadBudget / threadRowBytes - 1));
        }
        if (!scope.PerProcess)
            return new BpfTableLayout(fields, 0, cpus, latency, threadRows, threadFields, bucketRoom, reasonSlots);
        if (capacity is int given)
            return new BpfTableLayout(fields, Math.Max(1, given), cpus, latency, threadRows, threadFields, bucketRoom, reasonSlots);
        // As many slots as the budget leaves beside the other maps (latencies and thread rows take
        // theirs first), up to MaxSlots: a slot costs its row, its entry in the table of slots and
        // one in the free queue.
        var layout = new BpfTableLayout(fields, MaxSlots, cpus, latency, threadRows, threadFields, bucketRoom, reasonSlots);
        long over = layout.MapBytes() + ReasonMapsMargin - MemoryBudget;
        while (over > 0 && layout.Capacity > 1)
        {
            long slotBytes = (fields + 1) * 8L + 64;
            int fewer = (int)Math.Min(layout.Capacity - 1, (over + slotBytes - 1) / slotBytes);
            layout = layout with { Capacity = layout.Capacity - fewer };
            over = layout.MapBytes() + ReasonMapsMargin - MemoryBudget;
        }
        return layout;
    }

    /// <summary>
    /// The kernel memory of every map, as the kernel charges it (fdinfo "memlock"): the counters,
    /// per process the table of slots, the free slots, the per-CPU cache and the epoch, per thread
    /// its rows, the table of threads and their free rows, and an array of reasons (of
    /// <paramref name="reasonEntries"/> entries) per tracepoint with children.
    /// </summary>
    internal long MapBytes(IEnumerable<int>? reasonEntries = null)
    {
        string[] maps = PerProcess
            ? [CounterProgram.Counts, CounterProgram.Slots, CounterProgram.Free, CounterProgram.Cache, CounterProgram.Epoch]
            : [CounterProgram.Counts];
        if (Latency)
            maps = [.. maps, LatencyProgram.Pending, LatencyProgram.Histograms, LatencyProgram.Lost];
        if (PerThread)
            maps = [.. maps, ThreadProgram.Rows, ThreadProgram.Tids, ThreadProgram.Free];
        return maps.Sum(map => BytesOf(map, 0)) + (reasonEntries ?? []).Sum(entries => BytesOf(CounterProgram.Reasons, entries));
    }

    /// <summary>What one map of this layout costs; <paramref name="entries"/> counts only for a map of reasons.</summary>
    internal long BytesOf(string map, int entries) => map switch
    {
        CounterProgram.Counts when PerProcess => ArrayBytes(RowWords * 8, CountRows, mmapable: true),
        CounterProgram.Counts => PerCpuArrayBytes(RowWords * 8, 1),
        CounterProgram.Slots => HashBytes(4, 4, Capacity + OutsideRoom),
        CounterProgram.Free => QueueBytes(4, Capacity),
        CounterProgram.Cache => PerCpuArrayBytes(CacheEntryBytes, 1),
        CounterProgram.Epoch => ArrayBytes(8, 1, mmapable: true),
        CounterProgram.Reasons => ArrayBytes(4, entries, mmapable: false),
        LatencyProgram.Pending => HashBytes(4, PendingValueSize, PendingThreads),
        LatencyProgram.Histograms => HashBytes(8, LatencyProgram.BucketValueSize, Buckets),
        LatencyProgram.Lost => PerCpuArrayBytes(8, 1),
        ThreadProgram.Rows => ArrayBytes(ThreadRowWords * 8, Threads + 1, mmapable: true),
        ThreadProgram.Tids => HashBytes(4, 4, Threads),
        ThreadProgram.Free => QueueBytes(4, Threads),
        _ => throw new ArgumentException($"no map {map} in the layout", nameof(map)),
    };

    /// <summary>The per-CPU cache entry: { u32 tgid; u32 slot; u64 epoch }.</summary>
    internal const int CacheEntryBytes = 16;

    // The kernel's own accounting (map_mem_usage of kernel/bpf/arraymap.c, hashtab.c and
    // queue_stack_maps.c; struct sizes of Linux 6.x): a test holds it to what fdinfo reports.
    private const int MapHeader = 312;

    private static long ArrayBytes(int valueSize, int entries, bool mmapable)
    {
        long values = (long)Align8(valueSize) * entries;
        return mmapable ? BpfMapping.PageAligned(values) + Environment.SystemPageSize : MapHeader + values;
    }

    private long PerCpuArrayBytes(int valueSize, int entries) => MapHeader + entries * 8L + (long)Align8(valueSize) * entries * Cpus;

    private long HashBytes(int keySize, int valueSize, int entries)
    {
        // Preallocated elements (struct htab_elem, 48 bytes, then key and value) and one spare per
        // CPU, a bucket per power of two, eight locks and a spare pointer per CPU.
        long element = 48 + Align8(keySize) + Align8(valueSize);
        long buckets = 1L << (int)Math.Ceiling(Math.Log2(Math.Max(entries, 1)));
        return 832 + 16 * buckets + 40L * Cpus + element * (entries + Cpus);
    }

    private static long QueueBytes(int valueSize, int entries) => MapHeader + (long)valueSize * (entries + 1);

    private static int Align8(int bytes) => (bytes + 7) & ~7;
}
