using System.Net;
using KvmStat.Exporter;
using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>
/// --serve: the metrics endpoint (see <see cref="MetricsServer"/>) until SIGTERM or SIGINT. SIGHUP,
/// the usual "reload" of Prometheus exporters, reads --web-config-file again (and otherwise does
/// nothing): it never ends the exporter, which a systemd unit restarts only after a failure.
/// </summary>
internal static class ServeMode
{
    internal static int Run(Session session, Reporter reporter)
    {
        IPEndPoint endpoint = ListenAddress.Parse(session.Options.ServeAddress);
        // Read before anything is counted: a mistake in it ends the tool before a port is opened.
        // Before SIGINT and SIGTERM are taken: a pipe (a FIFO) whose writer never comes holds the
        // read, and they must still end the tool then.
        WebConfig? config = session.Options.WebConfigFile is string file ? WebConfig.Load(file, session.Time) : null;
        // A SIGHUP from here on reloads; one before is held since start (Program) and needs
        // nothing more: a change to the files after they were read is seen by the reloader's look
        // at them each second.
        using var signals = new Signals(handleHangup: true);
        foreach (string note in config?.Notes ?? [])
            reporter.Warn($"--web-config-file: {note}.");
        using WebConfigReloader? reloader = config is null ? null : new WebConfigReloader(session.Options.WebConfigFile!, config, reporter.Warn, session.Time);
        // Before anything is counted: a port this user may not take, or one in use, ends the tool
        // with its cause before the sources say what they cannot read.
        TryListen(endpoint);
        Sampler sampler = session.OpenExporterSampler();
        string engine = sampler.EngineName switch { null => "", "BPF" => "bpf", _ => "perf" };
        using var metrics = new MetricsSampler(sampler, session.Selection.Filter, session.Time, sampler.FollowsVms,
            new ExporterIdentity(BuildVersion.Stamp, engine), reporter.Warn, session.GuestFilter);
        using var server = new MetricsServer(endpoint, metrics.Current, session.Time, reporter.Warn, reloader);
        try
        {
            server.Start();
        }
        // Kestrel says a port in use as an IOException, and an address not of this host, or a port
        // below 1024 without CAP_NET_BIND_SERVICE, as the socket's own error.
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            throw CannotListen(endpoint, e);
        }
        reporter.Verbose($"serving {(config?.UsesTls == true ? "https" : "http")}://{endpoint}/metrics{(config?.Users.Count > 0 ? " (basic authentication)" : "")}");
        reporter.Verbose("counting started");
        // Without sock_diag every client on this host is its address: a local user could take the
        // room (connections, password checks) that a scraper on this host needs, on any address.
        if (Host.TcpSocketOwner.Unavailable() is int errno and > 0)
        {
            reporter.Warn($"the local user behind each client on this host cannot be asked of the kernel (sock_diag: {Interop.Errno.Describe(errno)}): " +
                "every local user is one client over loopback, and the client of the address it comes from over the host's others. Allow netlink sockets (AF_NETLINK in the unit's RestrictAddressFamilies).");
        }
        session.SayWhetherVmsCanRun(reporter);
        while (true)
        {
            signals.ResetWake();
            if (signals.StopRequested)
                return 0;
            if (signals.TakeHangup())
            {
                // A reload says itself what is in force, or why the settings in force stay.
                if (reloader is not null)
                    reloader.Reload();
                else
                    reporter.Verbose("SIGHUP: no --web-config-file to reload");
                continue;
            }
            signals.Wait(Timeout.InfiniteTimeSpan);
        }
    }

    private static EnvironmentException CannotListen(IPEndPoint endpoint, Exception e)
    {
        string fix = e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AccessDenied }
            ? "Ports below 1024 need root or CAP_NET_BIND_SERVICE: choose another with --serve HOST:PORT."
            : "Choose an address of this host and a free port with --serve HOST:PORT.";
        return new EnvironmentException($"cannot listen on {endpoint}: {SocketError(e).TrimEnd('.')}.", fix);
    }

    /// <summary>
    /// Binds a socket to the endpoint and lets it go (as Kestrel binds: the address reusable, both
    /// families on *): a port refused, in use, or an address not of this host is said as Kestrel's
    /// would be. Any other refusal is left to Kestrel, which says it as it starts.
    /// </summary>
    private static void TryListen(IPEndPoint endpoint)
    {
        try
        {
            // Made inside: a host without IPv6 refuses the socket itself, which Kestrel says as it starts.
            using var socket = new System.Net.Sockets.Socket(endpoint.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            socket.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.ReuseAddress, true);
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
                socket.DualMode = true;
            socket.Bind(endpoint);
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode is System.Net.Sockets.SocketError.AccessDenied
            or System.Net.Sockets.SocketError.AddressAlreadyInUse or System.Net.Sockets.SocketError.AddressNotAvailable)
        {
            throw CannotListen(endpoint, e);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // Left to Kestrel.
        }
    }

    /// <summary>The socket's own words where Kestrel wraps them ("Failed to bind to address http://...: address already in use."): the address is said already.</summary>
    private static string SocketError(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Net.Sockets.SocketException socket)
                return socket.Message;
        }
        return e.Message;
    }
}
