using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;

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
            {
                string error = _process.Error.Text;
                // Nothing else holds a QEMU that did not start: it and its folder go here.
                Dispose();
                throw new InvalidOperationException($"QEMU did not start: {error}");
            }
            Thread.Sleep(20);
        }
    }

    internal static bool Available => File.Exists("/usr/bin/qemu-system-x86_64");

    /// <summary>The installed QEMU's version, from its --version line ("QEMU emulator version 7.2.22 (...)").</summary>
    internal static Version InstalledVersion => s_version.Value;

    private static readonly Lazy<Version> s_version = new(() =>
    {
        (int code, string output, string error) = ChildProcess.Run("/usr/bin/qemu-system-x86_64", ["--version"], TimeSpan.FromSeconds(30));
        System.Text.RegularExpressions.Match version = System.Text.RegularExpressions.Regex.Match(output, @"version (\d+)\.(\d+)");
        Assert.True(code == 0 && version.Success, $"qemu-system-x86_64 --version: {output}{error}");
        return new Version(int.Parse(version.Groups[1].Value), int.Parse(version.Groups[2].Value));
    });

    internal string Name { get; }

    internal string QmpSocket { get; }

    internal int Pid => _process.Pid;

    /// <summary>
    /// A cumulative vCPU statistic summed over the vCPUs, asked of QEMU over QMP by the test itself
    /// (a plain socket and System.Text.Json, nothing of kvm_stat's): the oracle for the tool's numbers.
    /// </summary>
    internal long VcpuStatistic(string name)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10000 };
        socket.Connect(new UnixDomainSocketEndPoint(QmpSocket));
        using var stream = new NetworkStream(socket);
        using var reader = new StreamReader(stream);
        using var writer = new StreamWriter(stream) { AutoFlush = true, NewLine = "\n" };
        string Answer()
        {
            while (true)
            {
                string line = reader.ReadLine() ?? throw new IOException("QMP closed the connection");
                using JsonDocument document = JsonDocument.Parse(line);
                if (document.RootElement.TryGetProperty("return", out _) || document.RootElement.TryGetProperty("error", out _))
                    return line;
            }
        }
        _ = reader.ReadLine(); // the greeting
        writer.WriteLine("{\"execute\": \"qmp_capabilities\"}");
        _ = Answer();
        writer.WriteLine("{\"execute\": \"query-stats\", \"arguments\": {\"target\": \"vcpu\", \"providers\": [{\"provider\": \"kvm\", \"names\": [\"" + name + "\"]}]}}");
        using JsonDocument answer = JsonDocument.Parse(Answer());
        long sum = 0;
        foreach (JsonElement vcpu in answer.RootElement.GetProperty("return").EnumerateArray())
        {
            foreach (JsonElement stat in vcpu.GetProperty("stats").EnumerateArray())
            {
                if (stat.GetProperty("name").GetString() == name)
                    sum += stat.GetProperty("value").GetInt64();
            }
        }
        return sum;
    }

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
