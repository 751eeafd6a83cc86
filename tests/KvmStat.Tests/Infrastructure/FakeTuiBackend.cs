using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Stats;
using KvmStat.Tui;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// The screen's backend with everything under the test's control: fields and their cumulative
/// values, guests, which processes run, and a clock that moves one second per sample.
/// </summary>
internal sealed class FakeTuiBackend : ITuiBackend
{
    private readonly StatField[] _catalog;
    private readonly Dictionary<string, long> _values = new(StringComparer.Ordinal);

    internal FakeTuiBackend(params StatField[] catalog) => _catalog = catalog;

    internal List<GuestProcess> Guests { get; } = [];

    internal HashSet<int> Running { get; } = [];

    /// <summary>Thread ids of running processes, and the process of each.</summary>
    internal Dictionary<int, int> ThreadOf { get; } = [];

    internal Dictionary<int, Dictionary<string, long>> PerVm { get; } = [];

    /// <summary>The rows the BPF engine adds beside the VMs (events outside VMs, of exited VMs, unattributed), cumulative.</summary>
    internal Dictionary<VmRowKind, Dictionary<string, long>> Others { get; } = [];

    /// <summary>Running VMs the per-VM source cannot count (perf counters that could not open).</summary>
    internal int VmsLeftOut { get; set; }

    /// <summary>A vCPU thread of a VM (--vcpus): its index (-1: not known) and its counts since its first event.</summary>
    internal sealed record FakeVcpu(int Tid, int Index, Dictionary<string, long> Values);

    /// <summary>Each VM's vCPU threads; with any, the per-VM source counts the parent fields per vCPU too.</summary>
    internal Dictionary<int, List<FakeVcpu>> VcpusOf { get; } = [];

    internal List<(FieldSelection Selection, int Pid, bool PerVm, bool Latency)> Opened { get; } = [];

    /// <summary>What the engine measures when a sampler asks for exit latencies (null: it cannot, as perf counters).</summary>
    internal ExitLatencies? Latencies { get; set; }

    /// <summary>When set, asking for exit latencies fails with this (as --engine perf does).</summary>
    internal string? LatencyRefusal { get; set; }

    /// <summary>The screen's clock; every sample moves it on by a second (see <see cref="SecondPerSample"/>).</summary>
    internal ManualTime Time { get; } = new();

    /// <summary>Each sample ends by reading the wall clock (its timestamp), then a second passes: every interval is one second long.</summary>
    private sealed class SecondPerSample(ManualTime time) : TimeProvider
    {
        public override long TimestampFrequency => time.TimestampFrequency;

        public override long GetTimestamp() => time.GetTimestamp();

        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

        public override DateTimeOffset GetUtcNow()
        {
            DateTimeOffset now = time.GetUtcNow();
            time.Advance(TimeSpan.FromSeconds(1));
            return now;
        }
    }

    internal void Add(string field, long count) => _values[field] = _values.GetValueOrDefault(field) + count;

    public Sampler OpenSampler(FieldSelection selection, int pid, bool perVm, bool latency)
    {
        Opened.Add((selection, pid, perVm, latency));
        if (latency && LatencyRefusal is not null)
            throw new UsageException(LatencyRefusal, "Leave out --engine perf.");
        List<StatField> fields = selection.Select(_catalog, f => f.Name, f => f.Parent);
        if (fields.Count == 0)
            throw new UsageException($"no field matches \"{selection.Filter.Pattern}\".");
        var sources = new SamplingSources();
        sources.Host.Add(new ValueSource(this, [.. fields]));
        if (perVm)
            sources.PerVm = new VmSource(this, [.. fields]);
        if (latency)
            sources.Latencies = Latencies;
        return new Sampler(sources, pid > 0 ? new WatchedVm(pid, NameOf(pid) ?? "") : null, NameOf, new SecondPerSample(Time), Running.Contains);
    }

    public void Close(IDisposable opened) => opened.Dispose();

    public IReadOnlyList<GuestProcess> ListGuests() => Guests;

