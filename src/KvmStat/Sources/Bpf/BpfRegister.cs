namespace KvmStat.Sources.Bpf;

/// <summary>
/// The eBPF machine's registers: R0 holds results and the return value, R1–R5 a call's arguments
/// (clobbered by calls), R6–R9 survive calls, R10 is the read-only frame pointer.
/// </summary>
internal enum BpfRegister : byte
{
    R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10,
}
