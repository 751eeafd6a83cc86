using System.Net;
using System.Net.Sockets;
using KvmStat.Exporter;
using KvmStat.Host;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Host;

/// <summary>Who a loopback client of the exporter is: the local user that owns its socket, from any of 127.0.0.0/8.</summary>
public class TcpSocketOwnerTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    /// <summary>sock_diag can be asked here (the exporter warns at start where it cannot).</summary>
    [Fact]
    public void SockDiagIsAvailableHere() => Assert.Equal(0, TcpSocketOwner.Unavailable());

    /// <summary>This process's own connections, from two loopback addresses: one user, one client; an address not connected, no owner.</summary>
    [Fact]
    public void ALoopbackClientIsItsUserWhateverItsAddress()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = (IPEndPoint)listener.LocalEndpoint;
        using var first = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var second = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        first.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.7"), 0));
        second.Bind(new IPEndPoint(IPAddress.Parse("127.3.2.1"), 0));
        first.Connect(server);
        second.Connect(server);
        uint self = KvmStat.Interop.Libc.GetEUid();
        Assert.Equal(self, TcpSocketOwner.Of((IPEndPoint)first.LocalEndPoint!, server));
        Assert.Equal(self, TcpSocketOwner.Of((IPEndPoint)second.LocalEndPoint!, server));
        Assert.Equal(ConnectionGate.Client(first.LocalEndPoint, server), ConnectionGate.Client(second.LocalEndPoint, server));
        Assert.Null(TcpSocketOwner.Of(new IPEndPoint(IPAddress.Parse("127.0.0.9"), 1), server));
        // Without the server's end, or from another host, the address is the client, as before.
        Assert.NotEqual(ConnectionGate.Client(first.LocalEndPoint), ConnectionGate.Client(second.LocalEndPoint));
        // A gate told to (tests that play many clients) takes each address as a client.
        Assert.NotEqual(new ConnectionGate(4, 32, localUsers: false).ClientOf(first.LocalEndPoint, server),
            new ConnectionGate(4, 32, localUsers: false).ClientOf(second.LocalEndPoint, server));
        Assert.Equal(new ConnectionGate(4, 32).ClientOf(first.LocalEndPoint, server), new ConnectionGate(4, 32).ClientOf(second.LocalEndPoint, server));
        Assert.NotEqual(ConnectionGate.Client(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 5), server),
            ConnectionGate.Client(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 5), server));
    }

    /// <summary>
    /// A client on this host is its user from any address: one of the host's own (a local scraper
    /// that names the host, among local users connecting there) or one taken with IP_FREEBIND; a
    /// client of another host is its address, an IPv6 one its /64. Here the owner is played (tests
    /// connect over loopback only); the real answer for loopback is above.
    /// </summary>
    [Fact]
    public void AClientOnThisHostIsItsUserFromAnyAddress()
    {
        var server = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 9576);
        var peer = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 40000);
        Assert.Equal(((UInt128)3 << 64) | 65534, ConnectionGate.Client(peer, server, (_, _) => 65534));
        Assert.Equal(((UInt128)3 << 64) | 0, ConnectionGate.Client(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 40001), server, (_, _) => 0));
        UInt128 remote = ConnectionGate.Client(peer, server, (_, _) => null);
        Assert.Equal(((UInt128)1 << 64) | 0x0A000001, remote);
        var server6 = new IPEndPoint(IPAddress.Parse("fd99::1"), 9576);
        Assert.Equal(((UInt128)3 << 64) | 65534, ConnectionGate.Client(new IPEndPoint(IPAddress.Parse("fd99::5"), 40000), server6, (_, _) => 65534));
        Assert.Equal(ConnectionGate.Client(new IPEndPoint(IPAddress.Parse("fd99::5"), 1), server6, (_, _) => null),
            ConnectionGate.Client(new IPEndPoint(IPAddress.Parse("fd99::6"), 2), server6, (_, _) => null));
        // Every link-local address is in fe80::/64: there each is a client of its own.
        Assert.NotEqual(ConnectionGate.Client(new IPEndPoint(IPAddress.Parse("fe80::5%1"), 1), server6, (_, _) => null),
            ConnectionGate.Client(new IPEndPoint(IPAddress.Parse("fe80::6%1"), 2), server6, (_, _) => null));
    }

    /// <summary>
    /// A dual-stack client (an IPv6 socket connected to an IPv4 address, as .NET's and Java's
    /// clients open them) is its user too: the kernel finds it for the IPv4 question and names it
    /// with IPv4-mapped addresses.
    /// </summary>
    [Fact]
    public void ADualStackClientIsItsUser()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        Assert.True(client.DualMode);
        client.Connect(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port));
        using Socket accepted = listener.AcceptSocket();
        Assert.Equal(((UInt128)3 << 64) | KvmStat.Interop.Libc.GetEUid(), ConnectionGate.Client(accepted.RemoteEndPoint, accepted.LocalEndPoint));
    }

    /// <summary>
    /// The kernel's exact lookup falls back to a listening socket on the client's port: a client
    /// of another host whose source port a local user listens on (any port from 1024 needs no
    /// privilege) is not that user, nor is a loopback client whose socket is gone.
    /// </summary>
    [Fact]
    public void AListenerOnTheClientsPortIsNotItsOwner()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = (IPEndPoint)listener.LocalEndpoint;
        using var squatter = new TcpListener(IPAddress.Any, 0);
        squatter.Start();
        int port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        Assert.Null(TcpSocketOwner.Of(new IPEndPoint(IPAddress.Parse("127.0.0.9"), port), server));
        Assert.Null(TcpSocketOwner.Of(new IPEndPoint(IPAddress.Parse("192.0.2.1"), port), server));
        Assert.Equal(((UInt128)1 << 64) | 0xC0000201, ConnectionGate.Client(new IPEndPoint(IPAddress.Parse("192.0.2.1"), port), server));
    }

    /// <summary>Another user's connection is that user's: nobody from any loopback address is one client, apart from root.</summary>
    [Fact]
    public void AnotherUsersConnectionIsThatUsers()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to connect as nobody");
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = (IPEndPoint)listener.LocalEndpoint;
        string script = $"import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.44',0))\ns.connect(('127.0.0.1',{server.Port}))\nprint('ready',flush=True)\nsys.stdin.read()\n";
        using ChildProcess nobody = ChildProcess.Start("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c", script]);
        nobody.Output.WaitForLine(l => l == "ready", s_timeout, "nobody connected");
        using Socket accepted = listener.AcceptSocket();
        var client = (IPEndPoint)accepted.RemoteEndPoint!;
        Assert.Equal(IPAddress.Parse("127.0.0.44"), client.Address);
        Assert.Equal(65534u, TcpSocketOwner.Of(client, server));
        Assert.Equal(((UInt128)3 << 64) | 65534, ConnectionGate.Client(client, server));
    }

    /// <summary>
    /// A server on every address sees an IPv4 client as an IPv4-mapped address: it is still its user.
    /// A client whose socket its process closed (orphaned, owned by no one the kernel names) is one
    /// client with every such, never root.
    /// </summary>
    [Fact]
    public void MappedAndClosedLoopbackClients()
    {
        using var listener = new TcpListener(IPAddress.IPv6Any, 0);
        listener.Server.DualMode = true;
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.8"), 0));
        client.Connect(new IPEndPoint(IPAddress.Loopback, port));
        using Socket accepted = listener.AcceptSocket();
        Assert.True(((IPEndPoint)accepted.RemoteEndPoint!).Address.IsIPv4MappedToIPv6);
        UInt128 user = ((UInt128)3 << 64) | KvmStat.Interop.Libc.GetEUid();
        Assert.Equal(user, ConnectionGate.Client(accepted.RemoteEndPoint, accepted.LocalEndPoint));

        // Closed by its process while the server holds its end: orphaned, in FIN_WAIT2.
        EndPoint closedRemote = accepted.RemoteEndPoint!;
        client.Close();
        UInt128 unnamed = (UInt128)4 << 64;
        Assert.Equal(unnamed, ConnectionGate.Client(closedRemote, accepted.LocalEndPoint));
    }
}
