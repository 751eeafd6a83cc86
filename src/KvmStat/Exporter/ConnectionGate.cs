using System.Net;
using System.Net.Sockets;
using KvmStat.Host;
using Microsoft.AspNetCore.Connections;

namespace KvmStat.Exporter;

/// <summary>
/// Keeps one client from occupying the server. Connections are counted per client (an IPv4
/// address, or an IPv6 /64, which one host usually has whole): a client past its share loses its
/// own oldest connection; when the server is full, the client holding the most loses its oldest,
/// and among clients that hold as many, the one whose oldest connection is the oldest (never the
/// client that is let in). So a new connection is always let in, a client that opens connections
/// by the thousand, idle or sending half a request, only ever pushes out its own, and a flood from
/// many addresses of one connection each pushes out its own older connections before a scraper's
/// newer one. It runs before TLS, so unfinished handshakes count too.
/// </summary>
/// <param name="localUsers">A client on this host is its local user (false in tests that play many clients from one process).</param>
internal sealed class ConnectionGate(int perClient, int total, bool localUsers = true)
{
    private readonly object _lock = new();
    private readonly Dictionary<UInt128, LinkedList<(ConnectionContext Connection, long Admitted)>> _clients = [];
    private int _open;
    private long _admitted;

    /// <summary>Connections open now (for tests).</summary>
    internal int Open
    {
        get
        {
            lock (_lock)
                return _open;
        }
    }

    /// <summary>The share of each client and the whole, from the open-file limit (each connection is a descriptor).</summary>
    internal static ConnectionGate ForThisProcess(bool localUsers = true)
    {
        ulong limit = Interop.Libc.GetRLimit(Interop.Abi.RLIMIT_NOFILE, out Interop.Libc.RLimit rlimit) == 0 ? rlimit.Current : 1024;
        // Half the descriptors left for connections: the rest are counters, files and the runtime's.
        int total = (int)Math.Clamp((long)Math.Min(limit, int.MaxValue) / 2, 64, 1024);
        return new ConnectionGate(perClient: Math.Min(32, total / 4), total, localUsers);
    }

    internal Func<ConnectionDelegate, ConnectionDelegate> Middleware => next => async connection =>
    {
        UInt128 client = ClientOf(connection.RemoteEndPoint, connection.LocalEndPoint);
        LinkedListNode<(ConnectionContext, long)> node;
        ConnectionContext? evicted;
        lock (_lock)
        {
            if (!_clients.TryGetValue(client, out LinkedList<(ConnectionContext Connection, long Admitted)>? own))
                _clients[client] = own = new LinkedList<(ConnectionContext, long)>();
            evicted = own.Count >= perClient ? Remove(client, own) : _open >= total ? Remove(Largest(client)) : null;
            node = own.AddLast((connection, ++_admitted));
            _clients[client] = own; // again: taking its oldest may have emptied and dropped it
            _open++;
        }
        evicted?.Abort(new ConnectionAbortedException("another connection needed the room"));
        try
        {
            await next(connection);
        }
        finally
        {
            lock (_lock)
            {
                if (node.List is LinkedList<(ConnectionContext, long)> list)
                {
                    list.Remove(node);
                    _open--;
                    if (list.Count == 0)
                        _clients.Remove(client);
                }
            }
        }
    };

    /// <summary>The client holding the most connections, the one holding its oldest first among equals; never <paramref name="newcomer"/>.</summary>
    private (UInt128, LinkedList<(ConnectionContext Connection, long Admitted)>) Largest(UInt128 newcomer)
    {
        KeyValuePair<UInt128, LinkedList<(ConnectionContext Connection, long Admitted)>> largest = default;
        foreach (KeyValuePair<UInt128, LinkedList<(ConnectionContext Connection, long Admitted)>> entry in _clients)
        {
            if (entry.Key == newcomer || entry.Value.First is null)
                continue;
            if (largest.Value is null || entry.Value.Count > largest.Value.Count
                || (entry.Value.Count == largest.Value.Count && entry.Value.First.Value.Admitted < largest.Value.First!.Value.Admitted))
                largest = entry;
        }
        return (largest.Key, largest.Value);
    }

    private ConnectionContext? Remove((UInt128 Client, LinkedList<(ConnectionContext Connection, long Admitted)>? List) holder) =>
        holder.List is null ? null : Remove(holder.Client, holder.List);

    /// <summary>Takes a client's oldest connection off the books; the caller aborts it.</summary>
    private ConnectionContext? Remove(UInt128 client, LinkedList<(ConnectionContext Connection, long Admitted)> list)
    {
        if (list.First is not { } oldest)
            return null;
        list.RemoveFirst();
        _open--;
        if (list.Count == 0)
            _clients.Remove(client);
        return oldest.Value.Connection;
    }

    /// <summary>
    /// A client of this host is its local user (the owner of its socket, asked of the kernel with
    /// <paramref name="local"/>, the server's end), whatever address it comes from: any user may
    /// connect from each of the 16 million addresses of 127.0.0.0/8, from each of the host's own
    /// addresses (where a local scraper that names the host by its address comes from too), and
    /// with IP_FREEBIND from an address it does not have (a remote scraper's). A client of another
    /// host is its IPv4 address (also when mapped into IPv6), or the /64 of its IPv6 address (a
    /// link-local one, all in fe80::/64, its interface identifier). A
    /// loopback client the kernel cannot name (its socket closed and orphaned, or gone) is one
    /// client with all such; unix sockets are one client.
    /// </summary>
    internal UInt128 ClientOf(EndPoint? endpoint, EndPoint? local) => Client(endpoint, localUsers ? local : null);

    /// <param name="owner">Who owns the client's socket on this host (<see cref="TcpSocketOwner.Of"/>; tests play other hosts).</param>
    internal static UInt128 Client(EndPoint? endpoint, EndPoint? local = null, Func<IPEndPoint, IPEndPoint, uint?>? owner = null)
    {
        if (endpoint is not IPEndPoint { Address: IPAddress address } remote)
            return 0;
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (local is IPEndPoint { Address: IPAddress own } server)
        {
            // An IPv4 client of a server on every address is an IPv4 socket: asked of as one.
            if (own.IsIPv4MappedToIPv6)
                server = new IPEndPoint(own.MapToIPv4(), server.Port);
            if ((owner ?? TcpSocketOwner.Of)(new IPEndPoint(address, remote.Port), server) is uint user)
                return ((UInt128)3 << 64) | user;
            if (IPAddress.IsLoopback(address))
                return (UInt128)4 << 64;
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        if (address.AddressFamily == AddressFamily.InterNetwork)
            return ((UInt128)1 << 64) | System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes);
        // Every link-local address is in fe80::/64, whatever host and link: by its own interface identifier.
        if (address.IsIPv6LinkLocal)
            return ((UInt128)5 << 64) | System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[8..written]);
        return ((UInt128)2 << 64) | System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[..written]);
    }
}
