using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using KvmStat.Sources.Bpf;

namespace KvmStat.Bench;

/// <summary>
/// "attach [ROUNDS [CALLS]]": what attaching a program costs each event, by the way it is attached,
/// on a tracepoint this process fires itself (raw_syscalls:sys_enter, on every system call): a cheap
/// system call (getppid) with nothing attached, with an empty raw tracepoint program, and with an
/// empty classic one (through a perf event, which first copies the event's record, as the engine
/// attaches kvm_exit for its exit reasons). The three in a new random order each round; medians
/// and spread of the time per call, and each attach's cost over nothing.
/// </summary>
internal static partial class AttachCost
{
    private const string Tracepoint = "sys_enter";

    internal static int Run(int rounds, int calls)
    {
        int id = int.Parse(File.ReadAllText("/sys/kernel/tracing/events/raw_syscalls/sys_enter/id").Trim(), CultureInfo.InvariantCulture);
        using BpfProgram raw = Empty(KvmStat.Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT, 0);
        // A classic program passes the event on (1), as the engine's do.
        using BpfProgram classic = Empty(KvmStat.Interop.Abi.BPF_PROG_TYPE_TRACEPOINT, 1);
        string[] kinds = ["nothing", "raw", "classic"];
        var samples = kinds.ToDictionary(k => k, _ => new List<double>());
        var random = new Random();
        for (int round = 0; round < rounds; round++)
        {
            foreach (string kind in kinds.OrderBy(_ => random.Next()))
            {
                using KvmStat.Interop.FileDescriptor? attached = kind switch
                {
                    "raw" => raw.AttachRawTracepoint(Tracepoint),
                    "classic" => classic.AttachTracepoint(Tracepoint, id),
                    _ => null,
                };
                TimeCalls(calls / 10);
                samples[kind].Add(TimeCalls(calls));
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"getppid, ns a call: median [min, max] of {rounds} rounds of {calls} calls, the three in a new random order each round"));
        double floor = Median(samples["nothing"]);
        foreach (string kind in kinds)
        {
            List<double> s = samples[kind];
            s.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {kind,-8} {Median(s),7:F1} [{s[0]:F1}, {s[^1]:F1}]{(kind == "nothing" ? "" : $"  +{Median(s) - floor:F1} over nothing")}"));
        }
        return 0;
    }

    private static BpfProgram Empty(uint type, int result) =>
        BpfProgram.Load(type, new BpfAssembler().Mov(BpfRegister.R0, result).Exit().Build(), new Dictionary<string, BpfMap>(), "attach_cost");

    private static double Median(List<double> samples)
    {
        List<double> sorted = [.. samples.Order()];
        return sorted[sorted.Count / 2];
    }

    private static double TimeCalls(int calls)
    {
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < calls; i++)
            GetParentPid();
        return Stopwatch.GetElapsedTime(started).TotalNanoseconds / calls;
    }

    [LibraryImport("libc.so.6", EntryPoint = "getppid")]
    private static partial int GetParentPid();
}
