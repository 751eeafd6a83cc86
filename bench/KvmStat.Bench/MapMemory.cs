using System.Globalization;
using KvmStat.Host;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Bench;

/// <summary>
/// "layout": the kernel memory of the BPF engine's maps (as BpfTableLayout models it, which a test
/// holds to the kernel's own accounting) for 1, 200 and 4,000 VMs on hosts of 2, 64 and 384 CPUs,
/// counting this kernel's tracepoints with the exit reasons of a VMX and of an SVM host.
/// </summary>
internal static class MapMemory
{
    internal static int Run()
    {
        Tracefs tracefs = Tracefs.Locate(new HostPaths());
        Console.WriteLine("| CPUs | exit reasons | scope | room for processes | room for vCPU threads | 1 VM | 200 VMs | 4,000 VMs |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (int cpus in new[] { 2, 64, 384 })
        {
            foreach (ExitReasonSet encoding in new[] { ExitReasonSet.Vmx, ExitReasonSet.Svm })
            {
                IReadOnlyList<TracepointField> fields = TracepointCatalog.Discover(tracefs, encoding);
                // A map of reasons per tracepoint with children: an entry per value up to the largest below the array's bound.
                int[] reasons = [.. fields.Where(f => f.ReasonValue is >= 0 and < BpfTableLayout.MaxReasonArray).GroupBy(f => f.Parent)
                    .Select(g => (int)g.Max(f => f.ReasonValue!.Value) + 1)];
                int tracepoints = fields.Count(f => !f.IsChild);
                foreach ((string name, BpfScope scope, bool latency, bool vcpus) in new[]
                {
                    ("per process (`b`, `--json`, `--serve`)", BpfScope.EveryProcess, false, false),
                    ("per process, with `--latency`", BpfScope.EveryProcess, true, false),
                    ("per process, with `--vcpus`", BpfScope.EveryProcess, false, true),
                    ("per process, with `--vcpus --latency`", BpfScope.EveryProcess, true, true),
                    ("host's totals (`-1`, `-l`)", BpfScope.Host, false, false),
                })
                {
                    // The table's room is fixed when it is made: the VMs that run do not change its size
                    // (nor do they the latency maps': the kernel charges a hash map for all its entries).
                    BpfTableLayout layout = BpfTableLayout.For(fields.Count, scope, cpus, latency: latency, threadFields: vcpus ? tracepoints : 0,
                        threadReasons: vcpus);
                    string size = Mib(layout.MapBytes(reasons));
                    string room = layout.PerProcess ? layout.Capacity.ToString("N0", CultureInfo.InvariantCulture) : "-";
                    string threads = layout.PerThread ? layout.Threads.ToString("N0", CultureInfo.InvariantCulture) : "-";
                    Console.WriteLine($"| {cpus} | {encoding} ({fields.Count} fields) | {name} | {room} | {threads} | {size} | {size} | {size} |");
                }
            }
        }
        return 0;
    }

    private static string Mib(long bytes) => bytes < 1048576
        ? (bytes / 1024.0).ToString("F0", CultureInfo.InvariantCulture) + " KiB"
        : (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB";
}
