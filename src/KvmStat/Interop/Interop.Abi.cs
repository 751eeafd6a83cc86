using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    /// <summary>
    /// Every value of the kernel's and the C library's interface that the tool passes or reads:
    /// open flags, syscall numbers, ioctl requests, termios flags, structure sizes and offsets. Some
    /// differ between architectures (arm64's O_DIRECTORY is x86's O_DIRECT; syscall numbers), so
    /// there is one table per architecture, and a test compiles each table's values as static
    /// assertions against that architecture's C headers (<see cref="CExpressionAttribute"/> names
    /// the C side of a value; without it, the property's name is the C macro).
    /// </summary>
    internal sealed record AbiTable
    {
        internal required string Name { get; init; }

        internal required int O_RDONLY { get; init; }
        internal required int O_WRONLY { get; init; }
        internal required int O_CREAT { get; init; }
        internal required int O_APPEND { get; init; }
        internal required int O_DIRECTORY { get; init; }
        internal required int O_CLOEXEC { get; init; }
        internal required int O_PATH { get; init; }
        internal required int O_NOFOLLOW { get; init; }
        internal required int O_NOCTTY { get; init; }
        internal required int O_NONBLOCK { get; init; }
        internal required int AT_FDCWD { get; init; }
        internal required int AT_EMPTY_PATH { get; init; }
        internal required int STATX_TYPE { get; init; }
        internal required int S_IFMT { get; init; }
        internal required int S_IFREG { get; init; }
        [CExpression("offsetof(struct statx, stx_mode)")]
        internal required int StatxModeOffset { get; init; }
        internal required int AT_SECURE { get; init; }

        internal required long SYS_perf_event_open { get; init; }
        internal required long SYS_bpf { get; init; }
        internal required long SYS_close_range { get; init; }
        internal required long SYS_close { get; init; }
        internal required long SYS_read { get; init; }
        internal required long SYS_ppoll { get; init; }
        internal required long SYS_getppid { get; init; }
        internal required long SYS_setsid { get; init; }
        internal required long SYS_exit_group { get; init; }
        internal required long SYS_pidfd_open { get; init; }
        internal required long SYS_pidfd_getfd { get; init; }

        internal required int BPF_MAP_CREATE { get; init; }
        internal required int BPF_MAP_LOOKUP_ELEM { get; init; }
        internal required int BPF_MAP_UPDATE_ELEM { get; init; }
        internal required int BPF_MAP_DELETE_ELEM { get; init; }
        internal required int BPF_PROG_LOAD { get; init; }
        internal required int BPF_RAW_TRACEPOINT_OPEN { get; init; }
        internal required int BPF_PROG_TEST_RUN { get; init; }
        internal required uint BPF_F_MMAPABLE { get; init; }
        internal required uint BPF_F_TEST_RUN_ON_CPU { get; init; }
        internal required uint BPF_MAP_TYPE_HASH { get; init; }
        internal required uint BPF_MAP_TYPE_ARRAY { get; init; }
        internal required uint BPF_MAP_TYPE_PERCPU_ARRAY { get; init; }
        internal required uint BPF_MAP_TYPE_QUEUE { get; init; }
        internal required uint BPF_PROG_TYPE_TRACEPOINT { get; init; }
        internal required uint BPF_PROG_TYPE_RAW_TRACEPOINT { get; init; }
        internal required ulong BPF_ANY { get; init; }
        internal required ulong BPF_NOEXIST { get; init; }
        internal required int BPF_PSEUDO_MAP_FD { get; init; }
        internal required int BPF_FUNC_map_lookup_elem { get; init; }
        internal required int BPF_FUNC_map_update_elem { get; init; }
        internal required int BPF_FUNC_get_current_pid_tgid { get; init; }
        internal required int BPF_FUNC_map_push_elem { get; init; }
        internal required int BPF_FUNC_map_pop_elem { get; init; }
        internal required int BPF_FUNC_map_delete_elem { get; init; }
        [CExpression("offsetof(union bpf_attr, test.ctx_in)")]
        internal required int TestRunContextOffset { get; init; }
        [CExpression("offsetof(union bpf_attr, test.cpu)")]
        internal required int TestRunCpuOffset { get; init; }
        [CExpression("offsetof(union bpf_attr, map_name)")]
        internal required int MapCreateNameOffset { get; init; }
        [CExpression("offsetof(union bpf_attr, prog_name)")]
        internal required int ProgLoadNameOffset { get; init; }
        [CExpression("offsetof(union bpf_attr, expected_attach_type)")]
        internal required int ProgLoadAttachTypeOffset { get; init; }
        [CExpression("offsetof(union bpf_attr, flags)")]
        internal required int MapElemFlagsOffset { get; init; }
        [CExpression("offsetof(union bpf_attr, raw_tracepoint.prog_fd)")]
        internal required int RawTracepointProgFdOffset { get; init; }

        internal required uint PERF_TYPE_TRACEPOINT { get; init; }
        internal required ulong PERF_FORMAT_GROUP { get; init; }
        internal required ulong PERF_FLAG_FD_CLOEXEC { get; init; }
        internal required ulong PERF_EVENT_IOC_ENABLE { get; init; }
        internal required ulong PERF_EVENT_IOC_SET_FILTER { get; init; }
        internal required ulong PERF_EVENT_IOC_SET_BPF { get; init; }
        internal required ulong PERF_IOC_FLAG_GROUP { get; init; }
        [CExpression("PERF_ATTR_SIZE_VER1")]
        internal required int PerfEventAttrSize { get; init; }

        internal required ulong TIOCGWINSZ { get; init; }
        internal required uint ICANON { get; init; }
        internal required uint ECHO { get; init; }
        internal required uint IEXTEN { get; init; }
        internal required uint ICRNL { get; init; }
        internal required uint IXON { get; init; }
        internal required int VTIME { get; init; }
        internal required int VMIN { get; init; }
        internal required int TCSANOW { get; init; }
        [CExpression("sizeof(struct termios)")]
        internal required int TermiosSize { get; init; }
        [CExpression("offsetof(struct termios, c_cc)")]
        internal required int TermiosControlCharsOffset { get; init; }
        [CExpression("sizeof(struct winsize)")]
        internal required int WindowSizeSize { get; init; }

        internal required int RLIMIT_NOFILE { get; init; }
        internal required int RLIMIT_MEMLOCK { get; init; }
        [CExpression("sizeof(struct rlimit)")]
        internal required int RLimitSize { get; init; }
        internal required int MADV_RANDOM { get; init; }
        internal required int SOL_SOCKET { get; init; }
        internal required int SO_PEERCRED { get; init; }
        [CExpression("sizeof(struct ucred)")]
        internal required int UcredSize { get; init; }
        internal required int PROT_READ { get; init; }
        internal required int PROT_WRITE { get; init; }
        internal required int MAP_SHARED { get; init; }
        internal required short POLLIN { get; init; }
        [CExpression("sizeof(struct pollfd)")]
        internal required int PollFdSize { get; init; }

        [CExpression("offsetof(struct dirent64, d_reclen)")]
        internal required int DirentRecLenOffset { get; init; }
        [CExpression("offsetof(struct dirent64, d_type)")]
        internal required int DirentTypeOffset { get; init; }
        [CExpression("offsetof(struct dirent64, d_name)")]
        internal required int DirentNameOffset { get; init; }
        internal required byte DT_DIR { get; init; }

        // Exit latencies: when a vCPU thread enters KVM_RUN again (ioctl's number and the second
        // argument in the raw syscall tracepoint's pt_regs), the clock, and the maps they use.
        internal required long SYS_ioctl { get; init; }
        internal required ulong KVM_RUN { get; init; }
        [CExpression("SECOND_SYSCALL_ARGUMENT")]
        internal required int SyscallSecondArgumentOffset { get; init; }
        internal required int BPF_FUNC_ktime_get_ns { get; init; }
        internal required int BPF_FUNC_probe_read_kernel { get; init; }
        internal required uint BPF_MAP_TYPE_LRU_HASH { get; init; }
        internal required int BPF_MAP_LOOKUP_BATCH { get; init; }
        [CExpression("offsetof(union bpf_attr, batch.map_fd)")]
        internal required int BatchMapFdOffset { get; init; }
        [CExpression("offsetof(union bpf_attr, batch.flags)")]
        internal required int BatchFlagsOffset { get; init; }
    }

    /// <summary>The C expression that a table value must equal (its property name otherwise).</summary>
    [AttributeUsage(AttributeTargets.Property)]
    internal sealed class CExpressionAttribute(string expression) : Attribute
    {
        internal string Expression { get; } = expression;
    }

    internal static readonly AbiTable X64 = new()
    {
        Name = "x86_64",
        O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0x40, O_APPEND = 0x400, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000, O_PATH = 0x200000, AT_FDCWD = -100,
        O_NOFOLLOW = 0x20000, O_NOCTTY = 0x100, O_NONBLOCK = 0x800, AT_EMPTY_PATH = 0x1000, STATX_TYPE = 1, S_IFMT = 0xF000, S_IFREG = 0x8000,
        StatxModeOffset = 28, AT_SECURE = 23,
        SYS_perf_event_open = 298, SYS_bpf = 321, SYS_close_range = 436, SYS_pidfd_open = 434, SYS_pidfd_getfd = 438,
        SYS_close = 3, SYS_read = 0, SYS_ppoll = 271, SYS_getppid = 110, SYS_setsid = 112, SYS_exit_group = 231,
        BPF_MAP_CREATE = 0, BPF_MAP_LOOKUP_ELEM = 1, BPF_MAP_UPDATE_ELEM = 2, BPF_MAP_DELETE_ELEM = 3, BPF_PROG_LOAD = 5,
        BPF_RAW_TRACEPOINT_OPEN = 17, BPF_PROG_TEST_RUN = 10, BPF_F_MMAPABLE = 0x400, BPF_F_TEST_RUN_ON_CPU = 1,
        BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_ARRAY = 2, BPF_MAP_TYPE_PERCPU_ARRAY = 6, BPF_MAP_TYPE_QUEUE = 22,
        BPF_PROG_TYPE_TRACEPOINT = 5, BPF_PROG_TYPE_RAW_TRACEPOINT = 17, BPF_ANY = 0, BPF_NOEXIST = 1, BPF_PSEUDO_MAP_FD = 1,
        BPF_FUNC_map_lookup_elem = 1, BPF_FUNC_map_update_elem = 2, BPF_FUNC_get_current_pid_tgid = 14,
        BPF_FUNC_map_push_elem = 87, BPF_FUNC_map_pop_elem = 88, BPF_FUNC_map_delete_elem = 3,
        TestRunContextOffset = 48, TestRunCpuOffset = 68,
        MapCreateNameOffset = 28, ProgLoadNameOffset = 48, ProgLoadAttachTypeOffset = 68, MapElemFlagsOffset = 24, RawTracepointProgFdOffset = 8,
        PERF_TYPE_TRACEPOINT = 2, PERF_FORMAT_GROUP = 8, PERF_FLAG_FD_CLOEXEC = 8,
        PERF_EVENT_IOC_ENABLE = 0x2400, PERF_EVENT_IOC_SET_FILTER = 0x40082406, PERF_EVENT_IOC_SET_BPF = 0x40042408, PERF_IOC_FLAG_GROUP = 1,
        PerfEventAttrSize = 72,
        TIOCGWINSZ = 0x5413, ICANON = 0x2, ECHO = 0x8, IEXTEN = 0x8000, ICRNL = 0x100, IXON = 0x400, VTIME = 5, VMIN = 6, TCSANOW = 0,
        TermiosSize = 60, TermiosControlCharsOffset = 17, WindowSizeSize = 8,
        RLIMIT_NOFILE = 7, RLIMIT_MEMLOCK = 8, RLimitSize = 16, MADV_RANDOM = 1, SOL_SOCKET = 1, SO_PEERCRED = 17, UcredSize = 12, PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1, POLLIN = 1, PollFdSize = 8,
        DirentRecLenOffset = 16, DirentTypeOffset = 18, DirentNameOffset = 19, DT_DIR = 4,
        SYS_ioctl = 16, KVM_RUN = 0xae80, SyscallSecondArgumentOffset = 104, BPF_FUNC_ktime_get_ns = 5, BPF_FUNC_probe_read_kernel = 113,
        BPF_MAP_TYPE_LRU_HASH = 9, BPF_MAP_LOOKUP_BATCH = 24, BatchMapFdOffset = 36, BatchFlagsOffset = 48,
    };

    internal static readonly AbiTable Arm64 = X64 with
    {
        Name = "aarch64",
        // asm-generic's open flags: x86's O_DIRECTORY (0200000) is arm64's O_DIRECT.
        O_DIRECTORY = 0x4000, O_NOFOLLOW = 0x8000,
        SYS_perf_event_open = 241, SYS_bpf = 280, SYS_ioctl = 29, SyscallSecondArgumentOffset = 8,
        SYS_close = 57, SYS_read = 63, SYS_ppoll = 73, SYS_getppid = 173, SYS_setsid = 157, SYS_exit_group = 94,
    };

    /// <summary>The table of the architecture this process runs on.</summary>
    internal static AbiTable Abi { get; } = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => X64,
        Architecture.Arm64 => Arm64,
        Architecture other => throw new PlatformNotSupportedException($"kvm_stat has no interface table for {other}"),
    };
}
