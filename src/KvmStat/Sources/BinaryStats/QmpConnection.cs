using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// One short QMP session with QEMU over its unix socket: the greeting, the capabilities
/// handshake, then commands. A QMP socket serves one client at a time, so a connection lives
/// for one round of queries and is closed at once: the VM's manager is never locked out.
/// Each exchange (connecting, the greeting, each command) has a deadline of its own, and all of
/// them the caller's: a peer that stays silent, or trickles a byte at a time, costs no more.
/// </summary>
internal sealed class QmpConnection : IDisposable
{
    /// <summary>The longest one exchange may take.</summary>
    internal static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private readonly Socket _socket;
    private readonly TimeProvider _time;
    private readonly long _overallDeadline;
    private const int MaxMessage = 16 << 20;

    /// <summary>The values (numbers, strings, literals) one message may hold: twice what a VM's statistics may (<see cref="QmpReader.MaxValuesPerVm"/>), names and all.</summary>
    internal const int MaxValues = 2 * QmpReader.MaxValuesPerVm;
    private byte[] _buffer = new byte[65536];
    private int _start;
    private int _end;
    private long _deadline;
    private TimeSpan _allowed;

    private QmpConnection(string path, Socket socket, TimeProvider time, long overallDeadline)
    {
        Path = path;
        _socket = socket;
        _time = time;
        _overallDeadline = overallDeadline;
    }

    internal string Path { get; }

    /// <summary>QEMU's version from the greeting.</summary>
    internal Version Version { get; private set; } = new(0, 0, 0);

    /// <summary>The QEMU process on the other end (SO_PEERCRED), or 0 if unknown.</summary>
    internal int PeerPid { get; private set; }

    /// <summary>Connects, reads the greeting and negotiates capabilities; plain errors for every failure.</summary>
    /// <param name="expectedPeer">The QEMU process that must be on the other end (found by --qmp auto), or 0 for a path the user named.</param>
    /// <param name="deadline">A timestamp of <paramref name="time"/> no exchange may go past (the refresh's), or null.</param>
    /// <param name="via">Where to connect when not at <paramref name="path"/> itself (the QEMU's own root, see <see cref="QmpSocketDiscovery.Reach"/>); messages name the path.</param>
    internal static QmpConnection Open(string path, TimeProvider time, int expectedPeer = 0, long? deadline = null, string? via = null)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var connection = new QmpConnection(path, socket, time, deadline ?? long.MaxValue);
        try
        {
            // A unix connect waits for room in a full backlog for up to the send timeout.
            connection.BeginExchange();
            socket.SendTimeout = connection.RemainingMilliseconds() is > 0 and int ms ? ms : throw connection.TimedOut("could not be connected to");
            socket.Connect(new UnixDomainSocketEndPoint(via ?? path));
            connection.PeerPid = PeerPidOf(socket);
            // Checked before a byte is read or written: a socket of some other process is left alone.
            if (expectedPeer > 0 && connection.PeerPid != expectedPeer)
                throw new QmpException(path, $"is served by process {connection.PeerPid}, not by QEMU process {expectedPeer} that names it: not used");
            connection.BeginExchange();
            using (JsonDocument greeting = connection.ReadMessage(greeting: true))
            {
                if (!QmpStats.TryGetProperty(greeting.RootElement, "QMP", out JsonElement qmp))
                    throw new QmpException(path, "did not greet as a QMP monitor", "Is it a QMP socket (-qmp, or -mon mode=control)?");
                if (QmpStats.TryGetProperty(qmp, "version", out JsonElement version) && QmpStats.TryGetProperty(version, "qemu", out JsonElement qemu))
                    connection.Version = new Version(Part(qemu, "major"), Part(qemu, "minor"), Part(qemu, "micro"));
            }
            connection.Execute("qmp_capabilities").Dispose();
            return connection;
        }
        catch (SocketException e)
        {
            connection.Dispose();
            // .NET reports a missing path and a socket nobody listens on alike: look at the path itself.
            if (!EntryExists(via ?? path))
                throw new QmpException(path, "does not exist", "Check the path in QEMU's -qmp unix:PATH,server=on,wait=off option.");
            int type = Interop.Libc.PathType(via ?? path, followLink: true);
            if (type >= 0 && type != Interop.Abi.S_IFSOCK)
                throw new QmpException(path, "is not a socket", "Give --qmp the socket of QEMU's -qmp unix:PATH,server=on,wait=off option.");
            throw e.SocketErrorCode switch
            {
                SocketError.AccessDenied => new QmpException(path, "cannot be opened: permission denied", "Run kvm_stat as root, or give it CAP_DAC_OVERRIDE to reach other users' sockets."),
                SocketError.TimedOut or SocketError.WouldBlock => new QmpException(path,
                    $"could not be connected to within {connection.Allowed}: another client (libvirt?) probably holds it; QEMU serves one QMP client per socket",
                    "Give QEMU a second QMP socket for monitoring, e.g. -qmp unix:/run/qemu-mon.sock,server=on,wait=off."),
                _ => new QmpException(path, "refuses connections: no QEMU listens on it (has it exited?)"),
            };
        }
        catch (ObjectDisposedException)
        {
            connection.Dispose();
            throw new QmpException(path, "closed the connection");
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
        // An O_PATH descriptor holds nothing to flush: its close cannot lose data.
        _ = Interop.Libc.Close(fd);
        return true;
    }

