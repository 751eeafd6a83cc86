using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using KvmStat.Sources.BinaryStats;
using KvmStat.Sources.Bpf;
using KvmStat.Tests.TestGuest;

namespace KvmStat.Tests.Native; // the folder Interop/ (a namespace of that name would hide the class Interop)

/// <summary>
/// The interface tables against each architecture's C headers. A wrong constant or structure
/// layout corrupts memory or asks the kernel for the wrong thing silently, so every value is
/// compiled as a static assertion by that architecture's own C compiler (Debian's cross compilers
/// for the others): the compilation fails, naming the value, where the table is wrong.
/// </summary>
public class AbiTableTests
{
    private const string Headers = """
        #define _GNU_SOURCE
        #include <dirent.h>
        #include <errno.h>
        #include <fcntl.h>
        #include <poll.h>
        #include <signal.h>
        #include <stddef.h>
        #include <sys/ioctl.h>
        #include <sys/mman.h>
        #include <sys/auxv.h>
        #include <sys/resource.h>
        #include <sys/socket.h>
        #include <sys/stat.h>
        #include <sys/syscall.h>
        #include <termios.h>
        #include <netinet/in.h>
        #include <netinet/tcp.h>
        #include <linux/netlink.h>
        #include <linux/sock_diag.h>
        #include <linux/inet_diag.h>
        #include <linux/perf_event.h>
        #include <linux/bpf.h>
        #include <linux/kvm.h>
        #include <linux/openat2.h>
        #include <asm/ptrace.h>
        #if defined(__x86_64__)
        #define SECOND_SYSCALL_ARGUMENT offsetof(struct pt_regs, rsi)
        #else
        #define SECOND_SYSCALL_ARGUMENT offsetof(struct user_pt_regs, regs[1])
        #endif

        """;

    public static TheoryData<string, string> Architectures => new()
    {
        { "x86_64", "gcc" },
        { "aarch64", "aarch64-linux-gnu-gcc" },
    };

    private static KvmStat.Interop.AbiTable TableOf(string architecture) =>
        architecture == "x86_64" ? KvmStat.Interop.X64 : KvmStat.Interop.Arm64;

    /// <summary>"_Static_assert((C) == value, ...)" for each value of the table and each error number.</summary>
    internal static string Assertions(KvmStat.Interop.AbiTable table)
    {
        var c = new StringBuilder(Headers);
        foreach (PropertyInfo property in typeof(KvmStat.Interop.AbiTable).GetProperties(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public))
        {
            if (property.Name is "Name" or "EqualityContract")
                continue;
            string expression = property.GetCustomAttribute<KvmStat.Interop.CExpressionAttribute>()?.Expression ?? property.Name;
            string value = Convert.ToString(property.GetValue(table), CultureInfo.InvariantCulture)!;
            c.Append(CultureInfo.InvariantCulture, $"_Static_assert((unsigned long long)({expression}) == {value}ULL, \"{property.Name}: the table has {value}\");\n");
        }
        foreach (FieldInfo errno in typeof(KvmStat.Interop.Errno).GetFields(BindingFlags.Static | BindingFlags.NonPublic).Where(f => f.IsLiteral))
            c.Append(CultureInfo.InvariantCulture, $"_Static_assert({errno.Name} == {errno.GetRawConstantValue()}, \"{errno.Name}\");\n");
        return c.ToString();
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void EveryValueOfTheTableIsWhatTheHeadersSay(string architecture, string compiler)
    {
        Assert.SkipUnless(File.Exists($"/usr/bin/{compiler}"), $"{compiler} is not installed (./test.sh installs it)");
        KvmStat.Interop.AbiTable table = TableOf(architecture);
        Assert.Equal(architecture, table.Name);
        (int code, string errors) = Compile(compiler, Assertions(table));
        Assert.True(code == 0, $"{architecture}: the C headers disagree with the table:\n{errors}");
    }

    [Fact]
    public void TheCompilerCheckCatchesAWrongValue()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/gcc"), "gcc is not installed (./test.sh installs it)");
        // x86's O_DIRECTORY in the arm64 table is exactly the mistake this check exists for.
        (int code, string errors) = Compile("gcc", Assertions(KvmStat.Interop.Arm64 with { Name = "x86_64" }));
        Assert.NotEqual(0, code);
        Assert.Contains("O_DIRECTORY: the table has 16384", errors);
    }

