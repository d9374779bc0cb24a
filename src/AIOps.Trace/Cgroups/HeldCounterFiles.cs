using System.Runtime.InteropServices;
using static AIOps.Trace.Interop.Interop;

namespace AIOps.Trace.Cgroups;

/// <summary>
/// The per-cgroup counter files every window reads (cpuacct.usage, cpu.stat), held open from one
/// window to the next and read again with pread(2) at offset 0: a cgroupfs file is a seq_file,
/// which renders its text afresh for a read at offset 0. One system call per file and window
/// instead of open, read and close, and no path walk: at 1,000 containers the opens' path lookups
/// were a fifth of the sidecar's CPU (<c>docs/measured.md</c>).
/// <para>
/// A descriptor is keyed by cgroup id and slot, so a path created again (a new id) never reads
/// the old cgroup's file. A removed cgroup's descriptor fails with ENODEV; it is closed then, and
/// <see cref="Sweep"/> closes those of cgroups no pass asked for. At most <see cref="Capacity"/>
/// files are held (half the descriptors the soft RLIMIT_NOFILE leaves above 512); beyond that a
/// file is read with open/read/close as before. Used by the window cut only (one thread).
/// </para>
/// </summary>
internal sealed class HeldCounterFiles : IDisposable
{
    /// <summary>The files a cgroup may hold.</summary>
    public enum Slot
    {
        Usage,
        Stat,
        UnifiedStat,
    }

    private const int Slots = 3;
    private const int EINTR = 4, ENOENT = 2, ENODEV = 19;

    private struct Entry
    {
        public int Usage, Stat, UnifiedStat;
        public int Pass;
    }

    private readonly Dictionary<ulong, Entry> _byId = new();
    private readonly List<ulong> _stale = new();
    private byte[] _buffer = new byte[4096];
    private int _held, _pass;
    private bool _libc = true;

    public HeldCounterFiles(int? capacity = null) => Capacity = capacity ?? DefaultCapacity();

    /// <summary>Files this instance holds open at most.</summary>
    public int Capacity { get; }

    /// <summary>Files held open now.</summary>
    public int Held => _held;

    /// <summary>
    /// Reads the file <paramref name="fileName"/> of the cgroup <paramref name="id"/> at
    /// <paramref name="path"/> in <paramref name="mount"/>. False when it cannot be read; then
    /// <paramref name="gone"/> says whether it is because the cgroup no longer exists (ENOENT, ENODEV).
    /// The span is valid until the next read.
    /// </summary>
    public bool TryRead(ulong id, Slot slot, CgroupMount mount, string path, string fileName, out ReadOnlySpan<byte> content, out bool gone)
    {
        content = default;
        gone = false;
        ref Entry entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_byId, id, out bool exists);
        if (!exists)
            entry = new Entry { Usage = -1, Stat = -1, UnifiedStat = -1 };
        entry.Pass = _pass;
        ref int fd = ref FdOf(ref entry, slot);
        int errno;
        if (fd < 0)
        {
            string file = mount.PathOf(path, fileName);
            if (!_libc || _held >= Capacity)
                return ReadOnce(file, out content, out gone);
            if ((errno = Open(file, out fd)) != 0)
            {
                gone = errno is ENOENT or ENODEV;
                return false;
            }
            _held++;
        }
        int length;
        if ((errno = ReadToEnd(fd, ref _buffer, out length, positional: true)) != 0)
        {
            gone = errno is ENOENT or ENODEV;
            if (gone)
            {
                // The cgroup went: none of its files will read again.
                Close(entry);
                _byId.Remove(id);
            }
            else
            {
                LibcClose(fd);
                fd = -1;
                _held--;
            }
            return false;
        }
        content = _buffer.AsSpan(0, length);
        return true;
    }

    /// <summary>Starts a pass over the cgroups: <see cref="Sweep"/> then closes what this pass did not read.</summary>
    public void BeginPass() => _pass++;

    /// <summary>Closes the files of every cgroup the current pass did not read (removed, or no longer in the tree).</summary>
    public void Sweep()
    {
        foreach ((ulong id, Entry entry) in _byId)
            if (entry.Pass != _pass)
                _stale.Add(id);
        foreach (ulong id in _stale)
        {
            Close(_byId[id]);
            _byId.Remove(id);
        }
        _stale.Clear();
    }

    public void Dispose()
    {
        foreach (Entry entry in _byId.Values)
            Close(entry);
        _byId.Clear();
    }

    private void Close(Entry entry)
    {
        for (int slot = 0; slot < Slots; slot++)
        {
            int fd = slot switch { 0 => entry.Usage, 1 => entry.Stat, _ => entry.UnifiedStat };
            if (fd >= 0)
            {
                LibcClose(fd);
                _held--;
            }
        }
    }

    private static ref int FdOf(ref Entry entry, Slot slot)
    {
        switch (slot)
        {
            case Slot.Usage: return ref entry.Usage;
            case Slot.Stat: return ref entry.Stat;
            default: return ref entry.UnifiedStat;
        }
    }

    private int Open(string file, out int fd)
    {
        try
        {
            do fd = LibcOpen(file, O_RDONLY | O_CLOEXEC);
            while (fd < 0 && Marshal.GetLastPInvokeError() == EINTR);
            return fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: no descriptors held, every read through ReadOnce.
            _libc = false;
            fd = -1;
            return ENOENT;
        }
    }

    private bool ReadOnce(string file, out ReadOnlySpan<byte> content, out bool gone)
    {
        content = default;
        gone = false;
        if (_libc)
        {
            int errno = ReadWhole(file, ref _buffer, out int length);
            gone = errno is ENOENT or ENODEV;
            if (errno != 0)
                return false;
            content = _buffer.AsSpan(0, length);
            return true;
        }
        try
        {
            byte[] bytes = File.ReadAllBytes(file);
            if (_buffer.Length < bytes.Length)
                _buffer = new byte[bytes.Length];
            bytes.CopyTo(_buffer, 0);
            content = _buffer.AsSpan(0, bytes.Length);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            gone = e is FileNotFoundException or DirectoryNotFoundException;
            return false;
        }
    }

    /// <summary>Half of what the soft RLIMIT_NOFILE leaves above 512 descriptors, at most 65,536.</summary>
    private static int DefaultCapacity()
    {
        try
        {
            if (LibcGetrlimit(RLIMIT_NOFILE, out RLimit limit) != 0)
                return 0;
            ulong spare = limit.Current > 512 ? (limit.Current - 512) / 2 : 0;
            return (int)Math.Min(spare, 65_536UL);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 0;
        }
    }
}
