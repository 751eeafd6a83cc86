using System.Globalization;
using System.Text;

namespace KvmStat.Sources.Tracepoints;

/// <summary>
/// Parses tracefs <c>format</c> files: the record fields, and the <c>__print_symbolic</c>
/// tables in the print fmt, which hold the running kernel's own names for exit reasons.
/// Anything it cannot understand is skipped, never fatal: the tables are an improvement
/// over built-in names, not a requirement.
/// </summary>
internal static class TraceFormatParser
{
    private const string PrintSymbolic = "__print_symbolic(";

    internal static TraceFormat Parse(string text)
    {
        string name = "";
        int id = -1;
        var fields = new List<TraceField>();
        string printFormat = "";

        foreach (string rawLine in text.Split('\n'))
        {
            string line = rawLine.Trim();
            if (line.StartsWith("name:", StringComparison.Ordinal))
                name = line["name:".Length..].Trim();
            else if (line.StartsWith("ID:", StringComparison.Ordinal))
            {
                // An ID that does not parse stays -1 (unknown), which the callers refuse.
                if (!int.TryParse(line["ID:".Length..].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out id))
                    id = -1;
            }
            else if (line.StartsWith("field:", StringComparison.Ordinal))
            {
                TraceField? field = ParseFieldLine(line);
                if (field is not null)
                    fields.Add(field);
            }
            else if (line.StartsWith("print fmt:", StringComparison.Ordinal))
                printFormat = line["print fmt:".Length..].Trim();
        }

        return new TraceFormat(name, id, fields, printFormat, ParseSymbolicTables(printFormat));
    }

    /// <summary>Parses <c>field:unsigned int exit_reason;	offset:8;	size:4;	signed:0;</c> (offset -1 when it is missing).</summary>
    internal static TraceField? ParseFieldLine(string line)
    {
        // Every part ends with ';': a line cut short (offset:1 of offset:12) must not give a number.
        int complete = line.LastIndexOf(';');
        if (complete < 0)
            return null;
        string[] parts = line[..complete].Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 3 || !parts[0].StartsWith("field:", StringComparison.Ordinal))
            return null;

        string declaration = parts[0]["field:".Length..].Trim();
        int end = declaration.IndexOf('[');
        if (end >= 0)
            declaration = declaration[..end];
        int start = declaration.LastIndexOfAny([' ', '*']);
        string fieldName = declaration[(start + 1)..].Trim();
        if (fieldName.Length == 0)
            return null;

