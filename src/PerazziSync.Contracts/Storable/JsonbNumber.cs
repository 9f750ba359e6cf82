namespace PerazziSync.Contracts;

/// <summary>
/// Whether a JSON number fits PostgreSQL's <c>numeric</c>, which jsonb stores numbers as: at most
/// 131072 digits before the decimal point and 16383 after it, and an exponent within ±(2³⁰ − 1).
/// JSON itself has no limit, so <c>1e999999</c> is valid JSON that no jsonb column accepts.
/// </summary>
public static class JsonbNumber
{
    const long MaxDigitsBeforePoint = 131_072;
    const long MaxDigitsAfterPoint = 16_383;
    const long MaxExponent = int.MaxValue / 2;

    /// <param name="number">A number as JSON writes it: <c>-?int(.frac)?([eE][+-]?exp)?</c>.</param>
    public static bool Fits(ReadOnlySpan<byte> number)
    {
        if (number.Length > 0 && number[0] == (byte)'-')
        {
            number = number[1..];
        }
        var e = number.IndexOfAny((byte)'e', (byte)'E');
        var mantissa = e < 0 ? number : number[..e];
        long exponent = 0;
        if (e >= 0)
        {
            var digits = number[(e + 1)..];
            var negative = digits.Length > 0 && digits[0] == (byte)'-';
            if (digits.Length > 0 && digits[0] is (byte)'-' or (byte)'+')
            {
                digits = digits[1..];
            }
            foreach (var digit in digits)
            {
                exponent = exponent * 10 + (digit - '0');
                if (exponent >= MaxExponent)
                {
                    return false;
                }
            }
            exponent = negative ? -exponent : exponent;
        }
        var point = mantissa.IndexOf((byte)'.');
        var integer = point < 0 ? mantissa : mantissa[..point];
        var fraction = point < 0 ? [] : mantissa[(point + 1)..];
        // Written fraction digits count, trailing zeros included, as PostgreSQL's display scale does.
        if (fraction.Length - exponent > MaxDigitsAfterPoint)
        {
            return false;
        }
        var firstSignificant = integer.IndexOfAnyExcept((byte)'0');
        long digitsBeforePoint;
        if (firstSignificant >= 0)
        {
            digitsBeforePoint = integer.Length - firstSignificant + exponent;
        }
        else if (fraction.IndexOfAnyExcept((byte)'0') is var inFraction and >= 0)
        {
            digitsBeforePoint = exponent - inFraction;
        }
        else
        {
            // Zero is zero whatever its exponent.
            return true;
        }
        return digitsBeforePoint <= MaxDigitsBeforePoint;
    }
}
