using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// A QMP server on a unix socket in this process, for as many sessions as clients open: QEMU's
/// greeting, then one scripted answer per command (by its "execute" name). It can behave as a
/// hostile or broken peer does: send every byte of its messages slowly, or say nothing.
/// </summary>
internal sealed class FakeQmpServer : IDisposable
{
    internal const string Greeting = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 9}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}";

    /// <summary>Answers for a VM with one vCPU whose "exits" is <paramref name="exits"/>.</summary>
    internal static Dictionary<string, string> OneVcpu(int exits) => new()
    {
        ["qmp_capabilities"] = "{\"return\": {}}",
        ["query-stats-schemas"] = "{\"return\": [{\"provider\": \"kvm\", \"target\": \"vcpu\", \"stats\": [{\"name\": \"exits\", \"type\": \"cumulative\", \"exponent\": 0}]}, " +
                                  "{\"provider\": \"kvm\", \"target\": \"vm\", \"stats\": [{\"name\": \"pages_4k\", \"type\": \"instant\", \"exponent\": 0}]}]}",
        ["query-stats:vm"] = "{\"return\": [{\"provider\": \"kvm\", \"stats\": [{\"name\": \"pages_4k\", \"value\": 12}]}]}",
        ["query-stats:vcpu"] = $"{{\"return\": [{{\"provider\": \"kvm\", \"qom-path\": \"/machine/cpu0\", \"stats\": [{{\"name\": \"exits\", \"value\": {exits}}}]}}]}}",
        ["query-cpus-fast"] = "{\"return\": [{\"cpu-index\": 0, \"qom-path\": \"/machine/cpu0\"}]}",
    };

    private readonly Socket _listener;
    private readonly Thread _thread;
    private readonly IReadOnlyDictionary<string, string> _answers;
    private readonly string _greeting;
    private volatile bool _stopping;
    private int _sessions;
    private long _bytesReceived;

    /// <param name="byteDelay">Sends each byte after this pause (a trickling peer); zero sends whole messages.</param>
    /// <param name="silent">Accepts and says nothing, like a QEMU whose one QMP client slot is taken.</param>
    /// <param name="greeting">Another first line than QEMU's greeting.</param>
    internal FakeQmpServer(string path, IReadOnlyDictionary<string, string> answers, TimeSpan byteDelay = default, bool silent = false, string? greeting = null)
    {
        Path = path;
        _greeting = greeting ?? Greeting;
        _answers = answers;
        ByteDelay = byteDelay;
        Silent = silent;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(8);
        _thread = new Thread(AcceptLoop) { IsBackground = true, Name = "fake QMP server" };
        _thread.Start();
    }

    internal string Path { get; }

    internal TimeSpan ByteDelay { get; }

    internal bool Silent { get; }

    /// <summary>Connections accepted so far.</summary>
    internal int Sessions => Volatile.Read(ref _sessions);

    /// <summary>Bytes clients sent, over all sessions.</summary>
    internal long BytesReceived => Interlocked.Read(ref _bytesReceived);

    private void AcceptLoop()
    {
        while (!_stopping)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _sessions);
            // One session at a time, as QEMU serves one QMP client per socket.
            using (client)
                Serve(client);
        }
    }

    private void Serve(Socket client)
    {
        try
        {
            if (Silent)
            {
                // Hold the connection until the client gives up (or the server is disposed).
                var buffer = new byte[256];
                int n;
                while (!_stopping && (n = client.Receive(buffer)) > 0)
                    Interlocked.Add(ref _bytesReceived, n);
                return;
            }
            Send(client, _greeting);
            var pending = new List<byte>();
            var chunk = new byte[4096];
            while (!_stopping)
            {
                int n = client.Receive(chunk);
                if (n <= 0)
                    return;
                Interlocked.Add(ref _bytesReceived, n);
                pending.AddRange(chunk.AsSpan(0, n));
                int newline;
                while ((newline = pending.IndexOf((byte)'\n')) >= 0)
                {
                    string line = Encoding.UTF8.GetString([.. pending.Take(newline)]);
                    pending.RemoveRange(0, newline + 1);
                    Send(client, Answer(line));
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private string Answer(string request)
    {
        // The client under test sends well-formed requests; anything else ends the session.
        using JsonDocument document = JsonDocument.Parse(request);
        string command = document.RootElement.GetProperty("execute").GetString()!;
        if (document.RootElement.TryGetProperty("arguments", out JsonElement arguments) && arguments.TryGetProperty("target", out JsonElement target))
            command += ":" + target.GetString();
        return _answers.TryGetValue(command, out string? answer)
            ? answer
            : $"{{\"error\": {{\"class\": \"CommandNotFound\", \"desc\": \"The command {command} has not been found\"}}}}";
    }

    private void Send(Socket client, string message)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(message + "\r\n");
        if (ByteDelay == TimeSpan.Zero)
        {
            client.Send(bytes);
            return;
        }
        foreach (byte b in bytes)
        {
            if (_stopping)
                return;
            client.Send([b]);
            Thread.Sleep(ByteDelay);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _listener.Dispose();
        _thread.Join(TimeSpan.FromSeconds(10));
        File.Delete(Path);
    }
}
