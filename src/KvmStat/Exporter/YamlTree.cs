using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace KvmStat.Exporter;

/// <summary>
/// A YAML document as a tree of scalars, mappings and sequences, each with the line it starts on,
/// read with YamlDotNet's event parser (full YAML 1.1/1.2 syntax: flow and block collections,
/// quoted and block scalars, anchors and aliases, merge keys, tags, comments). Only the first
/// document is read, as Prometheus' exporter-toolkit does; a key twice in one mapping is an error,
/// as its strict reading makes it. Aliases are expanded with a bound, so a file of nested aliases
/// cannot make the tree grow without limit.
/// </summary>
internal static class YamlTree
{
    /// <summary>The most nodes aliases may expand a document to.</summary>
    private const int MaxNodes = 100_000;

    /// <summary>
    /// A node: a scalar (string), a mapping (keys in file order), or a sequence. A reader of a file
    /// takes each value as what it must be (AsMapping, AsList, AsText, AsBool): anything else is an
    /// error naming the line and the key.
    /// </summary>
    internal abstract record Node(int Line)
    {
        /// <summary>A mapping; YAML's null (a key with nothing under it) is an empty one.</summary>
        internal Mapping AsMapping(string key) =>
            this as Mapping ?? (this is Scalar { IsNull: true } ? new Mapping(Line, []) : throw Error($"{key} must hold keys and values"));

        /// <summary>A sequence's items; YAML's null is an empty list.</summary>
        internal IReadOnlyList<Node> AsList(string key) =>
            this is Sequence sequence ? sequence.Items : this is Scalar { IsNull: true } ? [] : throw Error($"{key} must be a list");

        internal string AsText(string key) => this is Scalar scalar ? scalar.Value : throw Error($"{key} must be a single value");

        // YAML 1.1's spellings too, as the exporter-toolkit's YAML reader takes them.
        internal bool AsBool(string key) => AsText(key) switch
        {
            "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" or "y" or "Y" => true,
            "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF" or "n" or "N" => false,
            string other => throw Error($"{key} must be true or false, not \"{other}\""),
        };

        /// <summary>A problem with this value, for the reader to throw: "line N: problem".</summary>
        internal FormatException Error(string problem) => YamlTree.Error(Line, problem);
    }

    /// <summary>A scalar; <paramref name="IsNull"/> for a plain "", "~" or "null" (YAML's null).</summary>
    internal sealed record Scalar(int Line, string Value, bool IsNull = false) : Node(Line);

    internal sealed record Mapping(int Line, IReadOnlyList<(string Key, Node Value)> Entries) : Node(Line);

    internal sealed record Sequence(int Line, IReadOnlyList<Node> Items) : Node(Line);

    /// <summary>Parses a document whose top level is a mapping (an empty document is an empty mapping).</summary>
    internal static Mapping Parse(string text)
    {
        var reader = new Reader(new Parser(new StringReader(text)));
        try
        {
            return reader.Document();
        }
        catch (YamlException e)
        {
            throw new FormatException($"line {e.Start.Line}: {FirstSentence(e.Message)}");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            // The parser's own failure on some malformed input: still an error in the file, near where it was reading.
            throw new FormatException($"line {reader.Line}: this is not valid YAML");
        }
    }

    private static string FirstSentence(string message)
    {
        // YamlDotNet's messages start with the position "(Line: 3, Col: 1, Idx: ..) - (...): " before the problem.
        int colon = message.IndexOf("): ", StringComparison.Ordinal);
        string problem = colon >= 0 ? message[(colon + 3)..] : message;
        return problem.Length <= 200 ? problem : problem[..200] + "...";
    }

    private static FormatException Error(int line, string problem) => new($"line {line}: {problem}");

    private sealed class Reader(Parser parser)
    {
        private readonly Dictionary<string, (Node Node, long Weight)> _anchors = new(StringComparer.Ordinal);
        // How many values the nodes read so far stand for, aliases expanded (each node's is kept with it).
        private readonly Dictionary<Node, long> _weights = new(ReferenceEqualityComparer.Instance);
        private long _total;

        /// <summary>The line of the last value read.</summary>
        internal int Line { get; private set; } = 1;

