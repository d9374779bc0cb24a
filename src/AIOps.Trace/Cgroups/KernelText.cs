using System.Text;
using static AIOps.Trace.Interop.Interop;

namespace AIOps.Trace.Cgroups;

/// <summary>
/// Reads a cgroupfs, procfs or sysfs file whole as text through <see cref="ReadWhole"/>, into a
/// buffer the thread reuses, its directory held open a moment for the next file
/// (<see cref="HeldDirectories"/>). Every window reads a dozen such files per container:
/// File.ReadAllText costs a FileStream, a StreamReader, an fstat and an flock(2) per file, and
/// measured at 100 containers it was more than half of the sidecar's CPU.
/// </summary>
internal static class KernelText
{
    [ThreadStatic]
    private static byte[]? t_buffer;

    [ThreadStatic]
    private static HeldDirectories? t_directories;

    /// <summary>This thread's held directories (for tests).</summary>
    internal static HeldDirectories Directories => t_directories ??= new HeldDirectories();

    private const int EPERM = 1, EACCES = 13;

    /// <summary>The file's text; null when it is missing or cannot be read (a cgroup removed mid-read: ENOENT, ENODEV).</summary>
    /// <exception cref="UnauthorizedAccessException">The caller may not read it (EACCES, EPERM).</exception>
    public static string? Read(string path)
    {
        byte[] buffer = t_buffer ??= new byte[16 * 1024];
        int errno = Directories.Read(path, ref buffer, out int length);
        t_buffer = buffer;
        return errno switch
        {
            0 => Encoding.UTF8.GetString(buffer, 0, length),
            EACCES or EPERM => throw new UnauthorizedAccessException($"Access to the path '{path}' is denied."),
            _ => null,
        };
    }
}
