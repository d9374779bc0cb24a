using System.Runtime.InteropServices;

namespace AIOps.Trace.Interop;

internal static partial class Interop
{
    /// <summary>
    /// The C library, for the procfs sampler's reads only: File.OpenHandle adds an fstat and an
    /// advisory flock to every open, which doubles the system calls of reading a 30-byte
    /// /proc file thousands of times a walk. The runtime resolves "libc" itself, as for the
    /// statx call of RealCgroupFileSystem.
    /// </summary>
    internal const string Libc = "libc";

    internal const int O_RDONLY = 0, O_CLOEXEC = 0x80000;

    /// <summary>open(2): a descriptor or -1 (errno in Marshal.GetLastPInvokeError).</summary>
    [LibraryImport(Libc, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int LibcOpen(string path, int flags);

    /// <summary>read(2): bytes read, 0 at end of file, or -1.</summary>
    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    internal static unsafe partial nint LibcRead(int fd, byte* buffer, nint count);

    /// <summary>close(2).</summary>
    [LibraryImport(Libc, EntryPoint = "close")]
    internal static partial int LibcClose(int fd);
}
