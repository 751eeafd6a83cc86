namespace KvmStat.Sources.Bpf;

/// <summary>
/// What the BPF engine needs of the kernel, tried before anything is loaded, so that a kernel
/// without it falls back to perf counters with one line naming what is missing and since which
/// Linux version it exists: raw tracepoint programs (4.17), queue maps (4.20), arrays mapped into
/// this process (5.5); exit latencies need batch map lookup (5.6) too, and without it are not
/// measured while the engine counts. Maps are charged to RLIMIT_MEMLOCK before Linux
/// 5.11: the limit is raised first, as far as it can be. Nothing needs BTF: the programs read
/// tracepoint arguments and records at offsets from tracefs, and no kernel structure.
/// </summary>
internal static class BpfSupport
{
    /// <summary>
    /// Pretends the kernel lacks a feature (a name of <see cref="Features"/>, or <see cref="Memlock"/>),
    /// to test the fallback; ignored in secure execution.
    /// </summary>
    internal const string PretendVariable = "KVM_STAT_BPF_LACKS";

    /// <summary>
    /// Pretends a kernel before Linux 5.11 (maps charged to RLIMIT_MEMLOCK) under the common 64 KiB
    /// limit that cannot be lifted: the maps are refused as that kernel refuses them (EPERM).
    /// </summary>
    internal const string Memlock = "memlock";

    /// <summary>The locked-memory limit <see cref="Memlock"/> pretends.</summary>
    private const ulong PretendedLimit = 64 << 10;

    /// <summary>Whether <see cref="Memlock"/> is pretended: the maps must fit <see cref="LockedMemoryLimit"/>.</summary>
    internal static bool PretendsLockedMemory { get; private set; }

    /// <summary>The features, in the order they are tried, the Linux version that brought each, and whether only exit latencies need it.</summary>
    internal static readonly (string Name, string What, string Since, bool LatencyOnly)[] Features =
    [
        ("raw_tracepoint", "raw tracepoint programs", "4.17", false),
        ("queue", "queue maps", "4.20", false),
        ("mmapable", "BPF arrays mapped into memory", "5.5", false),
        ("batch", "batch map lookup", "5.6", true),
    ];

    /// <summary>Throws a <see cref="BpfException"/> naming the first feature counting needs that this kernel lacks.</summary>
    internal static void Require(string? pretendLacking = null) => Require(latency: false, pretendLacking);

    /// <summary>Throws a <see cref="BpfException"/> naming the first feature exit latencies need beyond counting that this kernel lacks.</summary>
    internal static void RequireForLatency(string? pretendLacking = null) => Require(latency: true, pretendLacking);

    /// <summary>Why exit latencies cannot be timed on this kernel (what <see cref="RequireForLatency"/> throws), or null where they can.</summary>
    internal static BpfException? LatencyRefusal()
    {
        try
        {
            RequireForLatency();
            return null;
        }
        catch (BpfException e)
        {
            return e;
        }
    }

    private static void Require(bool latency, string? pretendLacking)
    {
        pretendLacking ??= Interop.Libc.IsSecureExecution ? null : Environment.GetEnvironmentVariable(PretendVariable);
        if (!string.IsNullOrEmpty(pretendLacking) && pretendLacking != Memlock && !Array.Exists(Features, f => f.Name == pretendLacking))
            throw new EnvironmentException($"{PretendVariable}=\"{Text.Escape(pretendLacking)}\" names no feature of the BPF engine.",
                $"Give one of {string.Join(", ", Features.Select(f => f.Name))}, {Memlock}, or unset it.");
        if (!latency)
        {
            RaiseLockedMemoryLimit();
            PretendsLockedMemory = pretendLacking == Memlock;
            if (PretendsLockedMemory)
                LockedMemoryLimit = PretendedLimit;
        }
        foreach ((string name, string what, string since, bool latencyOnly) in Features)
        {
            if (latencyOnly != latency)
                continue;
            int errno = name == pretendLacking ? Interop.Errno.EINVAL : Try(name);
            // Refused for lack of privilege is not lacking: the caller names the capabilities.
            if (errno is Interop.Errno.EPERM or Interop.Errno.EACCES)
                throw new BpfException($"loading BPF {what} is not permitted", errno);
            if (errno != 0)
                throw new BpfException($"this kernel lacks {what} (Linux {since} and later)", errno);
        }
    }

