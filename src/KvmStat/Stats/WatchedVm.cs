namespace KvmStat.Stats;

/// <summary>The one VM a run watches (-p or -g): its process and guest name (untrusted text, "" without -name).</summary>
internal sealed record WatchedVm(int Pid, string Name);
