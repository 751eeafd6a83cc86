using KvmStat.Guests;
using KvmStat.Stats;
using KvmStat.Tui;

namespace KvmStat.Tests.Infrastructure;

/// <summary>The screen's backend over samplers of a synthetic BPF engine (the engine stays the fixture's to close).</summary>
internal sealed class SyntheticScreenBackend(SyntheticEngine engine, Func<int, string?> nameOf) : ITuiBackend
{
    public Sampler OpenSampler(FieldSelection selection, int pid, bool perVm, bool latency) => Open(engine, nameOf, perVm);

    /// <summary>A sampler as the tool builds one over the engine: the host's fields, and each VM's with <paramref name="perVm"/>.</summary>
    internal static Sampler Open(SyntheticEngine engine, Func<int, string?> nameOf, bool perVm) =>
        Samplers.Of(TimeProvider.System, [engine.Engine.OpenHost(0)], perVm ? engine.Engine.OpenPerVm() : null, nameOf: nameOf,
            capture: engine.Counters);

    public void Close(IDisposable opened)
    {
    }

    public IReadOnlyList<GuestProcess> ListGuests() => [];

    public PidCheck CheckPid(int pid) => new(PidVerdict.Vm, pid);

    public string? NameOf(int pid) => nameOf(pid);

    public IReadOnlyList<int> PidsNamed(string name) => [];
}
