using AIOps.Trace.Analysis.Verification;
using AIOps.Trace.Tests.Kernel;

namespace AIOps.Trace.Tests.Unit.Analysis;

/// <summary>`aiops-trace label`, run as a process: it needs no privileges and touches no kernel state.</summary>
public sealed class LabelCliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"aiops-label-{Guid.NewGuid():N}");
    private string Db => Path.Combine(_dir, "v.db");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
            Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Label_stores_verdicts_the_library_reads_back()
    {
        (int code, string stdout, _) = CliProcess.Run("label", "/kubepods/a", "--abnormal", "--kind", "noisy_neighbour", "--domain", "owner:shop/web", "--db", Db);
        Assert.Equal(0, code);
        Assert.Contains("/kubepods/a abnormal (noisy_neighbour) in owner:shop/web", stdout);
        Assert.Equal(0, CliProcess.Run("label", "/kubepods/b", "--normal", "--db", Db).ExitCode);
        using VerdictStore store = VerdictStore.Open(Db);
        Assert.Equal([("/kubepods/a", true, "noisy_neighbour"), ("/kubepods/b", false, null)],
            store.Verdicts().Select(v => (v.Container, v.Abnormal, v.Kind)));
    }

    [Theory]
    [InlineData(new[] { "label", "--abnormal" }, "label needs a container")]
    [InlineData(new[] { "label", "x", "--abnormal", "--normal" }, "exactly one of --abnormal or --normal")]
    [InlineData(new[] { "label", "x" }, "exactly one of --abnormal or --normal")]
    [InlineData(new[] { "label", "x", "--normal", "--kind", "cap" }, "--kind 'cap' names an anomaly kind")]
    [InlineData(new[] { "label", "x", "--normal", "--colour", "red" }, "unknown option --colour")]
    public void Bad_input_is_one_line_and_exit_code_2(string[] args, string message)
    {
        (int code, _, string stderr) = CliProcess.Run([.. args, "--db", Db]);
        Assert.Equal(2, code);
        Assert.StartsWith("aiops-trace: ", stderr);
        Assert.Contains(message, stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }

    [Fact]
    public void A_corrupt_database_is_reported_and_set_aside()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Db, "not a database, but someone's notes");
        (int code, _, string stderr) = CliProcess.Run("label", "x", "--normal", "--db", Db);
        Assert.Equal(0, code);
        Assert.Contains("was unreadable", stderr);
        string aside = Assert.Single(Directory.GetFiles(_dir, "v.db.corrupt-*"));
        Assert.Equal("not a database, but someone's notes", File.ReadAllText(aside));
    }
}
