using System.Diagnostics;
using System.Runtime.CompilerServices;
using KvmStat.Tests.TestGuest;

namespace KvmStat.Tests.Unit;

/// <summary>
/// ioctl argument sizes are part of the ioctl numbers, and a wrong struct layout corrupts memory
/// silently: the C compiler reads the kernel headers and says what they really are.
/// </summary>
public class NativeLayoutTests
{
    private const string Program = """
        #include <linux/kvm.h>
        #include <linux/perf_event.h>
        #include <stddef.h>
        #include <stdio.h>
        int main(void) {
            printf("kvm_regs %zu\n", sizeof(struct kvm_regs));
            printf("kvm_sregs %zu\n", sizeof(struct kvm_sregs));
            printf("kvm_userspace_memory_region %zu\n", sizeof(struct kvm_userspace_memory_region));
            printf("kvm_run.exit_reason %zu\n", offsetof(struct kvm_run, exit_reason));
            printf("perf_attr_size_ver1 %d\n", PERF_ATTR_SIZE_VER1);
            printf("perf_event_attr.read_format %zu\n", offsetof(struct perf_event_attr, read_format));
            printf("perf_event_attr.config1 %zu\n", offsetof(struct perf_event_attr, config1));
            printf("KVM_SET_USER_MEMORY_REGION %lu\n", (unsigned long)KVM_SET_USER_MEMORY_REGION);
            printf("KVM_GET_REGS %lu\n", (unsigned long)KVM_GET_REGS);
            printf("KVM_SET_REGS %lu\n", (unsigned long)KVM_SET_REGS);
            printf("KVM_GET_SREGS %lu\n", (unsigned long)KVM_GET_SREGS);
            printf("KVM_SET_SREGS %lu\n", (unsigned long)KVM_SET_SREGS);
            printf("KVM_RUN %lu\n", (unsigned long)KVM_RUN);
            printf("KVM_CREATE_VM %lu\n", (unsigned long)KVM_CREATE_VM);
            printf("KVM_CREATE_VCPU %lu\n", (unsigned long)KVM_CREATE_VCPU);
            printf("KVM_GET_STATS_FD %lu\n", (unsigned long)KVM_GET_STATS_FD);
            printf("PERF_EVENT_IOC_ENABLE %lu\n", (unsigned long)PERF_EVENT_IOC_ENABLE);
            printf("PERF_EVENT_IOC_RESET %lu\n", (unsigned long)PERF_EVENT_IOC_RESET);
            printf("PERF_EVENT_IOC_SET_FILTER %lu\n", (unsigned long)PERF_EVENT_IOC_SET_FILTER);
            printf("PERF_FORMAT_GROUP %lu\n", (unsigned long)PERF_FORMAT_GROUP);
            printf("PERF_FLAG_FD_CLOEXEC %lu\n", (unsigned long)PERF_FLAG_FD_CLOEXEC);
            return 0;
        }
        """;

    private static Dictionary<string, ulong> FromCHeaders()
    {
        string folder = Directory.CreateTempSubdirectory("kvm_stat-layout-").FullName;
        try
        {
            string source = Path.Join(folder, "layout.c");
            string binary = Path.Join(folder, "layout");
            File.WriteAllText(source, Program);
            Assert.Equal(0, RunTool("gcc", $"-o {binary} {source}", out _));
            Assert.Equal(0, RunTool(binary, "", out string output));
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split(' '))
                .ToDictionary(parts => parts[0], parts => ulong.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static int RunTool(string file, string arguments, out string output)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode;
    }

    [Fact]
    public void StructuresAndIoctlNumbersMatchTheKernelHeaders()
    {
        Dictionary<string, ulong> c = FromCHeaders();
        void Check(string name, ulong ours) =>
            Assert.True(c[name] == ours, $"{name}: the C headers say {c[name]}, the C# code has {ours}");

        Check("kvm_regs", (ulong)Unsafe.SizeOf<KvmInterop.Regs>());
        Check("kvm_sregs", (ulong)Unsafe.SizeOf<KvmInterop.Sregs>());
        Check("kvm_userspace_memory_region", (ulong)Unsafe.SizeOf<KvmInterop.UserspaceMemoryRegion>());
        Check("kvm_run.exit_reason", (ulong)KvmInterop.KvmRunExitReasonOffset);
        Check("perf_attr_size_ver1", (ulong)Unsafe.SizeOf<Interop.Perf.PerfEventAttr>());
        Check("perf_attr_size_ver1", (ulong)Interop.Perf.PerfEventAttrSize);
        Check("perf_event_attr.read_format", (ulong)System.Runtime.InteropServices.Marshal.OffsetOf<Interop.Perf.PerfEventAttr>("ReadFormat"));
        Check("perf_event_attr.config1", (ulong)System.Runtime.InteropServices.Marshal.OffsetOf<Interop.Perf.PerfEventAttr>("Config1"));

        Check("KVM_SET_USER_MEMORY_REGION", (ulong)KvmInterop.KVM_SET_USER_MEMORY_REGION);
        Check("KVM_GET_REGS", (ulong)KvmInterop.KVM_GET_REGS);
        Check("KVM_SET_REGS", (ulong)KvmInterop.KVM_SET_REGS);
        Check("KVM_GET_SREGS", (ulong)KvmInterop.KVM_GET_SREGS);
        Check("KVM_SET_SREGS", (ulong)KvmInterop.KVM_SET_SREGS);
        Check("KVM_RUN", (ulong)KvmInterop.KVM_RUN);
        Check("KVM_CREATE_VM", (ulong)KvmInterop.KVM_CREATE_VM);
        Check("KVM_CREATE_VCPU", (ulong)KvmInterop.KVM_CREATE_VCPU);
        Check("KVM_GET_STATS_FD", (ulong)KvmInterop.KVM_GET_STATS_FD);

        Check("PERF_EVENT_IOC_ENABLE", (ulong)Interop.PerfIoctl.Enable);
        Check("PERF_EVENT_IOC_RESET", (ulong)Interop.PerfIoctl.Reset);
        Check("PERF_EVENT_IOC_SET_FILTER", (ulong)Interop.PerfIoctl.SetFilter);
        Check("PERF_FORMAT_GROUP", Interop.Perf.PERF_FORMAT_GROUP);
        Check("PERF_FLAG_FD_CLOEXEC", Interop.Perf.PERF_FLAG_FD_CLOEXEC);
    }
}
