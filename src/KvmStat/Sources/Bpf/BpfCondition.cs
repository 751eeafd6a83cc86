namespace KvmStat.Sources.Bpf;

/// <summary>The comparisons of conditional jumps, all unsigned (the engine compares pids, indices and reasons).</summary>
internal enum BpfCondition : byte
{
    Equal = 0x10,
    Greater = 0x20,
    GreaterOrEqual = 0x30,
    NotEqual = 0x50,
    Less = 0xa0,
    LessOrEqual = 0xb0,
}
