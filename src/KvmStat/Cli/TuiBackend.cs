using KvmStat.Guests;
using KvmStat.Stats;
using KvmStat.Tui;

namespace KvmStat.Cli;

/// <summary>The screen's view of the tool: samplers from the session, guests from /proc.</summary>
internal sealed class TuiBackend(Session session) : ITuiBackend
{
    public Sampler OpenSampler(FieldSelection selection, int pid, bool perVm, bool latency)
    {
        WatchedVm? vm = pid > 0 ? new WatchedVm(pid, session.Guests.NameOf(pid) ?? "") : null;
        return session.Open(new SamplingPlan(selection, pid, perVm, BinaryFields: true, BinaryPerVm: false, Lenient: false, HoldWhenVmExits: true, latency,
            session.Options.Vcpus), vm);
    }

    public void Close(IDisposable opened) => session.Close(opened);

    public IReadOnlyList<GuestProcess> ListGuests() => session.Guests.ListGuests();

    public PidCheck CheckPid(int pid) => session.Guests.CheckPid(pid);

    public string? NameOf(int pid) => session.Guests.NameOf(pid);

    public IReadOnlyList<int> PidsNamed(string name) => session.Guests.PidsNamed(name);
}
