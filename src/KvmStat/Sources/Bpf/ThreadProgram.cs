using static KvmStat.Sources.Bpf.BpfRegister;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// Counting per vCPU thread (--vcpus), appended to the programs of <see cref="CounterProgram"/>:
/// the maps <see cref="Rows"/> (a row per thread, see <see cref="BpfTableLayout"/>), <see cref="Tids"/>
/// (thread id → row) and <see cref="Free"/> (the free rows); a row also counts its thread's exits
/// by reason, in slots the reasons it meets take (<see cref="BpfTableLayout.ThreadReasons"/>). Only the tracepoints that fire on a
/// vCPU thread alone give a thread a row: a VMM's other threads (its main loop raising interrupts,
/// I/O threads) are counted in their process's row only. A thread whose row could not be placed
/// counts in row 0, never nowhere. The exit program, which runs on every thread's exit, marks the
/// thread's row exited and takes it out of the table (user space takes its last counts, then frees it).
/// </summary>
internal static class ThreadProgram
{
    internal const string Rows = "threads", Tids = "tids", Free = "tfree";

    // Stack slots below those of the counting programs (-4 to -32) and the exit stamp (-36 to -64);
    // the stamp reads ThreadKey.
    internal const short ThreadKey = -76;
    private const short ThreadTid = -68, NewRow = -72;

    /// <summary>
    /// Adds one to the counter of tracepoint <paramref name="tracepoint"/> (its ordinal among the
    /// tracepoints) in the current thread's row: found by its thread id; else, where
    /// <paramref name="mayPlace"/>, a new row from the free ones, marked with its process and then
    /// its thread; else, with none left, row 0. The row is left at R10+<see cref="ThreadKey"/> (0:
    /// none) for an exit's stamp. Where R7 holds the field of the exit's reason and it is below
    /// <paramref name="reasonsBelow"/>, one more exit of that reason in the row's slot of it. R7 survives.
    /// </summary>
    internal static void EmitCount(BpfAssembler a, int tracepoint, BpfTableLayout layout, bool mayPlace, int reasonsBelow)
    {
        a.Store(BpfSize.Word, R10, ThreadKey, 0);
        a.Call(Interop.Abi.BPF_FUNC_get_current_pid_tgid).Mov(R6, R0).ShiftRight(R6, 32).Store(BpfSize.Word, R10, ThreadTid, R0);
        CounterProgram.Lookup(a, Tids, ThreadTid).JumpIf(BpfCondition.NotEqual, R0, 0, "tfound");
        if (!mayPlace)
        {
            a.Jump("tdone");
        }
        else
        {
            a.LoadMap(R1, Free).Mov(R2, R10).Add(R2, NewRow).Call(Interop.Abi.BPF_FUNC_map_pop_elem);
            a.JumpIf(BpfCondition.NotEqual, R0, 0, "tlost");
            a.LoadMap(R1, Tids).Mov(R2, R10).Add(R2, ThreadTid).Mov(R3, R10).Add(R3, NewRow)
                .Mov(R4, (int)Interop.Abi.BPF_NOEXIST).Call(Interop.Abi.BPF_FUNC_map_update_elem);
            a.JumpIf(BpfCondition.Equal, R0, 0, "tplaced");
            a.LoadMap(R1, Free).Mov(R2, R10).Add(R2, NewRow).Mov(R3, 0).Call(Interop.Abi.BPF_FUNC_map_push_elem);
            CounterProgram.Lookup(a, Tids, ThreadTid).JumpIf(BpfCondition.NotEqual, R0, 0, "tfound");
            a.Label("tlost").Mov(R1, 0).Jump("tslot");

            // The process first, then the owner: user space takes a row as a thread's once its owner is set.
            a.Label("tplaced");
            CounterProgram.Lookup(a, Rows, NewRow).JumpIf(BpfCondition.Equal, R0, 0, "tdone");
            a.Store(BpfSize.DoubleWord, R0, 8, R6);
            a.LoadImmediate64(R1, BpfTableLayout.OwnerInUse).Load(BpfSize.Word, R2, R10, ThreadTid).Add(R1, R2).Store(BpfSize.DoubleWord, R0, 0, R1);
            a.Load(BpfSize.Word, R1, R10, NewRow).Jump("tslot");
        }
        a.Label("tfound").Load(BpfSize.Word, R1, R0, 0);
        a.Label("tslot").Store(BpfSize.Word, R10, ThreadKey, R1);
        CounterProgram.Lookup(a, Rows, ThreadKey).JumpIf(BpfCondition.Equal, R0, 0, "tdone");
        a.Mov(R1, 1).AtomicAddTo(BpfSize.DoubleWord, R0, checked((short)layout.ThreadFieldOffset(tracepoint)), R1);
        if (reasonsBelow > 0 && layout.ThreadReasons > 0)
            EmitReason(a, layout, reasonsBelow);
        a.Label("tdone");
    }