    [Fact]
    public void TheStructuresHaveTheTablesLayout()
    {
        foreach (KvmStat.Interop.AbiTable table in new[] { KvmStat.Interop.X64, KvmStat.Interop.Arm64 })
        {
            Assert.Equal(table.TermiosSize, Unsafe.SizeOf<KvmStat.Interop.Libc.Termios>());
            Assert.Equal(table.TermiosControlCharsOffset, (int)Marshal.OffsetOf<KvmStat.Interop.Libc.Termios>(nameof(KvmStat.Interop.Libc.Termios.ControlChars)));
            Assert.Equal(table.WindowSizeSize, Unsafe.SizeOf<KvmStat.Interop.Libc.WindowSize>());
            Assert.Equal(table.RLimitSize, Unsafe.SizeOf<KvmStat.Interop.Libc.RLimit>());
            Assert.Equal(table.PerfEventAttrSize, Unsafe.SizeOf<KvmStat.Interop.Perf.PerfEventAttr>());
            Assert.Equal(table.OpenHowSize, Unsafe.SizeOf<KvmStat.Interop.Libc.OpenHow>());
        }
    }

    /// <summary>The test guest's own KVM structures and ioctls (x86 only: it runs real-mode x86 code).</summary>
    [Fact]
    public void TheTestGuestsKvmLayoutsMatchTheHeaders()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/gcc"), "gcc is not installed (./test.sh installs it)");
        var c = new StringBuilder("#include <linux/kvm.h>\n#include <stddef.h>\n");
        void Check(string expression, ulong value) =>
            c.Append(CultureInfo.InvariantCulture, $"_Static_assert((unsigned long long)({expression}) == {value}ULL, \"{expression}\");\n");
        Check("sizeof(struct kvm_regs)", (ulong)Unsafe.SizeOf<KvmInterop.Regs>());
        Check("sizeof(struct kvm_sregs)", (ulong)Unsafe.SizeOf<KvmInterop.Sregs>());
        Check("sizeof(struct kvm_userspace_memory_region)", (ulong)Unsafe.SizeOf<KvmInterop.UserspaceMemoryRegion>());
        Check("offsetof(struct kvm_run, exit_reason)", (ulong)KvmInterop.KvmRunExitReasonOffset);
        Check("KVM_SET_USER_MEMORY_REGION", KvmInterop.KVM_SET_USER_MEMORY_REGION);
        Check("KVM_GET_REGS", KvmInterop.KVM_GET_REGS);
        Check("KVM_SET_REGS", KvmInterop.KVM_SET_REGS);
        Check("KVM_GET_SREGS", KvmInterop.KVM_GET_SREGS);
        Check("KVM_SET_SREGS", KvmInterop.KVM_SET_SREGS);
        Check("KVM_RUN", KvmInterop.KVM_RUN);
        Check("KVM_CREATE_VM", KvmInterop.KVM_CREATE_VM);
        Check("KVM_CREATE_VCPU", KvmInterop.KVM_CREATE_VCPU);
        Check("KVM_GET_STATS_FD", KvmInterop.KVM_GET_STATS_FD);
        (int code, string errors) = Compile("gcc", c.ToString());
        Assert.True(code == 0, $"the kernel headers disagree with the test guest:\n{errors}");
    }

    /// <summary>
    /// The values kept beside the code that encodes them, not in the table: the fields of a BPF
    /// instruction (the same on every architecture) and the layout of KVM's binary statistics.
    /// </summary>
    [Fact]
    public void TheValuesBesideTheTableAreWhatTheHeadersSay()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/gcc"), "gcc is not installed (./test.sh installs it)");
        var c = new StringBuilder("#include <linux/bpf.h>\n#include <linux/kvm.h>\n#include <sys/un.h>\n");
        void Check(string expression, long value) =>
            c.Append(CultureInfo.InvariantCulture, $"_Static_assert((long long)({expression}) == {value}LL, \"{expression}: the code has {value}\");\n");
        Check("sizeof(struct bpf_insn)", BpfInstruction.Size);
        (string, byte)[] codes =
        [
            ("BPF_LD", BpfInstruction.ClassLd), ("BPF_LDX", BpfInstruction.ClassLdx), ("BPF_ST", BpfInstruction.ClassSt),
            ("BPF_STX", BpfInstruction.ClassStx), ("BPF_JMP", BpfInstruction.ClassJmp), ("BPF_ALU64", BpfInstruction.ClassAlu64),
            ("BPF_K", BpfInstruction.SourceImmediate), ("BPF_X", BpfInstruction.SourceRegister),
            ("BPF_IMM", BpfInstruction.ModeImmediate), ("BPF_MEM", BpfInstruction.ModeMemory), ("BPF_ATOMIC", BpfInstruction.ModeAtomic),
            ("BPF_ADD", BpfInstruction.AluAdd), ("BPF_SUB", BpfInstruction.AluSub), ("BPF_LSH", BpfInstruction.AluLsh),
            ("BPF_RSH", BpfInstruction.AluRsh), ("BPF_MOV", BpfInstruction.AluMov),
            ("BPF_JA", BpfInstruction.JumpAlways), ("BPF_CALL", BpfInstruction.JumpCall), ("BPF_EXIT", BpfInstruction.JumpExit),
            ("BPF_ADD", (byte)BpfInstruction.AtomicAdd),
            ("BPF_W", (byte)BpfSize.Word), ("BPF_H", (byte)BpfSize.Half), ("BPF_B", (byte)BpfSize.Byte), ("BPF_DW", (byte)BpfSize.DoubleWord),
            ("BPF_JEQ", (byte)BpfCondition.Equal), ("BPF_JGT", (byte)BpfCondition.Greater), ("BPF_JGE", (byte)BpfCondition.GreaterOrEqual),
            ("BPF_JNE", (byte)BpfCondition.NotEqual), ("BPF_JLT", (byte)BpfCondition.Less), ("BPF_JLE", (byte)BpfCondition.LessOrEqual),
            ("BPF_REG_0", (byte)BpfRegister.R0), ("BPF_REG_10", (byte)BpfRegister.R10),
        ];
        foreach ((string name, byte value) in codes)
            Check(name, value);
        Check("sizeof(struct kvm_stats_header)", KvmStatsLayout.HeaderSize);
        Check("sizeof(struct kvm_stats_desc)", KvmStatsLayout.DescriptorFixedSize);
        Check("KVM_STATS_TYPE_SHIFT", KvmStatsLayout.TypeShift);
        Check("KVM_STATS_UNIT_SHIFT", KvmStatsLayout.UnitShift);
        Check("KVM_STATS_BASE_SHIFT", KvmStatsLayout.BaseShift);
        Check("KVM_STATS_TYPE_MASK", KvmStatsLayout.FlagBits << KvmStatsLayout.TypeShift);
        Check("KVM_STATS_UNIT_MASK", KvmStatsLayout.FlagBits << KvmStatsLayout.UnitShift);
        Check("KVM_STATS_BASE_MASK", KvmStatsLayout.FlagBits << KvmStatsLayout.BaseShift);
        Check("KVM_STATS_BASE_POW2 >> KVM_STATS_BASE_SHIFT", KvmStatsLayout.BasePow2);
        foreach ((string name, KvmStatType type) in new[] { ("CUMULATIVE", KvmStatType.Cumulative), ("INSTANT", KvmStatType.Instant),
            ("PEAK", KvmStatType.Peak), ("LINEAR_HIST", KvmStatType.LinearHistogram), ("LOG_HIST", KvmStatType.LogHistogram) })
            Check($"KVM_STATS_TYPE_{name} >> KVM_STATS_TYPE_SHIFT", (long)type);
        Check("KVM_STATS_TYPE_MAX >> KVM_STATS_TYPE_SHIFT", (long)Enum.GetValues<KvmStatType>().Max());
        foreach ((string name, KvmStatUnit unit) in new[] { ("NONE", KvmStatUnit.None), ("BYTES", KvmStatUnit.Bytes),
            ("SECONDS", KvmStatUnit.Seconds), ("CYCLES", KvmStatUnit.Cycles), ("BOOLEAN", KvmStatUnit.Boolean) })
            Check($"KVM_STATS_UNIT_{name} >> KVM_STATS_UNIT_SHIFT", (long)unit);
        Check("KVM_STATS_UNIT_MAX >> KVM_STATS_UNIT_SHIFT", (long)Enum.GetValues<KvmStatUnit>().Max());
        Check("sizeof(((struct sockaddr_un *)0)->sun_path)", QmpSocketDiscovery.MaxSocketPath);
        (int code, string errors) = Compile("gcc", c.ToString());
        Assert.True(code == 0, $"the kernel headers disagree with the code:\n{errors}");
    }

    private static (int Code, string Errors) Compile(string compiler, string source)
    {
        string folder = Directory.CreateTempSubdirectory("kvm_stat-abi-").FullName;
        try
        {
            string file = Path.Join(folder, "abi.c");
            File.WriteAllText(file, source);
            var info = new ProcessStartInfo(compiler) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string argument in new[] { "-fsyntax-only", "-std=gnu11", file })
                info.ArgumentList.Add(argument);
            using Process process = Process.Start(info)!;
            string errors = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, errors);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
