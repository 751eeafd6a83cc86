using System.Diagnostics;
using System.Globalization;
using KvmStat.Host;
using KvmStat.Sources.BinaryStats;

namespace KvmStat.Exporter;

/// <summary>
/// The exporter's own cost, as the Prometheus client libraries name it (process_cpu_seconds_total,
/// process_resident_memory_bytes, process_open_fds, ...): what running it costs each host.
/// </summary>
internal static class ProcessMetrics
{
    private static readonly Lazy<double> s_startTime = new(() =>
        (Process.GetCurrentProcess().StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds);

    private static readonly DirectoryScanner s_descriptors = new("/proc/self/fd");
    private static readonly List<long> s_scratch = new(256);

    internal static void Add(List<MetricFamily> families)
    {
        var cpu = new MetricFamily("process_cpu_seconds", "counter", "Total user and system CPU time spent in seconds.");
        cpu.Add("_total", [], BaseUnits.Float(Environment.CpuUsage.TotalTime.TotalSeconds));
        families.Add(cpu);

        // /proc/self/statm: size and resident, in pages.
        string[] statm = (SysFile.TryReadText("/proc/self/statm") ?? "").Split(' ');
        long pageSize = Environment.SystemPageSize;
        if (statm.Length > 1
            && long.TryParse(statm[0], NumberStyles.None, CultureInfo.InvariantCulture, out long size)
            && long.TryParse(statm[1], NumberStyles.None, CultureInfo.InvariantCulture, out long resident))
        {
            Gauge(families, "process_virtual_memory_bytes", "Virtual memory size in bytes.", size * pageSize);
            Gauge(families, "process_resident_memory_bytes", "Resident memory size in bytes.", resident * pageSize);
        }

        lock (s_scratch)
        {
            if (s_descriptors.TryScan(s_scratch, DirectoryScanner.ParseNonNegative) == 0)
                Gauge(families, "process_open_fds", "Number of open file descriptors.", s_scratch.Count);
        }
        if (Interop.Libc.GetRLimit(Interop.Abi.RLIMIT_NOFILE, out Interop.Libc.RLimit limit) == 0)
            Gauge(families, "process_max_fds", "Maximum number of open file descriptors.", (long)Math.Min(limit.Current, long.MaxValue));

        var start = new MetricFamily("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
        start.Add("", [], BaseUnits.Float(s_startTime.Value));
        families.Add(start);
    }

    private static void Gauge(List<MetricFamily> families, string name, string help, long value)
    {
        var family = new MetricFamily(name, "gauge", help);
        family.Gauge([], value);
        families.Add(family);
    }
}
