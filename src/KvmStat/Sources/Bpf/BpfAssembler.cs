using static KvmStat.Sources.Bpf.BpfInstruction;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// Builds a <see cref="BpfCode"/>, in the manner of cilium/ebpf's asm package: typed registers,
/// sizes and conditions, maps by name, and jumps to named labels that <see cref="Build"/> resolves.
/// </summary>
internal sealed class BpfAssembler
{
    private readonly List<BpfInstruction> _instructions = [];
    private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);
    private readonly List<(int Instruction, string Label)> _jumps = [];
    private readonly List<(int Instruction, string Map)> _maps = [];

    private BpfAssembler Emit(byte code, BpfRegister destination, BpfRegister source, short offset, int immediate)
    {
        _instructions.Add(new BpfInstruction(code, destination, source, offset, immediate));
        return this;
    }

    internal BpfAssembler Mov(BpfRegister destination, int immediate) =>
        Emit(ClassAlu64 | AluMov | SourceImmediate, destination, 0, 0, immediate);

    internal BpfAssembler Mov(BpfRegister destination, BpfRegister source) =>
        Emit(ClassAlu64 | AluMov | SourceRegister, destination, source, 0, 0);

    internal BpfAssembler Add(BpfRegister destination, int immediate) =>
        Emit(ClassAlu64 | AluAdd | SourceImmediate, destination, 0, 0, immediate);

    internal BpfAssembler Add(BpfRegister destination, BpfRegister source) =>
        Emit(ClassAlu64 | AluAdd | SourceRegister, destination, source, 0, 0);

    internal BpfAssembler Subtract(BpfRegister destination, BpfRegister source) =>
        Emit(ClassAlu64 | AluSub | SourceRegister, destination, source, 0, 0);

    internal BpfAssembler ShiftLeft(BpfRegister destination, int bits) =>
        Emit(ClassAlu64 | AluLsh | SourceImmediate, destination, 0, 0, bits);

    internal BpfAssembler ShiftRight(BpfRegister destination, int bits) =>
        Emit(ClassAlu64 | AluRsh | SourceImmediate, destination, 0, 0, bits);

    /// <summary>A 64-bit constant (ld_imm64: two instruction slots).</summary>
    internal BpfAssembler LoadImmediate64(BpfRegister destination, ulong value)
    {
        Emit(ClassLd | (byte)BpfSize.DoubleWord | ModeImmediate, destination, 0, 0, unchecked((int)(uint)value));
        return Emit(0, 0, 0, 0, unchecked((int)(uint)(value >> 32)));
    }

    /// <summary>The address of the map named <paramref name="map"/>, whose descriptor the program gets at load.</summary>
    internal BpfAssembler LoadMap(BpfRegister destination, string map)
    {
        _maps.Add((_instructions.Count, map));
        return LoadImmediate64(destination, 0);
    }

    /// <summary>destination = *(size*)(source + offset).</summary>
    internal BpfAssembler Load(BpfSize size, BpfRegister destination, BpfRegister source, short offset) =>
        Emit((byte)(ClassLdx | (byte)size | ModeMemory), destination, source, offset, 0);

    /// <summary>*(size*)(destination + offset) = source.</summary>
    internal BpfAssembler Store(BpfSize size, BpfRegister destination, short offset, BpfRegister source) =>
        Emit((byte)(ClassStx | (byte)size | ModeMemory), destination, source, offset, 0);

    /// <summary>*(size*)(destination + offset) = immediate.</summary>
    internal BpfAssembler Store(BpfSize size, BpfRegister destination, short offset, int immediate) =>
        Emit((byte)(ClassSt | (byte)size | ModeMemory), destination, 0, offset, immediate);

    /// <summary>An atomic *(size*)(destination + offset) += source (lock add).</summary>
    internal BpfAssembler AtomicAddTo(BpfSize size, BpfRegister destination, short offset, BpfRegister source) =>
        Emit((byte)(ClassStx | (byte)size | ModeAtomic), destination, source, offset, AtomicAdd);

    /// <summary>Calls a kernel helper by its number (BPF_FUNC_*): arguments in R1–R5, the result in R0.</summary>
    internal BpfAssembler Call(int helper) => Emit(ClassJmp | JumpCall, 0, 0, 0, helper);

    internal BpfAssembler Exit() => Emit(ClassJmp | JumpExit, 0, 0, 0, 0);

    internal BpfAssembler Jump(string label) => JumpTo(label, ClassJmp | JumpAlways, 0, 0, 0);

    internal BpfAssembler JumpIf(BpfCondition condition, BpfRegister register, int immediate, string label) =>
        JumpTo(label, (byte)(ClassJmp | (byte)condition | SourceImmediate), register, 0, immediate);

    internal BpfAssembler JumpIf(BpfCondition condition, BpfRegister register, BpfRegister other, string label) =>
        JumpTo(label, (byte)(ClassJmp | (byte)condition | SourceRegister), register, other, 0);

    private BpfAssembler JumpTo(string label, byte code, BpfRegister destination, BpfRegister source, int immediate)
    {
        _jumps.Add((_instructions.Count, label));
        return Emit(code, destination, source, 0, immediate);
    }

    /// <summary>Names the next instruction.</summary>
    internal BpfAssembler Label(string name)
    {
        if (!_labels.TryAdd(name, _instructions.Count))
            throw new InvalidOperationException($"label {name} defined twice");
        return this;
    }

    /// <summary>The program: every jump's offset counted from the instruction after it, forward or back.</summary>
    internal BpfCode Build()
    {
        var instructions = new List<BpfInstruction>(_instructions);
        foreach ((int at, string label) in _jumps)
        {
            if (!_labels.TryGetValue(label, out int target))
                throw new InvalidOperationException($"jump to the undefined label {label}");
            instructions[at] = instructions[at] with { Offset = checked((short)(target - at - 1)) };
        }
        return new BpfCode(instructions, _maps);
    }
}
