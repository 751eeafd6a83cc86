using KvmStat.Sources.Tracing;
using static KvmStat.Sources.Bpf.BpfRegister;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// The program that counts one tracepoint. On each hit it finds the slot of the current process
/// (a per-CPU one-entry cache first, so the hash of slots is looked up only when the process on
/// this CPU changes), gives a process seen for the first time a slot from the free queue, and adds
/// one to the tracepoint's counter in that slot's row, and for a tracepoint with exit-reason
/// children one to the child of the reason in its record. Events of a process for which no slot
/// is left go to slot 0, counted apart (never dropped). Without processes to tell apart (see
/// <see cref="BpfScope"/>) every event goes to slot 0, or only those of the one process.
/// </summary>
internal static class CounterProgram
{
    /// <summary>How one tracepoint is counted.</summary>
    /// <param name="FieldIndex">The tracepoint's own counter in the row.</param>
    /// <param name="Reasons">For exit-reason children: where the reason is in the record, and which child counts each value.</param>
    internal sealed record Spec(int FieldIndex, ReasonSpec? Reasons);

    /// <param name="Offset">The reason's offset in the tracepoint's record (from its format file).</param>
    /// <param name="Size">Its size in bytes (1, 2, 4 or 8).</param>
    /// <param name="IndexMap">An array map: reason value (below its size) → the child's index in the row.</param>
    /// <param name="LargeValues">Children of values beyond the map (0xffffffff...), as the unsigned value of the field's width → index.</param>
    /// <param name="OtherIndex">The child that counts every other value.</param>
    internal sealed record ReasonSpec(int Offset, int Size, BpfMap IndexMap, IReadOnlyList<(ulong Value, int Index)> LargeValues, int OtherIndex);

    /// <summary>The maps every program shares (the cache, the table of processes and the free slots only per process).</summary>
    internal sealed record Maps(BpfMap? Cache, BpfMap? SlotOf, BpfMap? FreeSlots, BpfMap Counts, int Stride);

    // Stack slots (below the frame pointer R10).
    private const short KeyZero = -4, TgidKey = -8, NewSlot = -12, SlotKey = -16, ReasonKey = -20;

    internal static byte[] Emit(Spec spec, Maps maps, BpfScope scope)
    {
        var a = new BpfAssembler();
        a.Mov(R6, R1);
        if (spec.Reasons is ReasonSpec reasons)
            a.Load(SizeOf(reasons.Size), R7, R6, checked((short)reasons.Offset));
        if (scope.PerProcess)
            FindSlot(a, maps);
        else if (scope.Pid > 0)
            a.Call(Interop.Abi.BPF_FUNC_get_current_pid_tgid).ShiftRight(R0, 32).JumpIf(BpfCondition.NotEqual, R0, scope.Pid, "out").Mov(R1, 0);
        else
            a.Mov(R1, 0);
        AddToRow(a, spec, maps);
        // A classic tracepoint program's result decides whether the kernel passes the event on to
        // the tracepoint's perf events: 0 would hide it from perf stat and every other counter of
        // it on the host. (A raw tracepoint's result is ignored.)
        a.Label("out").Mov(R0, spec.Reasons is null ? 0 : 1).Exit();
        return a.Assemble();
    }

