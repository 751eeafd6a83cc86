using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Stats;
using KvmStat.Tui;

namespace KvmStat.Cli;

/// <summary>The screen's view of the tool: sources from the session's factory, guests from /proc.</summary>
internal sealed class TuiBackend(Session session) : ITuiBackend
{
    public Sampler OpenSampler(FieldSelection selection, int pid)
    {
        ITracepointEngine? engine = session.Options.UseTracepoints ? session.Factory.OpenEngine(selection, eachVm: false, pid) : null;
        StatsCollector host = session.Factory.Open(selection, pid, engine: engine);
        WatchedVm? vm = pid > 0 ? new WatchedVm(pid, session.Guests.NameOf(pid) ?? "") : null;
        return session.Own(new Sampler(host, guests: null, vm, session.Time, engine?.Capture));
    }

    public GuestStats OpenGuestStats(FieldSelection selection)
    {
        ITracepointEngine? engine = session.Options.UseTracepoints ? session.Factory.OpenEngine(selection, eachVm: true, pid: 0) : null;
        return session.Own(new GuestStats(session.Factory.OpenPerVm(selection, engine: engine), session.Guests.NameOf, session.Time, engine?.Capture));
    }

    public void Close(IDisposable opened) => session.Close(opened);

    public IReadOnlyList<GuestProcess> ListGuests() => session.Guests.ListGuests();

    public bool IsRunning(int pid) => session.Guests.IsRunning(pid);

    public bool? HoldsVm(int pid) => session.Guests.HoldsVm(pid);

    public string? NameOf(int pid) => session.Guests.NameOf(pid);

    public IReadOnlyList<int> PidsNamed(string name) => session.Guests.PidsNamed(name);
}
