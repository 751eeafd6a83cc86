namespace KvmStat.Guests;

/// <summary>A running guest: the VM process and its name (untrusted text from another user's command line).</summary>
internal sealed record GuestProcess(int Pid, string Name);
