using System.Globalization;
using KvmStat.Host;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// A fake host under a temporary folder: tracefs, debugfs and /proc trees laid out as the kernel
/// does, so the tool's readers can be tested on what this host cannot show.
/// </summary>
internal sealed class FixtureRoot : IDisposable
{
    internal FixtureRoot()
    {
        Root = Directory.CreateTempSubdirectory("kvm_stat-fixture-").FullName;
        Paths = new HostPaths(Root);
        Directory.CreateDirectory(Paths.Map("/proc"));
        Directory.CreateDirectory(Paths.Map("/sys/module/kvm"));
        WriteFile("/sys/devices/system/cpu/online", "0-1\n");
        WriteFile("/proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme de pse\n");
        // A KVM host, unless a test takes it away.
        WriteFile("/dev/kvm", "");
    }

    internal string Root { get; }

    internal HostPaths Paths { get; }

    internal static string TestData(string name) => File.ReadAllText(Path.Join(AppContext.BaseDirectory, "TestData", name));

    internal string WriteFile(string hostPath, string content)
    {
        string path = Paths.Map(hostPath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    internal void AddTracepoint(string name, int id, string? format = null)
    {
        WriteFile($"/sys/kernel/tracing/events/kvm/{name}/id", id.ToString(CultureInfo.InvariantCulture) + "\n");
        WriteFile($"/sys/kernel/tracing/events/kvm/{name}/format", format ?? $"name: {name}\nID: {id}\nformat:\n\nprint fmt: \"\"\n");
        WriteFile("/sys/kernel/tracing/events/kvm/enable", "0\n");
    }

    /// <summary>A debugfs statistic: writable files are cumulative counters, read-only ones gauges.</summary>
    internal void AddDebugfsStat(string relativePath, long value, bool writable = true)
    {
        string path = WriteFile($"/sys/kernel/debug/kvm/{relativePath}", value.ToString(CultureInfo.InvariantCulture) + "\n");
        File.SetUnixFileMode(path, writable
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead
            : UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
    }

    internal void SetDebugfsStat(string relativePath, long value) =>
        File.WriteAllText(Paths.Map($"/sys/kernel/debug/kvm/{relativePath}"), value.ToString(CultureInfo.InvariantCulture) + "\n");

    internal void RemoveDebugfsVm(string folder) => Directory.Delete(Paths.Map($"/sys/kernel/debug/kvm/{folder}"), recursive: true);

    /// <summary>A process with a NUL-separated command line and its threads.</summary>
    internal void AddProcess(int pid, string[] argv, int[]? threads = null, string comm = "qemu-system-x86", int? tgid = null)
    {
        WriteFile($"/proc/{pid}/cmdline", string.Join('\0', argv) + "\0");
        WriteFile($"/proc/{pid}/comm", comm + "\n");
        WriteFile($"/proc/{pid}/status", $"Name:\t{comm}\nTgid:\t{tgid ?? pid}\nPid:\t{pid}\n");
        foreach (int tid in threads ?? [pid])
            Directory.CreateDirectory(Paths.Map($"/proc/{pid}/task/{tid}"));
        Directory.CreateDirectory(Paths.Map($"/proc/{pid}/fd"));
        Directory.CreateDirectory(Paths.Map($"/proc/{pid}/ns"));
    }

    /// <summary>A thread of a process, with its name (/proc/PID/task/TID/comm: "CPU 0/KVM" for a QEMU vCPU thread).</summary>
    internal void AddThread(int pid, int tid, string comm) => WriteFile($"/proc/{pid}/task/{tid}/comm", comm + "\n");

    /// <summary>A host without KVM: no kvm module in /sys/module and no /dev/kvm.</summary>
    internal void RemoveKvm()
    {
        Directory.Delete(Paths.Map("/sys/module/kvm"));
        File.Delete(Paths.DevKvm);
    }

    /// <summary>Gives a process a /proc/PID/stat in state S (sleeping): it is running, not a zombie.</summary>
    /// <param name="start">When it started (clock ticks after boot): another process under the same pid has another.</param>
    internal void MarkRunning(int pid, string comm = "qemu-system-x86", long start = 100) => WriteStat(pid, comm, 'S', start);

    /// <summary>Gives a process a /proc/PID/stat in state Z: it has exited, and its parent has not reaped it yet.</summary>
    internal void MarkZombie(int pid, string comm = "qemu-system-x86") => WriteStat(pid, comm, 'Z');

    private void WriteStat(int pid, string comm, char state, long start = 100) =>
        WriteFile($"/proc/{pid}/stat", $"{pid} ({comm}) {state} 1 {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 {start} 0 0\n");

    /// <summary>A descriptor of a process: /proc/PID/fd/FD links to <paramref name="target"/> ("socket:[123]", "anon_inode:kvm-vm").</summary>
    internal void AddDescriptor(int pid, int fd, string target)
    {
        string link = Paths.Map($"/proc/{pid}/fd/{fd}");
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        File.CreateSymbolicLink(link, target);
    }

    internal void RemoveProcess(int pid) => Directory.Delete(Paths.Map($"/proc/{pid}"), recursive: true);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
