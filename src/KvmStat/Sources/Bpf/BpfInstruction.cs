using System.Buffers.Binary;
using System.Globalization;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// One eBPF instruction as a value: the kernel's struct bpf_insn { u8 code; u8 dst:4, src:4;
/// s16 off; s32 imm; }, little-endian (the architectures this tool builds for). A 64-bit constant
/// (ld_imm64) takes two: the second holds the upper half of the constant and is otherwise zero.
/// </summary>
internal readonly record struct BpfInstruction(byte Code, BpfRegister Destination, BpfRegister Source, short Offset, int Immediate)
{
    internal const int Size = 8;

    // Instruction classes, and the operation and mode bits the programs use (linux/bpf_common.h, linux/bpf.h).
    internal const byte ClassLd = 0x00, ClassLdx = 0x01, ClassSt = 0x02, ClassStx = 0x03, ClassJmp = 0x05, ClassAlu64 = 0x07;
    internal const byte SourceImmediate = 0x00, SourceRegister = 0x08;
    internal const byte ModeImmediate = 0x00, ModeMemory = 0x60, ModeAtomic = 0xc0;
    internal const byte AluAdd = 0x00, AluSub = 0x10, AluLsh = 0x60, AluRsh = 0x70, AluMov = 0xb0;
    internal const byte JumpAlways = 0x00, JumpCall = 0x80, JumpExit = 0x90;
    internal const int AtomicAdd = 0x00;

    internal byte Class => (byte)(Code & 0x07);

    /// <summary>The first half of a 64-bit constant load (the next instruction holds the upper half).</summary>
    internal bool IsWide => Code == (ClassLd | (byte)BpfSize.DoubleWord | ModeImmediate);

    internal void Encode(Span<byte> slot)
    {
        slot[0] = Code;
        slot[1] = (byte)((byte)Destination | ((byte)Source << 4));
        BinaryPrimitives.WriteInt16LittleEndian(slot[2..], Offset);
        BinaryPrimitives.WriteInt32LittleEndian(slot[4..], Immediate);
    }

    internal static BpfInstruction Decode(ReadOnlySpan<byte> slot) => new(
        slot[0], (BpfRegister)(slot[1] & 0x0f), (BpfRegister)(slot[1] >> 4),
        BinaryPrimitives.ReadInt16LittleEndian(slot[2..]), BinaryPrimitives.ReadInt32LittleEndian(slot[4..]));

    /// <summary>The instruction in the syntax of LLVM's BPF assembler ("r1 += 7", "if r0 == 0 goto +1").</summary>
    public override string ToString()
    {
        string dst = "r" + (int)Destination, src = "r" + (int)Source;
        string operand = (Code & SourceRegister) != 0 ? src : Immediate.ToString(CultureInfo.InvariantCulture);
        string offset = Offset.ToString("+0;-0", CultureInfo.InvariantCulture);
        switch (Class)
        {
            case ClassAlu64:
                string op = (Code & 0xf0) switch { AluMov => "=", AluAdd => "+=", AluSub => "-=", AluLsh => "<<=", AluRsh => ">>=", _ => $"alu{Code:x2}" };
                return $"{dst} {op} {operand}";
            case ClassLdx:
                return $"{dst} = *({SizeName(Code)} *)({src} {Signed(Offset)})";
            case ClassSt:
                return $"*({SizeName(Code)} *)({dst} {Signed(Offset)}) = {Immediate.ToString(CultureInfo.InvariantCulture)}";
            case ClassStx when (Code & 0xe0) == ModeAtomic:
                return $"lock *({SizeName(Code)} *)({dst} {Signed(Offset)}) += {src}";
            case ClassStx:
                return $"*({SizeName(Code)} *)({dst} {Signed(Offset)}) = {src}";
            case ClassJmp when (Code & 0xf0) == JumpCall:
                return "call " + Immediate.ToString(CultureInfo.InvariantCulture);
            case ClassJmp when (Code & 0xf0) == JumpExit:
                return "exit";
            case ClassJmp when (Code & 0xf0) == JumpAlways:
                return "goto " + offset;
            case ClassJmp:
                return $"if {dst} {ConditionName((BpfCondition)(Code & 0xf0))} {operand} goto {offset}";
            case ClassLd when IsWide:
                return $"{dst} = ld_imm64 low {(uint)Immediate}";
            default:
                return $"code {Code:x2} {dst} {src} {offset} {Immediate}";
        }
    }

    private static string Signed(short offset) => offset < 0
        ? "- " + (-offset).ToString(CultureInfo.InvariantCulture)
        : "+ " + offset.ToString(CultureInfo.InvariantCulture);

    private static string SizeName(byte code) => (BpfSize)(code & 0x18) switch
    {
        BpfSize.Byte => "u8",
        BpfSize.Half => "u16",
        BpfSize.Word => "u32",
        _ => "u64",
    };

    private static string ConditionName(BpfCondition condition) => condition switch
    {
        BpfCondition.Equal => "==",
        BpfCondition.NotEqual => "!=",
        BpfCondition.Greater => ">",
        BpfCondition.GreaterOrEqual => ">=",
        BpfCondition.Less => "<",
        BpfCondition.LessOrEqual => "<=",
        _ => $"?{(byte)condition:x2}",
    };
}
