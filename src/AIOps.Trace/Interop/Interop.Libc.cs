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

    internal const int O_DIRECTORY = 0x10000, O_PATH = 0x200000;

    /// <summary>openat(2) of a NUL-terminated UTF-8 name relative to <paramref name="dirFd"/>: a descriptor or -1.</summary>
    [LibraryImport(Libc, EntryPoint = "openat", SetLastError = true)]
    internal static unsafe partial int LibcOpenAt(int dirFd, byte* name, int flags);

    /// <summary>read(2): bytes read, 0 at end of file, or -1.</summary>
    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    internal static unsafe partial nint LibcRead(int fd, byte* buffer, nint count);

    /// <summary>pread(2): bytes read at <paramref name="offset"/>, 0 at end of file, or -1.</summary>
    [LibraryImport(Libc, EntryPoint = "pread", SetLastError = true)]
    internal static unsafe partial nint LibcPread(int fd, byte* buffer, nint count, long offset);

    internal const int RLIMIT_NOFILE = 7;

    /// <summary>struct rlimit of a 64-bit C library.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    /// <summary>getrlimit(2): 0, or -1.</summary>
    [LibraryImport(Libc, EntryPoint = "getrlimit")]
    internal static partial int LibcGetrlimit(int resource, out RLimit limit);

    /// <summary>close(2).</summary>
    [LibraryImport(Libc, EntryPoint = "close")]
    internal static partial int LibcClose(int fd);

    /// <summary>
    /// Reads the whole file at <paramref name="path"/> into <paramref name="buffer"/> (doubled when
    /// too small) with open, read and close: three system calls, no string beyond the path's copy.
    /// A short read is the end: kernel text files (seq_file) fill what is asked until they are done.
    /// </summary>
    /// <returns>0 with the byte count in <paramref name="length"/>, else the errno of the failed call.</returns>
    internal static int ReadWhole(string path, ref byte[] buffer, out int length)
    {
        int fd;
        do fd = LibcOpen(path, O_RDONLY | O_CLOEXEC);
        while (fd < 0 && Marshal.GetLastPInvokeError() == EINTR);
        return ReadAndClose(fd, ref buffer, out length);
    }

    /// <summary>
    /// As <see cref="ReadWhole"/>, for the file <paramref name="name"/> (NUL-terminated UTF-8) in the
    /// directory held open as <paramref name="dirFd"/>: the open walks one path component.
    /// </summary>
    internal static unsafe int ReadWholeAt(int dirFd, byte* name, ref byte[] buffer, out int length)
    {
        int fd;
        do fd = LibcOpenAt(dirFd, name, O_RDONLY | O_CLOEXEC);
        while (fd < 0 && Marshal.GetLastPInvokeError() == EINTR);
        return ReadAndClose(fd, ref buffer, out length);
    }

    private const int EINTR = 4;

    /// <summary>Reads a descriptor just opened (or the errno of its failed open: nothing may call in between) and closes it.</summary>
    private static int ReadAndClose(int fd, ref byte[] buffer, out int length)
    {
        length = 0;
        if (fd < 0)
            return Marshal.GetLastPInvokeError();
        try
        {
            return ReadToEnd(fd, ref buffer, out length, positional: false);
        }
        finally
        {
            LibcClose(fd);
        }
    }

    /// <summary>
    /// Reads <paramref name="fd"/> into <paramref name="buffer"/> (doubled when too small) until a
    /// short read, with read(2), or with pread(2) from offset 0 when <paramref name="positional"/>
    /// (a held seq_file renders afresh for a read at 0). EINTR is retried.
    /// </summary>
    /// <returns>0 with the byte count in <paramref name="length"/>, else the errno of the failed call
    /// (ESRCH: a task exited; ENODEV: a cgroup was removed).</returns>
    internal static unsafe int ReadToEnd(int fd, ref byte[] buffer, out int length, bool positional)
    {
        length = 0;
        while (true)
        {
            if (length == buffer.Length)
                Array.Resize(ref buffer, buffer.Length * 2);
            int space = buffer.Length - length;
            nint n;
            fixed (byte* p = &buffer[length])
                n = positional ? LibcPread(fd, p, space, length) : LibcRead(fd, p, space);
            if (n < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EINTR)
                    continue;
                return errno;
            }
            length += (int)n;
            if (n < space)
                return 0;
        }
    }
}
