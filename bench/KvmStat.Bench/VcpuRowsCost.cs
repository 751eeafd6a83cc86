using System.Diagnostics;
using System.Globalization;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Bench;

/// <summary>
/// "vcpus [THREADS [ROUNDS]]": what summing one VM's vCPU threads into its vCPUs' rows costs a sample
/// (<see cref="GuestVcpus"/>, --vcpus), for a VM of THREADS threads, each on a vCPU of its own (a
/// VMM may name any number of threads "CPU N/KVM"), 91 fields each, their counts growing at every
/// sample. Prints the median and the spread of ROUNDS samples after the first (which makes the rows).
/// </summary>
internal static class VcpuRowsCost
{
    private const int Fields = 91;

    internal static int Run(int threads, int rounds)
    {
        List<VcpuReading> readings = [.. Enumerable.Range(0, threads).Select(t => new VcpuReading(100_000 + t, t, $"vcpu{t}", new long[Fields], null))];
        var vcpus = new GuestVcpus();
        var times = new List<double>();
        double first = 0;
        for (int round = 0; round <= rounds; round++)
        {
            foreach (VcpuReading reading in readings)
                reading.Values[0] = round;
            long started = Stopwatch.GetTimestamp();
            vcpus.Sample(readings);
            double took = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (round == 0)
                first = took;
            else
                times.Add(took);
        }
        if (vcpus.Rows.Count != threads || vcpus.Rows[^1].Totals[0] != rounds)
            throw new InvalidOperationException($"{vcpus.Rows.Count} rows, the last counting {vcpus.Rows[^1].Totals[0]}");
        times.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{threads} vCPU threads of one VM, {Fields} fields: a sample's rows {times[times.Count / 2]:F2} ms [{times[0]:F2}, {times[^1]:F2}] over {rounds} samples (the first {first:F2} ms)"));
        return 0;
    }
}
