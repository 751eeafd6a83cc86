namespace KvmStat.Cli;

/// <summary>One option as the completion scripts describe it, read from its System.CommandLine definition.</summary>
/// <param name="Short">Its one-letter names ("-f").</param>
/// <param name="Long">Its long names ("--fields").</param>
/// <param name="Description">What -h says of it.</param>
/// <param name="Value">What follows it.</param>
/// <param name="ValueName">The value's name in -h ("FIELDS"), or null.</param>
/// <param name="Words">The fixed words its value may be.</param>
/// <param name="OptionalValue">The value may be left out (--serve).</param>
/// <param name="Repeatable">It may be given more than once (--qmp).</param>
/// <param name="Alone">It goes with no other option (-h, --version).</param>
internal sealed record CompletionOption(
    string[] Short, string[] Long, string Description, CompletionValue Value, string? ValueName,
    string[] Words, bool OptionalValue, bool Repeatable, bool Alone)
{
    internal IEnumerable<string> Names => Short.Concat(Long);
}
