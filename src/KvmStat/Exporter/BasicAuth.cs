using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace KvmStat.Exporter;

/// <summary>
/// HTTP basic authentication against bcrypt hashes (basic_auth_users). A wrong password and an
/// unknown user cost the same: an unknown user's password is checked against a hash of the
/// highest cost the users have, and both get the same answer. bcrypt is slow on purpose, so checks
/// run one at a time (failed logins occupy at most one core, as in Prometheus' exporter-toolkit);
/// a password that verified is remembered as its SHA-256, so a scraper's every request does not pay it.
/// </summary>
internal sealed class BasicAuth
{
    // One bcrypt at a time for the whole process: a reload makes a new BasicAuth, not a second core.
    private static readonly SemaphoreSlim s_oneAtATime = new(1, 1);

    private readonly IReadOnlyDictionary<string, string> _users;
    private readonly string _stranger;
    private static int s_running;
    private static int s_peak;

    private readonly ConcurrentDictionary<string, byte[]> _verified = new(StringComparer.Ordinal);

    /// <summary>The most bcrypt checks that ever ran at once (for tests: one).</summary>
    internal static int PeakConcurrentChecks => Volatile.Read(ref s_peak);

    internal BasicAuth(IReadOnlyDictionary<string, string> users)
    {
        _users = users;
        _stranger = StrangerHash(users.Values.Select(Cost).DefaultIfEmpty(WebConfig.MinBcryptCost).Max());
    }

    internal bool Enabled => _users.Count > 0;

    /// <summary>
    /// A hash that matches no password, of the given cost: a real hash's salt and digest under that
    /// cost (checking it costs what checking a user's password of that cost does, and no cost-31 hash is made at start).
    /// </summary>
    private static string StrangerHash(int cost)
    {
        string made = BCrypt.Net.BCrypt.HashPassword(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)), WebConfig.MinBcryptCost);
        return $"$2y${cost.ToString("00", System.Globalization.CultureInfo.InvariantCulture)}${made[7..]}";
    }

    private static int Cost(string hash) => int.Parse(hash.AsSpan(hash.IndexOf('$', 1) + 1, 2), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Whether an Authorization header names a user and that user's password.</summary>
    internal async ValueTask<bool> AcceptsAsync(string? authorization, CancellationToken cancel)
    {
        if (authorization is null || authorization.Length > 4096 || !authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
            return false;
        byte[] decoded = new byte[authorization.Length];
        if (!Convert.TryFromBase64String(authorization[6..].Trim(), decoded, out int length))
            return false;
        string credentials = Encoding.UTF8.GetString(decoded, 0, length);
        int colon = credentials.IndexOf(':');
        if (colon < 0)
            return false;
        string user = credentials[..colon], password = credentials[(colon + 1)..];
        byte[] digest = SHA256.HashData(Encoding.UTF8.GetBytes(password));
        bool known = _users.TryGetValue(user, out string? hash);
        if (known && _verified.TryGetValue(user, out byte[]? remembered) && CryptographicOperations.FixedTimeEquals(remembered, digest))
            return true;
        bool matches;
        await s_oneAtATime.WaitAsync(cancel).ConfigureAwait(false);
        int running = Interlocked.Increment(ref s_running);
        try
        {
            int peak;
            while (running > (peak = Volatile.Read(ref s_peak)) && Interlocked.CompareExchange(ref s_peak, running, peak) != peak)
            {
            }
            matches = BCrypt.Net.BCrypt.Verify(password, known ? hash : _stranger);
        }
        catch (BCrypt.Net.SaltParseException)
        {
            matches = false;
        }
        finally
        {
            Interlocked.Decrement(ref s_running);
            s_oneAtATime.Release();
        }
        if (!known || !matches)
            return false;
        _verified[user] = digest;
        return true;
    }
}
