using System.Security.Cryptography;
using System.Text;

namespace KvmStat.Exporter;

/// <summary>
/// The outcome of bcrypt checks already made, so that a scraper's every request does not pay one:
/// by a keyed digest (HMAC with a key of this process) of user, hash and password, so that a
/// reload that keeps a user's hash keeps its entry, and a changed hash never matches an old one.
/// Verified and refused credentials are kept apart and each bounded: refusals (repeated by a
/// flood) come back fast, and can never push out a scraper's verified entry.
/// </summary>
internal sealed class CredentialCache(int verified = 64, int refused = 1024)
{
    internal static CredentialCache Shared { get; } = new();

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly object _lock = new();
    private readonly (HashSet<UInt128> Set, Queue<UInt128> Order, int Limit) _verified = ([], new(), verified);
    private readonly (HashSet<UInt128> Set, Queue<UInt128> Order, int Limit) _refused = ([], new(), refused);

    internal UInt128 KeyOf(string user, string hash, string password)
    {
        byte[] digest = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{user.Length}:{user}{hash.Length}:{hash}{password}"));
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(digest);
    }

    /// <summary>True or false for a check made before, null for one never made (or forgotten).</summary>
    internal bool? Lookup(UInt128 key)
    {
        lock (_lock)
            return _verified.Set.Contains(key) ? true : _refused.Set.Contains(key) ? false : null;
    }

    internal void Remember(UInt128 key, bool accepted)
    {
        lock (_lock)
        {
            (HashSet<UInt128> set, Queue<UInt128> order, int limit) = accepted ? _verified : _refused;
            if (!set.Add(key))
                return;
            order.Enqueue(key);
            if (order.Count > limit)
                set.Remove(order.Dequeue());
        }
    }
}
