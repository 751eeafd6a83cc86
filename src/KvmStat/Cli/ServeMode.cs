using System.Net;
using KvmStat.Exporter;

namespace KvmStat.Cli;

/// <summary>--serve: the metrics endpoint (see <see cref="MetricsServer"/>) until SIGTERM, SIGINT or SIGHUP.</summary>
internal static class ServeMode
{
    internal static int Run(Session session, Reporter reporter)
    {
        IPEndPoint endpoint = ListenAddress.Parse(session.Options.ServeAddress);
        MetricsSampler sampler = session.OpenMetricsSampler();
        using var server = new MetricsServer(endpoint, sampler);
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
        while (true)
        {
            signals.ResetWake();
            if (signals.StopRequested)
                return 0;
            signals.Wait(Timeout.InfiniteTimeSpan);
        }
    }
}
