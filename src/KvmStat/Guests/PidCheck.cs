namespace KvmStat.Guests;

/// <summary>What <see cref="GuestFinder.CheckPid"/> found: the verdict, and for a thread the pid of its process.</summary>
internal readonly record struct PidCheck(PidVerdict Verdict, int Process);
