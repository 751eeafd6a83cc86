using System.Diagnostics;
using System.Text;
using KvmStat.Exporter;

namespace KvmStat.Tests.Exporter;

/// <summary>What a failed login costs: the same whoever it names, never more than one core, and a flood of them only its own client's turn.</summary>
public class BasicAuthTests
{
    // Cost 8: about 15 ms a check, long enough to time, short enough for the suite.
    private static readonly string s_aliceHash = BCrypt.Net.BCrypt.HashPassword("secret", 8);

    private readonly BcryptQueue _queue = new();
    private readonly CredentialCache _cache = new();

    private BasicAuth Auth(Dictionary<string, string> users) => new(users, _queue, _cache);

    private static string Header(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    private static async Task<double> Milliseconds(BasicAuth auth, string header)
    {
        var clock = Stopwatch.StartNew();
        Assert.Equal(AuthResult.Refused, await auth.AcceptsAsync(header, () => 1, CancellationToken.None));
        return clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>Medians of interleaved tries (whatever else runs on the machine weighs on both alike); each password new, so none is remembered.</summary>
    private static async Task<double> Ratio(BasicAuth auth, string user, string otherUser)
    {
        var first = new List<double>();
        var second = new List<double>();
        for (int i = 0; i < 7; i++)
        {
            first.Add(await Milliseconds(auth, Header(user, $"wrong{i}")));
            second.Add(await Milliseconds(auth, Header(otherUser, $"wrong{i}")));
        }
        return first.Order().ElementAt(3) / second.Order().ElementAt(3);
    }

    [Fact]
    public async Task AnUnknownUserCostsWhatAWrongPasswordCosts()
    {
        BasicAuth auth = Auth(new Dictionary<string, string> { ["alice"] = s_aliceHash });
        double ratio = await Ratio(auth, "mallory", "alice");
        Assert.True(ratio is > 0.5 and < 2.0, $"an unknown user takes {ratio:F2} times what a wrong password takes");
        Assert.Equal(AuthResult.Accepted, await auth.AcceptsAsync(Header("alice", "secret"), () => 1, CancellationToken.None));
    }

    /// <summary>Users of costs 5 and 9: a wrong password of the cheap one costs what an unknown user (checked at 9) costs.</summary>
    [Fact]
    public async Task MixedCostsTellNothingOfWhichUsersExist()
    {
        BasicAuth auth = Auth(new Dictionary<string, string>
        {
            ["cheap"] = BCrypt.Net.BCrypt.HashPassword("secret", 5),
            ["dear"] = BCrypt.Net.BCrypt.HashPassword("secret", 9),
        });
        double ratio = await Ratio(auth, "cheap", "mallory");
        Assert.True(ratio is > 0.6 and < 1.6, $"a wrong password of the cost-5 user takes {ratio:F2} times what an unknown user takes");
        Assert.Equal(AuthResult.Accepted, await auth.AcceptsAsync(Header("cheap", "secret"), () => 1, CancellationToken.None));
    }

    /// <summary>Sixteen failed logins at once, from threads and clients of their own: bcrypt never runs twice at the same time.</summary>
    [Fact]
    public async Task FailedLoginsOccupyOneCoreAtMost()
    {
        BasicAuth auth = Auth(new Dictionary<string, string> { ["alice"] = s_aliceHash });
        using var start = new ManualResetEventSlim();
        Task[] logins = [.. Enumerable.Range(0, 16).Select(i => Task.Factory.StartNew(() =>
        {
            start.Wait();
            return auth.AcceptsAsync(Header("alice", $"wrong{i}"), () => (UInt128)i, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))];
        start.Set();
        await Task.WhenAll(logins);
        Assert.Equal(16, _queue.Runs);
        Assert.Equal(1, _queue.PeakConcurrentChecks);
    }

    /// <summary>
    /// One client sends 60 failed logins at once: past its share they are refused at once (429), and
    /// another client's correct login, sent after them, waits for at most a check or two, not sixty.
    /// </summary>
    [Fact]
    public async Task AFloodFromOneClientDoesNotDelayAnother()
    {
        BasicAuth auth = Auth(new Dictionary<string, string> { ["alice"] = s_aliceHash });
        double one = await Milliseconds(auth, Header("alice", "warm-up"));
        var clock = Stopwatch.StartNew();
        Task<AuthResult>[] flood = [.. Enumerable.Range(0, 60).Select(i => auth.AcceptsAsync(Header("alice", $"flood{i}"), () => 7, CancellationToken.None).AsTask())];
        double floodAnswered = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        Assert.Equal(AuthResult.Accepted, await auth.AcceptsAsync(Header("alice", "secret"), () => 8, CancellationToken.None));
        double scraper = clock.Elapsed.TotalMilliseconds;
        AuthResult[] results = await Task.WhenAll(flood);
        Assert.True(results.Count(r => r == AuthResult.Busy) >= 50, $"refused at once: {results.Count(r => r == AuthResult.Busy)} of 60");
        Assert.True(floodAnswered < 30 * one, $"asking 60 times took {floodAnswered:F0} ms (one check {one:F0} ms)");
        Assert.True(scraper < 4 * one + 100, $"the other client waited {scraper:F0} ms (one check {one:F0} ms)");
    }

    /// <summary>A reload that keeps alice's hash keeps her verified password: no second bcrypt. A changed hash matches nothing remembered.</summary>
    [Fact]
    public async Task VerifiedPasswordsOutliveAReloadThatKeepsTheHash()
    {
        var users = new Dictionary<string, string> { ["alice"] = s_aliceHash };
        Assert.Equal(AuthResult.Accepted, await Auth(users).AcceptsAsync(Header("alice", "secret"), () => 1, CancellationToken.None));
        Assert.Equal(1, _queue.Runs);
        Assert.Equal(AuthResult.Accepted, await Auth(new Dictionary<string, string>(users)).AcceptsAsync(Header("alice", "secret"), () => 1, CancellationToken.None));
        Assert.Equal(1, _queue.Runs);
        BasicAuth changed = Auth(new Dictionary<string, string> { ["alice"] = BCrypt.Net.BCrypt.HashPassword("other", 4) });
        Assert.Equal(AuthResult.Refused, await changed.AcceptsAsync(Header("alice", "secret"), () => 1, CancellationToken.None));
        Assert.Equal(2, _queue.Runs);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer x")]
    [InlineData("Basic !!!")]
    [InlineData("Basic YWxpY2U=")] // "alice" without a colon
    public async Task MalformedHeadersAreRefusedWithoutAnError(string? header) =>
        Assert.Equal(AuthResult.Refused, await Auth(new Dictionary<string, string> { ["alice"] = s_aliceHash }).AcceptsAsync(header, () => 1, CancellationToken.None));
}
