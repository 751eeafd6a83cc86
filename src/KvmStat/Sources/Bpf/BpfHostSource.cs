namespace KvmStat.Sources.Bpf;

/// <summary>
/// The host's tracepoint fields from the BPF engine's last capture: every process's events (pid 0),
/// or one process's (-p/-g), counted from its first event; a process that exits keeps its counts.
/// One process's fields can have a child per vCPU (--vcpus: <see cref="BpfVcpuFields"/>).
/// </summary>
internal sealed class BpfHostSource : IStatsSource
{
    private readonly BpfCounters _counters;
    private readonly int _pid;
    private readonly StatField[] _fields;
    private readonly long[] _last;
    private readonly BpfVcpuFields? _vcpus;

    /// <param name="vcpus">With one process: a child per vCPU of each tracepoint, as this selection keeps them; null for none.</param>
    internal BpfHostSource(BpfCounters counters, int pid, IFieldSelection? vcpus = null)
    {
        _counters = counters;
        _pid = pid;
        List<StatField> fields = [.. counters.Fields.Set.All.Take(counters.Shown)];
        _last = new long[counters.Fields.Count];
        if (vcpus is not null && pid > 0 && counters.Layout.PerThread)
        {
            List<Guests.VcpuThread> threads = new Guests.VcpuThreads(counters.Paths).List(pid);
            // No child at all is said, never left to look like a VM whose vCPUs counted nothing.
            if (threads.Count == 0)
                counters.Warn($"--vcpus: no thread of process {pid} is known as a vCPU (none named as VMMs name vCPU threads, QEMU's \"CPU N/KVM\" with -name ...,debug-threads=on, none waiting in ioctl(KVM_RUN), or its threads cannot be listed): its fields have no vCPU children.");
            _vcpus = new BpfVcpuFields([.. counters.Fields.Take(counters.Shown)], threads, vcpus);
            fields.AddRange(_vcpus.Fields);
        }
        _fields = [.. fields];
    }

    public string Name => "tracepoints (BPF)";

    public IReadOnlyList<StatField> Fields => _fields;

    public void Read(Span<long> values)
    {
        int shown = _counters.Shown;
        _vcpus?.Read(_counters.ThreadsOf(_pid), values[shown..]);
        // Programs that count one process (or all) keep it in the one row the totals are.
        if (_pid == 0 || !_counters.Scope.PerProcess)
        {
            _counters.Totals.AsSpan(0, shown).CopyTo(values);
            return;
        }
        if (_counters.Vms.TryGetValue(_pid, out BpfProcess? process))
            process.Totals.CopyTo(_last, 0);
        _last.AsSpan(0, shown).CopyTo(values);
    }

    /// <summary>Nothing of its own: the engine owns the counters.</summary>
    public void Dispose()
    {
    }
}
