using System.Globalization;

namespace KvmStat.Sources.Tracepoints;

/// <summary>
/// Evaluates the integer constant expressions that appear as keys of <c>__print_symbolic</c>
/// tables after macro expansion: literals (decimal, hex, octal, with U/L suffixes),
/// parentheses, unary - + ~ and binary * / % + - &lt;&lt; &gt;&gt; &amp; ^ |.
/// Anything else (identifiers, casts) makes it fail rather than guess.
/// </summary>
internal static class ConstantExpression
{
    internal static bool TryEvaluate(string text, out long value)
    {
        var parser = new Parser(text);
        try
        {
            value = parser.ParseOr();
            parser.SkipWhitespace();
            return parser.AtEnd;
        }
        catch (FormatException)
        {
            value = 0;
            return false;
        }
        catch (OverflowException)
        {
            value = 0;
            return false;
        }
        catch (DivideByZeroException)
        {
            value = 0;
            return false;
        }
    }

    private ref struct Parser(string text)
    {
        private readonly string _text = text;
        private int _position;

        internal readonly bool AtEnd => _position >= _text.Length;

        internal void SkipWhitespace()
        {
            while (_position < _text.Length && char.IsWhiteSpace(_text[_position]))
                _position++;
        }

        private bool Accept(string token)
        {
            SkipWhitespace();
            if (string.CompareOrdinal(_text, _position, token, 0, token.Length) != 0)
                return false;
            // "<" must not swallow the first half of "<<", nor "&" of "&&".
            int after = _position + token.Length;
            if (token.Length == 1 && after < _text.Length && _text[after] == token[0] && token[0] is '<' or '>' or '&' or '|')
                return false;
            _position = after;
            return true;
        }

        internal long ParseOr()
        {
            long left = ParseXor();
            while (Accept("|"))
                left |= ParseXor();
            return left;
        }

        private long ParseXor()
        {
            long left = ParseAnd();
            while (Accept("^"))
                left ^= ParseAnd();
            return left;
        }

        private long ParseAnd()
        {
            long left = ParseShift();
            while (Accept("&"))
                left &= ParseShift();
            return left;
        }

        private long ParseShift()
        {
            long left = ParseAdditive();
            while (true)
            {
                if (Accept("<<"))
                    left <<= (int)ParseAdditive();
                else if (Accept(">>"))
                    left >>= (int)ParseAdditive();
                else
                    return left;
            }
        }

        private long ParseAdditive()
        {
            long left = ParseMultiplicative();
            while (true)
            {
                if (Accept("+"))
                    left = checked(left + ParseMultiplicative());
                else if (Accept("-"))
                    left = checked(left - ParseMultiplicative());
                else
                    return left;
            }
        }

        private long ParseMultiplicative()
        {
            long left = ParseUnary();
            while (true)
            {
                if (Accept("*"))
                    left = checked(left * ParseUnary());
                else if (Accept("/"))
                    left /= ParseUnary();
                else if (Accept("%"))
                    left %= ParseUnary();
                else
                    return left;
            }
        }

        private long ParseUnary()
        {
            if (Accept("-"))
                return checked(-ParseUnary());
            if (Accept("+"))
                return ParseUnary();
            if (Accept("~"))
                return ~ParseUnary();
            if (Accept("("))
            {
                long inner = ParseOr();
                if (!Accept(")"))
                    throw new FormatException();
                return inner;
            }
            return ParseLiteral();
        }

        private long ParseLiteral()
        {
            SkipWhitespace();
            int start = _position;
            while (_position < _text.Length && char.IsAsciiLetterOrDigit(_text[_position]))
                _position++;
            ReadOnlySpan<char> token = _text.AsSpan(start, _position - start);
            if (token.IsEmpty || !char.IsAsciiDigit(token[0]))
                throw new FormatException();
            token = token.TrimEnd("uUlL");

            ulong magnitude;
            bool ok;
            if (token.Length > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X'))
                ok = ulong.TryParse(token[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out magnitude);
            else if (token.Length > 1 && token[0] == '0')
                ok = TryParseOctal(token[1..], out magnitude);
            else
                ok = ulong.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out magnitude);
            if (!ok)
                throw new FormatException();
            return unchecked((long)magnitude);
        }

        private static bool TryParseOctal(ReadOnlySpan<char> digits, out ulong value)
        {
            value = 0;
            foreach (char c in digits)
            {
                if (c is < '0' or > '7')
                    return false;
                value = checked(value * 8 + (ulong)(c - '0'));
            }
            return true;
        }
    }
}
