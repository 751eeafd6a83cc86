using System.Globalization;

namespace KvmStat.Exporter;

/// <summary>
/// The part of YAML that web configuration files use: nested block mappings by indentation, block
/// sequences ("- item"), flow sequences of scalars ("[a, b]"), plain, single- and double-quoted
/// scalars, comments. Anything else (anchors, tags, multi-line scalars, flow mappings, tabs for
/// indentation) is an error naming its line, never a guess.
/// </summary>
internal static class YamlSubset
{
    /// <summary>A node: a scalar (string), a mapping (keys in file order), or a sequence.</summary>
    internal abstract record Node(int Line);

    internal sealed record Scalar(int Line, string Value) : Node(Line);

    internal sealed record Mapping(int Line, IReadOnlyList<(string Key, Node Value)> Entries) : Node(Line);

    internal sealed record Sequence(int Line, IReadOnlyList<Node> Items) : Node(Line);

    private readonly record struct SourceLine(int Number, int Indent, string Text);

    /// <summary>Parses a document whose top level is a mapping (an empty document is an empty mapping).</summary>
    internal static Mapping Parse(string text)
    {
        var lines = new List<SourceLine>();
        string[] raw = text.Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < raw.Length; i++)
        {
            string line = StripComment(raw[i]).TrimEnd();
            if (line.Length == 0 || line == "---")
                continue;
            int indent = 0;
            while (indent < line.Length && line[indent] == ' ')
                indent++;
            if (indent < line.Length && line[indent] == '\t')
                throw Error(i + 1, "a tab indents this line; YAML indents with spaces");
            lines.Add(new SourceLine(i + 1, indent, line[indent..]));
        }
        if (lines.Count == 0)
            return new Mapping(1, []);
        int at = 0;
        Node root = Block(lines, ref at, lines[0].Indent);
        if (at < lines.Count)
            throw Error(lines[at].Number, "this line is indented less than the document it belongs to");
        return root as Mapping ?? throw Error(root.Line, "the document must be a mapping of keys to values");
    }

    private static Node Block(List<SourceLine> lines, ref int at, int indent)
    {
        SourceLine first = lines[at];
        return first.Text.StartsWith("- ", StringComparison.Ordinal) || first.Text == "-"
            ? BlockSequence(lines, ref at, indent)
            : BlockMapping(lines, ref at, indent);
    }

    private static Mapping BlockMapping(List<SourceLine> lines, ref int at, int indent)
    {
        int start = lines[at].Number;
        var entries = new List<(string, Node)>();
        while (at < lines.Count && lines[at].Indent == indent)
        {
            SourceLine line = lines[at];
            if (line.Text.StartsWith('-'))
                throw Error(line.Number, "a list item where a key was expected");
            (string key, string rest) = SplitKey(line);
            if (entries.Exists(e => e.Item1 == key))
                throw Error(line.Number, $"the key \"{key}\" appears twice");
            at++;
            Node value;
            if (rest.Length > 0)
                value = InlineValue(rest, line.Number);
            else if (at < lines.Count && lines[at].Indent > indent)
                value = Block(lines, ref at, lines[at].Indent) with { Line = line.Number }; // a block is where its key is
            else if (at < lines.Count && lines[at].Indent == indent && lines[at].Text.StartsWith('-'))
                value = BlockSequence(lines, ref at, indent) with { Line = line.Number }; // "key:" then "- item" at the same indent
            else
                value = new Scalar(line.Number, "");
            entries.Add((key, value));
        }
        if (at < lines.Count && lines[at].Indent > indent)
            throw Error(lines[at].Number, "this line is indented more than the keys before it");
        return new Mapping(start, entries);
    }

    private static Sequence BlockSequence(List<SourceLine> lines, ref int at, int indent)
    {
        int start = lines[at].Number;
        var items = new List<Node>();
        while (at < lines.Count && lines[at].Indent == indent && (lines[at].Text.StartsWith("- ", StringComparison.Ordinal) || lines[at].Text == "-"))
        {
            SourceLine line = lines[at];
            string rest = line.Text.Length > 1 ? line.Text[2..].Trim() : "";
            at++;
            if (rest.Length == 0)
                throw Error(line.Number, "an empty list item");
            if (LooksLikeKey(rest))
                throw Error(line.Number, "a mapping inside a list item is not supported here");
            items.Add(InlineValue(rest, line.Number));
        }
        return new Sequence(start, items);
    }

    private static Node InlineValue(string text, int line)
    {
        if (text.StartsWith('['))
        {
            if (!text.EndsWith(']'))
                throw Error(line, "a flow list must end on its line with ]");
            string inner = text[1..^1].Trim();
            var items = new List<Node>();
            if (inner.Length > 0)
            {
                foreach (string item in SplitFlow(inner, line))
                    items.Add(new Scalar(line, ScalarValue(item.Trim(), line)));
            }
            return new Sequence(line, items);
        }
        if (text.StartsWith('{'))
            throw Error(line, "flow mappings ({...}) are not supported here");
        return new Scalar(line, ScalarValue(text, line));
    }

    private static string ScalarValue(string text, int line)
    {
        if (text.Length == 0)
            return "";
        switch (text[0])
        {
            case '\'':
                if (text.Length < 2 || !text.EndsWith('\''))
                    throw Error(line, "a single-quoted string must end on its line");
                return text[1..^1].Replace("''", "'");
            case '"':
                if (text.Length < 2 || !text.EndsWith('"') || text.EndsWith("\\\"", StringComparison.Ordinal) && !text.EndsWith("\\\\\"", StringComparison.Ordinal))
                    throw Error(line, "a double-quoted string must end on its line");
                return Unescape(text[1..^1], line);
            case '&' or '*' or '!' or '|' or '>' or '%' or '@' or '`':
                throw Error(line, $"\"{text[0]}\" (anchors, tags, block scalars) is not supported here");
            default:
                return text;
        }
    }

    private static string Unescape(string text, int line)
    {
        var result = new System.Text.StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\')
            {
                result.Append(text[i]);
                continue;
            }
            if (++i == text.Length)
                throw Error(line, "a backslash ends a double-quoted string");
            switch (text[i])
            {
                case '\\' or '"' or '/':
                    result.Append(text[i]);
                    break;
                case 'n':
                    result.Append('\n');
                    break;
                case 't':
                    result.Append('\t');
                    break;
                case 'u' when i + 4 < text.Length && ushort.TryParse(text.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort code):
                    result.Append((char)code);
                    i += 4;
                    break;
                default:
                    throw Error(line, $"the escape \\{text[i]} is not supported here");
            }
        }
        return result.ToString();
    }

    private static IEnumerable<string> SplitFlow(string inner, int line)
    {
        int start = 0;
        char quote = '\0';
        for (int i = 0; i < inner.Length; i++)
        {
            char c = inner[i];
            if (quote != '\0')
            {
                if (c == quote)
                    quote = '\0';
                continue;
            }
            if (c is '\'' or '"')
                quote = c;
            else if (c is '[' or '{')
                throw Error(line, "nested flow collections are not supported here");
            else if (c == ',')
            {
                yield return inner[start..i];
                start = i + 1;
            }
        }
        yield return inner[start..];
    }

    private static bool LooksLikeKey(string text) => !text.StartsWith('"') && !text.StartsWith('\'') && (text.Contains(": ", StringComparison.Ordinal) || text.EndsWith(':'));

    private static (string Key, string Value) SplitKey(SourceLine line)
    {
        string text = line.Text;
        string key;
        int after;
        if (text[0] is '"' or '\'')
        {
            int close = text.IndexOf(text[0], 1);
            if (close < 0)
                throw Error(line.Number, "a quoted key must end on its line");
            key = ScalarValue(text[..(close + 1)], line.Number);
            after = close + 1;
            if (after >= text.Length || text[after] != ':')
                throw Error(line.Number, "a key must be followed by \":\"");
        }
        else
        {
            after = text.IndexOf(": ", StringComparison.Ordinal);
            if (after < 0)
                after = text.EndsWith(':') ? text.Length - 1 : throw Error(line.Number, "expected \"key: value\"");
            key = text[..after].Trim();
        }
        return (key, text[(after + 1)..].Trim());
    }

    /// <summary>Removes a comment: "#" at the start or after a space, outside quotes.</summary>
    private static string StripComment(string line)
    {
        char quote = '\0';
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quote != '\0')
            {
                if (c == '\\' && quote == '"')
                    i++;
                else if (c == quote)
                    quote = '\0';
                continue;
            }
            if (c is '\'' or '"' && (i == 0 || line[i - 1] is ' ' or ':' or '[' or ',' or '-'))
                quote = c;
            else if (c == '#' && (i == 0 || line[i - 1] is ' ' or '\t'))
                return line[..i];
        }
        return line;
    }

    private static FormatException Error(int line, string problem) => new($"line {line}: {problem}");
}
