using System.Net.Sockets;
using CsCheck;
using System.Text;
using KvmStat.Guests;
using KvmStat.Sources.BinaryStats;
using KvmStat.Host;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.BinaryStats;

/// <summary>The QMP client against a scripted server on a unix socket: every way a socket can fail.</summary>
public class QmpTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-qmp-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string SocketPath => Path.Join(_folder, "qmp.sock");

    private const string Greeting72 = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 2, \"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n";

    /// <summary>A server that answers each request line with the next scripted reply.</summary>
    private Thread Serve(string? greeting, params string[] replies)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        listener.Listen(4);
        var thread = new Thread(() =>
        {
            using (listener)
            {
                using Socket client = listener.Accept();
                if (greeting is null)
                {
                    // Accepted but silent: like a QEMU whose one QMP client slot is taken.
                    Thread.Sleep(3000);
                    return;
                }
                client.Send(Encoding.UTF8.GetBytes(greeting));
                var reader = new StreamReader(new NetworkStream(client));
                foreach (string reply in replies)
                {
                    if (reader.ReadLine() is null)
                        return;
                    client.Send(Encoding.UTF8.GetBytes(reply + "\r\n"));
                }
                reader.ReadLine();
            }
        }) { IsBackground = true };
        thread.Start();
        return thread;
    }

    [Fact]
    public void HandshakesAndSkipsEvents()
    {
        Serve(Greeting72, "{\"return\": {}}",
            "{\"event\": \"RESUME\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n{\"return\": [{\"cpu-index\": 0, \"qom-path\": \"/machine/cpu0\"}]}");
        using QmpConnection qmp = QmpConnection.Open(SocketPath, TimeProvider.System);
        Assert.Equal(new Version(7, 2, 2), qmp.Version);
        Assert.Equal(Environment.ProcessId, qmp.PeerPid);
        using var answer = qmp.Execute("query-cpus-fast");
        Assert.Equal(0, answer.RootElement.GetProperty("return")[0].GetProperty("cpu-index").GetInt32());
    }

    [Fact]
    public void AMissingSocketIsNamed()
    {
        var e = Assert.Throws<QmpException>(() => QmpConnection.Open(SocketPath, TimeProvider.System));
        Assert.Equal($"QMP socket {SocketPath} does not exist.", e.Message);
        Assert.Contains("-qmp unix:PATH", e.Fix);
    }

    [Fact]
    public void ASocketNobodyListensOnIsRefused()
    {
        // Bound but never listening, like the socket file of a QEMU that has exited (.NET would unlink it on disposal).
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(SocketPath));
        var e = Assert.Throws<QmpException>(() => QmpConnection.Open(SocketPath, TimeProvider.System));
        Assert.Contains("refuses connections", e.Message);
        // A file that is no socket at all says so.
        File.WriteAllText(SocketPath + ".txt", "x");
        e = Assert.Throws<QmpException>(() => QmpConnection.Open(SocketPath + ".txt", TimeProvider.System));
        Assert.Equal($"QMP socket {SocketPath}.txt is not a socket.", e.Message);
        Assert.Contains("-qmp unix:PATH", e.Fix);
        File.Delete(SocketPath + ".txt");
    }

    [Fact]
    public void ASilentSocketIsHeldByAnotherClient()
    {
        Serve(greeting: null);
        var e = Assert.Throws<QmpException>(() => QmpConnection.Open(SocketPath, TimeProvider.System));
        Assert.Contains("did not greet within 2 s: another client", e.Message);
        Assert.Contains("second QMP socket", e.Fix);
    }

    /// <summary>A peer that sends its greeting a byte at a time costs one deadline for the whole greeting, not one per byte.</summary>
    [Fact]
    public void ATricklingGreetingEndsAtTheExchangesDeadline()
    {
        using var server = new FakeQmpServer(SocketPath, FakeQmpServer.OneVcpu(5), byteDelay: TimeSpan.FromMilliseconds(300));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<QmpException>(() => QmpConnection.Open(SocketPath, TimeProvider.System));
        Assert.Contains("did not greet within 2 s", e.Message);
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.9, 3.5);
    }

    /// <summary>The refresh's deadline (here 0.8 s away) comes before the exchange's own.</summary>
    [Fact]
    public void ATricklingPeerEndsAtTheDeadlineItsRefreshSet()
    {
        long deadline = TimeProvider.System.GetTimestamp() + (long)(0.8 * TimeProvider.System.TimestampFrequency);
        using var slow = new FakeQmpServer(Path.Join(_folder, "slow.sock"), FakeQmpServer.OneVcpu(5), byteDelay: TimeSpan.FromMilliseconds(100));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<QmpException>(() => QmpConnection.Open(slow.Path, TimeProvider.System, deadline: deadline));
        Assert.Matches("did not greet within [0-9]+ ms", e.Message);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.7, 1.5);
    }

    /// <summary>--qmp auto connects only to the QEMU that listens: another process on the socket gets nothing written to it.</summary>
    [Fact]
    public void ASocketServedByAnotherProcessIsLeftAlone()
    {
        using var server = new FakeQmpServer(SocketPath, FakeQmpServer.OneVcpu(5));
        var e = Assert.Throws<QmpException>(() => QmpConnection.Open(SocketPath, TimeProvider.System, expectedPeer: 1));
        Assert.Contains($"is served by process {Environment.ProcessId}, not by QEMU process 1 that names it", e.Message);
        using (QmpConnection.Open(SocketPath, TimeProvider.System, expectedPeer: Environment.ProcessId))
        {
        }
        Assert.Equal(2, server.Sessions);
        // Only the second session sent anything (qmp_capabilities).
        Assert.Equal("{\"execute\":\"qmp_capabilities\"}\r\n".Length, server.BytesReceived);
    }

    /// <summary>
    /// A silent peer and a good one: the refresh gets the good one's numbers within its budget, the
    /// silent one is reported once and tried again only after a back-off, keeping no refresh waiting.
    /// </summary>
    [Fact]
    public void ASilentPeerCostsOneDeadlineAndTheOtherVmsKeepTheirNumbers()
    {
        using var good = new FakeQmpServer(SocketPath, FakeQmpServer.OneVcpu(7));
        using var silent = new FakeQmpServer(Path.Join(_folder, "silent.sock"), FakeQmpServer.OneVcpu(5), silent: true);
        var warnings = new List<string>();
        using var reader = new QmpReader([silent.Path, good.Path], new HostPaths(), delay: 1, warnings.Add, TimeProvider.System, new VmDiscovery(new HostPaths(), TimeProvider.System, _ => { }));
        var vms = new List<VmStatsBlocks>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        reader.Read(vms);
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.9, QmpReader.RefreshBudget.TotalSeconds + 0.5);
        IStatsBlock vcpu = Assert.Single(vms).Blocks[1];
        Assert.Equal([7UL], vcpu.Values(vcpu.Descriptors[0]).ToArray());
        Assert.Contains(warnings, w => w.Contains("silent.sock did not greet within 2 s") && w.Contains("Tried again in 10 s"));

        clock.Restart();
        for (int i = 0; i < 5; i++)
            reader.Read(vms);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"five refreshes took {clock.Elapsed}");
        Assert.Single(vms);
        Assert.Equal(1, silent.Sessions);
        Assert.Equal(6, good.Sessions);
        Assert.Single(warnings);
    }

    /// <summary>
    /// A peer that greets or answers with anything at all: a plain error for that socket, never a
    /// crash, and never a fault of this tool's own (a null dereference, an index out of range) told
    /// as the peer's.
    /// </summary>
    [Fact]
    public void HostileAnswersOverTheSocketAreReportedNeverCrashes()
    {
        int iteration = 0;
        var said = new System.Collections.Concurrent.ConcurrentBag<string>();
        Gen.Int.Sample(seed =>
        {
            string hostile = HostileJson.Generate(seed);
            Dictionary<string, string> answers = FakeQmpServer.OneVcpu(1).Keys.ToDictionary(k => k, _ => $"{{\"return\": {hostile}}}");
            // CsCheck samples on several threads at once: a socket each.
            string path = Path.Join(_folder, $"hostile{Interlocked.Increment(ref iteration)}.sock");
            using var server = new FakeQmpServer(path, answers, greeting: seed % 4 == 0 ? hostile : null);
            using var reader = new QmpReader([path], new HostPaths(), delay: 3, said.Add, TimeProvider.System, new VmDiscovery(new HostPaths(), TimeProvider.System, _ => { }));
            try
            {
                reader.Read([]);
            }
            catch (KvmStatException e)
            {
                said.Add(e.Message);
            }
        }, iter: 100);
        Assert.DoesNotContain(said, s => System.Text.RegularExpressions.Regex.IsMatch(s,
            @"\((NullReference|IndexOutOfRange|Argument(Null|OutOfRange)?|InvalidCast|DivideByZero|NotSupported|NotImplemented)Exception:"));
    }

    /// <summary>
    /// A peer may claim what fits in its messages: a VM's statistics hold at most
    /// <see cref="QmpReader.MaxValuesPerVm"/> values (513 vCPUs of four 256-bucket histograms are
    /// more), and a histogram at most 256 buckets, so that no one VM costs the tool much memory.
    /// </summary>
    [Fact]
    public void APeerThatClaimsTooManyValuesIsRefused()
    {
        string Answers(int vcpus, int buckets)
        {
            string hist = "[" + string.Join(",", Enumerable.Repeat("1", buckets)) + "]";
            string stats = string.Join(",", Enumerable.Range(0, 4).Select(h => $"{{\"name\": \"h{h}_hist\", \"value\": {hist}}}"));
            return "{\"return\": [" + string.Join(",", Enumerable.Range(0, vcpus).Select(v => $"{{\"provider\": \"kvm\", \"qom-path\": \"/machine/cpu{v}\", \"stats\": [{stats}]}}")) + "]}";
        }
        Dictionary<string, string> Peer(int vcpus, int buckets) => new()
        {
            ["qmp_capabilities"] = "{\"return\": {}}",
            ["query-stats-schemas"] = "{\"return\": [{\"provider\": \"kvm\", \"target\": \"vcpu\", \"stats\": [" +
                string.Join(",", Enumerable.Range(0, 4).Select(h => $"{{\"name\": \"h{h}_hist\", \"type\": \"log2-histogram\", \"exponent\": 0}}")) + "]}]}",
            ["query-stats:vm"] = "{\"return\": []}",
            ["query-stats:vcpu"] = Answers(vcpus, buckets),
            ["query-cpus-fast"] = "{\"return\": [" + string.Join(",", Enumerable.Range(0, vcpus).Select(v => $"{{\"cpu-index\": {v}, \"qom-path\": \"/machine/cpu{v}\"}}")) + "]}",
        };
        foreach ((int vcpus, int buckets, string? refused) in new[] { (512, 256, null), (513, 256, "statistics of more than 524288 values"), (1, 257, "has 257 buckets") })
        {
            string path = Path.Join(_folder, $"big{vcpus}-{buckets}.sock");
            using var server = new FakeQmpServer(path, Peer(vcpus, buckets));
            using var reader = new QmpReader([path], new HostPaths(), delay: 3, _ => { }, TimeProvider.System, new VmDiscovery(new HostPaths(), TimeProvider.System, _ => { }));
            var vms = new List<VmStatsBlocks>();
            if (refused is null)
            {
                reader.Read(vms);
                Assert.Equal(vcpus, Assert.Single(vms).Blocks.Count);
            }
            else
            {
                Assert.Contains(refused, Assert.Throws<QmpException>(() => reader.Read(vms)).Message);
            }
        }

        // Values of a statistic no schema names count too: they are refused before a document is built of them.
        Dictionary<string, string> unnamed = Peer(1, 32);
        unnamed["query-stats:vcpu"] = "{\"return\": [{\"provider\": \"kvm\", \"qom-path\": \"/machine/cpu0\", \"stats\": [{\"name\": \"unknown\", \"value\": [" +
            string.Join(",", Enumerable.Repeat("0", QmpConnection.MaxValues + 1)) + "]}]}]}";
        string socket = Path.Join(_folder, "unnamed.sock");
        using var peer = new FakeQmpServer(socket, unnamed);
        using var unnamedReader = new QmpReader([socket], new HostPaths(), delay: 3, _ => { }, TimeProvider.System, new VmDiscovery(new HostPaths(), TimeProvider.System, _ => { }));
        Assert.Contains($"sent a message of more than {QmpConnection.MaxValues} values", Assert.Throws<QmpException>(() => unnamedReader.Read([])).Message);
    }

    [Fact]
    public void NotAQmpMonitor()
    {
        Serve("{\"hello\": 1}\r\n");
        Assert.Contains("did not greet as a QMP monitor", Assert.Throws<QmpException>(() => QmpConnection.Open(SocketPath, TimeProvider.System)).Message);
    }

    [Fact]
    public void QmpErrorsAreReportedWithTheirClass()
    {
        Serve(Greeting72, "{\"return\": {}}", "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command query-stats has not been found\"}}");
        using QmpConnection qmp = QmpConnection.Open(SocketPath, TimeProvider.System);
        var e = Assert.Throws<QmpException>(() => qmp.Execute("query-stats", "{\"target\":\"vm\"}"));
        Assert.Equal("CommandNotFound", e.ErrorClass);
        Assert.Contains("answered query-stats with CommandNotFound", e.Message);
    }

    [Fact]
    public void TooOldAQemuIsNamed()
    {
        Serve(Greeting72.Replace("\"minor\": 2", "\"minor\": 0"), "{\"return\": {}}");
        using var reader = new QmpReader([SocketPath], new HostPaths(), delay: 3, _ => { }, TimeProvider.System, new VmDiscovery(new HostPaths(), TimeProvider.System, _ => { }));
        var e = Assert.Throws<QmpException>(() => reader.Read([]));
        Assert.Contains("QEMU 7.0.2, which has no query-stats", e.Message);
        Assert.Contains("7.1 or later", e.Fix);
    }

    [Fact]
    public void ReadsSchemasAndStatsIntoBlocks()
    {
        const string Schemas = """
            {"return": [{"provider": "kvm", "target": "vcpu", "stats": [
              {"name": "exits", "type": "cumulative", "exponent": 0},
              {"name": "blocking", "type": "instant", "unit": "boolean", "exponent": 0},
              {"name": "halt_wait_hist", "type": "log2-histogram", "unit": "seconds", "base": 10, "exponent": -9}]},
             {"provider": "kvm", "target": "vm", "stats": [{"name": "pages_4k", "type": "instant", "exponent": 0}]}]}
            """;
        string vm = """{"return": [{"provider": "kvm", "stats": [{"name": "pages_4k", "value": 12}]}]}""";
        string vcpu = """
            {"return": [{"provider": "kvm", "qom-path": "/machine/cpu1", "stats": [{"name": "exits", "value": 7}, {"name": "blocking", "value": true}, {"name": "halt_wait_hist", "value": [0, 1, 2]}]},
                        {"provider": "kvm", "qom-path": "/machine/cpu0", "stats": [{"name": "exits", "value": 5}]}]}
            """;
        string cpus = """{"return": [{"cpu-index": 0, "qom-path": "/machine/cpu0"}, {"cpu-index": 1, "qom-path": "/machine/cpu1"}]}""";
        Serve(Greeting72.Replace("\"minor\": 2", "\"minor\": 1").Replace("\"major\": 7", "\"major\": 9"),
            "{\"return\": {}}", Schemas.ReplaceLineEndings(" "), vm, vcpu.ReplaceLineEndings(" "), cpus);
        using var reader = new QmpReader([SocketPath], new HostPaths(), delay: 3, _ => { }, TimeProvider.System, new VmDiscovery(new HostPaths(), TimeProvider.System, _ => { }));
        var vms = new List<VmStatsBlocks>();
        reader.Read(vms);

        VmStatsBlocks only = Assert.Single(vms);
        Assert.Equal(Environment.ProcessId, only.Pid);
        Assert.Equal([-1, 0, 1], only.Blocks.Select(b => b.VcpuIndex));
        IStatsBlock cpu1 = only.Blocks[2];
        Assert.Equal([7UL], cpu1.Values(cpu1.Descriptors[0]).ToArray());
        Assert.Equal([1UL], cpu1.Values(cpu1.Descriptors[1]).ToArray());
        Assert.Equal([0UL, 1, 2], cpu1.Values(cpu1.Descriptors[2]).ToArray());
        Assert.Equal(KvmStatType.LogHistogram, cpu1.Descriptors[2].Type);
        Assert.Equal([12UL], only.Blocks[0].Values(only.Blocks[0].Descriptors[0]).ToArray());
    }

    /// <summary>A first exchange with a QEMU of one vCPU: capabilities, schemas, the VM's and the vCPU's statistics, the vCPUs' indexes.</summary>
    private static readonly string[] s_oneVcpu = ["{\"return\": {}}",
        """{"return": [{"provider": "kvm", "target": "vcpu", "stats": [{"name": "exits", "type": "cumulative", "exponent": 0}]}, {"provider": "kvm", "target": "vm", "stats": []}]}""",
        """{"return": []}""",
        """{"return": [{"provider": "kvm", "qom-path": "/machine/cpu0", "stats": [{"name": "exits", "value": 5}]}]}""",
        """{"return": [{"cpu-index": 0, "qom-path": "/machine/cpu0"}]}"""];

    /// <summary>An outage is said once, and so is its end: a log tells a VM that could not be read from an idle one.</summary>
    [Fact]
    public void AnOutageIsSaidAndSoIsItsEnd()
    {
        var time = new ManualTime();
        var warnings = new List<string>();
        using var reader = new QmpReader([SocketPath], new HostPaths(), delay: 3, warnings.Add, time, new VmDiscovery(new HostPaths(), time, _ => { }));
        var vms = new List<VmStatsBlocks>();
        Thread first = Serve(Greeting72, s_oneVcpu);
        reader.Read(vms);
        first.Join();
        File.Delete(SocketPath);
        reader.Read(vms);
        reader.Read(vms);
        Assert.Equal([$"QMP socket {SocketPath} does not exist. Tried again in 10 s."], warnings);

        time.Advance(TimeSpan.FromSeconds(11));
        // The same QEMU: the schemas and vCPU indexes it gave are kept.
        Serve(Greeting72, s_oneVcpu[0], s_oneVcpu[2], s_oneVcpu[3].Replace("5", "8", StringComparison.Ordinal));
        reader.Read(vms);
        Assert.Equal($"QMP socket {SocketPath} answers again.", warnings[^1]);
        Assert.Equal(2, warnings.Count);
        VmStatsBlocks vm = Assert.Single(vms);
        Assert.Equal([8UL], vm.Blocks[0].Values(vm.Blocks[0].Descriptors[0]).ToArray());
    }

    /// <summary>A query-stats result without its statistics is an answer this tool cannot read, never zeros.</summary>
    [Fact]
    public void AResultWithoutStatsIsNoZero()
    {
        var warnings = new List<string>();
        using var reader = new QmpReader([SocketPath], new HostPaths(), delay: 3, warnings.Add, TimeProvider.System, new VmDiscovery(new HostPaths(), TimeProvider.System, _ => { }));
        Serve(Greeting72, s_oneVcpu[0], s_oneVcpu[1], s_oneVcpu[2],
            """{"return": [{"qom-path": "/machine/cpu0", "providers": [{"provider": "kvm", "stats": [{"name": "exits", "value": 5}]}]}]}""",
            s_oneVcpu[4]);
        var e = Assert.Throws<QmpException>(() => reader.Read([]));
        Assert.Equal($"QMP socket {SocketPath} sent statistics this tool cannot read: a query-stats result without \"stats\".", e.Message);
    }

    /// <summary>
    /// A new QEMU on the same socket under the dead one's pid (another start time) starts over: its
    /// schemas are asked again and its blocks are a new instance, never the dead VM's continued.
    /// </summary>
    [Fact]
    public void ANewQemuUnderTheSamePidStartsOver()
    {
        using var fixture = new FixtureRoot();
        fixture.MarkRunning(Environment.ProcessId, start: 100);
        string[] script = s_oneVcpu;
        using var reader = new QmpReader([SocketPath], fixture.Paths, delay: 3, _ => { }, TimeProvider.System, new VmDiscovery(fixture.Paths, TimeProvider.System, _ => { }));
        var vms = new List<VmStatsBlocks>();
        Thread first = Serve(Greeting72, script);
        reader.Read(vms);
        long dead = Assert.Single(vms).Instance;
        first.Join();
        File.Delete(SocketPath);

        fixture.MarkRunning(Environment.ProcessId, start: 200);
        Serve(Greeting72, script);
        reader.Read(vms);
        VmStatsBlocks born = Assert.Single(vms);
        Assert.Equal(Environment.ProcessId, born.Pid);
        Assert.NotEqual(dead, born.Instance);
        Assert.Equal([5UL], born.Blocks[0].Values(born.Blocks[0].Descriptors[0]).ToArray());
    }

    /// <summary>
    /// --qmp auto takes a socket only from the QEMU that listens on it: a command line that names
    /// another service's socket gets nothing connected to it, and says why under --verbose.
    /// </summary>
    [Fact]
    public void AutoFindsOnlySocketsTheNamingQemuListensOn()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(100, ["qemu-system-x86_64", "-name", "good", "-qmp", "unix:/run/good.sock,server=on,wait=off"]);
        fixture.AddDescriptor(100, 5, "socket:[7001]");
        fixture.AddDescriptor(100, 9, "anon_inode:kvm-vm");
        // Names a root service's socket; holds a connection to it, which is no listening socket.
        fixture.AddProcess(200, ["qemu-system-x86_64", "-name", "liar", "-qmp", "unix:/run/root-service.sock,server=on"]);
        fixture.AddDescriptor(200, 5, "socket:[7003]");
        fixture.AddDescriptor(200, 9, "anon_inode:kvm-vm");
        fixture.AddProcess(300, ["qemu-system-x86_64", "-qmp", "unix:relative.sock,server=on"]);
        fixture.AddDescriptor(300, 4, "socket:[7004]");
        fixture.AddDescriptor(300, 9, "anon_inode:kvm-vm");
        fixture.AddProcess(400, ["not-a-vmm", "-qmp", "unix:/run/good.sock"]);
        // Calls itself qemu and listens on its socket, but holds no VM: any user can start that.
        fixture.AddProcess(500, ["qemu-system-x86_64", "-name", "evil", "-qmp", "unix:/tmp/x.sock,server=on"]);
        fixture.AddDescriptor(500, 5, "socket:[7005]");
        fixture.AddDescriptor(500, 6, "/dev/null");
        // Listens on its socket and has a debugfs folder of its pid, but holds no VM descriptor: the
        // pid of a VM's creator that exited, reused by anyone.
        fixture.AddProcess(600, ["qemu-system-x86_64", "-name", "reused", "-qmp", "unix:/run/reused.sock,server=on"]);
        fixture.AddDescriptor(600, 5, "socket:[7006]");
        fixture.AddDebugfsStat("600-12/exits", 1);
        string table = """
            Num       RefCount Protocol Flags    Type St Inode Path
            0000000000000000: 00000002 00000000 00010000 0001 01 7001 /run/good.sock
            0000000000000000: 00000002 00000000 00010000 0001 01 7002 /run/root-service.sock
            0000000000000000: 00000003 00000000 00000000 0001 03 7003 /run/root-service.sock
            0000000000000000: 00000002 00000000 00010000 0001 01 7004 relative.sock
            0000000000000000: 00000002 00000000 00010000 0001 01 7005 /tmp/x.sock
            0000000000000000: 00000002 00000000 00010000 0001 01 7006 /run/reused.sock
            0000000000000000: 00000002 00000000 00010000 0001 01 garbage /run/x.sock
            truncated line

            """;
        // Each process's own table (its network namespace's), as /proc/PID/net/unix shows it; the tool's own is empty.
        foreach (int pid in new[] { 100, 200, 300, 400, 500, 600 })
            fixture.WriteFile($"/proc/{pid}/net/unix", table);
        fixture.WriteFile("/proc/net/unix", "Num       RefCount Protocol Flags    Type St Inode Path\n");
        var skipped = new List<string>();
        IReadOnlyList<(int Pid, string Path)> found = QmpSocketDiscovery.Find(fixture.Paths, [100, 200, 300, 400, 500, 600], skipped.Add);
        Assert.Equal([(100, "/run/good.sock"), (300, Path.Join(fixture.Paths.Map("/proc/300"), "cwd", "relative.sock"))], found);
        Assert.Equal(["QMP socket /run/root-service.sock named by process 200: skipped, that process does not listen on it",
            "QMP sockets named by process 500: skipped, that process holds no KVM VM",
            "QMP sockets named by process 600: skipped, that process holds no KVM VM"], skipped.Order());
    }

    /// <summary>Sockets of QEMUs that come and go (--qmp auto) are forgotten with them.</summary>
    [Fact]
    public void TenThousandQemusThatComeAndGoLeaveNoSocketsBehind()
    {
        using var fixture = new FixtureRoot();
        var time = new ManualTime();
        using var reader = new QmpReader(sockets: null, fixture.Paths, delay: 3, _ => { }, time, new VmDiscovery(fixture.Paths, time, _ => { }));
        for (int round = 0; round < 10; round++)
        {
            var table = new System.Text.StringBuilder("Num       RefCount Protocol Flags    Type St Inode Path\n");
            int[] pids = [.. Enumerable.Range(100_000 + round * 1000, 1000)];
            foreach (int pid in pids)
            {
                // Each listens on its socket, which no longer answers (the processes are only files here).
                fixture.AddProcess(pid, ["qemu-system-x86_64", "-qmp", $"unix:{_folder}/{pid}.sock,server=on"]);
                fixture.AddDescriptor(pid, 3, $"socket:[{pid}]");
                fixture.AddDescriptor(pid, 4, "anon_inode:kvm-vm");
                table.Append(System.Globalization.CultureInfo.InvariantCulture, $"0000000000000000: 00000002 00000000 00010000 0001 01 {pid} {_folder}/{pid}.sock\n");
            }
            foreach (int pid in pids)
            {
                // One network namespace for all: its table is read once a scan.
                fixture.WriteFile($"/proc/{pid}/net/unix", table.ToString());
                File.CreateSymbolicLink(fixture.Paths.Map($"/proc/{pid}/ns/net"), "net:[4026531840]");
            }
            time.Advance(TimeSpan.FromSeconds(6));
            try
            {
                reader.Read([]);
            }
            catch (QmpException)
            {
                // The first read of a run that reaches no VM at all is an error; later ones are not.
            }
            Assert.Equal(1000, reader.TrackedSockets);
            foreach (int pid in pids)
                fixture.RemoveProcess(pid);
            time.Advance(TimeSpan.FromSeconds(6));
            reader.Read([]);
            Assert.Equal(0, reader.TrackedSockets);
        }
    }

    [Theory]
    [InlineData("qemu-system-x86_64|-qmp|unix:/run/a.sock,server=on,wait=off", "/run/a.sock")]
    [InlineData("qemu|-qmp|unix:/run/b.sock,server,nowait", "/run/b.sock")]
    [InlineData("qemu|--qmp-pretty|unix:/run/with,,comma.sock,server=on", "/run/with,comma.sock")]
    [InlineData("qemu|-chardev|socket,id=mon0,path=/run/c.sock,server=on,wait=off|-mon|chardev=mon0,mode=control", "/run/c.sock")]
    [InlineData("qemu|-chardev|socket,id=hmp,path=/run/h.sock,server=on|-mon|chardev=hmp,mode=readline", "")]
    [InlineData("qemu|-qmp|tcp:127.0.0.1:4444,server=on", "")]
    [InlineData("qemu|-chardev|socket,id=charmonitor,fd=24,server=on|-mon|chardev=charmonitor,id=monitor,mode=control", "")]
    public void FindsQmpSocketsOnQemuCommandLines(string argv, string expected)
    {
        IReadOnlyList<string> sockets = QmpSocketDiscovery.FromCmdline(argv.Split('|'));
        Assert.Equal(expected.Length == 0 ? [] : [expected], sockets);
    }

    /// <summary>
    /// A QEMU whose socket is in a /tmp of its own (another mount namespace, as systemd's PrivateTmp=
    /// gives the tool one): not there at its path for the tool, reached through the process's own root,
    /// its peer checked as ever.
    /// </summary>
    [Fact]
    public void ASocketInAnotherMountNamespaceIsReachedThroughItsProcessRoot()
    {
        string hidden = Path.Join(_folder, "private");
        Directory.CreateDirectory(hidden);
        string socket = Path.Join(hidden, "qmp.sock");
        const string Server = """
            import json, socket, sys
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(sys.argv[1])
            server.listen(1)
            print("ready", flush=True)
            client, _ = server.accept()
            stream = client.makefile("rw")
            stream.write(json.dumps({"QMP": {"version": {"qemu": {"major": 9, "minor": 2, "micro": 0}}, "capabilities": []}}) + "\r\n")
            stream.flush()
            for line in stream:
                stream.write('{"return": {}}\r\n')
                stream.flush()
            """;
        string script = Path.Join(_folder, "server.py");
        File.WriteAllText(script, Server);
        // unshare and sh exec the server: the pid is the server's.
        using ChildProcess qemu = ChildProcess.Start("unshare", ["--mount", "--propagation", "private", "sh", "-c",
            $"mount -t tmpfs tmpfs '{hidden}' && exec python3 '{script}' '{socket}'"]);
        qemu.Output.WaitForLine(l => l == "ready", TimeSpan.FromSeconds(30), "the server in its own mount namespace listening");
        Assert.Contains("does not exist", Assert.Throws<QmpException>(() => QmpConnection.Open(socket, TimeProvider.System, expectedPeer: qemu.Pid)).Message);
        string via = QmpSocketDiscovery.Reach(new HostPaths(), qemu.Pid, socket);
        Assert.Equal($"/proc/{qemu.Pid}/root{socket}", via);
        using QmpConnection connection = QmpConnection.Open(socket, TimeProvider.System, expectedPeer: qemu.Pid, via: via);
        Assert.Equal(qemu.Pid, connection.PeerPid);
        Assert.Equal(socket, connection.Path);
    }

    /// <summary>
    /// At the first read, a peer tried first that takes the whole refresh budget (it greets and answers
    /// a byte every 15 ms): the other socket is read all the same, so a log with one such socket
    /// goes on; and the next refresh asks the fast one first.
    /// </summary>
    [Fact]
    public void ASlowPeerFirstDoesNotEndTheFirstRead()
    {
        using var slow = new FakeQmpServer(Path.Join(_folder, "a-slow.sock"), FakeQmpServer.OneVcpu(5), byteDelay: TimeSpan.FromMilliseconds(15));
        using var good = new FakeQmpServer(Path.Join(_folder, "b-good.sock"), FakeQmpServer.OneVcpu(7));
        var warnings = new List<string>();
        using var reader = new QmpReader([slow.Path, good.Path], new HostPaths(), delay: 1, warnings.Add, TimeProvider.System, new VmDiscovery(new HostPaths(), TimeProvider.System, _ => { }));
        var vms = new List<VmStatsBlocks>();
        reader.Read(vms);
        IStatsBlock vcpu = Assert.Single(vms).Blocks[1];
        Assert.Equal([7UL], vcpu.Values(vcpu.Descriptors[0]).ToArray());
        Assert.Contains(warnings, w => w.Contains("a-slow.sock") && w.Contains("Tried again in 10 s"));
        Assert.Equal(1, good.Sessions);
    }
}
