using System.IO.Enumeration;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace AIOps.Trace.Sources;

/// <summary>
/// Reads small procfs files into one reused buffer and lists numeric directory entries without
/// a string per entry. Every failure (the task or process exited between listing and reading,
/// permission denied) is a false return, never an exception: tasks vanish all the time.
/// </summary>
internal sealed class ProcfsReader
{
    // /proc/<pid>/status is about 1.5 KiB; the buffer doubles when a file is larger.
    private byte[] _buffer = new byte[4096];

    private static readonly EnumerationOptions ListOptions = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = true,
        AttributesToSkip = 0,
        ReturnSpecialDirectories = false,
    };

    // Cleared for good when the C library cannot be bound (not glibc): File.OpenHandle then.
    private static bool s_libc = true;

    /// <summary>Reads the whole file; the span is valid until the next read.</summary>
    public bool TryRead(string path, out ReadOnlySpan<byte> content)
    {
        if (s_libc)
        {
            try
            {
                return TryReadLibc(path, out content);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                s_libc = false;
            }
        }
        return TryReadManaged(path, out content);
    }

    /// <summary>open, read, close: three system calls, and no string beyond the path's stack copy.</summary>
    private bool TryReadLibc(string path, out ReadOnlySpan<byte> content)
    {
        content = default;
        if (Interop.Interop.ReadWhole(path, ref _buffer, out int length) != 0)
            return false; // ENOENT, ESRCH: the task exited while being read
        content = _buffer.AsSpan(0, length);
        return true;
    }

    private bool TryReadManaged(string path, out ReadOnlySpan<byte> content)
    {
        content = default;
        try
        {
            using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            int total = 0;
            while (true)
            {
                if (total == _buffer.Length)
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                // procfs files have no size (st_size is 0): read until end of file. They are
                // seq_files that hand over everything that fits in one read (fs/seq_file.c), so a
                // short read is the end and saves the second system call.
                int space = _buffer.Length - total;
                int n = RandomAccess.Read(handle, _buffer.AsSpan(total), total);
                total += n;
                if (n < space)
                    break;
            }
            content = _buffer.AsSpan(0, total);
            return true;
        }
        catch (IOException)
        {
            // FileNotFound/DirectoryNotFound (gone) and ESRCH mid-read (exited while read).
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Fills <paramref name="ids"/> with the numeric subdirectories of <paramref name="directory"/> (pids or tids).</summary>
    public static bool TryListIds(string directory, List<int> ids)
    {
        ids.Clear();
        try
        {
            var entries = new FileSystemEnumerable<int>(directory, static (ref FileSystemEntry e) => ParseId(e.FileName), ListOptions)
            {
                ShouldIncludePredicate = static (ref FileSystemEntry e) => ParseId(e.FileName) > 0,
            };
            foreach (int id in entries)
                ids.Add(id);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The entry's name as a positive integer, or 0 when it is not all digits.</summary>
    internal static int ParseId(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > 9)
            return 0;
        int value = 0;
        foreach (char c in name)
        {
            if (c is < '0' or > '9')
                return 0;
            value = value * 10 + (c - '0');
        }
        return value;
    }
}
