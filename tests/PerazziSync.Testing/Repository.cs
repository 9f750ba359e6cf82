namespace PerazziSync.Testing;

/// <summary>The checkout the tests run from.</summary>
public static class Repository
{
    /// <summary>The directory holding PerazziSync.sln, found upwards from the test's build output.</summary>
    public static string Root { get; } = Find();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PerazziSync.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No PerazziSync.sln above {AppContext.BaseDirectory}");
    }
}
