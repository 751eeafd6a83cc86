using System.Diagnostics;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// A real QEMU with KVM and no devices (SeaBIOS runs and makes exits), with a QMP unix socket in
/// a private folder. Ended, and its folder removed, whatever happens.
/// </summary>
internal sealed class QemuVm : IDisposable
{
    private readonly ChildProcess _process;
    private readonly string _folder;

    internal QemuVm(string name, int vcpus)
    {
        Name = name;
        _folder = Directory.CreateTempSubdirectory("kvm_stat-qemu-").FullName;
        QmpSocket = Path.Join(_folder, "qmp.sock");
        _process = ChildProcess.Start("qemu-system-x86_64",
        [
            "-enable-kvm", "-nodefaults", "-nic", "none", "-display", "none", "-m", "64", "-smp", vcpus.ToString(),
            "-name", name, "-qmp", $"unix:{QmpSocket},server=on,wait=off",
        ]);
        var clock = Stopwatch.StartNew();
        while (!File.Exists(QmpSocket) && !Directory.EnumerateFileSystemEntries(_folder).Any())
        {
            if (_process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
                throw new InvalidOperationException($"QEMU did not start: {_process.Error.Text}");
            Thread.Sleep(20);
        }
    }

    internal static bool Available => File.Exists("/usr/bin/qemu-system-x86_64");

    internal string Name { get; }

    internal string QmpSocket { get; }

    internal int Pid => _process.Pid;

    public void Dispose()
    {
        _process.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
