using System.Globalization;
using System.Text.Json;
using KvmStat.Host;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// Binary statistics through QEMU's QMP (7.1 and later): query-stats-schemas once per socket,
/// then per refresh one short connection with query-stats for the VM and for its vCPUs. Before
/// QEMU 8.1 every query-stats makes each vCPU leave the guest for a moment (QEMU fetches the
/// statistics descriptors on the vCPU threads), so a short interval is named in a warning.
/// <para>
/// A socket's peer is outside the tool's control: every exchange has a deadline
/// (<see cref="QmpConnection.Timeout"/>), a refresh spends at most <see cref="RefreshBudget"/> on
/// all sockets together, and a socket that failed is tried again only after a back-off (10 s,
/// doubling up to 5 minutes), its VM keeping its last numbers meanwhile. A misbehaving peer costs
/// one deadline, is reported once, and the other VMs and sources keep their numbers.
/// </para>
/// </summary>
internal sealed class QmpReader : IVmStatsReader
{
    private static readonly Version s_noInterruption = new(8, 1);
    private static readonly TimeSpan s_autoRescan = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_firstBackOff = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_longestBackOff = TimeSpan.FromMinutes(5);

    /// <summary>The most one refresh spends on QMP, all sockets together.</summary>
    internal static readonly TimeSpan RefreshBudget = TimeSpan.FromSeconds(2.5);

    private readonly IReadOnlyList<string>? _explicitSockets;
    private readonly HostPaths _paths;
    private readonly double _delay;
    private readonly Action<string> _warn;
    private readonly Action<string>? _verbose;
    private readonly TimeProvider _time;
    private readonly List<string> _problems = [];
    private readonly Dictionary<string, SocketState> _sockets = new(StringComparer.Ordinal);
    private DateTimeOffset _discoveredAt = DateTimeOffset.MinValue;
    private bool _firstRead = true;

    /// <param name="sockets">The --qmp paths, or null for --qmp auto.</param>
    /// <param name="verbose">Where to say which sockets --qmp auto left out, and why.</param>
    internal QmpReader(IReadOnlyList<string>? sockets, HostPaths paths, double delay, Action<string> warn, TimeProvider time, Action<string>? verbose = null)
    {
        _time = time;
        _verbose = verbose;
        _explicitSockets = sockets;
        _paths = paths;
        _delay = delay;
        _warn = warn;
    }

    /// <summary>Sockets known now (for tests of what stays bounded).</summary>
    internal int TrackedSockets => _sockets.Count;

    public void Read(List<VmStatsBlocks> vms)
    {
        vms.Clear();
        Discover();
        QmpException? firstFailure = null;
        _problems.Clear();
        long now = _time.GetTimestamp();
        long refreshDeadline = now + (long)(RefreshBudget.TotalSeconds * _time.TimestampFrequency);
        foreach (SocketState state in _sockets.Values)
        {
            // Backing off after a failure, or out of time this refresh: the VM keeps its last numbers.
            if (now < state.RetryAt || _time.GetTimestamp() >= refreshDeadline)
            {
                if (state.HasData)
                    vms.Add(state.Blocks);
                continue;
            }
            try
            {
                Query(state, refreshDeadline);
                state.LastProblem = null;
                state.Failures = 0;
                state.RetryAt = 0;
                state.HasData = true;
                vms.Add(state.Blocks);
            }
            catch (Exception e) when (e is KvmStatException or KvmStatsFormatException)
            {
                QmpException failure = e as QmpException
                    ?? new QmpException(state.Path, e is KvmStatsFormatException ? $"sent statistics this tool cannot read: {e.Message}" : e.Message);
                firstFailure ??= failure;
                state.Failures++;
                TimeSpan backOff = TimeSpan.FromTicks(Math.Min(s_longestBackOff.Ticks, s_firstBackOff.Ticks << Math.Min(state.Failures - 1, 10)));
                state.RetryAt = _time.GetTimestamp() + (long)(backOff.TotalSeconds * _time.TimestampFrequency);
                if (state.HasData)
                    vms.Add(state.Blocks);
                // A QEMU that exits or is busy for a moment is reported once, not at every try.
                if (state.LastProblem != failure.Message)
                    _problems.Add($"{failure.Message} Tried again in {backOff.TotalSeconds:0} s.");
                state.LastProblem = failure.Message;
            }
        }
        if (_firstRead && vms.Count == 0)
        {
            _firstRead = false;
            throw firstFailure ?? new EnvironmentException(
                "--qmp auto found no QMP unix socket that a QEMU process listens on.",
                "Start QEMU with -qmp unix:PATH,server=on,wait=off, or name the socket with --qmp PATH (--verbose names the sockets left out).");
        }
        _firstRead = false;
        foreach (string problem in _problems)
            _warn(problem);
        vms.Sort((a, b) => a.Pid.CompareTo(b.Pid));
    }

    private void Discover()
    {
        if (_explicitSockets is not null)
        {
            foreach (string path in _explicitSockets)
            {
                if (!_sockets.ContainsKey(path))
                    _sockets[path] = new SocketState(path, 0);
            }
            return;
        }
        if (_time.GetUtcNow() - _discoveredAt < s_autoRescan)
            return;
        _discoveredAt = _time.GetUtcNow();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach ((int pid, string path) in QmpSocketDiscovery.Find(_paths, _verbose))
        {
            seen.Add(path);
            if (!_sockets.TryGetValue(path, out SocketState? known) || known.ExpectedPeer != pid)
                _sockets[path] = new SocketState(path, pid) { ExpectedPeer = pid };
        }
        foreach (string gone in _sockets.Keys.Where(p => !seen.Contains(p)).ToList())
            _sockets.Remove(gone);
    }

