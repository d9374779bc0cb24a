using System.Runtime.InteropServices;
using System.Text;
using static AIOps.Trace.Interop.Interop;

namespace AIOps.Trace.Cgroups;

/// <summary>
/// Reads a cgroupfs, procfs or sysfs file whole with open(2), read(2) and close(2) into a buffer
/// the thread reuses. Every window reads a dozen such files per container: File.ReadAllText
/// costs a FileStream, a StreamReader, an fstat and an flock(2) per file, and measured at 100
/// containers it was more than half of the sidecar's CPU.
/// </summary>
internal static class KernelText
{
    [ThreadStatic]
    private static byte[]? t_buffer;

    private const int EPERM = 1, EINTR = 4, EACCES = 13;

    /// <summary>The file's text; null when it is missing or cannot be read (a cgroup removed mid-read: ENOENT, ENODEV).</summary>
    /// <exception cref="UnauthorizedAccessException">The caller may not read it (EACCES, EPERM).</exception>
    public static unsafe string? Read(string path)
    {
        int fd;
        do fd = LibcOpen(path, O_RDONLY | O_CLOEXEC);
        while (fd < 0 && Marshal.GetLastPInvokeError() == EINTR);
        if (fd < 0)
            return Refused(path, Marshal.GetLastPInvokeError());
        try
        {
            byte[] buffer = t_buffer ??= new byte[16 * 1024];
            int length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                    t_buffer = buffer;
                }
                nint n;
                fixed (byte* p = &buffer[length])
                    n = LibcRead(fd, p, buffer.Length - length);
                if (n > 0)
                    length += (int)n;
                else if (n == 0)
                    return Encoding.UTF8.GetString(buffer, 0, length);
                else if (Marshal.GetLastPInvokeError() is int errno && errno != EINTR)
                    return Refused(path, errno);
            }
        }
        finally
        {
            LibcClose(fd);
        }
    }

    private static string? Refused(string path, int errno) =>
        errno is EACCES or EPERM ? throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.") : null;
}
