using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace KvmStat.Exporter;

/// <summary>
/// HTTP basic authentication against bcrypt hashes (basic_auth_users). A failed login costs the
/// same whoever it names: an unknown user's password is checked against a hash of the highest cost
/// the users have, and a known user's of a lower cost is followed by checks that make up the
/// difference (costs c, c+1 ... highest-1 add up to the highest's rounds), so the time tells
/// nothing of which users exist. bcrypt is slow on purpose: checks wait in a fair queue per client
/// (<see cref="BcryptQueue"/>, one core at most), and outcomes are remembered
/// (<see cref="CredentialCache"/>, across reloads that keep a user's hash).
/// </summary>
internal sealed class BasicAuth
{
    private const string Unknown = "(unknown user)";

    private readonly IReadOnlyDictionary<string, string> _users;
    private readonly int _highest;
    private readonly string[] _strangers;
    private readonly BcryptQueue _queue;
    private readonly CredentialCache _cache;

    internal BasicAuth(IReadOnlyDictionary<string, string> users, BcryptQueue? queue = null, CredentialCache? cache = null)
    {
        _users = users;
        _queue = queue ?? BcryptQueue.Shared;
        _cache = cache ?? CredentialCache.Shared;
        _highest = users.Values.Select(Cost).DefaultIfEmpty(WebConfig.MinBcryptCost).Max();
        // Hashes that match no password, one of each cost up to the highest: made from one real
        // hash of the lowest cost (checking one costs what its cost says; no cost-31 hash is made at start).
        string made = BCrypt.Net.BCrypt.HashPassword(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)), WebConfig.MinBcryptCost);
        _strangers = [.. Enumerable.Range(0, _highest + 1).Select(cost => $"$2y${cost.ToString("00", CultureInfo.InvariantCulture)}${made[7..]}")];
    }

    internal bool Enabled => _users.Count > 0;

    private static int Cost(string hash) => int.Parse(hash.AsSpan(hash.IndexOf('$', 1) + 1, 2), CultureInfo.InvariantCulture);

    /// <summary>
    /// Whether an Authorization header names a user and that user's password; <paramref name="client"/>
    /// says whose queue the check waits in, asked only when a check is needed (a remembered outcome is not).
    /// </summary>
    internal async ValueTask<AuthResult> AcceptsAsync(string? authorization, Func<UInt128> client, CancellationToken cancel)
    {
        if (Credentials(authorization) is not (string user, string password))
            return AuthResult.Refused;
        bool known = _users.TryGetValue(user, out string? hash);
        UInt128 key = _cache.KeyOf(user, known ? hash! : Unknown, password);
        if (_cache.Lookup(key) is bool remembered)
            return remembered && known ? AuthResult.Accepted : AuthResult.Refused;
        Task<bool>? check = _queue.TryRun(client(), () => Check(password, known ? hash : null), cancel);
        if (check is null)
            return AuthResult.Busy;
        bool matches = await check.WaitAsync(cancel).ConfigureAwait(false);
        _cache.Remember(key, matches && known);
        return matches && known ? AuthResult.Accepted : AuthResult.Refused;
    }

    private static (string, string)? Credentials(string? authorization)
    {
        if (authorization is null || authorization.Length > 4096 || !authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
            return null;
        byte[] decoded = new byte[authorization.Length];
        if (!Convert.TryFromBase64String(authorization[6..].Trim(), decoded, out int length))
            return null;
        string credentials = Encoding.UTF8.GetString(decoded, 0, length);
        int colon = credentials.IndexOf(':');
        return colon < 0 ? null : (credentials[..colon], credentials[(colon + 1)..]);
    }

    /// <summary>One check at the highest cost's price: the user's hash, padded by lower ones when it fails; a stranger's at the highest.</summary>
    private bool Check(string password, string? hash)
    {
        if (hash is null)
        {
            Verify(password, _strangers[_highest]);
            return false;
        }
        if (Verify(password, hash))
            return true;
        for (int cost = Cost(hash); cost < _highest; cost++)
            Verify(password, _strangers[cost]);
        return false;
    }

    private static bool Verify(string password, string hash)
    {
        try
        {
            return BCrypt.Net.BCrypt.Verify(password, hash);
        }
        catch (BCrypt.Net.SaltParseException)
        {
            return false;
        }
    }
}
