using System.Runtime.InteropServices;
using KvmStat.Host;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Bench;

/// <summary>
/// "floor raw|classic": an empty BPF program on every kvm tracepoint, raw or classic (through a
/// perf event, as the engine attaches the exit-reason fields), until SIGTERM or SIGINT: what any
/// program costs a guest, the floor of bench/overhead.sh. Says "counting started" on standard
/// error once attached, as kvm_stat --verbose does.
/// </summary>
internal static class ProgramFloor
{
    internal static int Run(string kind)
    {
        if (kind is not ("raw" or "classic"))
        {
            Console.Error.WriteLine("usage: KvmStat.Bench floor raw|classic");
            return 2;
        }
        bool raw = kind == "raw";
        Tracefs tracefs = Tracefs.Locate(new HostPaths());
        // A classic program passes the event on (1), as the engine's do, so that perf users still see it.
        using BpfProgram empty = BpfProgram.Load(raw ? KvmStat.Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT : KvmStat.Interop.Abi.BPF_PROG_TYPE_TRACEPOINT,
            new BpfAssembler().Mov(BpfRegister.R0, raw ? 0 : 1).Exit().Build(), new Dictionary<string, BpfMap>(), "floor");
        var attached = new List<KvmStat.Interop.FileDescriptor>();
        try
        {
            foreach (string tracepoint in tracefs.ListKvmEvents())
                attached.Add(raw ? empty.AttachRawTracepoint(tracepoint) : empty.AttachTracepoint(tracepoint, tracefs.ReadId(tracepoint)));
            using var stop = new ManualResetEventSlim();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
            Console.Error.WriteLine($"counting started: an empty {kind} program on {attached.Count} kvm tracepoints");
            stop.Wait();
            return 0;
        }
        finally
        {
            foreach (KvmStat.Interop.FileDescriptor descriptor in attached)
                descriptor.Dispose();
        }
    }
}
