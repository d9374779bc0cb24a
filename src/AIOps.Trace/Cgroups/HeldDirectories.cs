using System.Diagnostics;
using System.Text;
using static AIOps.Trace.Interop.Interop;

namespace AIOps.Trace.Cgroups;

/// <summary>
/// A few directories held open (O_PATH) for a moment, so that a burst of reads in one cgroup
/// directory walks the directory's path once: <c>openat(dir, name)</c> instead of <c>open(path)</c>.
/// The path walk (a dentry lookup and a kernfs revalidation per component) was most of what an
/// open of a cgroup file cost, and a resource reading opens a dozen files in three or four
/// directories. A directory is held for 10 ms at most, so a cgroup removed and made again under
/// the same path is seen afresh at the next burst; a read that fails through a held directory is
/// made again through the full path, which decides. One per thread; the finalizer closes what a
/// finished thread held.
/// </summary>
internal sealed class HeldDirectories
{
    private const int Slots = 6;
    private const int MaxNameBytes = 255;

    private readonly long _maxAge;

    private readonly string?[] _paths = new string?[Slots];
    private readonly int[] _fds = [-1, -1, -1, -1, -1, -1];
    private readonly long[] _openedAt = new long[Slots];
    private int _next;

    /// <param name="maxAge">How long a directory is held, in Stopwatch ticks (10 ms when null; tests hold them longer).</param>
    internal HeldDirectories(long? maxAge = null) => _maxAge = maxAge ?? Stopwatch.Frequency / 100;

    /// <summary>Directories open now (for tests).</summary>
    internal int Held => _fds.Count(fd => fd >= 0);

    /// <summary>As <see cref="ReadWhole"/>: 0 with the bytes in <paramref name="buffer"/>, else the errno.</summary>
    public unsafe int Read(string path, ref byte[] buffer, out int length)
    {
        int slash = path.LastIndexOf('/');
        ReadOnlySpan<char> name = path.AsSpan(slash + 1);
        if (slash <= 0 || name.Length == 0 || Encoding.UTF8.GetMaxByteCount(name.Length) > MaxNameBytes || name is "." or "..")
            return ReadWhole(path, ref buffer, out length);

        ReadOnlySpan<char> dir = path.AsSpan(0, slash);
        long now = Stopwatch.GetTimestamp();
        int slot = -1;
        for (int i = 0; i < Slots; i++)
        {
            if (_fds[i] < 0)
                continue;
            if (now - _openedAt[i] > _maxAge)
                Close(i);
            else if (dir.SequenceEqual(_paths[i]))
                slot = i;
        }

        bool fresh = slot < 0;
        if (fresh)
        {
            string d = dir.ToString();
            int fd = LibcOpen(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0)
                return ReadWhole(path, ref buffer, out length); // the full path says what is wrong
            slot = _next;
            _next = (_next + 1) % Slots;
            Close(slot);
            (_paths[slot], _fds[slot], _openedAt[slot]) = (d, fd, now);
        }

        Span<byte> utf8 = stackalloc byte[MaxNameBytes + 1];
        int n = Encoding.UTF8.GetBytes(name, utf8);
        utf8[n] = 0;
        int errno;
        fixed (byte* p = utf8)
            errno = ReadWholeAt(_fds[slot], p, ref buffer, out length);
        if (errno != 0 && !fresh)
        {
            // The held directory may have been removed (and made again) since it was opened.
            Close(slot);
            return ReadWhole(path, ref buffer, out length);
        }
        return errno;
    }

    private void Close(int slot)
    {
        if (_fds[slot] >= 0)
            LibcClose(_fds[slot]);
        (_paths[slot], _fds[slot]) = (null, -1);
    }

    ~HeldDirectories()
    {
        for (int i = 0; i < Slots; i++)
            Close(i);
    }
}
