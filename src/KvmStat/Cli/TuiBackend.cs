using KvmStat.Guests;
using KvmStat.Stats;
using KvmStat.Tui;

namespace KvmStat.Cli;

/// <summary>The screen's view of the tool: sources from the factory, guests from /proc.</summary>
internal sealed class TuiBackend(SourceFactory factory, GuestFinder guests) : ITuiBackend
{
    public StatsCollector OpenStats(FieldSelection selection, int pid) => factory.Open(selection, pid);

    public GuestStats OpenGuestStats(FieldSelection selection) => new(factory.OpenPerVm(selection), guests.NameOf);

    public IReadOnlyList<GuestProcess> ListGuests() => guests.ListGuests();

    public bool IsRunning(int pid) => guests.IsRunning(pid);

    public bool? HoldsVm(int pid) => guests.HoldsVm(pid);

    public string? NameOf(int pid) => guests.NameOf(pid);

    public IReadOnlyList<int> PidsNamed(string name) => guests.PidsNamed(name);
}
