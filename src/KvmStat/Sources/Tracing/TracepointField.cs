namespace KvmStat.Sources.Tracing;

/// <summary>
/// A countable tracepoint field: a whole tracepoint (<c>kvm_pio</c>), or a child that counts
/// only the events whose reason matches a kernel-side filter (<c>kvm_userspace_exit(IO)</c>).
/// </summary>
internal sealed record TracepointField(string Name, string Tracepoint, string? Filter, string? Parent)
{
    internal bool IsChild => Parent is not null;
}