    /// <summary>A part of QEMU's version (0 when missing or out of range: System.Version takes no negative part).</summary>
    private static int Part(JsonElement element, string name) => Math.Max(0, QmpStats.Int(element, name, 0));

    private static int PeerPidOf(Socket socket)
    {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: the pid comes first.
        Span<byte> credentials = stackalloc byte[Interop.Abi.UcredSize];
        try
        {
            return socket.GetRawSocketOption(Interop.Abi.SOL_SOCKET, Interop.Abi.SO_PEERCRED, credentials) >= 4 ? MemoryMarshal.Read<int>(credentials) : 0;
        }
        catch (SocketException)
        {
            // No peer to ask (the socket closed meanwhile): 0 is no process, and the caller refuses it.
            return 0;
        }
    }

    /// <summary>A new exchange: its deadline is <see cref="Timeout"/> from now, or the caller's if that comes first.</summary>
    private void BeginExchange()
    {
        long now = _time.GetTimestamp();
        long own = now + (long)(Timeout.TotalSeconds * _time.TimestampFrequency);
        _deadline = Math.Min(own, _overallDeadline);
        _allowed = _time.GetElapsedTime(now, Math.Max(now, _deadline));
    }

    /// <summary>Milliseconds left in this exchange (at least 1 while any is left), or 0 once it is over.</summary>
    private int RemainingMilliseconds()
    {
        long now = _time.GetTimestamp();
        if (now >= _deadline)
            return 0;
        return (int)Math.Clamp(Math.Ceiling(_time.GetElapsedTime(now, _deadline).TotalMilliseconds), 1, int.MaxValue);
    }

    private string Allowed => _allowed.TotalSeconds >= 1
        ? $"{_allowed.TotalSeconds.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)} s"
        : $"{Math.Round(_allowed.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture)} ms";

    private QmpException TimedOut(string what) => new(Path, $"{what} within {Allowed}");

    /// <summary>Runs a command and returns its "return" value's document; a QMP error becomes a <see cref="QmpException"/>.</summary>
    internal JsonDocument Execute(string command, string? argumentsJson = null)
    {
        string request = argumentsJson is null
            ? $"{{\"execute\":\"{command}\"}}\r\n"
            : $"{{\"execute\":\"{command}\",\"arguments\":{argumentsJson}}}\r\n";
        BeginExchange();
        _socket.SendTimeout = RemainingMilliseconds() is > 0 and int ms ? ms : throw TimedOut($"did not take {command}");
        try
        {
            _socket.Send(Encoding.UTF8.GetBytes(request));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            throw TimedOut($"did not take {command}");
        }
        catch (SocketException)
        {
            throw new QmpException(Path, "closed the connection");
        }
        while (true)
        {
            JsonDocument message = ReadMessage(greeting: false);
            JsonElement root = message.RootElement;
            if (QmpStats.TryGetProperty(root, "return", out _))
                return message;
            if (QmpStats.TryGetProperty(root, "error", out JsonElement error))
            {
                string cls = QmpStats.String(error, "class") ?? "";
                string desc = QmpStats.String(error, "desc") ?? "";
                message.Dispose();
                throw new QmpException(Path, $"answered {command} with {cls}: {desc}") { ErrorClass = cls };
            }
            // An asynchronous event: not the answer.
            message.Dispose();
        }
    }

    /// <summary>The scalar values of a JSON text, read without building anything; a text that is no JSON throws <see cref="JsonException"/>.</summary>
    private static int CountValues(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        int values = 0;
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.EndObject or JsonTokenType.StartArray or JsonTokenType.EndArray or JsonTokenType.PropertyName))
                values++;
        }
        return values;
    }

    private JsonDocument Parse(ReadOnlyMemory<byte> line)
    {
        try
        {
            // Counted before the document is built (some 12 bytes a value, and a copy of the
            // message): a peer's 8 million buckets of a statistic no schema names cost a look, not a gigabyte.
            if (CountValues(line.Span) > MaxValues)
                throw new QmpException(Path, $"sent a message of more than {MaxValues} values");
            return JsonDocument.Parse(line.ToArray());
        }
        catch (JsonException e)
        {
            throw new QmpException(Path, $"sent something that is not JSON ({e.Message})");
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
                return Parse(line);
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
                // The deadline is the exchange's, not each receive's: a trickle of bytes does not extend it.
                int left = RemainingMilliseconds();
                if (left == 0)
                    throw new SocketException((int)SocketError.TimedOut);
                _socket.ReceiveTimeout = left;
                n = _socket.Receive(_buffer, _end, _buffer.Length - _end, SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                throw greeting
                    ? new QmpException(Path,
                        $"did not greet within {Allowed}: another client (libvirt?) probably holds it; QEMU serves one QMP client per socket",
                        "Give QEMU a second QMP socket for monitoring, e.g. -qmp unix:/run/qemu-mon.sock,server=on,wait=off.")
                    : TimedOut("did not answer");
            }
            catch (SocketException)
            {
                throw new QmpException(Path, "closed the connection");
            }
            if (n == 0)
                throw new QmpException(Path, "closed the connection");
            _end += n;
        }
    }

    public void Dispose() => _socket.Dispose();
}
