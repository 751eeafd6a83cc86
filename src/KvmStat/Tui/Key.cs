namespace KvmStat.Tui;

/// <summary>A key press: a character, or a named key.</summary>
internal readonly record struct Key(KeyKind Kind, char Char = '\0')
{
    internal static Key Of(char c) => new(KeyKind.Char, c);

    internal bool Is(char c) => Kind == KeyKind.Char && Char == c;
}