    /// <summary>
    /// One more exit of R7's reason in the row at R0, where its field is below <paramref name="below"/>
    /// (row 0, of the threads no row was left for, has none: its events are lost already): in the slot that holds the reason, else in the first
    /// free one, taken for it; with none left, in the row's count of reasons lost. Only the
    /// thread's own events touch its slots, so taking one needs no atomic exchange.
    /// </summary>
    private static void EmitReason(BpfAssembler a, BpfTableLayout layout, int below)
    {
        a.Load(BpfSize.Word, R1, R10, ThreadKey).JumpIf(BpfCondition.Equal, R1, 0, "tdone");
        if (below < layout.Fields)
            a.JumpIf(BpfCondition.GreaterOrEqual, R7, below, "tdone");
        // The slot's tag: the reason's field + 1 (0 is a free slot), in the top 16 bits.
        a.Mov(R2, R7).Add(R2, 1);
        for (int slot = 0; slot < layout.ThreadReasons; slot++)
        {
            a.Load(BpfSize.DoubleWord, R3, R0, Offset(layout, slot)).ShiftRight(R3, 48);
            a.JumpIf(BpfCondition.Equal, R3, R2, $"radd{slot}").JumpIf(BpfCondition.Equal, R3, 0, $"rtake{slot}");
        }
        a.Mov(R1, 1).AtomicAddTo(BpfSize.DoubleWord, R0, Offset(layout, layout.ThreadReasons), R1).Jump("tdone");
        for (int slot = 0; slot < layout.ThreadReasons; slot++)
        {
            a.Label($"rtake{slot}").Mov(R3, R2).ShiftLeft(R3, 48).Store(BpfSize.DoubleWord, R0, Offset(layout, slot), R3);
            a.Label($"radd{slot}").Mov(R1, 1).AtomicAddTo(BpfSize.DoubleWord, R0, Offset(layout, slot), R1).Jump("tdone");
        }
    }

    private static short Offset(BpfTableLayout layout, int slot) => checked((short)layout.ThreadReasonOffset(slot));

    /// <summary>The exit program's part for every thread: a thread with a row marks it exited and leaves the table of threads.</summary>
    internal static void EmitExit(BpfAssembler a)
    {
        a.Call(Interop.Abi.BPF_FUNC_get_current_pid_tgid).Store(BpfSize.Word, R10, ThreadTid, R0);
        CounterProgram.Lookup(a, Tids, ThreadTid).JumpIf(BpfCondition.Equal, R0, 0, "tgone");
        a.Load(BpfSize.Word, R1, R0, 0).Store(BpfSize.Word, R10, ThreadKey, R1);
        CounterProgram.Lookup(a, Rows, ThreadKey).JumpIf(BpfCondition.Equal, R0, 0, "tunrowed");
        a.LoadImmediate64(R1, BpfTableLayout.OwnerInUse | BpfTableLayout.OwnerExited).Load(BpfSize.Word, R2, R10, ThreadTid).Add(R1, R2)
            .Store(BpfSize.DoubleWord, R0, 0, R1);
        a.Label("tunrowed").LoadMap(R1, Tids).Mov(R2, R10).Add(R2, ThreadTid).Call(Interop.Abi.BPF_FUNC_map_delete_elem);
        a.Label("tgone");
    }

    /// <summary>
    /// The entry program's part: one more exit of its kind in the bucket of R8's log2 (clamped to
    /// the last) and its nanoseconds (R7) in the row the stamp at R9 names (none for row 0).
    /// R1 holds the bucket and is kept; R7 and R9 survive.
    /// </summary>
    /// <param name="labels">Put before its labels, so that one program can hold it twice.</param>
    internal static void EmitLatency(BpfAssembler a, BpfTableLayout layout, short bucketSave, short rowKey, string labels = "")
    {
        a.Store(BpfSize.Word, R10, bucketSave, R1);
        a.Load(BpfSize.Word, R2, R9, 16).JumpIf(BpfCondition.Equal, R2, 0, labels + "tnone").Store(BpfSize.Word, R10, rowKey, R2);
        CounterProgram.Lookup(a, Rows, rowKey).JumpIf(BpfCondition.Equal, R0, 0, labels + "tnone");
        a.Load(BpfSize.Word, R3, R9, 20).JumpIf(BpfCondition.NotEqual, R3, 0, labels + "tkernel");
        a.Add(R0, layout.ThreadLatencyOffset(0)).Jump(labels + "thistogram");
        a.Label(labels + "tkernel").Add(R0, layout.ThreadLatencyOffset(1));
        a.Label(labels + "thistogram").Load(BpfSize.Word, R2, R10, bucketSave);
        a.JumpIf(BpfCondition.Less, R2, BpfTableLayout.ThreadLatencyBuckets, labels + "tbucket").Mov(R2, BpfTableLayout.ThreadLatencyBuckets - 1);
        // The bound and the shift let the verifier see an aligned offset inside the row.
        a.Label(labels + "tbucket").ShiftLeft(R2, 3).Add(R2, R0).Mov(R1, 1).AtomicAddTo(BpfSize.DoubleWord, R2, 0, R1);
        a.AtomicAddTo(BpfSize.DoubleWord, R0, BpfTableLayout.ThreadLatencyBuckets * 8, R7);
        a.Label(labels + "tnone").Load(BpfSize.Word, R1, R10, bucketSave);
    }
}
