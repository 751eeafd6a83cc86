using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
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
        #include <linux/perf_event.h>
        #include <linux/bpf.h>
        #include <linux/kvm.h>
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
