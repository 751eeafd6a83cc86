using KvmStat.Tests.Architecture;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>
/// ./build.sh package makes a release from one commit: it refuses a tree whose files differ from
/// it, before it builds anything, unless told that this is a development build. Run in a git
/// repository of its own holding the script and what it reads first.
/// </summary>
public class ReleasePackageScriptTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    private static (int Code, string Output, string Error) Git(string repository, params string[] args) =>
        ChildProcess.Run("git", ["-C", repository, "-c", "user.name=kvm_stat tests", "-c", "user.email=tests@localhost", .. args], s_timeout);

    [Fact]
    public void PackageRefusesUncommittedChangesUnlessToldItIsADevelopmentBuild()
    {
        string repository = Directory.CreateTempSubdirectory("kvm_stat-release-").FullName;
        // dotnet, which the build runs, leaves folders in TMPDIR: one of the test's own.
        string scratch = Directory.CreateTempSubdirectory("kvm_stat-release-tmp-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Join(repository, "packaging"));
            foreach (string file in new[] { "build.sh", "VERSION", "packaging/release.conf" })
            {
                File.Copy(Path.Join(Repository.Root, file), Path.Join(repository, file));
                File.SetUnixFileMode(Path.Join(repository, file), File.GetUnixFileMode(Path.Join(Repository.Root, file)));
            }
            Assert.Equal(0, Git(repository, "init", "--quiet").Code);
            Assert.Equal(0, Git(repository, "add", ".").Code);
            Assert.Equal(0, Git(repository, "commit", "--quiet", "-m", "release").Code);
            string script = Path.Join(repository, "build.sh");

            // A tracked file changed.
            File.AppendAllText(Path.Join(repository, "VERSION"), "\n");
            (int code, string output, string error) = ChildProcess.Run(script, ["package"], s_timeout);
            Assert.Equal(1, code);
            Assert.Empty(output);
            Assert.Equal("build.sh: uncommitted changes in VERSION: commit or stash them (a release is one commit), " +
                "or use ./build.sh package --allow-dirty for a development build marked +dirty", error.TrimEnd());

            // A source file the build would compile, though git does not know it yet.
            Assert.Equal(0, Git(repository, "checkout", "--quiet", "VERSION").Code);
            Directory.CreateDirectory(Path.Join(repository, "src"));
            File.WriteAllText(Path.Join(repository, "src", "New.cs"), "");
            (code, _, error) = ChildProcess.Run(script, ["package"], s_timeout);
            Assert.Equal(1, code);
            Assert.StartsWith("build.sh: uncommitted changes in src/New.cs: ", error);

            // --allow-dirty lets it through: it goes on to build, which this copy cannot (it has no project).
            (code, output, error) = ChildProcess.Run(script, ["package", "--allow-dirty"], s_timeout, environment: new Dictionary<string, string> { ["TMPDIR"] = scratch });
            Assert.NotEqual(0, code);
            Assert.DoesNotContain("uncommitted changes", output + error);
            Assert.Contains("src/KvmStat/KvmStat.csproj", output + error);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
            Directory.Delete(repository, recursive: true);
        }
    }
}