    private static int Try(string feature)
    {
        try
        {
            switch (feature)
            {
                case "raw_tracepoint":
                    BpfCode code = new BpfAssembler().Mov(BpfRegister.R0, 0).Exit().Build();
                    using (BpfProgram.Load(Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT, code, new Dictionary<string, BpfMap>(), "kvm_stat_probe"))
                        return 0;
                case "queue":
                    using (BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_QUEUE, 0, 4, 1, "probe"))
                        return 0;
                case "mmapable":
                    using (BpfMap map = BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_ARRAY, 4, 8, 1, "probe", Interop.Abi.BPF_F_MMAPABLE))
                    using (map.MapMemory())
                        return 0;
                default:
                    // An empty hash map: a kernel with batch lookup says there is nothing (ENOENT, not an error here).
                    using (BpfMap map = BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_HASH, 4, 4, 1, "probe"))
                    {
                        ulong cursor = 0;
                        _ = map.LookupBatch(ref cursor, first: true, stackalloc byte[4], stackalloc byte[4]);
                        return 0;
                    }
            }
        }
        catch (BpfException e)
        {
            return e.Errno;
        }
    }

    /// <summary>
    /// The locked-memory limit in bytes when it could not be lifted (a service without
    /// CAP_SYS_RESOURCE) on a kernel before Linux 5.11, else null: there a map that does not fit it
    /// is refused with EPERM, which a message must not blame on capabilities alone.
    /// </summary>
    internal static ulong? LockedMemoryLimit { get; private set; }

    /// <summary>Before Linux 5.11 every map counts against RLIMIT_MEMLOCK (often 64 KiB): lift it, or the soft limit to the hard one.</summary>
    private static void RaiseLockedMemoryLimit()
    {
        var unlimited = new Interop.Libc.RLimit { Current = ulong.MaxValue, Maximum = ulong.MaxValue };
        LockedMemoryLimit = null;
        if (Interop.Libc.SetRLimit(Interop.Abi.RLIMIT_MEMLOCK, unlimited) == 0)
            return;
        if (Interop.Libc.GetRLimit(Interop.Abi.RLIMIT_MEMLOCK, out Interop.Libc.RLimit limit) != 0)
            return;
        // Refused, the maps are tried all the same: on Linux 5.11 and later the limit does not count.
        if (limit.Current < limit.Maximum && Interop.Libc.SetRLimit(Interop.Abi.RLIMIT_MEMLOCK, limit with { Current = limit.Maximum }) == 0)
            limit.Current = limit.Maximum;
        LockedMemoryLimit = limit.Current == ulong.MaxValue || !MapsChargeLockedMemory(limit) ? null : limit.Current;
    }

    /// <summary>
    /// Whether this kernel charges BPF maps to RLIMIT_MEMLOCK (before Linux 5.11, and where memory
    /// cgroup accounting was not backported): a small map made under a soft limit of 0 tells. The
    /// limit is put back at once.
    /// </summary>
    internal static bool MapsChargeLockedMemory(Interop.Libc.RLimit limit)
    {
        if (Interop.Libc.SetRLimit(Interop.Abi.RLIMIT_MEMLOCK, limit with { Current = 0 }) != 0)
            return Environment.OSVersion.Version < new Version(5, 11);
        bool refusedAtZero;
        try
        {
            refusedAtZero = !MapMade();
        }
        finally
        {
            // Raising the soft limit back to where it was, never above the hard limit, cannot be refused.
            _ = Interop.Libc.SetRLimit(Interop.Abi.RLIMIT_MEMLOCK, limit);
        }
        // Refused under a limit of 0: charged, unless this process may make no map at all (without
        // CAP_BPF), which a map under its own limit tells; then the kernel's version is all there is.
        if (!refusedAtZero)
            return false;
        return MapMade() || Environment.OSVersion.Version < new Version(5, 11);
    }

    /// <summary>Whether a one-entry map can be made (false where the kernel refuses it, EPERM).</summary>
    private static bool MapMade()
    {
        try
        {
            using (BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_ARRAY, 4, 8, 1, "probe"))
                return true;
        }
        catch (BpfException e) when (e.Errno is Interop.Errno.EPERM)
        {
            return false;
        }
    }
}