    /// <summary>Running processes: VMs where they are guests, threads where they are in <see cref="ThreadOf"/>.</summary>
    public PidCheck CheckPid(int pid) =>
        !Running.Contains(pid) ? new PidCheck(PidVerdict.NotRunning, pid)
        : ThreadOf.TryGetValue(pid, out int process) ? new PidCheck(PidVerdict.Thread, process)
        : new PidCheck(Guests.Any(g => g.Pid == pid) ? PidVerdict.Vm : PidVerdict.NotVm, pid);

    public string? NameOf(int pid) => Guests.FirstOrDefault(g => g.Pid == pid)?.Name;

    public IReadOnlyList<int> PidsNamed(string name) => [.. Guests.Where(g => g.Name == name && Running.Contains(g.Pid)).Select(g => g.Pid)];

    /// <summary>Counts from when it is opened, like a perf counter.</summary>
    private sealed class ValueSource(FakeTuiBackend backend, StatField[] fields) : IStatsSource
    {
        private readonly long[] _start = [.. fields.Select(f => backend._values.GetValueOrDefault(f.Name))];

        public string Name => "fake";

        public IReadOnlyList<StatField> Fields => fields;

        public void Read(Span<long> values)
        {
            for (int i = 0; i < fields.Length; i++)
                values[i] = backend._values.GetValueOrDefault(fields[i].Name) - _start[i];
        }

        public void Dispose()
        {
        }
    }

    /// <summary>Counts each VM from when it is first seen, like counters opened on its threads.</summary>
    private sealed class VmSource(FakeTuiBackend backend, StatField[] fields) : IPerVmSource
    {
        private readonly Dictionary<int, long[]> _start = [];
        // A thread's reading is one object for its life, as the engine's are.
        private readonly Dictionary<(int Pid, int Tid), VcpuReading> _threads = [];

        public IReadOnlyList<StatField> Fields => fields;

        public IReadOnlyList<int> VcpuFields { get; } =
            backend.VcpusOf.Count == 0 ? [] : [.. Enumerable.Range(0, fields.Length).Where(i => fields[i].Parent is null)];

        public int VmsLeftOut => backend.VmsLeftOut;

        public string LeftOutCause => "their perf counters could not open (the open-file limit)";

        public void Read(List<VmReading> readings)
        {
            readings.Clear();
            foreach ((int pid, Dictionary<string, long> values) in backend.PerVm.OrderBy(p => p.Key))
            {
                if (!backend.Running.Contains(pid))
                    continue;
                var reading = new VmReading(pid, fields.Length);
                if (!_start.TryGetValue(pid, out long[]? start))
                    _start[pid] = start = [.. fields.Select(f => values.GetValueOrDefault(f.Name))];
                for (int i = 0; i < fields.Length; i++)
                    reading.Values[i] = values.GetValueOrDefault(fields[i].Name) - start[i];
                foreach (FakeVcpu vcpu in backend.VcpusOf.GetValueOrDefault(pid) ?? [])
                {
                    if (!_threads.TryGetValue((pid, vcpu.Tid), out VcpuReading? thread))
                    {
                        _threads[(pid, vcpu.Tid)] = thread = new VcpuReading(vcpu.Tid, vcpu.Index, vcpu.Index >= 0 ? $"vcpu{vcpu.Index}" : $"tid {vcpu.Tid}",
                            new long[VcpuFields.Count], null);
                    }
                    for (int i = 0; i < VcpuFields.Count; i++)
                        thread.Values[i] = vcpu.Values.GetValueOrDefault(fields[VcpuFields[i]].Name);
                    reading.Vcpus.Add(thread);
                }
                readings.Add(reading);
            }
            foreach ((VmRowKind kind, Dictionary<string, long> values) in backend.Others)
            {
                var row = new VmReading(0, fields.Length, kind);
                for (int i = 0; i < fields.Length; i++)
                    row.Values[i] = values.GetValueOrDefault(fields[i].Name);
                readings.Add(row);
            }
        }

        public void Dispose()
        {
        }
    }
}
