using System.Buffers.Binary;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// Emits eBPF instructions, in the manner of cilium/ebpf's asm package: typed registers, sizes and
/// conditions, jumps to named labels that <see cref="Assemble"/> resolves. Each instruction is the
/// kernel's struct bpf_insn { u8 code; u8 dst:4, src:4; s16 off; s32 imm; }, little-endian (the
/// architectures this tool builds for).
/// </summary>
internal sealed class BpfAssembler
{
    // Instruction classes, and the operation and mode bits the programs use.
    private const byte ClassLd = 0x00, ClassLdx = 0x01, ClassSt = 0x02, ClassStx = 0x03, ClassJmp = 0x05, ClassAlu64 = 0x07;
    private const byte SourceImmediate = 0x00, SourceRegister = 0x08;
    private const byte ModeImmediate = 0x00, ModeMemory = 0x60, ModeAtomic = 0xc0;
    private const byte AluAdd = 0x00, AluMul = 0x20, AluAnd = 0x50, AluLsh = 0x60, AluRsh = 0x70, AluMov = 0xb0;
    private const byte JumpAlways = 0x00, JumpCall = 0x80, JumpExit = 0x90;
    private const int AtomicAdd = 0x00;

    private readonly List<(byte Code, byte Registers, short Offset, int Immediate)> _instructions = [];
    private readonly Dictionary<string, int> _labels = new(StringComparer.Ordinal);
    private readonly List<(int Instruction, string Label)> _jumps = [];

    internal int Count => _instructions.Count;

    private BpfAssembler Emit(byte code, BpfRegister destination, BpfRegister source, short offset, int immediate)
    {
        _instructions.Add((code, (byte)((byte)destination | ((byte)source << 4)), offset, immediate));
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

    internal BpfAssembler Multiply(BpfRegister destination, int immediate) =>
        Emit(ClassAlu64 | AluMul | SourceImmediate, destination, 0, 0, immediate);

    internal BpfAssembler And(BpfRegister destination, int immediate) =>
        Emit(ClassAlu64 | AluAnd | SourceImmediate, destination, 0, 0, immediate);

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

    /// <summary>The address of a map (ld_imm64 with BPF_PSEUDO_MAP_FD: the kernel puts the map there at load).</summary>
    internal BpfAssembler LoadMap(BpfRegister destination, int mapDescriptor)
    {
        Emit(ClassLd | (byte)BpfSize.DoubleWord | ModeImmediate, destination, (BpfRegister)Interop.Abi.BPF_PSEUDO_MAP_FD, 0, mapDescriptor);
        return Emit(0, 0, 0, 0, 0);
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

    /// <summary>The program as the kernel reads it; every jump to a defined label, forward or back.</summary>
    internal byte[] Assemble()
    {
        var instructions = new List<(byte Code, byte Registers, short Offset, int Immediate)>(_instructions);
        foreach ((int at, string label) in _jumps)
        {
            if (!_labels.TryGetValue(label, out int target))
                throw new InvalidOperationException($"jump to the undefined label {label}");
            (byte code, byte registers, _, int immediate) = instructions[at];
            instructions[at] = (code, registers, checked((short)(target - at - 1)), immediate);
        }
        byte[] bytes = new byte[instructions.Count * 8];
        for (int i = 0; i < instructions.Count; i++)
        {
            Span<byte> slot = bytes.AsSpan(i * 8, 8);
            slot[0] = instructions[i].Code;
            slot[1] = instructions[i].Registers;
            BinaryPrimitives.WriteInt16LittleEndian(slot[2..], instructions[i].Offset);
            BinaryPrimitives.WriteInt32LittleEndian(slot[4..], instructions[i].Immediate);
        }
        return bytes;
    }
}
