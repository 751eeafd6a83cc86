using System.Globalization;
using System.Net;
using System.Net.Sockets;
using KvmStat.Guests;
using KvmStat.Output.Metrics;
using KvmStat.Sources.BinaryStats;
using KvmStat.Sources.Tracing;
using KvmStat.Stats;
using KvmStat.Host;

namespace KvmStat.Cli;

/// <summary>--serve: the metrics endpoint (see <see cref="MetricsServer"/>) until SIGTERM or SIGINT.</summary>
internal static class ExporterMode
{
    internal const int DefaultPort = 9576;
    internal const string DefaultAddress = "127.0.0.1:9576";

    internal static int Run(Options options, HostPaths paths, Reporter reporter)
    {
        IPEndPoint endpoint = ParseAddress(options.Serve ?? DefaultAddress);
        var guests = new GuestFinder(paths);
        (int pid, _) = Session.ResolveVm(options, guests);
        var factory = new SourceFactory(options, paths, reporter);
        FieldFilter filter = FieldFilter.Create(options.Fields);
        // Exit reasons are worth exporting even when the screen's default would hide them.
        var selection = new FieldSelection(filter.IsDefault ? FieldFilter.All : filter, Children: true);

        StatsCollector? host = options.UseTracepoints || options.Debugfs
            ? factory.Open(selection, pid, binary: false)
            : null;
        GuestStats? perGuest = options.UseTracepoints && pid == 0
            ? new GuestStats(factory.OpenPerVm(selection), guests.NameOf)
            : null;
        IVmStatsReader? binary = factory.OpenBinaryReader(pid);
        using var collector = new MetricsCollector(host, perGuest, binary, filter.IsDefault ? FieldFilter.All : filter, guests.NameOf);

        using var server = new MetricsServer(endpoint, collector);
        try
        {
            server.Start();
        }
        catch (IOException e)
        {
            throw new EnvironmentException($"cannot listen on {endpoint}: {e.Message}", "Choose another address with --serve HOST:PORT.");
        }
        reporter.Verbose($"serving http://{endpoint}/metrics");
        reporter.Verbose("counting started");
        using var signals = new Signals(handleHangup: false);
        while (!signals.StopRequested)
        {
            signals.ResetWake();
            if (signals.StopRequested)
                break;
            signals.WaitUntil(long.MaxValue);
        }
        CounterRelease.StopClosing();
        return 0;
    }

    /// <summary>
    /// "PORT", "HOST:PORT", "[IPv6]:PORT"; HOST is an address, "localhost", or "*" for all interfaces.
    /// The default is loopback only: all interfaces only when asked.
    /// </summary>
    internal static IPEndPoint ParseAddress(string text)
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
            throw new UsageException($"\"{text}\" is not a valid address to serve on: the port must be 1 to 65535.", $"For example --serve {DefaultAddress}.");
        if (host.StartsWith('[') && host.EndsWith(']'))
            host = host[1..^1];
        IPAddress? address = host switch
        {
            "*" => IPAddress.IPv6Any,
            "localhost" => IPAddress.Loopback,
            _ => IPAddress.TryParse(host, out IPAddress? parsed) ? parsed : null,
        };
        return address is null
            ? throw new UsageException($"\"{host}\" is not an IP address to serve on.", "Give an address (127.0.0.1, ::1, 0.0.0.0, *) and a port, e.g. --serve 127.0.0.1:9576.")
            : new IPEndPoint(address, port);
    }
}
