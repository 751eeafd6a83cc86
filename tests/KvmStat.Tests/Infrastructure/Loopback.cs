using System.Net;
using System.Net.Sockets;

namespace KvmStat.Tests.Infrastructure;

internal static class Loopback
{
    /// <summary>A TCP port on 127.0.0.1 that is free right now.</summary>
    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static HttpClient Client() => new() { Timeout = TimeSpan.FromSeconds(10) };
}
