namespace KvmStat.Output;

/// <summary>The reader of standard output went away (kvm_stat -l | head): end quietly.</summary>
internal sealed class OutputClosedException() : Exception("standard output was closed");
