using System.Globalization;
using System.Net;

namespace KvmStat.Exporter;

/// <summary>Where --serve listens: "PORT", "HOST:PORT", "[IPv6]:PORT"; HOST an address, "localhost", or "*" for all interfaces.</summary>
internal static class ListenAddress
{
    internal const string Default = "127.0.0.1:9576";

    /// <summary>The endpoint; the default is loopback only: all interfaces only when asked.</summary>
    internal static IPEndPoint Parse(string text)
    {
        string host = "127.0.0.1";
        string portText = text;
        int colon = text.LastIndexOf(':');
        if (colon >= 0)
        {
            host = text[..colon];
            portText = text[(colon + 1)..];
        }
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
            throw new UsageException($"\"{Text.EscapeControls(text)}\" is not a valid address to serve on: it is PORT, HOST:PORT or [IPv6]:PORT, and the port must be 1 to 65535.",
                $"For example --serve {Default}.");
        if (host.StartsWith('[') && host.EndsWith(']'))
            host = host[1..^1];
        IPAddress? address = host switch
        {
            "*" => IPAddress.IPv6Any,
            "localhost" => IPAddress.Loopback,
            _ => IPAddress.TryParse(host, out IPAddress? parsed) ? parsed : null,
        };
        return address is null
            ? throw new UsageException($"\"{Text.EscapeControls(text)}\" is not a valid address to serve on: \"{Text.EscapeControls(host)}\" is not an IP address.",
                "Give an address (127.0.0.1, ::1, 0.0.0.0, *) and a port, e.g. --serve 127.0.0.1:9576.")
            : new IPEndPoint(address, port);
    }
}
