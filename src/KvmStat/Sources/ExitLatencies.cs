namespace KvmStat.Sources;

/// <summary>
/// How long exits kept vCPUs out of their guests, per exit reason, as log2 histograms of
/// nanoseconds (64 buckets: bucket N holds [2^N, 2^(N+1)) ns), cumulative since counting began:
/// for the host (every process, VMs that exited too) and for each running VM. A reason is its
/// field in the engine's fields (kvm_userspace_exit(IO): handled in user space; kvm_exit(HLT):
/// in the kernel). Filled in place by the engine's capture.
/// </summary>
internal sealed class ExitLatencies(FieldSet fields, string entry)
{
    internal const int Buckets = 64;

    /// <summary>The kinds of exit, in the order of a vCPU's histograms: handled in user space, and in the kernel.</summary>
    internal static readonly string[] Kinds = [Tracepoints.TracepointCatalog.KvmUserspaceExit, Tracepoints.TracepointCatalog.KvmExit];

    /// <summary>An exit handled in user space, in <see cref="Kinds"/> and <see cref="KindOf"/>.</summary>
    internal const int UserSpace = 0;

    /// <summary>The engine's fields: the histograms' keys are indices into them.</summary>
    internal FieldSet Fields { get; } = fields;

    /// <summary>Each field's kind, from <see cref="Fields"/> when first asked (the same array whoever makes it first).</summary>
    private int[]? _kinds;

    /// <summary>The kind of exit a field is a reason of (an index into <see cref="Kinds"/>), or -1 for a field that is no reason.</summary>
    internal int KindOf(int field) => (_kinds ??= KindsOf(Fields))[field];

    private static int[] KindsOf(FieldSet fields) =>
        [.. Enumerable.Range(0, fields.Count).Select(i => fields.ParentOf(i) is int p and >= 0 ? Array.IndexOf(Kinds, fields[p].Name) : -1)];

    /// <summary>What ends an exit here: "kvm_entry", or "ioctl(KVM_RUN)" where kvm_entry never fires.</summary>
    internal string Entry { get; } = entry;

    /// <summary>Where kvm_entry ends exits, one the kernel hands to user space is timed as two parts: its kvm_exit reason's, then its kvm_userspace_exit reason's.</summary>
    internal bool TimesTwoParts => Entry == Bpf.BpfPrograms.KvmEntry;

    internal Dictionary<int, LatencyHistogram> Host { get; } = [];

    /// <summary>Each running VM's, by pid.</summary>
    internal Dictionary<int, Dictionary<int, LatencyHistogram>> Vms { get; } = [];

    /// <summary>Exits whose time could not be kept (the table of buckets was full), since counting began.</summary>
    internal long Lost { get; set; }

    /// <summary>The lower bound of a bucket in nanoseconds.</summary>
    internal static double BucketLow(int bucket) => bucket == 0 ? 0 : Math.Pow(2, bucket);

    /// <summary>The upper bound of a bucket in nanoseconds (+Inf for the last of <paramref name="buckets"/>: it is open).</summary>
    internal static double BucketHigh(int bucket, int buckets = Buckets) => bucket == buckets - 1 ? double.PositiveInfinity : Math.Pow(2, bucket + 1);

    /// <summary>
    /// The value below which <paramref name="fraction"/> of the exits fall (<see cref="Percentiles.Of"/>),
    /// in nanoseconds, placed inside its bucket by the exits' exact <paramref name="nanoseconds"/>.
    /// </summary>
    internal static double Percentile(ReadOnlySpan<ulong> buckets, double fraction, ulong nanoseconds) =>
        Percentiles.Of(buckets, fraction, default(Log2Nanoseconds), nanoseconds);

    private readonly struct Log2Nanoseconds : Percentiles.IBounds
    {
        public double Low(int bucket) => BucketLow(bucket);

        public double High(int bucket) => BucketHigh(bucket);
    }
}
