using System.Diagnostics;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// A real "container" for a test: the same relative path created in every cgroup hierarchy
/// (each v1 controller and the unified v2 one), as container runtimes do. Dispose kills what
/// runs in it and removes every directory, even when the test failed.
/// </summary>
public sealed class TestCgroup : IDisposable
{
    public const string Prefix = "aiops-test-";
    private static readonly string[] V1Controllers = ["cpu", "cpuacct", "cpuset", "memory", "blkio"];
    private const string Unified = "/sys/fs/cgroup/unified";

    private readonly List<string> _dirs = new();

    private TestCgroup(string relativePath) => RelativePath = relativePath;

    /// <summary>Path relative to each hierarchy root, e.g. "/aiops-test-web-x1a2b3c4".</summary>
    public string RelativePath { get; }

    public string CpuDir => "/sys/fs/cgroup/cpu" + RelativePath;

    // The suffix starts with a letter: eight random hex digits are all decimal one time in 43, and
    // "role-40102758" then reads as a StatefulSet's pod with an ordinal, whose owner is "role".
    public static TestCgroup Create(string role) =>
        Make("/" + $"{Prefix}{role}-x{Guid.NewGuid():N}"[..(Prefix.Length + role.Length + 9)],
            V1Controllers.Select(c => "/sys/fs/cgroup/" + c).Append(Unified).Where(Directory.Exists));

    /// <summary>A cgroup at <paramref name="relativePath"/> (under <see cref="Prefix"/>), e.g. one made again at a removed one's path.</summary>
    public static TestCgroup CreateAt(string relativePath) =>
        relativePath.StartsWith("/" + Prefix, StringComparison.Ordinal)
            ? Make(relativePath, V1Controllers.Select(c => "/sys/fs/cgroup/" + c).Append(Unified).Where(Directory.Exists))
            : throw new ArgumentException($"'{relativePath}' is not a test cgroup path (/{Prefix}...)", nameof(relativePath));

    /// <summary>
    /// A cgroup nested in this one at the same relative path in every hierarchy, as a container
    /// inside a pod. Dispose it before its parent: a cgroup with children cannot be removed.
    /// </summary>
    public TestCgroup CreateChild(string role) =>
        Make(RelativePath + "/" + role, _dirs.Select(d => d[..^RelativePath.Length]));

    /// <summary>Creates <paramref name="relativePath"/> under each hierarchy root; removes what it made when one fails.</summary>
    private static TestCgroup Make(string relativePath, IEnumerable<string> roots)
    {
        var cg = new TestCgroup(relativePath);
        try
        {
            foreach (string root in roots)
            {
                string dir = root + relativePath;
                Directory.CreateDirectory(dir);
                cg._dirs.Add(dir);
                string parent = Path.GetDirectoryName(dir)!;
                if (File.Exists(parent + "/cpuset.cpus"))
                {
                    // A v1 cpuset starts empty and refuses tasks until given CPUs and memory nodes.
                    File.WriteAllText(dir + "/cpuset.cpus", File.ReadAllText(parent + "/cpuset.cpus").Trim());
                    File.WriteAllText(dir + "/cpuset.mems", File.ReadAllText(parent + "/cpuset.mems").Trim());
                }
            }
        }
        catch
        {
            cg.Dispose();
            throw;
        }
        return cg;
    }

    /// <summary>Reads a file of a v1 controller, e.g. ("memory", "memory.usage_in_bytes").</summary>
    public string Read(string controller, string file) =>
        File.ReadAllText($"/sys/fs/cgroup/{controller}{RelativePath}/{file}").Trim();

    /// <summary>Writes a file of another v1 controller, e.g. ("cpuset", "cpuset.cpus", "1").</summary>
    public void Write(string controller, string file, string value) =>
        File.WriteAllText($"/sys/fs/cgroup/{controller}{RelativePath}/{file}", value);

    /// <summary>Writes a cgroup file of the cpu controller, e.g. cpu.cfs_quota_us.</summary>
    public void WriteCpu(string file, string value) => File.WriteAllText(Path.Combine(CpuDir, file), value);

    public string ReadCpu(string file) => File.ReadAllText(Path.Combine(CpuDir, file));

    /// <summary>
    /// Starts <paramref name="command"/> (a shell command) inside this cgroup, optionally pinned to
    /// one CPU. The shell moves itself into every hierarchy before it execs the workload, so
    /// nothing of the workload runs outside the cgroup.
    /// </summary>
    public Process Start(string command, int? cpu = null)
    {
        // Quoted: a test cgroup's name may hold spaces and shell characters (the dashboard's hostile name).
        string moves = string.Join("; ", _dirs.Select(d => $"echo $$ > '{d}/cgroup.procs'"));
        string pin = cpu is int c ? $"taskset -c {c} " : "";
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"{moves}; exec {pin}{command}");
        Process p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + command);
        return p;
    }

    /// <summary>
    /// Moves a running process into every hierarchy of this cgroup (for names a shell command
    /// line cannot carry, e.g. ones with quotes or angle brackets).
    /// </summary>
    public void Adopt(int pid)
    {
        foreach (string dir in _dirs)
            File.WriteAllText(dir + "/cgroup.procs", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>A busy loop with no system calls (a pure CPU hog), as a shell command.</summary>
    public const string BusyLoop = "sh -c 'while :; do :; done'";

    /// <summary>Pids currently in the cgroup (cpu hierarchy).</summary>
    public IReadOnlyList<int> Pids() =>
        File.Exists(CpuDir + "/cgroup.procs")
            ? File.ReadAllLines(CpuDir + "/cgroup.procs").Where(l => l.Length > 0).Select(int.Parse).ToList()
            : [];

    public void Dispose()
    {
        foreach (string dir in _dirs)
            KillAll(dir);
        var deadline = Stopwatch.StartNew();
        foreach (string dir in Enumerable.Reverse(_dirs))
        {
            while (Directory.Exists(dir))
            {
                try
                {
                    Directory.Delete(dir);
                }
                catch (IOException) when (deadline.Elapsed < TimeSpan.FromSeconds(10))
                {
                    KillAll(dir);
                    Thread.Sleep(50);
                }
            }
        }
    }

    private static void KillAll(string dir)
    {
        string procs = dir + "/cgroup.procs";
        if (!File.Exists(procs))
            return;
        foreach (string line in File.ReadAllLines(procs))
            if (int.TryParse(line, out int pid))
                try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
    }

    /// <summary>Test cgroups that still exist anywhere (leaks from this or an earlier run).</summary>
    public static IReadOnlyList<string> Leftovers() =>
        V1Controllers.Select(c => "/sys/fs/cgroup/" + c).Append(Unified)
            .Where(Directory.Exists)
            .SelectMany(root => Directory.GetDirectories(root, Prefix + "*"))
            .ToList();
}
