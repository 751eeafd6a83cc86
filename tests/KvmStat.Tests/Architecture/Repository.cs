namespace KvmStat.Tests.Architecture;

/// <summary>The repository the tests were built from (src/, contrib/, build.sh), found above the test binaries.</summary>
internal static class Repository
{
    internal static string Root { get; } = Locate();

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Join(dir.FullName, "src", "KvmStat")) && File.Exists(Path.Join(dir.FullName, "build.sh")))
                return dir.FullName;
        }
        throw new InvalidOperationException("the repository (src/KvmStat, build.sh) was not found above the tests");
    }
}