        internal Mapping Document()
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
                return new Mapping(1, []);
            parser.Consume<DocumentStart>();
            if (parser.Accept<DocumentEnd>(out _))
                return new Mapping(1, []);
            Node root = Read();
            if (root is Scalar { IsNull: true })
                return new Mapping(root.Line, []);
            return root as Mapping ?? throw Error(root.Line, "the document must be a mapping of keys to values");
        }

        private Node Read()
        {
            ParsingEvent next = parser.Current ?? throw Error(1, "the document ends early");
            int line = (int)next.Start.Line;
            Line = line;
            switch (next)
            {
                case AnchorAlias alias:
                    parser.MoveNext();
                    if (!_anchors.TryGetValue(alias.Value.Value, out (Node Node, long Weight) target))
                        throw Error(line, $"the alias *{alias.Value.Value} names no anchor before it");
                    Add(target.Weight, line);
                    return target.Node;
                case YamlDotNet.Core.Events.Scalar scalar:
                    parser.MoveNext();
                    bool plain = scalar.Style == ScalarStyle.Plain;
                    bool isNull = plain && scalar.Value is "" or "~" or "null" or "Null" or "NULL";
                    return Anchor(scalar.Anchor, new Scalar(line, isNull ? "" : scalar.Value, isNull));
                case SequenceStart start:
                    parser.MoveNext();
                    var items = new List<Node>();
                    while (!parser.TryConsume<SequenceEnd>(out _))
                        items.Add(Read());
                    return Anchor(start.Anchor, new Sequence(line, items));
                case MappingStart start:
                    parser.MoveNext();
                    return Anchor(start.Anchor, ReadMapping(line));
                default:
                    throw Error(line, $"unexpected {next.GetType().Name}");
            }
        }

        private Mapping ReadMapping(int line)
        {
            var entries = new List<(string Key, Node Value)>();
            var merged = new List<(string Key, Node Value)>();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                Node key = Read();
                Node value = Read();
                if (key is not Scalar { Value: var name })
                    throw Error(key.Line, "a key must be a single value");
                // "<<: *defaults" merges another mapping's keys (those the mapping sets itself win).
                if (name == "<<" && key is Scalar { IsNull: false })
                {
                    foreach (Node source in value is Sequence list ? list.Items : [value])
                        merged.AddRange(source is Mapping m ? m.Entries : throw Error(source.Line, "<< merges only mappings"));
                    continue;
                }
                if (entries.Exists(e => e.Key == name))
                    throw Error(key.Line, $"the key \"{name}\" appears twice");
                // A block under a key is where its key is, for the messages.
                entries.Add((name, value switch
                {
                    Mapping m when m.Line > key.Line => Reweigh(m, m with { Line = key.Line }),
                    Sequence q when q.Line > key.Line => Reweigh(q, q with { Line = key.Line }),
                    _ => value,
                }));
            }
            foreach ((string key, Node value) in merged)
            {
                if (!entries.Exists(e => e.Key == key))
                    entries.Add((key, value));
            }
            return new Mapping(line, entries);
        }

        private Node Reweigh(Node old, Node renamed)
        {
            _weights[renamed] = _weights[old];
            return renamed;
        }

        /// <summary>Keeps a node's weight (itself and every value under it, aliases expanded) and its anchor.</summary>
        private Node Anchor(AnchorName anchor, Node node)
        {
            long weight = 1 + node switch
            {
                Mapping m => m.Entries.Sum(e => 1 + _weights[e.Value]),
                Sequence s => s.Items.Sum(i => _weights[i]),
                _ => 0,
            };
            _weights[node] = weight;
            if (node is not Mapping and not Sequence)
                Add(1, node.Line);
            if (!anchor.IsEmpty)
                _anchors[anchor.Value] = (node, weight);
            return node;
        }

        /// <summary>Counts values read (an alias: as many as it stands for); too many is an error, not a tree without end.</summary>
        private void Add(long weight, int line)
        {
            _total += weight;
            if (_total > MaxNodes)
                throw Error(line, $"the document stands for more than {MaxNodes} values (aliases that expand without end?)");
        }
    }
}