        int size = 0;
        int offset = -1;
        bool signed = false;
        foreach (string part in parts.AsSpan(1))
        {
            if (part.StartsWith("offset:", StringComparison.Ordinal))
            {
                // A field whose place cannot be read is left out, as if absent: never read at offset 0.
                if (!int.TryParse(part["offset:".Length..], NumberStyles.Integer, CultureInfo.InvariantCulture, out offset))
                    return null;
            }
            else if (part.StartsWith("size:", StringComparison.Ordinal))
            {
                if (!int.TryParse(part["size:".Length..], NumberStyles.Integer, CultureInfo.InvariantCulture, out size))
                    return null;
            }
            else if (part.StartsWith("signed:", StringComparison.Ordinal))
                signed = part["signed:".Length..].Trim() == "1";
        }
        return new TraceField(fieldName, size, signed, offset);
    }

    internal static IReadOnlyList<SymbolicTable> ParseSymbolicTables(string printFormat)
    {
        var tables = new List<SymbolicTable>();
        int at = 0;
        while (true)
        {
            int found = printFormat.IndexOf(PrintSymbolic, at, StringComparison.Ordinal);
            if (found < 0)
                break;
            var cursor = new Cursor(printFormat, found + PrintSymbolic.Length);
            at = cursor.Position;
            SymbolicTable? table = TryParseTable(ref cursor, tables);
            if (table is not null)
            {
                tables.Add(table);
                at = cursor.Position;
            }
        }
        return tables;
    }

    private static SymbolicTable? TryParseTable(ref Cursor cursor, List<SymbolicTable> earlier)
    {
        // First argument: the expression being printed, e.g. "REC->exit_reason & 0xffff".
        string? subject = cursor.ReadBalancedUntil(',');
        if (subject is null)
            return null;
        string? field = FieldOf(subject);
        if (field is null)
            return null;

        var entries = new List<SymbolicEntry>();
        while (true)
        {
            cursor.SkipWhitespace();
            char c = cursor.Peek();
            if (c == ',')
            {
                cursor.Advance();
                continue;
            }
            if (c == ')')
            {
                cursor.Advance();
                break;
            }
            if (c != '{')
                return null;
            cursor.Advance();

            string? valueText = cursor.ReadBalancedUntil(',');
            if (valueText is null || cursor.Peek() != ',')
                return null;
            cursor.Advance();
            string? entryName = cursor.ReadStringLiterals();
            cursor.SkipWhitespace();
            if (cursor.Peek() != '}')
                return null;
            cursor.Advance();

            if (entryName is not null && ConstantExpression.TryEvaluate(valueText, out long value))
                entries.Add(new SymbolicEntry(value, entryName));
        }

        int ordinal = 0;
        foreach (SymbolicTable table in earlier)
        {
            if (table.Field == field)
                ordinal++;
        }
        return new SymbolicTable(field, ordinal, entries);
    }

    private static string? FieldOf(string subject)
    {
        int arrow = subject.IndexOf("REC->", StringComparison.Ordinal);
        if (arrow < 0)
            return null;
        int start = arrow + "REC->".Length;
        int end = start;
        while (end < subject.Length && (char.IsAsciiLetterOrDigit(subject[end]) || subject[end] == '_'))
            end++;
        return end > start ? subject[start..end] : null;
    }

    /// <summary>A position in the print fmt text that understands C string literals and nesting.</summary>
    private struct Cursor(string text, int position)
    {
        private readonly string _text = text;

        internal int Position { get; private set; } = position;

        internal readonly char Peek() => Position < _text.Length ? _text[Position] : '\0';

        internal void Advance() => Position++;

        internal void SkipWhitespace()
        {
            while (Position < _text.Length && char.IsWhiteSpace(_text[Position]))
                Position++;
        }

        /// <summary>
        /// Reads up to (not including) <paramref name="stop"/> at nesting depth zero; also stops
        /// before an unbalanced closing bracket. Returns null at the end of the text.
        /// </summary>
        internal string? ReadBalancedUntil(char stop)
        {
            int start = Position;
            int depth = 0;
            while (Position < _text.Length)
            {
                char c = _text[Position];
                if (c == '"' || c == '\'')
                {
                    if (!SkipQuoted(c))
                        return null;
                    continue;
                }
                if (depth == 0 && (c == stop || c == ')' || c == '}'))
                    return _text[start..Position];
                if (c is '(' or '{' or '[')
                    depth++;
                else if (c is ')' or '}' or ']')
                    depth--;
                Position++;
            }
            return null;
        }

        private bool SkipQuoted(char quote)
        {
            Position++;
            while (Position < _text.Length)
            {
                char c = _text[Position++];
                if (c == '\\')
                    Position++;
                else if (c == quote)
                    return true;
            }
            return false;
        }

        /// <summary>Reads one or more adjacent C string literals ("KVM_EXIT_" "IO") as one string.</summary>
        internal string? ReadStringLiterals()
        {
            StringBuilder? result = null;
            while (true)
            {
                SkipWhitespace();
                if (Peek() != '"')
                    return result?.ToString();
                Position++;
                result ??= new StringBuilder();
                while (true)
                {
                    if (Position >= _text.Length)
                        return null;
                    char c = _text[Position++];
                    if (c == '"')
                        break;
                    if (c != '\\')
                    {
                        result.Append(c);
                        continue;
                    }
                    if (Position >= _text.Length)
                        return null;
                    char escaped = _text[Position++];
                    result.Append(escaped switch
                    {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        _ => escaped,
                    });
                }
            }
        }
    }
}
