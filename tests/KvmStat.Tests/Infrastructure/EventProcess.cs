using System.Globalization;
using KvmStat.Sources.Bpf;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// A real process that raises synthetic events (tests/guest/bpfrun.c): it runs the tool's own BPF
/// programs with BPF_PROG_TEST_RUN on its main thread or on new threads, on a chosen CPU, with
/// the tracepoint arguments (or record) the test chooses. To the programs it is the current
/// process, as a vCPU thread of a VM would be.
/// </summary>
internal sealed class EventProcess : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly ChildProcess _process;
    private readonly Dictionary<int, int> _copies = [];

    private EventProcess()
    {
        _process = ChildProcess.Start(Path.Join(AppContext.BaseDirectory, "bpfrun"), []);
        try
        {
            string ready = _process.Output.WaitForLine(l => l.StartsWith("ready ", StringComparison.Ordinal), s_timeout, "bpfrun ready");
            Pid = int.Parse(ready["ready ".Length..], CultureInfo.InvariantCulture);
        }
        catch
        {
            // Never ready: ended here, since nothing else holds it.
            _process.Dispose();
            throw;
        }
    }

    internal int Pid { get; }

    internal static EventProcess Start() => new();

    /// <summary>
    /// A process with the given pid: the kernel's next pid is set just below it first (ns_last_pid),
    /// and another process that takes it meanwhile means another try.
    /// </summary>
    internal static EventProcess StartWithPid(int pid)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            File.WriteAllText("/proc/sys/kernel/ns_last_pid", (pid - 1).ToString(CultureInfo.InvariantCulture));
            var process = new EventProcess();
            if (process.Pid == pid)
                return process;
            process.Dispose();
        }
        throw new InvalidOperationException($"pid {pid} could not be had in 50 tries");
    }

    private string Ask(string command)
    {
        int answered = _process.Output.Lines.Length;
        _process.WriteLine(command);
        string[] lines = _process.Output.WaitFor(l => l.Count > answered, s_timeout, $"bpfrun's answer to {command}");
        return lines[answered];
    }

    /// <summary>Runs <paramref name="program"/> <paramref name="count"/> times on this process's main thread; returns its result.</summary>
    internal long Run(BpfProgram program, ReadOnlySpan<byte> context, int count = 1, int cpu = -1) =>
        long.Parse(Ask($"run {Copy(program)} {cpu} {count} {Convert.ToHexString(context)}").Split(' ')[1], CultureInfo.InvariantCulture);

    /// <summary>The same on a new thread of this process; returns the result and the thread's id.</summary>
    internal (long Result, int Tid) RunInThread(BpfProgram program, ReadOnlySpan<byte> context, int count = 1, int cpu = -1)
    {
        string[] answer = Ask($"trun {Copy(program)} {cpu} {count} {Convert.ToHexString(context)}").Split(' ');
        return (long.Parse(answer[1], CultureInfo.InvariantCulture), int.Parse(answer[2], CultureInfo.InvariantCulture));
    }

    /// <summary>A thread of this process that stays until <see cref="End"/>, named <paramref name="name"/> (as QEMU names a vCPU thread "CPU 0/KVM"), or unnamed.</summary>
    internal int Spawn(string? name = null)
    {
        string answer = Ask(name is null ? "spawn" : $"spawn {name}");
        Assert.StartsWith("spawned ", answer);
        return int.Parse(answer["spawned ".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>Runs <paramref name="program"/> <paramref name="count"/> times on thread <paramref name="tid"/> (spawned); returns its result.</summary>
    internal long RunOn(int tid, BpfProgram program, ReadOnlySpan<byte> context, int count = 1, int cpu = -1) =>
        long.Parse(Ask($"on {tid} run {Copy(program)} {cpu} {count} {Convert.ToHexString(context)}").Split(' ')[1], CultureInfo.InvariantCulture);

    /// <summary><see cref="Timed"/> on thread <paramref name="tid"/> (spawned), which ends exits with <paramref name="entry"/>.</summary>
    internal long TimedOn(int tid, BpfProgram stamp, ReadOnlySpan<byte> stampContext, TimeSpan wait, BpfProgram entry, ReadOnlySpan<byte> entryContext, int count, int cpu = 0)
    {
        string answer = Ask($"on {tid} timed {Copy(stamp)} {cpu} {count} {Convert.ToHexString(stampContext)} {(long)wait.TotalMicroseconds} {Copy(entry)} {Convert.ToHexString(entryContext)}");
        return long.Parse(answer.Split(' ')[1], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// <paramref name="count"/> threads one after the other, named as QEMU's vCPUs 0 to 3 are: each
    /// runs <paramref name="program"/> once, then <paramref name="exit"/> (its exit), and exits.
    /// Returns how many had another result than 1 and 0.
    /// </summary>
    internal int Churn(int count, BpfProgram program, ReadOnlySpan<byte> context, BpfProgram exit) =>
        int.Parse(Ask($"churn {count} {Copy(program)} {Convert.ToHexString(context)} {Copy(exit)}")["churned ".Length..], CultureInfo.InvariantCulture);

    /// <summary>Thread <paramref name="tid"/> (spawned) exits; returns once it is joined.</summary>
    internal void End(int tid) => Assert.Equal($"ended {tid}", Ask($"end {tid}"));

    /// <summary>
    /// <paramref name="count"/> timed exits: run <paramref name="stamp"/> (an exit), wait
    /// <paramref name="wait"/> (busy), then run <paramref name="entry"/>, or with none call
    /// ioctl(KVM_RUN) (what an entry program on sys_enter sees). Returns the last result.
    /// </summary>
    internal long Timed(BpfProgram stamp, ReadOnlySpan<byte> stampContext, TimeSpan wait, BpfProgram? entry, ReadOnlySpan<byte> entryContext, int count, int cpu = 0) =>
        TimedWithBounds(stamp, stampContext, wait, entry, entryContext, count, cpu).Result;

    /// <summary>
    /// <see cref="Timed"/>, and how long each exit took as the process saw it around both programs
    /// (a bound above what the kernel measures), in log2 buckets of nanoseconds.
    /// </summary>
    internal (long Result, ulong[] Bounds) TimedWithBounds(BpfProgram stamp, ReadOnlySpan<byte> stampContext, TimeSpan wait, BpfProgram? entry, ReadOnlySpan<byte> entryContext, int count, int cpu = 0)
    {
        string entryFd = entry is null ? "-1" : Copy(entry).ToString(CultureInfo.InvariantCulture);
        string[] answer = Ask($"timed {Copy(stamp)} {cpu} {count} {Convert.ToHexString(stampContext)} {(long)wait.TotalMicroseconds} {entryFd} {Convert.ToHexString(entryContext)}").Split(' ');
        var bounds = new ulong[64];
        foreach (string bucket in answer.Skip(2))
        {
            string[] pair = bucket.Split(':');
            bounds[int.Parse(pair[0], CultureInfo.InvariantCulture)] = ulong.Parse(pair[1], CultureInfo.InvariantCulture);
        }
        return (long.Parse(answer[1], CultureInfo.InvariantCulture), bounds);
    }

    /// <summary>Runs <paramref name="program"/> with no arguments (the exit program's), once.</summary>
    internal long Run(BpfProgram program) => Run(program, new byte[8]);

    private int Copy(BpfProgram program)
    {
        if (!_copies.TryGetValue(program.Descriptor, out int copy))
        {
            string answer = Ask($"get {Environment.ProcessId} {program.Descriptor}");
            copy = int.Parse(answer["fd ".Length..], CultureInfo.InvariantCulture);
            if (copy < 0)
                throw new InvalidOperationException($"pidfd_getfd of program {program.Name} failed: {copy}");
            _copies[program.Descriptor] = copy;
        }
        return copy;
    }

    /// <summary>
    /// <paramref name="count"/> child processes (processes of their own, as VMs are) that each run
    /// <paramref name="program"/> with <paramref name="context"/> at every <see cref="KickChildren"/>:
    /// child i (i from 0) runs it i % 10 + 1 times. Returns their pids in that order.
    /// </summary>
    internal int[] ForkChildren(BpfProgram program, ReadOnlySpan<byte> context, int count)
    {
        string answer = Ask($"fork {count} {Copy(program)} {Convert.ToHexString(context)}");
        Assert.StartsWith("forked", answer);
        return [.. answer.Split(' ').Skip(1).Select(p => int.Parse(p, CultureInfo.InvariantCulture))];
    }

    /// <summary>Every child runs its events once more; returns when all have (0, or negative if one failed).</summary>
    internal long KickChildren() => long.Parse(Ask("kick").Split(' ')[1], CultureInfo.InvariantCulture);

    /// <summary>The children exit and are reaped.</summary>
    internal void ReleaseChildren() => Assert.Equal("released", Ask("release"));

    /// <summary>Ends the process (and waits for it).</summary>
    internal void Exit()
    {
        _process.WriteLine("exit");
        Assert.Equal(0, _process.WaitForExit(s_timeout));
    }

    public void Dispose() => _process.Dispose();
}
