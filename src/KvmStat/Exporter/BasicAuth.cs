using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace KvmStat.Exporter;

/// <summary>
/// HTTP basic authentication against bcrypt hashes (basic_auth_users). A wrong user and a wrong
/// password take the same bcrypt work and get the same answer. bcrypt is slow on purpose; a
/// password that verified is remembered as its SHA-256, so a scraper's every request does not pay it.
/// </summary>
internal sealed class BasicAuth(IReadOnlyDictionary<string, string> users)
{
    private static readonly Lazy<string> s_stranger = new(() => BCrypt.Net.BCrypt.HashPassword(Guid.NewGuid().ToString(), 10));

    private readonly ConcurrentDictionary<string, byte[]> _verified = new(StringComparer.Ordinal);

    internal bool Enabled => users.Count > 0;

    /// <summary>Whether an Authorization header names a user and that user's password.</summary>
    internal bool Accepts(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
            return false;
        Span<byte> decoded = stackalloc byte[Math.Min(authorization.Length, 4096)];
        if (!Convert.TryFromBase64String(authorization[6..].Trim(), decoded, out int length))
            return false;
        string credentials = Encoding.UTF8.GetString(decoded[..length]);
        int colon = credentials.IndexOf(':');
        if (colon < 0)
            return false;
        string user = credentials[..colon], password = credentials[(colon + 1)..];
        byte[] digest = SHA256.HashData(Encoding.UTF8.GetBytes(password));
        if (!users.TryGetValue(user, out string? hash))
        {
            _ = BCrypt.Net.BCrypt.Verify(password, s_stranger.Value);
            return false;
        }
        if (_verified.TryGetValue(user, out byte[]? known) && CryptographicOperations.FixedTimeEquals(known, digest))
            return true;
        if (!BCrypt.Net.BCrypt.Verify(password, hash))
            return false;
        _verified[user] = digest;
        return true;
    }
}