    private void Query(SocketState state, long deadline)
    {
        using QmpConnection qmp = QmpConnection.Open(state.Path, state.ExpectedPeer, _time, deadline);
        if (qmp.Version < new Version(7, 1))
            throw new QmpException(state.Path, $"belongs to QEMU {qmp.Version.ToString(3)}, which has no query-stats", "Binary statistics through QMP need QEMU 7.1 or later.");
        // Another QEMU on the same path (the VM restarted): its statistics start anew, in new blocks.
        if (state.Blocks.Pid == 0 || (qmp.PeerPid > 0 && qmp.PeerPid != state.Blocks.Pid))
            state.StartOver(qmp.PeerPid);
        if (!state.WarnedAboutInterruptions && qmp.Version < s_noInterruption && _delay < 1.0)
        {
            state.WarnedAboutInterruptions = true;
            _warn($"QEMU {qmp.Version.ToString(3)} at {state.Path} makes every vCPU leave the guest for each query-stats (fixed in 8.1): at -s {_delay.ToString(CultureInfo.InvariantCulture)} that is {Math.Round(1 / _delay, 1).ToString(CultureInfo.InvariantCulture)} times a second.");
        }

        if (state.VmSchema is null || state.VcpuSchema is null)
        {
            using JsonDocument schemas = qmp.Execute("query-stats-schemas", "{\"provider\":\"kvm\"}");
            (state.VmSchema, state.VcpuSchema) = QmpStats.ParseSchemas(schemas.RootElement.GetProperty("return"));
        }

        using (JsonDocument vm = qmp.Execute("query-stats", "{\"target\":\"vm\",\"providers\":[{\"provider\":\"kvm\"}]}"))
        {
            foreach (JsonElement result in QmpStats.Items(vm.RootElement.GetProperty("return"), "the answer to query-stats"))
            {
                state.VmBlock ??= new QmpBlock(state.VmSchema, -1);
                state.VmBlock.Fill(result);
            }
        }

        using (JsonDocument vcpus = qmp.Execute("query-stats", "{\"target\":\"vcpu\",\"providers\":[{\"provider\":\"kvm\"}]}"))
        {
            foreach (JsonElement result in QmpStats.Items(vcpus.RootElement.GetProperty("return"), "the answer to query-stats"))
            {
                string qomPath = QmpStats.String(result, "qom-path") ?? "";
                if (!state.VcpuBlocks.TryGetValue(qomPath, out QmpBlock? block))
                {
                    if (!state.CpuIndexByPath.ContainsKey(qomPath))
                        LearnCpuIndexes(qmp, state);
                    block = new QmpBlock(state.VcpuSchema, state.CpuIndexByPath.GetValueOrDefault(qomPath, state.VcpuBlocks.Count));
                    state.VcpuBlocks[qomPath] = block;
                }
                block.Fill(result);
            }
        }

        state.Blocks.Blocks.Clear();
        if (state.VmBlock is not null)
            state.Blocks.Blocks.Add(state.VmBlock);
        state.Blocks.Blocks.AddRange(state.VcpuBlocks.Values.OrderBy(b => b.VcpuIndex));
    }

    private static void LearnCpuIndexes(QmpConnection qmp, SocketState state)
    {
        using JsonDocument cpus = qmp.Execute("query-cpus-fast");
        foreach (JsonElement cpu in QmpStats.Items(cpus.RootElement.GetProperty("return"), "the answer to query-cpus-fast"))
        {
            int index = QmpStats.Int(cpu, "cpu-index", -1);
            if (QmpStats.String(cpu, "qom-path") is string path && index >= 0)
                state.CpuIndexByPath[path] = index;
        }
    }

    public void ReportHealth(List<SourceHealth> into)
    {
        foreach (SocketState state in _sockets.Values)
            into.Add(new SourceHealth("qmp", state.Path, state.LastProblem));
    }

    public void Dispose()
    {
    }

    private sealed class SocketState(string path, int pid)
    {
        internal string Path { get; } = path;
        /// <summary>The QEMU process --qmp auto found listening on the path (0: a path the user named).</summary>
        internal int ExpectedPeer { get; init; }
        internal VmStatsBlocks Blocks { get; set; } = new(pid);
        internal IReadOnlyList<KvmStatDescriptor>? VmSchema { get; set; }
        internal IReadOnlyList<KvmStatDescriptor>? VcpuSchema { get; set; }
        internal QmpBlock? VmBlock { get; set; }
        internal Dictionary<string, QmpBlock> VcpuBlocks { get; } = new(StringComparer.Ordinal);
        internal Dictionary<string, int> CpuIndexByPath { get; } = new(StringComparer.Ordinal);
        internal bool WarnedAboutInterruptions { get; set; }
        internal string? LastProblem { get; set; }
        internal bool HasData { get; set; }
        internal int Failures { get; set; }
        internal long RetryAt { get; set; }

        internal void StartOver(int pid)
        {
            Blocks = new VmStatsBlocks(pid);
            VmSchema = null;
            VcpuSchema = null;
            VmBlock = null;
            VcpuBlocks.Clear();
            CpuIndexByPath.Clear();
            HasData = false;
        }
    }
}
