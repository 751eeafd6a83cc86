using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// One short QMP session with QEMU over its unix socket: the greeting, the capabilities
/// handshake, then commands. A QMP socket serves one client at a time, so a connection lives
/// for one round of queries and is closed at once: the VM's manager is never locked out.
/// </summary>
internal sealed class QmpConnection : IDisposable
{
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private readonly Socket _socket;
    private const int MaxMessage = 16 << 20;
    private byte[] _buffer = new byte[65536];
    private int _start;
    private int _end;

    private QmpConnection(string path, Socket socket)
    {
        Path = path;
        _socket = socket;
    }

    internal string Path { get; }

    /// <summary>QEMU's version from the greeting.</summary>
    internal Version Version { get; private set; } = new(0, 0, 0);

    /// <summary>The QEMU process on the other end (SO_PEERCRED), or 0 if unknown.</summary>
    internal int PeerPid { get; private set; }

    /// <summary>Connects, reads the greeting and negotiates capabilities; plain errors for every failure.</summary>
    internal static QmpConnection Open(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            ReceiveTimeout = (int)Timeout.TotalMilliseconds,
            SendTimeout = (int)Timeout.TotalMilliseconds,
        };
        var connection = new QmpConnection(path, socket);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            connection.PeerPid = PeerPidOf(socket);
            using (JsonDocument greeting = connection.ReadMessage(greeting: true))
            {
                if (!greeting.RootElement.TryGetProperty("QMP", out JsonElement qmp))
                    throw new QmpException(path, "did not greet as a QMP monitor", "Is it a QMP socket (-qmp, or -mon mode=control)?");
                if (qmp.TryGetProperty("version", out JsonElement version) && version.TryGetProperty("qemu", out JsonElement qemu))
                    connection.Version = new Version(Int(qemu, "major"), Int(qemu, "minor"), Int(qemu, "micro"));
            }
            connection.Execute("qmp_capabilities").Dispose();
            return connection;
        }
        catch (SocketException e)
        {
            connection.Dispose();
            // .NET reports a missing path and a socket nobody listens on alike: look at the path itself.
            if (!EntryExists(path))
                throw new QmpException(path, "does not exist", "Check the path in QEMU's -qmp unix:PATH,server=on,wait=off option.");
            throw e.SocketErrorCode switch
            {
                SocketError.AccessDenied => new QmpException(path, "cannot be opened: permission denied", "Run kvm_stat as root."),
                SocketError.TimedOut or SocketError.WouldBlock => new QmpException(path,
                    $"did not answer within {Timeout.TotalSeconds:0} s: another client (libvirt?) probably holds it; QEMU serves one QMP client per socket",
                    "Give QEMU a second QMP socket for monitoring, e.g. -qmp unix:/run/qemu-mon.sock,server=on,wait=off."),
                _ => new QmpException(path, "refuses connections: no QEMU listens on it (has it exited?)"),
            };
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Whether anything is at the path (File.Exists says no to sockets): open(O_PATH) works on any entry.</summary>
    private static bool EntryExists(string path)
    {
        int fd = Interop.Libc.Open(Interop.NulTerminated(path), Interop.Abi.O_PATH | Interop.Abi.O_CLOEXEC);
        if (fd < 0)
            return -fd != Interop.Errno.ENOENT;
        _ = Interop.Libc.Close(fd);
        return true;
    }

    private static int Int(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.TryGetInt32(out int number) ? number : 0;

    private static int PeerPidOf(Socket socket)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } from SO_PEERCRED (SOL_SOCKET 1, option 17).
        Span<byte> credentials = stackalloc byte[12];
        try
        {
            return socket.GetRawSocketOption(1, 17, credentials) >= 4 ? MemoryMarshal.Read<int>(credentials) : 0;
        }
        catch (SocketException)
        {
            return 0;
        }
    }

    /// <summary>Runs a command and returns its "return" value's document; a QMP error becomes a <see cref="QmpException"/>.</summary>
    internal JsonDocument Execute(string command, string? argumentsJson = null)
    {
        string request = argumentsJson is null
            ? $"{{\"execute\":\"{command}\"}}\r\n"
            : $"{{\"execute\":\"{command}\",\"arguments\":{argumentsJson}}}\r\n";
        _socket.Send(Encoding.UTF8.GetBytes(request));
        while (true)
        {
            JsonDocument message = ReadMessage(greeting: false);
            JsonElement root = message.RootElement;
            if (root.TryGetProperty("return", out _))
                return message;
            if (root.TryGetProperty("error", out JsonElement error))
            {
                string cls = error.TryGetProperty("class", out JsonElement c) ? c.GetString() ?? "" : "";
                string desc = error.TryGetProperty("desc", out JsonElement d) ? d.GetString() ?? "" : "";
                message.Dispose();
                throw new QmpException(Path, $"answered {command} with {cls}: {desc}") { ErrorClass = cls };
            }
            // An asynchronous event: not the answer.
            message.Dispose();
        }
    }

    /// <summary>Reads one JSON message (QEMU ends each with CR LF).</summary>
    private JsonDocument ReadMessage(bool greeting)
    {
        while (true)
        {
            int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline >= 0)
            {
                var line = new ReadOnlyMemory<byte>(_buffer, _start, newline - _start);
                _start = newline + 1;
                if (line.Span.Trim("\r "u8).IsEmpty)
                    continue;
                try
                {
                    return JsonDocument.Parse(line.ToArray());
                }
                catch (JsonException e)
                {
                    throw new QmpException(Path, $"sent something that is not JSON ({e.Message})");
                }
            }
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length)
            {
                // query-stats of a large VM (many vCPUs, histograms) is one long line.
                if (_buffer.Length >= MaxMessage)
                    throw new QmpException(Path, "sent a message longer than 16 MiB without an end");
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
            int n;
            try
            {
                n = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                throw greeting
                    ? new QmpException(Path,
                        $"did not greet within {Timeout.TotalSeconds:0} s: another client (libvirt?) probably holds it; QEMU serves one QMP client per socket",
                        "Give QEMU a second QMP socket for monitoring, e.g. -qmp unix:/run/qemu-mon.sock,server=on,wait=off.")
                    : new QmpException(Path, $"did not answer within {Timeout.TotalSeconds:0} s");
            }
            if (n == 0)
                throw new QmpException(Path, "closed the connection");
            _end += n;
        }
    }

    public void Dispose() => _socket.Dispose();
}
