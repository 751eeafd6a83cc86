namespace KvmStat.Tui;

/// <summary>Decodes the bytes a terminal sends (UTF-8 text, control keys, CSI and SS3 sequences).</summary>
internal static class KeyDecoder
{
    internal static void Decode(ReadOnlySpan<byte> input, List<Key> keys)
    {
        int i = 0;
        while (i < input.Length)
        {
            byte b = input[i];
            if (b == 0x1b)
            {
                i += DecodeEscape(input[i..], keys);
                continue;
            }
            i++;
            switch (b)
            {
                case (byte)'\r':
                case (byte)'\n':
                    keys.Add(new Key(KeyKind.Enter));
                    break;
                case 0x7f:
                case 0x08:
                    keys.Add(new Key(KeyKind.Backspace));
                    break;
                case 0x03:
                    keys.Add(new Key(KeyKind.Interrupt));
                    break;
                case 0x15:
                    keys.Add(new Key(KeyKind.ClearLine));
                    break;
                case < 0x20:
                    keys.Add(new Key(KeyKind.Other));
                    break;
                case < 0x80:
                    keys.Add(Key.Of((char)b));
                    break;
                default:
                    i += DecodeUtf8(input[(i - 1)..], keys) - 1;
                    break;
            }
        }
    }

    private static int DecodeEscape(ReadOnlySpan<byte> input, List<Key> keys)
    {
        if (input.Length == 1)
        {
            keys.Add(new Key(KeyKind.Escape));
            return 1;
        }
        byte introducer = input[1];
        if (introducer != (byte)'[' && introducer != (byte)'O')
        {
            // Alt+key or a lone Escape followed by typing: the Escape, then the rest as typed.
            keys.Add(new Key(KeyKind.Escape));
            return 1;
        }
        // Parameters and intermediates, then one final byte in 0x40..0x7e.
        int end = 2;
        while (end < input.Length && input[end] is >= 0x20 and < 0x40)
            end++;
        if (end >= input.Length)
        {
            keys.Add(new Key(KeyKind.Other));
            return input.Length;
        }
        byte final = input[end];
        ReadOnlySpan<byte> parameters = input[2..end];
        keys.Add(final switch
        {
            (byte)'A' => new Key(KeyKind.Up),
            (byte)'B' => new Key(KeyKind.Down),
            (byte)'H' => new Key(KeyKind.Home),
            (byte)'F' => new Key(KeyKind.End),
            (byte)'~' when parameters.SequenceEqual("5"u8) => new Key(KeyKind.PageUp),
            (byte)'~' when parameters.SequenceEqual("6"u8) => new Key(KeyKind.PageDown),
            (byte)'~' when parameters.SequenceEqual("1"u8) || parameters.SequenceEqual("7"u8) => new Key(KeyKind.Home),
            (byte)'~' when parameters.SequenceEqual("4"u8) || parameters.SequenceEqual("8"u8) => new Key(KeyKind.End),
            _ => new Key(KeyKind.Other),
        });
        return end + 1;
    }

    private static int DecodeUtf8(ReadOnlySpan<byte> input, List<Key> keys)
    {
        int length = input[0] switch
        {
            >= 0xf0 => 4,
            >= 0xe0 => 3,
            >= 0xc0 => 2,
            _ => 1,
        };
        length = Math.Min(length, input.Length);
        Span<char> chars = stackalloc char[2];
        int count = System.Text.Encoding.UTF8.GetChars(input[..length], chars);
        keys.Add(count == 1 ? Key.Of(chars[0]) : new Key(KeyKind.Other));
        return length;
    }
}
