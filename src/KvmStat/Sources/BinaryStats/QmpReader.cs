using System.Globalization;
using System.Text.Json;
using KvmStat.Guests;
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
/// one deadline, is reported once, and the other VMs and sources keep their numbers. Whatever a
/// peer sends (names that collide once exported, arrays empty or huge, a hundred thousand
/// statistics or vCPUs, names of a megabyte, types and units QEMU does not have) costs that VM
/// only: it is left out, marked down with a short reason (<see cref="ReportHealth"/>), and its
/// memory is bounded by the message limit of <see cref="QmpConnection"/> and the bounds of
/// <see cref="StatNames"/>.
/// </para>
/// </summary>
/// <param name="sockets">The --qmp paths, or null for --qmp auto.</param>
/// <param name="discovery">The run's list of VMs: --qmp auto looks for sockets of those alone.</param>
/// <param name="verbose">Where to say which sockets --qmp auto left out, and why.</param>
/// <param name="failFirstRead">
/// A first read that reaches no VM throws (the one-shot and log modes end with that error);
/// false for the exporter, which serves the reason as a down source instead.
/// </param>
internal sealed class QmpReader(IReadOnlyList<string>? sockets, HostPaths paths, double delay, Action<string> warn, TimeProvider time, VmDiscovery discovery,
    Action<string>? verbose = null, bool failFirstRead = true) : IVmStatsReader
{
    private static readonly Version s_noInterruption = new(8, 1);
    private static readonly TimeSpan s_autoRescan = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_firstBackOff = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_longestBackOff = TimeSpan.FromMinutes(5);

    /// <summary>The most vCPUs of one VM (KVM's limit on x86).</summary>
    internal const int MaxVcpus = 4096;

    /// <summary>
    /// The values (a histogram's buckets each) one QEMU's statistics may hold: 4 MiB. A vCPU has
    /// some 150 (50 statistics, 3 histograms of 32 buckets), so a VM of 3,000 vCPUs fits; a peer
    /// that claims more (each answer under the message limit) would make every VM cost a lot.
    /// </summary>
    internal const int MaxValuesPerVm = 1 << 19;

    /// <summary>The most sockets followed at once (--qmp auto on a host of many QEMUs).</summary>
    private const int MaxSockets = 4096;

    /// <summary>The most one refresh spends on QMP, all sockets together.</summary>
    internal static readonly TimeSpan RefreshBudget = TimeSpan.FromSeconds(2.5);

    private readonly IReadOnlyList<string>? _explicitSockets = sockets;
    private readonly HostPaths _paths = paths;
    private readonly double _delay = delay;
    private readonly Action<string> _warn = warn;
    private readonly VmDiscovery _discovery = discovery;
    private readonly GuestFinder _finder = new(paths);
    private readonly List<int> _vms = [];
    private readonly Action<string>? _verbose = verbose;
    private readonly TimeProvider _time = time;
    private readonly List<string> _problems = [];
    private readonly Dictionary<string, QmpSocketState> _sockets = new(StringComparer.Ordinal);
    private DateTimeOffset _discoveredAt = DateTimeOffset.MinValue;
    private bool _firstRead = failFirstRead;

    /// <summary>Sockets known now (for tests of what stays bounded).</summary>
    internal int TrackedSockets => _sockets.Count;

    public void Read(List<VmStatsBlocks> vms)
    {
        vms.Clear();
        Discover();
        QmpException? firstFailure = null;
        _problems.Clear();
        // The peers that answered fastest last time first: a slow one (or one that trickles on
        // purpose) spends what is left of the budget, not what the others need.
        List<QmpSocketState> pending = [.. _sockets.Values.OrderBy(s => s.LastTook)];
        while (true)
        {
            List<QmpSocketState> outOfTime = ReadWithinBudget(pending, vms, ref firstFailure);
            // A first read that reached no VM tries those it had no time for, with a budget of
            // their own: one slow peer tried first does not end the run for want of the others.
            if (!_firstRead || vms.Count > 0 || outOfTime.Count == 0)
                break;
            pending = outOfTime;
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

    /// <summary>
    /// One refresh budget spent on <paramref name="sockets"/> in their order; returns those without
    /// statistics that were due but had no time left.
    /// </summary>
    private List<QmpSocketState> ReadWithinBudget(List<QmpSocketState> sockets, List<VmStatsBlocks> vms, ref QmpException? firstFailure)
    {
        long now = _time.GetTimestamp();
        long refreshDeadline = now + (long)(RefreshBudget.TotalSeconds * _time.TimestampFrequency);
        var outOfTime = new List<QmpSocketState>();
        foreach (QmpSocketState state in sockets)
        {
            // Backing off after a failure, or out of time this refresh: the VM keeps its last numbers.
            if (now < state.RetryAt || _time.GetTimestamp() >= refreshDeadline)
            {
                if (!state.HasData && now >= state.RetryAt)
                    outOfTime.Add(state);
            }
            else
            {
                long started = _time.GetTimestamp();
                try
                {
                    Query(state, refreshDeadline);
                    // A failure was said: its end is said too, so that a log tells an outage from an idle VM.
                    if (state.LastProblem is not null)
                        _problems.Add($"QMP socket {Text.Escape(state.Path)} answers again.");
                    state.Succeeded();
                    state.LastTook = _time.GetTimestamp() - started;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    state.LastTook = long.MaxValue;
                    firstFailure ??= Failed(state, e);
                }
            }
            if (state.HasData)
                vms.Add(state.Blocks);
        }
        return outOfTime;
    }

    /// <summary>
    /// Whatever the peer made go wrong costs this VM only: it backs off, longer after each failure
    /// in a row. Returns the failure as a QMP error.
    /// </summary>
    private QmpException Failed(QmpSocketState state, Exception e)
    {
        QmpException failure = e switch
        {
            QmpException qmp => qmp,
            KvmStatsFormatException format => new QmpException(state.Path, $"sent statistics this tool cannot read: {format.Message}"),
            KvmStatException other => new QmpException(state.Path, other.Message),
            _ => new QmpException(state.Path, $"sent something this tool cannot read ({e.GetType().Name}: {Text.Escape(e.Message.Length <= 120 ? e.Message : e.Message[..120] + "...")})"),
        };
        // Statistics it cannot read are not shown at all (a peer that times out keeps its last numbers):
        // the VM is down, and starts over at its next answer.
        if (e is not KvmStatException)
            state.StartOver(state.Blocks.Pid);
        state.Failures++;
        TimeSpan backOff = TimeSpan.FromTicks(Math.Min(s_longestBackOff.Ticks, s_firstBackOff.Ticks << Math.Min(state.Failures - 1, 10)));
        state.RetryAt = _time.GetTimestamp() + (long)(backOff.TotalSeconds * _time.TimestampFrequency);
        // A QEMU that exits or is busy for a moment is reported once, not at every try.
        if (state.LastProblem != failure.Message)
            _problems.Add($"{failure.Message} Tried again in {backOff.TotalSeconds:0} s.");
        state.LastProblem = failure.Message;
        return failure;
    }

    private void Discover()
    {
        if (_explicitSockets is not null)
        {
            foreach (string path in _explicitSockets)
            {
                if (!_sockets.ContainsKey(path))
                    _sockets[path] = new QmpSocketState(path, 0);
            }
            return;
        }
        if (_time.GetUtcNow() - _discoveredAt < s_autoRescan)
            return;
        _discoveredAt = _time.GetUtcNow();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        _discovery.List(_vms);
        foreach ((int pid, string path) in QmpSocketDiscovery.Find(_paths, _vms, _verbose))
        {
            if (seen.Count >= MaxSockets)
                break;
            seen.Add(path);
            if (!_sockets.TryGetValue(path, out QmpSocketState? known) || known.ExpectedPeer != pid)
                _sockets[path] = new QmpSocketState(path, pid) { ExpectedPeer = pid, Via = QmpSocketDiscovery.Reach(_paths, pid, path) };
        }
        foreach (string gone in _sockets.Keys.Where(p => !seen.Contains(p)).ToList())
            _sockets.Remove(gone);
        _verbose?.Invoke($"--qmp auto: {seen.Count} QMP socket(s) that a QEMU holding a VM listens on, among {_vms.Count} VM(s); the next look in {s_autoRescan.TotalSeconds:F0} s.");
    }

    /// <summary>One refresh of a socket: a connection, the schemas once, the VM's and the vCPUs' statistics.</summary>
    private void Query(QmpSocketState state, long deadline)
    {
        using QmpConnection qmp = QmpConnection.Open(state.Path, _time, state.ExpectedPeer, deadline, state.Via);
        CheckPeer(qmp, state);
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
        QmpVcpus.Query(qmp, state, state.VcpuSchema, state.VmBlock?.ValueCount ?? 0);

        state.Blocks.Blocks.Clear();
        if (state.VmBlock is not null)
            state.Blocks.Blocks.Add(state.VmBlock);
        state.Blocks.Blocks.AddRange(state.VcpuBlocks.Values.OrderBy(b => b.VcpuIndex));
    }

    /// <summary>A QEMU with query-stats; another QEMU than before starts over; one that interrupts vCPUs is named once.</summary>
    private void CheckPeer(QmpConnection qmp, QmpSocketState state)
    {
        if (qmp.Version < new Version(7, 1))
            throw new QmpException(state.Path, $"belongs to QEMU {qmp.Version.ToString(3)}, which has no query-stats", "Binary statistics through QMP need QEMU 7.1 or later.");
        // Another QEMU on the same path (the VM restarted, maybe under the dead one's pid): its
        // statistics start anew, in new blocks.
        long peerStart = qmp.PeerPid > 0 ? _finder.StartOf(qmp.PeerPid) ?? 0 : 0;
        if (state.Blocks.Pid == 0 || (qmp.PeerPid > 0 && (qmp.PeerPid != state.Blocks.Pid || peerStart != state.PeerStart)))
        {
            state.StartOver(qmp.PeerPid);
            state.PeerStart = peerStart;
        }
        if (!state.WarnedAboutInterruptions && qmp.Version < s_noInterruption && _delay < 1.0)
        {
            state.WarnedAboutInterruptions = true;
            _warn($"QEMU {qmp.Version.ToString(3)} at {Text.Escape(state.Path)} makes every vCPU leave the guest for each query-stats (fixed in 8.1): at -s {_delay.ToString(CultureInfo.InvariantCulture)} that is {Math.Round(1 / _delay, 1).ToString(CultureInfo.InvariantCulture)} times a second.");
        }
    }

    public void ReportHealth(List<SourceHealth> into)
    {
        // --qmp auto that finds nothing says so: no line at all would look like a host without the source.
        if (_sockets.Count == 0 && _explicitSockets is null)
            into.Add(new SourceHealth("qmp", "", "--qmp auto found no QMP socket that a QEMU holding a KVM VM listens on"));
        foreach (QmpSocketState state in _sockets.Values)
            into.Add(new SourceHealth("qmp", state.Path, state.LastProblem));
    }

    public void Dispose()
    {
    }
}
