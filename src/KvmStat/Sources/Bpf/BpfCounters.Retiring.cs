using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Bpf;

/// <summary>How a process gives its slot back: retired at one capture, its last events read and its slot freed at the next.</summary>
internal sealed partial class BpfCounters
{
    /// <summary>A process that is done with its slot: no event finds the slot from now on; its row is read once more at the next capture.</summary>
    private void Retire(BpfProcess process)
    {
        // Also a process found gone: no exit program took its entry when its last thread exited.
        _table.Unassign(process.Tgid, process.Slot);
        process.Retiring = true;
        _retiring.Add(process);
    }

    /// <summary>The processes retired at the last capture: their last events, then their slots go back.</summary>
    private void FinishRetiring()
    {
        foreach (BpfProcess process in _retiring)
        {
            _table.ReadRow(process.Slot, process.Totals);
            Add(process.IsVm ? _exitedFinal : _outsideFinal, process.Totals);
            _latency?.Retire(process.Slot);
            _table.Release(process.Slot);
            _bySlot[process.Slot] = null;
        }
        _retiring.Clear();
    }
}