    /// <summary>R1 = the slot of the current process: the cache, else the table, else a new slot, else 0.</summary>
    private static void FindSlot(BpfAssembler a, Maps maps)
    {
        BpfMap cache = maps.Cache!, slotOf = maps.SlotOf!, freeSlots = maps.FreeSlots!;
        a.Call(Interop.Abi.BPF_FUNC_get_current_pid_tgid).Mov(R8, R0).ShiftRight(R8, 32);

        // The cache: { u32 tgid; u32 slot; } of the last process counted on this CPU.
        a.Store(BpfSize.Word, R10, KeyZero, 0);
        Lookup(a, cache, KeyZero).JumpIf(BpfCondition.Equal, R0, 0, "out").Mov(R9, R0);
        a.Load(BpfSize.Word, R1, R9, 0).JumpIf(BpfCondition.NotEqual, R1, R8, "miss");
        a.Load(BpfSize.Word, R1, R9, 4).Jump("slot");

        a.Label("miss").Store(BpfSize.Word, R10, TgidKey, R8);
        Lookup(a, slotOf, TgidKey).JumpIf(BpfCondition.NotEqual, R0, 0, "found");
        // A process seen for the first time: a slot from the free queue, inserted if no other CPU
        // inserted one meanwhile (then that one is used, and this slot goes back to the queue).
        a.LoadMap(R1, freeSlots.Descriptor).Mov(R2, R10).Add(R2, NewSlot).Call(Interop.Abi.BPF_FUNC_map_pop_elem);
        a.JumpIf(BpfCondition.NotEqual, R0, 0, "unplaced");
        a.LoadMap(R1, slotOf.Descriptor).Mov(R2, R10).Add(R2, TgidKey).Mov(R3, R10).Add(R3, NewSlot)
            .Mov(R4, (int)Interop.Abi.BPF_NOEXIST).Call(Interop.Abi.BPF_FUNC_map_update_elem);
        a.JumpIf(BpfCondition.Equal, R0, 0, "inserted");
        a.LoadMap(R1, freeSlots.Descriptor).Mov(R2, R10).Add(R2, NewSlot).Mov(R3, 0).Call(Interop.Abi.BPF_FUNC_map_push_elem);
        Lookup(a, slotOf, TgidKey).JumpIf(BpfCondition.Equal, R0, 0, "unplaced");
        a.Label("found").Load(BpfSize.Word, R1, R0, 0).Jump("cache");
        a.Label("inserted").Load(BpfSize.Word, R1, R10, NewSlot);
        a.Label("cache").Store(BpfSize.Word, R9, 0, R8).Store(BpfSize.Word, R9, 4, R1).Jump("slot");
        a.Label("unplaced").Mov(R1, 0);
        a.Label("slot");
    }

    /// <summary>Adds one to the tracepoint's counter in slot R1's row, and one to its reason's child.</summary>
    private static void AddToRow(BpfAssembler a, Spec spec, Maps maps)
    {
        a.Store(BpfSize.Word, R10, SlotKey, R1);
        Lookup(a, maps.Counts, SlotKey).JumpIf(BpfCondition.Equal, R0, 0, "out").Mov(R9, R0);
        a.Mov(R1, 1).AtomicAddTo(BpfSize.DoubleWord, R9, checked((short)(spec.FieldIndex * 8)), R1);
        if (spec.Reasons is ReasonSpec reason)
        {
            // R7 holds the field zero-extended, so a value is compared with its unsigned 64-bit form.
            for (int i = 0; i < reason.LargeValues.Count; i++)
                a.LoadImmediate64(R1, reason.LargeValues[i].Value).JumpIf(BpfCondition.Equal, R7, R1, $"large{i}");
            a.JumpIf(BpfCondition.GreaterOrEqual, R7, reason.IndexMap.MaxEntries, "other");
            a.Store(BpfSize.Word, R10, ReasonKey, R7);
            Lookup(a, reason.IndexMap, ReasonKey).JumpIf(BpfCondition.Equal, R0, 0, "other");
            a.Load(BpfSize.Word, R1, R0, 0).Jump("child");
            for (int i = 0; i < reason.LargeValues.Count; i++)
                a.Label($"large{i}").Mov(R1, reason.LargeValues[i].Index).Jump("child");
            a.Label("other").Mov(R1, reason.OtherIndex);
            // The bound and the shift let the verifier see an aligned offset inside the row.
            a.Label("child").JumpIf(BpfCondition.GreaterOrEqual, R1, maps.Stride, "out").ShiftLeft(R1, 3);
            a.Add(R1, R9).Mov(R2, 1).AtomicAddTo(BpfSize.DoubleWord, R1, 0, R2);
        }
    }

    /// <summary>R0 = the value of <paramref name="map"/> at the key stored at R10+<paramref name="key"/> (or 0).</summary>
    private static BpfAssembler Lookup(BpfAssembler a, BpfMap map, short key) =>
        a.LoadMap(R1, map.Descriptor).Mov(R2, R10).Add(R2, key).Call(Interop.Abi.BPF_FUNC_map_lookup_elem);

    private static BpfSize SizeOf(int bytes) => bytes switch
    {
        1 => BpfSize.Byte,
        2 => BpfSize.Half,
        4 => BpfSize.Word,
        8 => BpfSize.DoubleWord,
        _ => throw new BpfException($"a reason field of {bytes} bytes", Interop.Errno.EINVAL),
    };

    /// <summary>Whether a tracepoint's program needs its record (a classic tracepoint program) or not (a raw one).</summary>
    internal static bool NeedsRecord(TracepointField parent, IReadOnlyList<TracepointField> selected) =>
        selected.Any(f => f.Parent == parent.Name);
}
