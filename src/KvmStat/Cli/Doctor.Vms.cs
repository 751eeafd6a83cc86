using System.Globalization;
using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;

namespace KvmStat.Cli;

/// <summary>--doctor's last check: each running VM and what reaches it (tracepoints, debugfs, binary statistics, QMP, vCPU threads).</summary>
internal sealed partial class Doctor
{
    private List<int>? _vms;
    private int _watched;

    /// <summary>The running VMs (the watched one alone with -p/-g), listed once for every check that looks at them.</summary>
    private List<int> RunningVms()
    {
        if (_vms is null)
        {
            _vms = [];
            if (_watched > 0)
                _vms.Add(_watched);
            else
                new VmDiscovery(paths, time, message => Line("warn", "VMs", message)).List(_vms);
        }
        return _vms;
    }

    /// <summary>VMs described a line each at most: a dense host's thousands would bury the checks (and each QMP socket is asked).</summary>
    internal const int MaxListedVms = 20;

    private void CheckVms()
    {
        List<int> running = RunningVms();
        List<int> pids = running.Count > MaxListedVms ? running.GetRange(0, MaxListedVms) : running;
        var finder = new GuestFinder(paths);
        var vcpuThreads = new VcpuThreads(paths);
        Dictionary<int, int> held = BinaryStatsProbe.HeldDescriptors(paths, pids).ToDictionary(h => h.Pid, h => h.Descriptors);
        var skipped = new List<string>();
        ILookup<int, string> qmp = QmpSocketDiscovery.Find(paths, pids, skipped.Add).ToLookup(s => s.Pid, s => s.Path);
        if (_watched == 0)
            Line(running.Count > 0 ? "ok" : "warn", "VMs", running.Count > 0 ? $"{running.Count} running" : "none running");
        foreach (int pid in pids)
        {
            string name = Text.Escape(finder.NameOf(pid) ?? "");
            var reaches = new List<string>
            {
                !_tracepoints ? "no tracepoints (see tracefs)" : _bpfCounts ? "tracepoints (per process, BPF)" : "tracepoints (per thread)",
            };
            reaches.Add(HasDebugfsFolder(pid) ? "debugfs folder" : "no debugfs folder");
            reaches.Add(held.TryGetValue(pid, out int count) ? $"{count} held stats descriptors (--binary-stats)" : "no held stats descriptors");
            // What --vcpus would call its threads: the vCPU index where the name or KVM_RUN tells it.
            List<VcpuThread> vcpus = vcpuThreads.List(pid);
            reaches.Add(vcpus.Count > 0
                ? $"vCPU {string.Join(", ", vcpus.Select(v => v.Index.ToString(CultureInfo.InvariantCulture)).Distinct())} known by {(vcpus.Count == 1 ? "its thread" : "their threads")} (--vcpus)"
                : "no thread known as a vCPU by its name or KVM_RUN now (--vcpus would show its threads by id)");
            foreach (string socket in qmp[pid])
                reaches.Add(DescribeQmp(socket, pid));
            if (!qmp[pid].Any())
                reaches.Add("no QMP socket it listens on named on its command line");
            Line("", $"  pid {pid}", $"{(name.Length > 0 ? $"({name}) " : "")}{string.Join("; ", reaches)}");
        }
        if (running.Count > pids.Count)
            Line("", "  ...", string.Create(CultureInfo.InvariantCulture, $"{running.Count - pids.Count:N0} more, not listed (kvm_stat --doctor -p PID checks one)"));
        // Sockets a command line names but its process does not listen on are not connected to.
        foreach (string reason in skipped)
            Line("warn", "QMP", reason);
    }

    /// <summary>
    /// With perf counters, per-VM views (-p, b, --serve) take a counter per VM thread and field
    /// beside the host's: how many of the running VMs fit the hard limit, as a run would count them.
    /// </summary>
    internal void CheckPerVmFiles(int fields, ulong hostNeeds, ulong hardLimit)
    {
        List<int> pids = RunningVms();
        if (pids.Count == 0)
            return;
        ulong needed = hostNeeds;
        int fit = 0, threads = 0;
        foreach (int pid in pids)
        {
            int count = ThreadCount(pid);
            threads += count;
            needed += (ulong)(count * fields);
            if (needed <= hardLimit)
                fit++;
        }
        Line(fit == pids.Count ? "ok" : "warn", "per-VM files", fit == pids.Count
            ? $"perf counters for {pids.Count} VMs ({threads} threads x {fields} tracepoints) and the host's need {needed}: within the hard limit"
            : $"perf counters for {pids.Count} VMs ({threads} threads x {fields} tracepoints) and the host's need {needed}, over the hard limit {hardLimit}: " +
              $"per-VM views count {fit} of them and leave out {pids.Count - fit} (vms_left_out). Raise the open-file limit (LimitNOFILE), or let the BPF engine count.");
    }

    /// <summary>A VM's threads as the perf engine lists them (ProcessCounters); a process gone meanwhile has none.</summary>
    private int ThreadCount(int pid)
    {
        var tids = new List<long>();
        return new DirectoryScanner(Path.Join(paths.ProcessDir(pid), "task")).TryScan(tids, DirectoryScanner.ParsePositive) == 0 ? tids.Count : 0;
    }

    /// <summary>Whether debugfs has the VM's folder; without debugfs (not mounted, not readable) it has none.</summary>
    private bool HasDebugfsFolder(int pid)
    {
        try
        {
            return Directory.EnumerateDirectories(paths.DebugfsKvm, $"{pid.ToString(CultureInfo.InvariantCulture)}-*").Any();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private string DescribeQmp(string socket, int pid)
    {
        long started = time.GetTimestamp();
        try
        {
            using QmpConnection connection = QmpConnection.Open(socket, time, expectedPeer: pid, via: QmpSocketDiscovery.Reach(paths, pid, socket));
            string pauses = connection.Version < new Version(8, 1) ? ", each query-stats briefly interrupts the vCPUs" : "";
            return $"QMP {Text.Escape(socket)} (QEMU {connection.Version.ToString(3)}{pauses}; answered in {time.GetElapsedTime(started).TotalMilliseconds:0} ms)";
        }
        catch (KvmStatException e)
        {
            return $"QMP {Text.Escape(socket)}: {e.Message}";
        }
    }
}
