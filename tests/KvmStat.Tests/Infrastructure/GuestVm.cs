using System.Globalization;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// The test guest in a process of its own, named like a QEMU guest (-name), whose vCPUs each run
/// <see cref="Outs"/> port writes and <see cref="MmioWrites"/> MMIO writes, then halt, on demand.
/// </summary>
internal sealed class GuestVm : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly ChildProcess _process;

    private GuestVm(ChildProcess process, string name, int outs, int mmio)
    {
        _process = process;
        Name = name;
        Outs = outs;
        MmioWrites = mmio;
        try
        {
            string ready = process.Output.WaitForLine(l => l.StartsWith("ready ", StringComparison.Ordinal), s_timeout, "guest ready");
            int[] numbers = [.. ready.Split(' ').Skip(1).Select(n => int.Parse(n, CultureInfo.InvariantCulture))];
            Pid = numbers[0];
            Vcpus = numbers.Length - 1;
        }
        catch
        {
            // A guest that never got ready is ended here: nothing else holds it.
            process.Dispose();
            throw;
        }
    }

    internal static GuestVm Start(string name, int vcpus, int outs, int mmio, bool holdStats = false) =>
        new(ChildProcess.Start(PublishedBinary.TestExecutable,
            ["guest", "-name", name, "--vcpus", vcpus.ToString(CultureInfo.InvariantCulture),
             "--outs", outs.ToString(CultureInfo.InvariantCulture), "--mmio", mmio.ToString(CultureInfo.InvariantCulture),
             .. holdStats ? new[] { "--hold-stats" } : []]),
            name, outs, mmio);

    /// <summary>The guest's own reading of its statistics descriptors: "ID NAME" → first value.</summary>
    internal Dictionary<string, long> OwnStats()
    {
        int ends = _process.Output.Lines.Count(l => l == "end");
        _process.WriteLine("stats");
        string[] lines = _process.Output.WaitFor(l => l.Count(x => x == "end") > ends, s_timeout, "guest stats");
        var stats = new Dictionary<string, long>();
        foreach (string line in lines.Where(l => l.StartsWith("stats ", StringComparison.Ordinal)))
        {
            string[] parts = line.Split(' ');
            stats[$"{parts[1]} {parts[2]}"] = long.Parse(parts[3].Split(',')[0], CultureInfo.InvariantCulture);
        }
        return stats;
    }

    internal int Pid { get; }

    internal string Name { get; }

    internal int Vcpus { get; private set; }

    internal int Outs { get; }

    internal int MmioWrites { get; }

    /// <summary>
    /// Runs the program on every vCPU; returns once all have halted, with the monotonic times
    /// (<see cref="System.Diagnostics.Stopwatch"/> timestamps) the run started and ended at.
    /// </summary>
    internal (long Started, long Ended) Run()
    {
        static bool IsDone(string line) => line.StartsWith("done ", StringComparison.Ordinal);
        int done = _process.Output.Lines.Count(IsDone);
        _process.WriteLine("run");
        string[] lines = _process.Output.WaitFor(lines => lines.Count(IsDone) > done, s_timeout, "guest run done");
        string[] times = lines.Last(IsDone).Split(' ');
        return (long.Parse(times[1], CultureInfo.InvariantCulture), long.Parse(times[2], CultureInfo.InvariantCulture));
    }

    /// <summary>Adds a vCPU on a new thread.</summary>
    internal int Spawn()
    {
        int spawned = _process.Output.Lines.Count(l => l.StartsWith("spawned ", StringComparison.Ordinal));
        _process.WriteLine("spawn");
        string[] lines = _process.Output.WaitFor(
            lines => lines.Count(l => l.StartsWith("spawned ", StringComparison.Ordinal)) > spawned, s_timeout, "guest spawn");
        Vcpus++;
        return int.Parse(lines.Last(l => l.StartsWith("spawned ", StringComparison.Ordinal))["spawned ".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>The exact counts one run produces, as kvm_stat names them.</summary>
    internal Dictionary<string, long> ExpectedPerRun() => new()
    {
        ["kvm_pio"] = (long)Outs * Vcpus,
        ["kvm_mmio"] = (long)MmioWrites * Vcpus,
        ["kvm_userspace_exit"] = (long)(Outs + MmioWrites + 1) * Vcpus,
        ["kvm_userspace_exit(IO)"] = (long)Outs * Vcpus,
        ["kvm_userspace_exit(MMIO)"] = (long)MmioWrites * Vcpus,
        ["kvm_userspace_exit(HLT)"] = Vcpus,
    };

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.WriteLine("exit");
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException)
        {
        }
        _process.Dispose();
    }
}
