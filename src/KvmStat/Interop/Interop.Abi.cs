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
    internal sealed record AbiTable(
        string Name,
        // open(2), openat(2), statx(2), getauxval(3).
        int O_RDONLY, int O_WRONLY, int O_CREAT, int O_EXCL, int O_APPEND, int O_DIRECTORY, int O_CLOEXEC, int O_PATH, int O_NOFOLLOW, int O_NOCTTY, int O_NONBLOCK,
        int AT_FDCWD, int AT_EMPTY_PATH, int AT_SYMLINK_NOFOLLOW, int STATX_TYPE, int STATX_NLINK, int STATX_UID, int S_IFMT, int S_IFREG, int S_IFLNK, int S_IFSOCK, int S_IFIFO, int S_IFDIR,
        [property: CExpression("offsetof(struct statx, stx_mode)")] int StatxModeOffset,
        [property: CExpression("offsetof(struct statx, stx_nlink)")] int StatxLinksOffset,
        [property: CExpression("offsetof(struct statx, stx_uid)")] int StatxUidOffset,
        [property: CExpression("offsetof(struct statx, stx_ino)")] int StatxInodeOffset,
        [property: CExpression("offsetof(struct statx, stx_size)")] int StatxSizeOffset,
        [property: CExpression("offsetof(struct statx, stx_mtime)")] int StatxModifiedOffset,
        [property: CExpression("offsetof(struct statx, stx_dev_major)")] int StatxDeviceMajorOffset,
        [property: CExpression("offsetof(struct statx, stx_dev_minor)")] int StatxDeviceMinorOffset,
        [property: CExpression("offsetof(struct statx_timestamp, tv_nsec)")] int StatxTimestampNanosecondsOffset,
        [property: CExpression("sizeof(struct statx)")] int StatxSize,
        uint STATX_BASIC_STATS,
        int AT_SECURE,
        // Calls without a libc wrapper, and those the child that takes over descriptors makes without libc.
        long SYS_perf_event_open, long SYS_bpf, long SYS_close_range, long SYS_close, long SYS_read, long SYS_ppoll, long SYS_getppid,
        long SYS_setsid, long SYS_exit_group, long SYS_pidfd_open, long SYS_pidfd_getfd, long SYS_openat2,
        // openat2(2): a path resolved without following any symbolic link.
        ulong RESOLVE_NO_SYMLINKS, [property: CExpression("sizeof(struct open_how)")] int OpenHowSize,
        // bpf(2): commands, flags, map and program types, helpers.
        int BPF_MAP_CREATE, int BPF_MAP_LOOKUP_ELEM, int BPF_MAP_UPDATE_ELEM, int BPF_MAP_DELETE_ELEM, int BPF_PROG_LOAD, int BPF_RAW_TRACEPOINT_OPEN,
        int BPF_MAP_LOOKUP_BATCH, int BPF_PROG_TEST_RUN,
        uint BPF_F_MMAPABLE, uint BPF_F_TEST_RUN_ON_CPU,
        uint BPF_MAP_TYPE_HASH, uint BPF_MAP_TYPE_ARRAY, uint BPF_MAP_TYPE_PERCPU_ARRAY, uint BPF_MAP_TYPE_QUEUE, uint BPF_MAP_TYPE_LRU_HASH,
        uint BPF_PROG_TYPE_TRACEPOINT, uint BPF_PROG_TYPE_RAW_TRACEPOINT,
        ulong BPF_ANY, ulong BPF_NOEXIST, ulong BPF_EXIST, int BPF_PSEUDO_MAP_FD,
        int BPF_FUNC_map_lookup_elem, int BPF_FUNC_map_update_elem, int BPF_FUNC_get_current_pid_tgid, int BPF_FUNC_map_push_elem,
        int BPF_FUNC_map_pop_elem, int BPF_FUNC_map_delete_elem, int BPF_FUNC_ktime_get_ns, int BPF_FUNC_probe_read_kernel,
        // union bpf_attr: where the fields of the structures in Interop.Bpf lie.
        [property: CExpression("offsetof(union bpf_attr, test.ctx_in)")] int TestRunContextOffset,
        [property: CExpression("offsetof(union bpf_attr, test.cpu)")] int TestRunCpuOffset,
        [property: CExpression("offsetof(union bpf_attr, map_name)")] int MapCreateNameOffset,
        [property: CExpression("offsetof(union bpf_attr, prog_name)")] int ProgLoadNameOffset,
        [property: CExpression("offsetof(union bpf_attr, expected_attach_type)")] int ProgLoadAttachTypeOffset,
        [property: CExpression("offsetof(union bpf_attr, flags)")] int MapElemFlagsOffset,
        [property: CExpression("offsetof(union bpf_attr, batch.map_fd)")] int BatchMapFdOffset,
        [property: CExpression("offsetof(union bpf_attr, batch.flags)")] int BatchFlagsOffset,
        [property: CExpression("offsetof(union bpf_attr, raw_tracepoint.prog_fd)")] int RawTracepointProgFdOffset,
        // perf_event_open(2) and its ioctls.
        uint PERF_TYPE_TRACEPOINT, ulong PERF_FORMAT_GROUP, ulong PERF_FLAG_FD_CLOEXEC,
        ulong PERF_EVENT_IOC_ENABLE, ulong PERF_EVENT_IOC_SET_FILTER, ulong PERF_EVENT_IOC_SET_BPF, ulong PERF_IOC_FLAG_GROUP,
        [property: CExpression("PERF_ATTR_SIZE_VER1")] int PerfEventAttrSize,
        // The terminal: its size, raw mode.
        ulong TIOCGWINSZ, uint ICANON, uint ECHO, uint IEXTEN, uint ICRNL, uint IXON, int VTIME, int VMIN, int TCSANOW,
        [property: CExpression("sizeof(struct termios)")] int TermiosSize,
        [property: CExpression("offsetof(struct termios, c_cc)")] int TermiosControlCharsOffset,
        [property: CExpression("sizeof(struct winsize)")] int WindowSizeSize,
        // Limits, memory, sockets, poll(2).
        int RLIMIT_NOFILE, int RLIMIT_MEMLOCK,
        [property: CExpression("sizeof(struct rlimit)")] int RLimitSize,
        int MADV_RANDOM, int SOL_SOCKET, int SO_PEERCRED,
        [property: CExpression("sizeof(struct ucred)")] int UcredSize,
        // sock_diag(7): who owns a TCP socket of this host (a loopback client of the exporter).
        int AF_NETLINK, int SOCK_DGRAM, int SOCK_CLOEXEC, int NETLINK_SOCK_DIAG, int SOCK_DIAG_BY_FAMILY, int NLM_F_REQUEST, int NLMSG_ERROR,
        int AF_INET, int AF_INET6, int IPPROTO_TCP, uint INET_DIAG_NOCOOKIE,
        [property: CExpression("sizeof(struct nlmsghdr)")] int NetlinkHeaderSize,
        [property: CExpression("sizeof(struct inet_diag_req_v2)")] int InetDiagRequestSize,
        [property: CExpression("offsetof(struct inet_diag_req_v2, idiag_states)")] int InetDiagStatesOffset,
        [property: CExpression("offsetof(struct inet_diag_req_v2, id)")] int InetDiagRequestIdOffset,
        [property: CExpression("offsetof(struct inet_diag_sockid, idiag_dport)")] int InetDiagDestinationPortOffset,
        [property: CExpression("offsetof(struct inet_diag_sockid, idiag_src)")] int InetDiagSourceOffset,
        [property: CExpression("offsetof(struct inet_diag_sockid, idiag_dst)")] int InetDiagDestinationOffset,
        [property: CExpression("offsetof(struct inet_diag_sockid, idiag_if)")] int InetDiagInterfaceOffset,
        [property: CExpression("offsetof(struct inet_diag_sockid, idiag_cookie)")] int InetDiagCookieOffset,
        [property: CExpression("offsetof(struct inet_diag_msg, idiag_state)")] int InetDiagMessageStateOffset,
        [property: CExpression("offsetof(struct inet_diag_msg, id)")] int InetDiagMessageIdOffset,
        int TCP_LISTEN,
        [property: CExpression("offsetof(struct inet_diag_msg, idiag_uid)")] int InetDiagUidOffset,
        [property: CExpression("offsetof(struct inet_diag_msg, idiag_inode)")] int InetDiagInodeOffset,
        int PROT_READ, int PROT_WRITE, int MAP_SHARED, short POLLIN,
        // sigaction(2): SIGHUP's disposition (a hangup inherited as ignored, as nohup leaves it).
        int SIGHUP, [property: CExpression("(long)SIG_IGN")] long SigIgnored,
        [property: CExpression("sizeof(struct sigaction)")] int SigActionSize,
        [property: CExpression("offsetof(struct sigaction, sa_handler)")] int SigActionHandlerOffset,
        [property: CExpression("sizeof(struct pollfd)")] int PollFdSize,
        // getdents64(2): struct linux_dirent64, which is glibc's struct dirent64.
        [property: CExpression("offsetof(struct dirent64, d_ino)")] int DirentInodeOffset,
        [property: CExpression("offsetof(struct dirent64, d_reclen)")] int DirentRecLenOffset,
        [property: CExpression("offsetof(struct dirent64, d_type)")] int DirentTypeOffset,
        [property: CExpression("offsetof(struct dirent64, d_name)")] int DirentNameOffset,
        byte DT_DIR,
        // Exit latencies: when a vCPU thread enters KVM_RUN again (ioctl's number and the second
        // argument in the raw syscall tracepoint's pt_regs).
        long SYS_ioctl, ulong KVM_RUN,
        [property: CExpression("SECOND_SYSCALL_ARGUMENT")] int SyscallSecondArgumentOffset);

    /// <summary>The C expression that a table value must equal (its property name otherwise).</summary>
    [AttributeUsage(AttributeTargets.Property)]
    internal sealed class CExpressionAttribute(string expression) : Attribute
    {
        internal string Expression { get; } = expression;
    }

    // In the order of the table's topics.
    internal static readonly AbiTable X64 = new(
        Name: "x86_64",
        O_RDONLY: 0, O_WRONLY: 1, O_CREAT: 0x40, O_EXCL: 0x80, O_APPEND: 0x400, O_DIRECTORY: 0x10000, O_CLOEXEC: 0x80000, O_PATH: 0x200000, O_NOFOLLOW: 0x20000,
        O_NOCTTY: 0x100, O_NONBLOCK: 0x800, AT_FDCWD: -100, AT_EMPTY_PATH: 0x1000, AT_SYMLINK_NOFOLLOW: 0x100,
        STATX_TYPE: 1, STATX_NLINK: 4, STATX_UID: 8, S_IFMT: 0xF000, S_IFREG: 0x8000, S_IFLNK: 0xA000, S_IFSOCK: 0xC000, S_IFIFO: 0x1000, S_IFDIR: 0x4000, StatxModeOffset: 28, StatxLinksOffset: 16,
        StatxUidOffset: 20,
        StatxInodeOffset: 32, StatxSizeOffset: 40, StatxModifiedOffset: 112, StatxDeviceMajorOffset: 136, StatxDeviceMinorOffset: 140,
        StatxTimestampNanosecondsOffset: 8, StatxSize: 256, STATX_BASIC_STATS: 0x7ff, AT_SECURE: 23,
        SYS_perf_event_open: 298, SYS_bpf: 321, SYS_close_range: 436, SYS_close: 3, SYS_read: 0, SYS_ppoll: 271, SYS_getppid: 110,
        SYS_setsid: 112, SYS_exit_group: 231, SYS_pidfd_open: 434, SYS_pidfd_getfd: 438, SYS_openat2: 437,
        RESOLVE_NO_SYMLINKS: 0x04, OpenHowSize: 24,
        BPF_MAP_CREATE: 0, BPF_MAP_LOOKUP_ELEM: 1, BPF_MAP_UPDATE_ELEM: 2, BPF_MAP_DELETE_ELEM: 3, BPF_PROG_LOAD: 5, BPF_RAW_TRACEPOINT_OPEN: 17,
        BPF_MAP_LOOKUP_BATCH: 24, BPF_PROG_TEST_RUN: 10,
        BPF_F_MMAPABLE: 0x400, BPF_F_TEST_RUN_ON_CPU: 1,
        BPF_MAP_TYPE_HASH: 1, BPF_MAP_TYPE_ARRAY: 2, BPF_MAP_TYPE_PERCPU_ARRAY: 6, BPF_MAP_TYPE_QUEUE: 22, BPF_MAP_TYPE_LRU_HASH: 9,
        BPF_PROG_TYPE_TRACEPOINT: 5, BPF_PROG_TYPE_RAW_TRACEPOINT: 17,
        BPF_ANY: 0, BPF_NOEXIST: 1, BPF_EXIST: 2, BPF_PSEUDO_MAP_FD: 1,
        BPF_FUNC_map_lookup_elem: 1, BPF_FUNC_map_update_elem: 2, BPF_FUNC_get_current_pid_tgid: 14, BPF_FUNC_map_push_elem: 87,
        BPF_FUNC_map_pop_elem: 88, BPF_FUNC_map_delete_elem: 3, BPF_FUNC_ktime_get_ns: 5, BPF_FUNC_probe_read_kernel: 113,
        TestRunContextOffset: 48, TestRunCpuOffset: 68, MapCreateNameOffset: 28, ProgLoadNameOffset: 48, ProgLoadAttachTypeOffset: 68,
        MapElemFlagsOffset: 24, BatchMapFdOffset: 36, BatchFlagsOffset: 48, RawTracepointProgFdOffset: 8,
        PERF_TYPE_TRACEPOINT: 2, PERF_FORMAT_GROUP: 8, PERF_FLAG_FD_CLOEXEC: 8,
        PERF_EVENT_IOC_ENABLE: 0x2400, PERF_EVENT_IOC_SET_FILTER: 0x40082406, PERF_EVENT_IOC_SET_BPF: 0x40042408, PERF_IOC_FLAG_GROUP: 1,
        PerfEventAttrSize: 72,
        TIOCGWINSZ: 0x5413, ICANON: 0x2, ECHO: 0x8, IEXTEN: 0x8000, ICRNL: 0x100, IXON: 0x400, VTIME: 5, VMIN: 6, TCSANOW: 0,
        TermiosSize: 60, TermiosControlCharsOffset: 17, WindowSizeSize: 8,
        RLIMIT_NOFILE: 7, RLIMIT_MEMLOCK: 8, RLimitSize: 16, MADV_RANDOM: 1, SOL_SOCKET: 1, SO_PEERCRED: 17, UcredSize: 12,
        AF_NETLINK: 16, SOCK_DGRAM: 2, SOCK_CLOEXEC: 0x80000, NETLINK_SOCK_DIAG: 4, SOCK_DIAG_BY_FAMILY: 20, NLM_F_REQUEST: 1, NLMSG_ERROR: 2,
        AF_INET: 2, AF_INET6: 10, IPPROTO_TCP: 6, INET_DIAG_NOCOOKIE: 0xffffffff, NetlinkHeaderSize: 16, InetDiagRequestSize: 56,
        InetDiagStatesOffset: 4, InetDiagRequestIdOffset: 8, InetDiagDestinationPortOffset: 2, InetDiagSourceOffset: 4, InetDiagDestinationOffset: 20,
        InetDiagInterfaceOffset: 36, InetDiagCookieOffset: 40, InetDiagMessageStateOffset: 1, InetDiagMessageIdOffset: 4, TCP_LISTEN: 10, InetDiagUidOffset: 64, InetDiagInodeOffset: 68,
        PROT_READ: 1, PROT_WRITE: 2, MAP_SHARED: 1, POLLIN: 1, PollFdSize: 8,
        SIGHUP: 1, SigIgnored: 1, SigActionSize: 152, SigActionHandlerOffset: 0,
        DirentInodeOffset: 0, DirentRecLenOffset: 16, DirentTypeOffset: 18, DirentNameOffset: 19, DT_DIR: 4,
        SYS_ioctl: 16, KVM_RUN: 0xae80, SyscallSecondArgumentOffset: 104);

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
