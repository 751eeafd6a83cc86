using System.Net;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

/// <summary>
/// The exporter with --qmp auto against what any local user can start: no QEMU at all, and a
/// process of user nobody that calls itself qemu, listens on a -qmp socket and answers QMP with
/// statistics whose names collide once exported, under the guest name "evil".
/// </summary>
public class ExporterQmpEndToEndTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly string _folder;

    public ExporterQmpEndToEndTests()
    {
        _folder = Directory.CreateTempSubdirectory("kvm_stat-impostor-").FullName;
        File.SetUnixFileMode(_folder, (UnixFileMode)0x1ff); // 0777: nobody binds its socket here
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A QMP server in Python, printing "session" for every connection it accepts.</summary>
    private const string FakeQemu = """
        import json, os, socket, sys
        path = sys.argv[sys.argv.index("-qmp") + 1][len("unix:"):].split(",")[0]
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(4)
        print("ready", flush=True)
        schema = [{"provider": "kvm", "target": "vm", "stats": [{"name": "a-b", "type": "cumulative"}, {"name": "a_b", "type": "cumulative"}]},
                  {"provider": "kvm", "target": "vcpu", "stats": [{"name": "exits", "type": "cumulative"}]}]
        answers = {"qmp_capabilities": {}, "query-stats-schemas": schema, "query-cpus-fast": [{"cpu-index": 0, "qom-path": "/machine/cpu0"}],
                   "query-stats:vm": [{"provider": "kvm", "stats": [{"name": "a-b", "value": 1}, {"name": "a_b", "value": 2}]}],
                   "query-stats:vcpu": [{"provider": "kvm", "qom-path": "/machine/cpu0", "stats": [{"name": "exits", "value": 5}]}]}
        while True:
            client, _ = server.accept()
            print("session", flush=True)
            stream = client.makefile("rw")
            stream.write(json.dumps({"QMP": {"version": {"qemu": {"major": 9, "minor": 2, "micro": 0}}, "capabilities": []}}) + "\r\n")
            stream.flush()
            for line in stream:
                request = json.loads(line)
                command = request["execute"] + (":" + request["arguments"]["target"] if "target" in request.get("arguments", {}) else "")
                stream.write(json.dumps({"return": answers.get(command, {})}) + "\r\n")
                stream.flush()
            client.close()
        """;

    private static async Task<string> Scrape(HttpClient client, string url)
    {
        using HttpResponseMessage response = await client.GetAsync(url, TestContext.Current.CancellationToken);
        string body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        return body;
    }

    [Fact]
    public async Task AnImpostorIsNeverConnectedToAndNoQemuIsADownSource()
    {
        string script = Path.Join(_folder, "fake-qemu.py");
        File.WriteAllText(script, FakeQemu);
        File.SetUnixFileMode(script, (UnixFileMode)0x1a4);
        string socket = Path.Join(_folder, "x.sock");
        using ChildProcess impostor = ChildProcess.Start("setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", script, "-name", "evil", "-qmp", $"unix:{socket},server=on"]);
        impostor.Output.WaitForLine(l => l == "ready", s_timeout, "the impostor listening");

        int port = Loopback.FreePort();
        using ChildProcess tool = ChildProcess.StartTool("--serve", $"127.0.0.1:{port}", "--qmp", "auto", "-f", "kvm_pio", "--verbose");
        tool.WaitUntilCounting();
        using HttpClient client = Loopback.Client();
        string url = $"http://127.0.0.1:{port}/metrics";
        // Every scrape answers; past the exporter's next look for sockets (every 5 s) too.
        string first = await Scrape(client, url);
        Assert.Contains("kvm_stat_source_up{source=\"qmp\",target=\"\",reason=\"--qmp auto found no QMP socket that a QEMU holding a KVM VM listens on\"} 0", first);
        // Past the exporter's next look for sockets: the scrapes that follow make it look again.
        int looks = tool.Error.Lines.Count(l => l.Contains("--qmp auto: ", StringComparison.Ordinal));
        string later = first;
        await Poll.UntilAsync(async () =>
        {
            later = await Scrape(client, url);
            return tool.Error.Lines.Count(l => l.Contains("--qmp auto: ", StringComparison.Ordinal)) > looks;
        }, s_timeout, "the exporter's next look for QMP sockets");
        Assert.Contains("kvm_stat_source_up{source=\"qmp\",target=\"\"", later);
        Assert.DoesNotContain("evil", first + later);
        Assert.DoesNotContain("session", impostor.Output.Lines);
        // Not a VM, so not looked at for sockets at all: nothing of it is said either.
        Assert.DoesNotContain(tool.Error.Lines, l => l.Contains(socket, StringComparison.Ordinal));
    }
}
