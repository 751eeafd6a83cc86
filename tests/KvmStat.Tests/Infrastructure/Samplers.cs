using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;
using KvmStat.Stats;

namespace KvmStat.Tests.Infrastructure;

/// <summary>Samplers over sources a test controls, as Cli.SourceFactory builds them over real ones.</summary>
internal static class Samplers
{
    internal static Sampler Of(TimeProvider time, IStatsSource[] host, IPerVmSource? perVm = null, WatchedVm? vm = null,
        Func<int, string?>? nameOf = null, Func<int, bool>? isRunning = null, IVmStatsReader? binary = null, ITracepointEngine? engine = null, ICapture? capture = null, ExitLatencies? latencies = null,
        KvmStat.Guests.GuestFinder? finder = null)
    {
        var sources = new SamplingSources { PerVm = perVm, Engine = engine, Latencies = latencies };
        if ((capture ?? engine?.Capture) is ICapture taken)
            sources.Captures.Add(taken);
        if (binary is not null)
        {
            sources.Binary = new BinaryStatsCapture(binary);
            sources.Captures.Add(sources.Binary);
        }
        sources.Host.AddRange(host);
        return new Sampler(sources, vm, nameOf ?? (_ => null), time, isRunning, finder: finder);
    }
}
