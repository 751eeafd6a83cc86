using System.Globalization;
using System.Text;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// A BPF program as a value: its instructions, with the maps it loads named, not numbered, until
/// <see cref="Encode"/> puts each map's descriptor in (ld_imm64 with BPF_PSEUDO_MAP_FD). Two
/// programs built alike are equal; <see cref="ToString"/> lists the instructions.
/// </summary>
internal sealed class BpfCode : IEquatable<BpfCode>
{
    internal BpfCode(IReadOnlyList<BpfInstruction> instructions, IReadOnlyList<(int Instruction, string Map)> mapReferences)
    {
        Instructions = [.. instructions];
        MapReferences = [.. mapReferences];
    }

    internal IReadOnlyList<BpfInstruction> Instructions { get; }

    /// <summary>The ld_imm64 instructions that load a map, and the map's name.</summary>
    internal IReadOnlyList<(int Instruction, string Map)> MapReferences { get; }

    /// <summary>The maps the program uses, each once.</summary>
    internal IEnumerable<string> Maps => MapReferences.Select(r => r.Map).Distinct(StringComparer.Ordinal);

    /// <summary>The bytes the kernel loads, every named map given its descriptor.</summary>
    internal byte[] Encode(Func<string, int> descriptorOf)
    {
        byte[] bytes = new byte[Instructions.Count * BpfInstruction.Size];
        for (int i = 0; i < Instructions.Count; i++)
            Instructions[i].Encode(bytes.AsSpan(i * BpfInstruction.Size, BpfInstruction.Size));
        foreach ((int at, string map) in MapReferences)
        {
            BpfInstruction load = Instructions[at] with
            {
                Source = (BpfRegister)Interop.Abi.BPF_PSEUDO_MAP_FD,
                Immediate = descriptorOf(map),
            };
            load.Encode(bytes.AsSpan(at * BpfInstruction.Size, BpfInstruction.Size));
        }
        return bytes;
    }

    public bool Equals(BpfCode? other) =>
        other is not null && Instructions.SequenceEqual(other.Instructions) && MapReferences.SequenceEqual(other.MapReferences);

    public override bool Equals(object? obj) => Equals(obj as BpfCode);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (BpfInstruction instruction in Instructions)
            hash.Add(instruction);
        return hash.ToHashCode();
    }

    /// <summary>One instruction a line, numbered like llvm-objdump's, 64-bit constants and maps whole.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        var maps = MapReferences.ToDictionary(r => r.Instruction, r => r.Map);
        for (int i = 0; i < Instructions.Count; i++)
        {
            BpfInstruction instruction = Instructions[i];
            text.Append(i.ToString(CultureInfo.InvariantCulture).PadLeft(4)).Append(": ");
            if (instruction.IsWide && i + 1 < Instructions.Count)
            {
                string value = maps.TryGetValue(i, out string? map)
                    ? "map " + map
                    : ((ulong)(uint)instruction.Immediate | ((ulong)(uint)Instructions[i + 1].Immediate << 32)).ToString(CultureInfo.InvariantCulture);
                text.Append('r').Append((int)instruction.Destination).Append(" = ").Append(value).AppendLine(" ll");
                i++;
                continue;
            }
            text.AppendLine(instruction.ToString());
        }
        return text.ToString();
    }
}
