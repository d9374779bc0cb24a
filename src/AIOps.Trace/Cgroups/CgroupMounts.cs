using System.Text;

namespace AIOps.Trace.Cgroups;

/// <summary>
/// The cgroup hierarchies mounted on a machine, parsed from mountinfo (proc(5),
/// <c>/proc/&lt;pid&gt;/mountinfo</c>). Covers legacy v1, pure v2 and hybrid layouts.
/// </summary>
public sealed class CgroupMounts
{
    // Generic and v1-specific super options that are not controllers (see
    // kernel/cgroup/cgroup-v1.c, cgroup1_parse_param).
    private static readonly HashSet<string> NonControllerOptions = new(StringComparer.Ordinal)
    {
        "rw", "ro", "none", "all", "noprefix", "clone_children", "xattr", "cpuset_v2_mode",
        "favordynmods", "nofavordynmods", "nsdelegate", "memory_localevents",
        "memory_recursiveprot", "memory_hugetlb_accounting", "pids_localevents",
    };

    private readonly Func<string, string?> _readFile;
    private string[]? _unifiedControllers;

    private CgroupMounts(IReadOnlyList<CgroupMount> mounts, int skippedLines, Func<string, string?> readFile)
    {
        Mounts = mounts;
        SkippedLines = skippedLines;
        _readFile = readFile;
        Unified = mounts.FirstOrDefault(m => m.Version == 2);
    }

    /// <summary>Every cgroup mount, in mountinfo order.</summary>
    public IReadOnlyList<CgroupMount> Mounts { get; }

    /// <summary>Lines that looked malformed and were ignored.</summary>
    public int SkippedLines { get; }

    /// <summary>The cgroup v2 mount, if any.</summary>
    public CgroupMount? Unified { get; }

    /// <summary>"v1", "v2" or "hybrid" (v1 controllers plus a v2 mount); "none" without cgroups.</summary>
    public string Layout
    {
        get
        {
            bool v1 = Mounts.Any(m => m.Version == 1);
            return (v1, Unified is not null) switch
            {
                (true, true) => "hybrid",
                (true, false) => "v1",
                (false, true) => "v2",
                _ => "none",
            };
        }
    }

    /// <summary>
    /// Reads this process's mountinfo. With <paramref name="hostRoot"/> other than "/" (a sidecar
    /// with the host's / bind-mounted recursively at e.g. /host, so /host/proc is the host's
    /// procfs), reads the host init's <c>{hostRoot}/proc/1/mountinfo</c> instead: our own
    /// mountinfo describes the sidecar's mounts, not the host's hierarchies.
    /// </summary>
    public static CgroupMounts Discover(string hostRoot = "/", Func<string, string?>? readFile = null)
    {
        readFile ??= ReadRealFile;
        string path = IsRoot(hostRoot) ? "/proc/self/mountinfo" : JoinHostRoot(hostRoot, "/proc/1/mountinfo");
        string text = readFile(path) ?? throw new FileNotFoundException("mountinfo is not readable.", path);
        return Parse(text, hostRoot, readFile);
    }

    /// <summary>
    /// Parses mountinfo text. Mount points are prefixed with <paramref name="hostRoot"/>: the
    /// text describes the host's view ("/sys/fs/cgroup/cpu") while this process reaches it
    /// through the host root ("/host/sys/fs/cgroup/cpu"). <paramref name="readFile"/> returns a
    /// file's text or null when missing; it defaults to the real file system.
    /// </summary>
    public static CgroupMounts Parse(string mountinfo, string hostRoot = "/", Func<string, string?>? readFile = null)
    {
        ArgumentNullException.ThrowIfNull(mountinfo);
        var mounts = new List<CgroupMount>();
        int skipped = 0;
        foreach (ReadOnlySpan<char> rawLine in mountinfo.AsSpan().EnumerateLines())
        {
            ReadOnlySpan<char> line = rawLine.Trim();
            if (line.IsEmpty)
                continue;
            switch (TryParseLine(line.ToString(), hostRoot, out CgroupMount? mount))
            {
                case LineKind.Cgroup:
                    // A later mount on the same point hides the earlier one.
                    mounts.RemoveAll(m => m.MountPoint == mount!.MountPoint);
                    mounts.Add(mount!);
                    break;
                case LineKind.Malformed:
                    skipped++;
                    break;
            }
        }

        return new CgroupMounts(mounts, skipped, readFile ?? ReadRealFile);
    }

    /// <summary>
    /// The hierarchy to read <paramref name="controller"/>'s files from: the v1 mount it is bound
    /// to, else the v2 mount when its root <c>cgroup.controllers</c> lists it, else null.
    /// </summary>
    public CgroupMount? ForController(string controller)
    {
        ArgumentNullException.ThrowIfNull(controller);
        CgroupMount? v1 = Mounts.FirstOrDefault(m => m.HasV1Controller(controller));
        if (v1 is not null || Unified is null)
            return v1;
        // In a hybrid layout a controller bound to v1 is absent from the v2 root's list.
        // Racing threads may both read the file; they store the same answer.
        _unifiedControllers ??= (_readFile(Unified.PathOf("/", "cgroup.controllers")) ?? "")
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return _unifiedControllers.Contains(controller, StringComparer.Ordinal) ? Unified : null;
    }

    private enum LineKind { Other, Cgroup, Malformed }

    private static LineKind TryParseLine(string line, string hostRoot, out CgroupMount? mount)
    {
        // id parent major:minor root mount-point options [optional...] - fstype source super-options
        mount = null;
        string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int separator = fields.Length < 7 ? -1 : Array.IndexOf(fields, "-", 6);
        if (separator < 0 || fields.Length < separator + 4)
            return LineKind.Malformed;

        string fsType = fields[separator + 1];
        int version = fsType switch { "cgroup" => 1, "cgroup2" => 2, _ => 0 };
        if (version == 0)
            return LineKind.Other;

        string root = Unescape(fields[3]);
        string mountPoint = Unescape(fields[4]);
        if (!root.StartsWith('/') || !mountPoint.StartsWith('/'))
            return LineKind.Malformed;

        string[] controllers = version == 1
            ? fields[separator + 3].Split(',').Where(o => !IsNonController(o)).ToArray()
            : [];
        mount = new CgroupMount(JoinHostRoot(hostRoot, mountPoint), version, controllers, root);
        return LineKind.Cgroup;
    }

    private static bool IsNonController(string option) =>
        option.Length == 0 || NonControllerOptions.Contains(option) || option.StartsWith("release_agent=", StringComparison.Ordinal);

    // The kernel escapes space, tab, newline and backslash in mountinfo paths as \ooo octal
    // (fs/proc_namespace.c, mangle()).
    private static string Unescape(string field)
    {
        if (!field.Contains('\\'))
            return field;
        var sb = new StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                sb.Append((char)((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                sb.Append(field[i]);
            }
        }
        return sb.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';

    private static bool IsRoot(string hostRoot) => string.IsNullOrEmpty(hostRoot) || hostRoot.Trim('/').Length == 0;

    private static string JoinHostRoot(string hostRoot, string path) =>
        IsRoot(hostRoot) ? path : hostRoot.TrimEnd('/') + (path == "/" ? "" : path);

    private static string? ReadRealFile(string path) => RealCgroupFileSystem.Instance.ReadAllText(path);
}
