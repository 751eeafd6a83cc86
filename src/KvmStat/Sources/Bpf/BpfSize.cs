namespace KvmStat.Sources.Bpf;

/// <summary>The width of a memory access: the size bits of a load or store instruction.</summary>
internal enum BpfSize : byte
{
    Word = 0x00,
    Half = 0x08,
    Byte = 0x10,
    DoubleWord = 0x18,
}
