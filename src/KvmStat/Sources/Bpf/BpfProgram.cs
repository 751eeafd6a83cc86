using System.Text;

namespace KvmStat.Sources.Bpf;

/// <summary>A BPF program this process loaded, checked by the kernel's verifier, and ways to attach it.</summary>
internal sealed class BpfProgram : IDisposable
{
    private const int VerifierLogSize = 64 * 1024;
    private readonly Interop.FileDescriptor _fd;

    private BpfProgram(Interop.FileDescriptor fd, uint type, string name, BpfCode code, IReadOnlyDictionary<string, BpfMap> maps)
    {
        _fd = fd;
        Type = type;
        Name = name;
        Code = code;
        Maps = maps;
    }

    /// <summary>BPF_PROG_TYPE_RAW_TRACEPOINT or BPF_PROG_TYPE_TRACEPOINT.</summary>
    internal uint Type { get; }

    /// <summary>The maps it was loaded with, by the names its code uses.</summary>
    internal IReadOnlyDictionary<string, BpfMap> Maps { get; }

    internal int Descriptor => _fd.Number;

    /// <summary>What it counts: the tracepoint it is for.</summary>
    internal string Name { get; }

    /// <summary>The program as loaded (its maps by name).</summary>
    internal BpfCode Code { get; }

    /// <summary>Loads a program, each map it names given by <paramref name="maps"/>; a rejection throws with the verifier's log, which says why.</summary>
    internal static BpfProgram Load(uint type, BpfCode code, IReadOnlyDictionary<string, BpfMap> maps, string name)
    {
        byte[] instructions = code.Encode(map => maps.TryGetValue(map, out BpfMap? m)
            ? m.Descriptor
            : throw new InvalidOperationException($"the program {name} uses the map {map}, which was not created"));
        return new BpfProgram(LoadBytes(type, instructions, name), type, name, code, maps);
    }

    private static unsafe Interop.FileDescriptor LoadBytes(uint type, byte[] instructions, string name)
    {
        byte[] license = "GPL\0"u8.ToArray();
        var attr = new Interop.Bpf.ProgLoadAttr { ProgType = type, InsnCount = (uint)(instructions.Length / 8) };
        int length = Math.Min(Encoding.ASCII.GetByteCount(name), 15);
        Encoding.ASCII.GetBytes(name.AsSpan(0, length), new Span<byte>(attr.ProgName, 16));
        int fd;
        fixed (byte* code = instructions)
        fixed (byte* gpl = license)
        {
            attr.Insns = (ulong)code;
            attr.License = (ulong)gpl;
            fd = Interop.Bpf.Call(Interop.Abi.BPF_PROG_LOAD, ref attr);
            if (fd < 0)
            {
                // Load again with the log on: the verifier says which instruction it refused and why.
                byte[] log = new byte[VerifierLogSize];
                fixed (byte* buffer = log)
                {
                    attr.LogLevel = 1;
                    attr.LogSize = (uint)log.Length;
                    attr.LogBuffer = (ulong)buffer;
                    int again = Interop.Bpf.Call(Interop.Abi.BPF_PROG_LOAD, ref attr);
                    if (again >= 0)
                        return new Interop.FileDescriptor(again);
                }
                int end = Array.IndexOf(log, (byte)0);
                throw new BpfException($"loading the BPF program {name}", -fd, Encoding.ASCII.GetString(log, 0, end < 0 ? log.Length : end).TrimEnd());
            }
        }
        return new Interop.FileDescriptor(fd);
    }

    /// <summary>
    /// Runs a raw tracepoint program once, now, on the calling thread (the "current" process it
    /// sees) and on <paramref name="cpu"/> when given: the tracepoint's arguments as 64-bit words.
    /// Returns the program's result, or -errno when the kernel refused to run it. (The benchmark of
    /// what each program costs runs them so; the tests run them from bpfrun, in other processes.)
    /// </summary>
    internal unsafe long TestRun(ReadOnlySpan<ulong> arguments, int? cpu = null)
    {
        fixed (ulong* context = arguments)
        {
            var attr = new Interop.Bpf.TestRunAttr
            {
                ProgFd = (uint)Descriptor,
                ContextIn = (ulong)context,
                ContextSizeIn = (uint)(arguments.Length * 8),
                Flags = cpu is null ? 0 : Interop.Abi.BPF_F_TEST_RUN_ON_CPU,
                Cpu = (uint)(cpu ?? 0),
            };
            int result = Interop.Bpf.Call(Interop.Abi.BPF_PROG_TEST_RUN, ref attr);
            return result < 0 ? result : attr.ReturnValue;
        }
    }

    /// <summary>Runs the program on every hit of a raw tracepoint (no perf event, nothing to wait for at close).</summary>
    internal unsafe Interop.FileDescriptor AttachRawTracepoint(string tracepoint)
    {
        byte[] name = Interop.NulTerminated(tracepoint);
        fixed (byte* p = name)
        {
            var attr = new Interop.Bpf.RawTracepointAttr { Name = (ulong)p, ProgFd = (uint)Descriptor };
            int fd = Interop.Bpf.Call(Interop.Abi.BPF_RAW_TRACEPOINT_OPEN, ref attr);
            if (fd < 0)
                throw new BpfException($"attaching to the raw tracepoint {tracepoint}", -fd);
            return new Interop.FileDescriptor(fd);
        }
    }

    /// <summary>
    /// Runs the program on every hit of a tracepoint with its record as context, on every CPU:
    /// through a perf event of that tracepoint. The event itself counts only while this thread runs
    /// (never while a vCPU thread raises the tracepoint): the events the program passes on (see
    /// <see cref="CounterProgram"/>) cost the kernel nothing unless someone else counts them too.
    /// Returns the perf event.
    /// </summary>
    internal Interop.FileDescriptor AttachTracepoint(string tracepoint, int id)
    {
        var attr = new Interop.Perf.PerfEventAttr
        {
            Type = Interop.Abi.PERF_TYPE_TRACEPOINT,
            Size = (uint)Interop.Abi.PerfEventAttrSize,
            Config = (ulong)id,
        };
        int fd = Interop.Perf.PerfEventOpen(ref attr, pid: 0, cpu: -1, groupFd: -1, Interop.Abi.PERF_FLAG_FD_CLOEXEC);
        if (fd < 0)
            throw new BpfException($"opening the tracepoint {tracepoint} for BPF", -fd);
        var perf = new Interop.FileDescriptor(fd);
        int result = Interop.Libc.Ioctl(fd, Interop.Abi.PERF_EVENT_IOC_SET_BPF, Descriptor);
        if (result < 0)
        {
            perf.Dispose();
            throw new BpfException($"attaching to the tracepoint {tracepoint}", -result);
        }
        result = Interop.Libc.Ioctl(fd, Interop.Abi.PERF_EVENT_IOC_ENABLE, 0);
        if (result < 0)
        {
            perf.Dispose();
            throw new BpfException($"enabling the tracepoint {tracepoint}", -result);
        }
        return perf;
    }

    public void Dispose() => _fd.Dispose();
}
