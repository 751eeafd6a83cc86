using System.Globalization;
using System.Text;

namespace KvmStat.Sources.Tracepoints;

/// <summary>
/// Lists every field the tracepoint source can count: one per kvm tracepoint, plus a child per
/// exit reason of <c>kvm_exit</c> and <c>kvm_userspace_exit</c>, named from the running kernel's
/// format files where possible and from built-in tables otherwise.
/// </summary>
internal static class TracepointCatalog
{
    internal const string KvmExit = "kvm_exit";
    internal const string KvmUserspaceExit = "kvm_userspace_exit";

    internal static IReadOnlyList<TracepointField> Discover(Tracefs tracefs, ExitReasonSet exitReasons)
    {
        IReadOnlyList<string> tracepoints = tracefs.ListKvmEvents();
        var fields = new List<TracepointField>(tracepoints.Count + 128);
        foreach (string tracepoint in tracepoints)
            fields.Add(new TracepointField(tracepoint, tracepoint, null, null));

        foreach (string tracepoint in tracepoints)
        {
            if (tracepoint is KvmExit or KvmUserspaceExit)
                fields.AddRange(Children(tracepoint, tracefs.ReadFormat(tracepoint), exitReasons));
        }
        return fields;
    }

    /// <summary>
    /// The reasons a selection leaves out of a tracepoint it counts some reasons of: a program that
    /// reads the reason gives every event to one child, so they are counted (and not shown) for
    /// those the selection chose to be exact and the parent to be counted once.
    /// </summary>
    internal static IEnumerable<TracepointField> UnselectedSiblings(IReadOnlyList<TracepointField> selected, IReadOnlyList<TracepointField> catalog)
    {
        var names = new HashSet<string>(selected.Select(f => f.Name), StringComparer.Ordinal);
        var parents = new HashSet<string>(selected.Where(f => f.IsChild).Select(f => f.Parent!), StringComparer.Ordinal);
        return catalog.Where(f => f.Parent is string parent && parents.Contains(parent) && !names.Contains(f.Name));
    }

    /// <summary>The child that counts every reason neither table names: the children always add up to their parent.</summary>
    internal const string OtherReasons = "OTHER";

    /// <summary>
    /// The child fields of one tracepoint: one per exit reason of the running kernel's own table
    /// (its format's print fmt), and of the built-in uapi table for reasons that list lacks (the
    /// kernel emits more than its print format names), then one for any other value.
    /// </summary>
    internal static IReadOnlyList<TracepointField> Children(string tracepoint, TraceFormat? format, ExitReasonSet exitReasons)
    {
        (string field, IReadOnlyList<SymbolicEntry>? kernel, IReadOnlyList<SymbolicEntry>? builtin) = tracepoint == KvmUserspaceExit
            ? ("reason", FromFormat(format, "reason", 0), BuiltinExitReasons.Userspace)
            : ExitTables(format, exitReasons);
        if (kernel is null && builtin is null)
            return [];

        // The kernel's names first; the built-in table adds the values the kernel's list lacks.
        var reasons = new List<(long Value, string Name)>();
        var values = new HashSet<long>();
        foreach (IReadOnlyList<SymbolicEntry>? table in new[] { kernel, builtin })
        {
            if (table is null)
                continue;
            string prefix = CommonPrefix(table);
            foreach (SymbolicEntry entry in table)
            {
                string name = NormalizeName(entry.Name[prefix.Length..]);
                if (name.Length > 0 && values.Add(entry.Value))
                    reasons.Add((entry.Value, name));
            }
        }

        TraceField? traceField = format?.FindField(field);
        var children = new List<TracepointField>(reasons.Count + 1);
        var seen = new HashSet<string>(StringComparer.Ordinal) { OtherReasons };
        foreach ((long value, string name) in reasons)
        {
            string reason = seen.Add(name) ? name : name + "_" + value.ToString(CultureInfo.InvariantCulture);
            string filter = field + "==" + FilterValue(value, traceField).ToString(CultureInfo.InvariantCulture);
            children.Add(new TracepointField(StatField.ChildName(tracepoint, reason), tracepoint, filter, tracepoint) { ReasonField = field, ReasonValue = value, Label = reason });
        }
        string others = string.Join("&&", reasons.Select(r => field + "!=" + FilterValue(r.Value, traceField).ToString(CultureInfo.InvariantCulture)));
        children.Add(new TracepointField(StatField.ChildName(tracepoint, OtherReasons), tracepoint, others, tracepoint) { ReasonField = field, Label = OtherReasons });
        return children;
    }

    /// <summary>kvm_exit's field and tables (the kernel's and the built-in one) for this host's exit-reason encoding.</summary>
    private static (string Field, IReadOnlyList<SymbolicEntry>? Kernel, IReadOnlyList<SymbolicEntry>? Builtin) ExitTables(TraceFormat? format, ExitReasonSet set)
    {
        switch (set)
        {
            case ExitReasonSet.AArch64:
                return ("esr_ec", FromFormat(format, "esr_ec", 0), BuiltinExitReasons.AArch64);
            case ExitReasonSet.Vmx:
            case ExitReasonSet.Svm:
                // x86 prints "(REC->isa == 1) ? VMX table : SVM table"; without the isa test there is one table.
                bool twoTables = format is not null && format.PrintFormat.Contains("isa == 1", StringComparison.Ordinal);
                int ordinal = set == ExitReasonSet.Svm && twoTables ? 1 : 0;
                return ("exit_reason", FromFormat(format, "exit_reason", ordinal), set == ExitReasonSet.Vmx ? BuiltinExitReasons.Vmx : BuiltinExitReasons.Svm);
            default:
                return ("exit_reason", null, null);
        }
    }

    private static IReadOnlyList<SymbolicEntry>? FromFormat(TraceFormat? format, string field, int ordinal)
    {
        if (format is null || format.FindField(field) is null)
            return null;
        foreach (SymbolicTable table in format.Tables)
        {
            if (table.Field == field && table.Ordinal == ordinal && table.Entries.Count > 0)
                return table.Entries;
        }
        return null;
    }

    /// <summary>
    /// The kernel filter parser reads the value as the field's type: an unsigned 32-bit field
    /// cannot be compared with -1, so negative keys are wrapped to the field's width.
    /// </summary>
    internal static ulong FilterValue(long value, TraceField? field)
    {
        if (value >= 0)
            return (ulong)value;
        int size = field?.Size ?? 8;
        if (field is { Signed: true } || size >= 8)
            return unchecked((ulong)value);
        ulong mask = (1UL << (size * 8)) - 1;
        return unchecked((ulong)value) & mask;
    }

    /// <summary>"KVM_EXIT_IO" → "IO" when every name of the table shares the prefix.</summary>
    private static string CommonPrefix(IReadOnlyList<SymbolicEntry> entries)
    {
        const string UserspacePrefix = "KVM_EXIT_";
        foreach (SymbolicEntry entry in entries)
        {
            if (!entry.Name.StartsWith(UserspacePrefix, StringComparison.Ordinal) || entry.Name.Length == UserspacePrefix.Length)
                return "";
        }
        return UserspacePrefix;
    }

    /// <summary>
    /// Field names go into space-separated banners and CSV headers: upper case, and anything but
    /// letters, digits and '_' becomes '_' (SVM's "DE excp" → "DE_EXCP", "npf" → "NPF").
    /// </summary>
    internal static string NormalizeName(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (char c in name.Trim())
            builder.Append(char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_');
        return builder.ToString();
    }
}
