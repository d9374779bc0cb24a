namespace AIOps.Trace.Tests.Shared;

/// <summary>A fresh directory under /tmp, removed with everything in it when disposed.</summary>
/// <remarks>Kernel tests <c>Own</c> it before the processes that write into it, so it goes after them.</remarks>
public sealed class TempDir(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
