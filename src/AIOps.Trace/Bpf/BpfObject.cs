using System.Runtime.InteropServices;
using System.Text;
using AIOps.Trace.Interop;

namespace AIOps.Trace.Bpf;

/// <summary>
/// Checked wrapper over one libbpf object: every shim call goes through <see cref="Ensure"/>, so
/// failures surface as typed <see cref="BpfException"/>s that keep the verifier log.
/// </summary>
internal sealed unsafe class BpfObject : IDisposable
{
    private const int LogSize = 1 << 20;

    private readonly SafeBpfObjectHandle _handle;
    private readonly List<SafeBpfLinkHandle> _links = new();

    private BpfObject(SafeBpfObjectHandle handle, string name)
    {
        _handle = handle;
        Name = name;
    }

    public string Name { get; }

    public int LinkCount => _links.Count;

    /// <param name="btfPath">BTF for CO-RE relocations instead of the kernel's (libbpf's btf_custom_path); null for the kernel's.</param>
    public static BpfObject Open(ReadOnlySpan<byte> elf, string name, string? btfPath = null)
    {
        CheckAbi();
        IntPtr obj;
        fixed (byte* p = elf)
            Ensure.Success(Interop.Interop.ObjectOpenBtf(p, (ulong)elf.Length, name, btfPath, out obj), $"open {name}");
        return new BpfObject(new SafeBpfObjectHandle(obj), name);
    }

    private static void CheckAbi()
    {
        int abi = Interop.Interop.AbiVersion();
        if (abi != Interop.Interop.ExpectedAbiVersion)
            throw new BpfException($"check libaiops_shim ABI (found {abi}, expected {Interop.Interop.ExpectedAbiVersion})", Ensure.EINVAL, null);
    }

    public void SetConst<T>(string name, T value) where T : unmanaged =>
        Ensure.Success(Interop.Interop.ObjectSetConst(_handle, name, &value, (uint)sizeof(T)), $"set {Name} const {name}");

    public void SetAutoload(string program, bool autoload) =>
        Ensure.Success(Interop.Interop.ProgramSetAutoload(_handle, program, autoload ? 1 : 0), $"set autoload of {program}");

    public void SetMaxEntries(string map, uint maxEntries) =>
        Ensure.Success(Interop.Interop.MapSetMaxEntries(_handle, map, maxEntries), $"resize map {map} to {maxEntries}");

    public void Load()
    {
        byte[] log = new byte[LogSize];
        int result;
        fixed (byte* p = log)
            result = Interop.Interop.ObjectLoad(_handle, p, (uint)log.Length);
        if (result < 0)
            Ensure.Throw(result, $"load {Name}", Decode(log));
    }

    /// <summary>Attaches a loaded program; the link lives until <see cref="Dispose"/>.</summary>
    public void Attach(string program)
    {
        byte[] log = new byte[16 * 1024];
        IntPtr link;
        int result;
        fixed (byte* p = log)
            result = Interop.Interop.ProgramAttach(_handle, program, out link, p, (uint)log.Length);
        if (result < 0)
            Ensure.Throw(result, $"attach {program}", Decode(log));
        _links.Add(new SafeBpfLinkHandle(link));
    }

    public int MapFd(string map) => Ensure.Success(Interop.Interop.MapFd(_handle, map), $"find map {map}");

    /// <summary>Runs a raw_tp program once on <paramref name="cpu"/>. False when that CPU is offline.</summary>
    public bool RunOnCpu(string program, uint cpu)
    {
        int result = Interop.Interop.ProgramRunOnCpu(_handle, program, cpu, out _);
        const int ENXIO = 6;
        if (result == -ENXIO)
            return false;
        Ensure.Success(result, $"run {program} on CPU {cpu}");
        return true;
    }

    /// <summary>Reads key 0 of a per-CPU array into one <typeparamref name="T"/> per possible CPU.</summary>
    public void LookupPerCpu<T>(int mapFd, Span<T> perCpu) where T : unmanaged
    {
        // The kernel rounds each CPU's value up to 8 bytes; our structs are multiples of 8.
        if (sizeof(T) % 8 != 0)
            throw new ArgumentException($"per-CPU value {typeof(T).Name} must be a multiple of 8 bytes", nameof(perCpu));
        uint key = 0;
        fixed (T* p = perCpu)
            Ensure.Success(Interop.Interop.MapLookup(mapFd, &key, p, (uint)(perCpu.Length * sizeof(T))), "read per-CPU map");
    }

    private static string Decode(byte[] log)
    {
        int len = Array.IndexOf(log, (byte)0);
        return Encoding.UTF8.GetString(log, 0, len < 0 ? log.Length : len);
    }

    public void Dispose()
    {
        // Links first: a program is unloaded only when its last link is gone.
        foreach (SafeBpfLinkHandle link in _links)
            link.Dispose();
        _links.Clear();
        _handle.Dispose();
    }
}
