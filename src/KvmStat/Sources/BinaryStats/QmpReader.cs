using System.Globalization;
using System.Text.Json;
using KvmStat.Host;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// Binary statistics through QEMU's QMP (7.1 and later): query-stats-schemas once per socket,
/// then per refresh one short connection with query-stats for the VM and for its vCPUs. Before
/// QEMU 8.1 every query-stats makes each vCPU leave the guest for a moment (QEMU fetches the
/// statistics descriptors on the vCPU threads), so a short interval is named in a warning.
/// </summary>
internal sealed class QmpReader : IVmStatsReader
{
    private static readonly Version s_noInterruption = new(8, 1);
    private static readonly TimeSpan s_autoRescan = TimeSpan.FromSeconds(5);

    private readonly IReadOnlyList<string>? _explicitSockets;
    private readonly HostPaths _paths;
    private readonly double _delay;
    private readonly Action<string> _warn;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, SocketState> _sockets = new(StringComparer.Ordinal);
    private DateTimeOffset _discoveredAt = DateTimeOffset.MinValue;
    private bool _firstRead = true;

    /// <param name="sockets">The --qmp paths, or null for --qmp auto.</param>
    internal QmpReader(IReadOnlyList<string>? sockets, HostPaths paths, double delay, Action<string> warn, TimeProvider time)
    {
        _time = time;
        _explicitSockets = sockets;
        _paths = paths;
        _delay = delay;
        _warn = warn;
    }

    public void Read(List<VmStatsBlocks> vms)
    {
        vms.Clear();
        Discover();
        QmpException? firstFailure = null;
        foreach (SocketState state in _sockets.Values)
        {
            try
            {
                Query(state);
                state.LastProblem = null;
                vms.Add(state.Blocks);
            }
            catch (KvmStatException e)
            {
                firstFailure ??= e as QmpException ?? new QmpException(state.Path, e.Message);
                // A QEMU that exits or is busy for a moment is reported once, not at every refresh.
                if (!_firstRead && state.LastProblem != e.Message)
                    _warn(e.Message);
                state.LastProblem = e.Message;
            }
            catch (KvmStatsFormatException e)
            {
                firstFailure ??= new QmpException(state.Path, $"sent statistics this tool cannot read: {e.Message}");
            }
        }
        if (_firstRead && vms.Count == 0)
        {
            _firstRead = false;
            throw firstFailure ?? new EnvironmentException(
                "--qmp auto found no QMP unix socket on any QEMU command line.",
                "Start QEMU with -qmp unix:PATH,server=on,wait=off, or name the socket with --qmp PATH.");
        }
        _firstRead = false;
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
        foreach ((int pid, string path) in QmpSocketDiscovery.Find(_paths))
        {
            seen.Add(path);
            if (!_sockets.ContainsKey(path))
                _sockets[path] = new SocketState(path, pid);
        }
        foreach (string gone in _sockets.Keys.Where(p => !seen.Contains(p)).ToList())
            _sockets.Remove(gone);
    }

    private void Query(SocketState state)
    {
        using QmpConnection qmp = QmpConnection.Open(state.Path);
        if (qmp.Version < new Version(7, 1))
            throw new QmpException(state.Path, $"belongs to QEMU {qmp.Version.ToString(3)}, which has no query-stats", "Binary statistics through QMP need QEMU 7.1 or later.");
        if (state.Blocks.Pid == 0 || (qmp.PeerPid > 0 && qmp.PeerPid != state.Blocks.Pid))
            state.Blocks = new VmStatsBlocks(qmp.PeerPid);
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
            foreach (JsonElement result in vm.RootElement.GetProperty("return").EnumerateArray())
            {
                state.VmBlock ??= new QmpBlock(state.VmSchema, -1);
                state.VmBlock.Fill(result);
            }
        }

        using (JsonDocument vcpus = qmp.Execute("query-stats", "{\"target\":\"vcpu\",\"providers\":[{\"provider\":\"kvm\"}]}"))
        {
            foreach (JsonElement result in vcpus.RootElement.GetProperty("return").EnumerateArray())
            {
                string qomPath = result.TryGetProperty("qom-path", out JsonElement q) ? q.GetString() ?? "" : "";
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
        foreach (JsonElement cpu in cpus.RootElement.GetProperty("return").EnumerateArray())
        {
            if (cpu.TryGetProperty("qom-path", out JsonElement path) && cpu.TryGetProperty("cpu-index", out JsonElement index))
                state.CpuIndexByPath[path.GetString() ?? ""] = index.GetInt32();
        }
    }

    public void Dispose()
    {
    }

    private sealed class SocketState(string path, int pid)
    {
        internal string Path { get; } = path;
        internal VmStatsBlocks Blocks { get; set; } = new(pid);
        internal IReadOnlyList<KvmStatDescriptor>? VmSchema { get; set; }
        internal IReadOnlyList<KvmStatDescriptor>? VcpuSchema { get; set; }
        internal QmpBlock? VmBlock { get; set; }
        internal Dictionary<string, QmpBlock> VcpuBlocks { get; } = new(StringComparer.Ordinal);
        internal Dictionary<string, int> CpuIndexByPath { get; } = new(StringComparer.Ordinal);
        internal bool WarnedAboutInterruptions { get; set; }
        internal string? LastProblem { get; set; }
    }
}
