namespace KvmStat.Sources;

/// <summary>
/// A reading that several sources share (the BPF engine's maps: the host's fields and each VM's
/// come from one reading, so that they add up exactly). The sampler takes it once per sample,
/// before any of those sources reads.
/// </summary>
internal interface ICapture
{
    void Capture();
}
