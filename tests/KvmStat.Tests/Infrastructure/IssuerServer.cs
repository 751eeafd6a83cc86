using System.Net;
using System.Net.Sockets;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// An HTTP listener on loopback that stands for a CA's "where to fetch my issuer" URL: it counts
/// every connection made to it, so a test can show that nothing was fetched.
/// </summary>
internal sealed class IssuerServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Thread _thread;
    private int _requests;

    internal IssuerServer()
    {
        _listener.Start();
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/issuer.crt";
        _thread = new Thread(() =>
        {
            try
            {
                while (true)
                {
                    using TcpClient client = _listener.AcceptTcpClient();
                    Interlocked.Increment(ref _requests);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }) { IsBackground = true, Name = "issuer URL" };
        _thread.Start();
    }

    internal string Url { get; }

    /// <summary>Connections made to the URL so far.</summary>
    internal int Requests => Volatile.Read(ref _requests);

    public void Dispose()
    {
        _listener.Stop();
        _thread.Join(TimeSpan.FromSeconds(10));
    }
}
