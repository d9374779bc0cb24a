namespace AIOps.Trace.Cgroups;

/// <summary>
/// The one place cgroup code touches the file system, so readers and the index can be tested
/// on recorded trees. Cgroups come and go while we read them: every member treats a path that
/// has vanished as missing rather than as an error.
/// </summary>
internal interface ICgroupFileSystem
{
    /// <summary>Whole text of a file, or null when it does not exist.</summary>
    string? ReadAllText(string path);

    /// <summary>Full paths of the child directories of <paramref name="path"/>; empty when it does not exist.</summary>
    IEnumerable<string> EnumerateDirectories(string path);

    /// <summary>Inode number of <paramref name="path"/>, or null when it does not exist.</summary>
    ulong? Inode(string path);
}
