using System.Globalization;
using System.Text;

namespace KvmStat;

/// <summary>Makes untrusted text (guest names, other users' command lines) safe to print.</summary>
internal static class Text
{
    /// <summary>The longest untrusted text written whole where it is a value (a guest name in JSON or a label); longer text is cut.</summary>
    internal const int MaxValueLength = 256;

    /// <summary>The text cut to <see cref="MaxValueLength"/> characters: another user's 5 MB guest name must not make every record 5 MB.</summary>
    internal static string Cut(string text) => text.Length <= MaxValueLength ? text : text[..MaxValueLength];

    /// <summary>
    /// Control characters (C0, DEL, C1), bidirectional controls and invisible characters become
    /// visible escapes (\e, \n, \x9b, \u202e, \u200b), so a hostile VM name cannot move the cursor,
    /// retitle or recolour the terminal, reorder what is shown, or pass for another name.
    /// </summary>
    internal static string Escape(string text) => Escape(text, escapeBackslash: true);

    /// <summary>
    /// Like <see cref="Escape(string)"/> but leaves backslashes alone: for text the user typed, such
    /// as a regular expression, where a doubled backslash would misquote it.
    /// </summary>
    internal static string EscapeControls(string text) => Escape(text, escapeBackslash: false);

    private static string Escape(string text, bool escapeBackslash)
    {
        if (!NeedsEscape(text, escapeBackslash))
            return text;
        var builder = new StringBuilder(text.Length + 8);
        foreach (char c in text)
        {
            if (!IsUnsafe(c, escapeBackslash))
            {
                builder.Append(c);
                continue;
            }
            builder.Append(c switch
            {
                '\x1b' => "\\e",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\\' => "\\\\",
                < '\x100' => "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture),
                _ => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
            });
        }
        return builder.ToString();
    }

    private static bool NeedsEscape(string text, bool escapeBackslash)
    {
        foreach (char c in text)
        {
            if (IsUnsafe(c, escapeBackslash))
                return true;
        }
        return false;
    }

    /// <summary>A character that moves a terminal, reorders text or hides (C0, DEL, C1, bidirectional controls, invisible characters), which <see cref="EscapeControls"/> makes visible.</summary>
    internal static bool IsControl(char c) => IsUnsafe(c, escapeBackslash: false);

    private static bool IsUnsafe(char c, bool escapeBackslash) =>
        c < ' ' || c == '\x7f' || (c == '\\' && escapeBackslash) || (c >= '\x80' && c < '\xa0') ||
        // Blanks and joiners that pass for nothing or for a space: no-break space, the combining
        // grapheme joiner, Hangul fillers, Khmer inherent vowels, the braille blank, variation selectors.
        c is '\u00a0' or '\u034f' or '\u115f' or '\u1160' or '\u17b4' or '\u17b5' or '\u2800' or '\u3164' or '\uffa0' ||
        c is >= '\u180b' and <= '\u180f' || c is >= '\ufe00' and <= '\ufe0f' ||
        // Format characters (bidirectional marks and overrides, zero-width ones, the soft hyphen...) and line and paragraph separators.
        (c >= '\u00ad' && CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator);
}
