using System.Runtime.InteropServices;
using AIOps.Trace.Analysis.Collection;
using AIOps.Trace.Analysis.Detection;
using Microsoft.Data.Sqlite;

namespace AIOps.Trace.Analysis.Verification;

/// <summary>An operator's verdict on one container, as stored.</summary>
/// <param name="Container">The container's key (cgroup path) or name, as the operator gave it.</param>
/// <param name="Domain">Its monitoring domain when known; samples without one cannot train a domain's model.</param>
/// <param name="Abnormal">Confirmed anomaly (true) or rejected / normal (false).</param>
/// <param name="Kind">The anomaly kind, when the operator named one.</param>
/// <param name="Metrics">The container's metric vector for the window judged, when known (<see cref="Collection.Metrics"/> slots).</param>
/// <param name="WindowEnd">End of the window the verdict is about, when known.</param>
/// <param name="RecordedAt">When the operator gave it.</param>
/// <param name="Id">Row id in the store (0 before it is stored).</param>
/// <param name="PeerMedians">The domain's median of each slot in the same window, when known (see <see cref="TrainingSample.PeerMedians"/>).</param>
/// <param name="PeerScales">The domain's robust scale of each slot in the same window, when known (see <see cref="TrainingSample.PeerScales"/>).</param>
public sealed record OperatorVerdict(string Container, string? Domain, bool Abnormal, string? Kind, double[]? Metrics,
    DateTimeOffset? WindowEnd, DateTimeOffset RecordedAt, long Id = 0, double[]? PeerMedians = null, double[]? PeerScales = null);

/// <summary>
/// The store could not keep a verdict: its disk is full, its file is read-only, or SQLite refused
/// the write. The message names the file and says that nothing was stored.
/// </summary>
public sealed class VerdictStoreException(string message, Exception? inner = null) : IOException(message, inner)
{
    /// <summary>The disk holding the file has no space left (SQLITE_FULL).</summary>
    public bool Full { get; init; }

    /// <summary>The file or its directory cannot be written (a read-only mount or file).</summary>
    public bool ReadOnly { get; init; }
}

/// <summary>
/// Operator verdicts in an embedded SQLite database on the node: they survive restarts and feed
/// the domains' training sets. A file that is not a readable database is never silently replaced:
/// it is renamed "&lt;name&gt;.corrupt-&lt;UTC timestamp&gt;" beside itself, <see cref="SetAside"/> and
/// <see cref="Problem"/> say so, and a new database is started.
/// </summary>
public sealed class VerdictStore : IDisposable
{
    /// <summary>1: the first; 2 added peer_medians; 3 added peer_scales (an older file gains the columns when opened).</summary>
    private const int SchemaVersion = 3;
    private readonly SqliteConnection _connection;

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Where a corrupt file found at <see cref="Path"/> was moved, or null.</summary>
    public string? SetAside { get; }

    /// <summary>What was wrong with the file that was set aside, or null.</summary>
    public string? Problem { get; }

    /// <summary>
    /// Why the store is open read-only (a read-only mount or file), or null when it can be written.
    /// A read-only store still gives its verdicts; <see cref="Record"/> refuses new ones.
    /// </summary>
    public string? ReadOnlyReason { get; private init; }

    private VerdictStore(string path, SqliteConnection connection, string? setAside, string? problem, int maxRows)
    {
        MaxRows = maxRows;
        Path = path;
        _connection = connection;
        SetAside = setAside;
        Problem = problem;
        _hasPeerScales = HasColumn(connection, "peer_scales");
    }

    private readonly bool _hasPeerScales;

    /// <summary>Opens (or creates) the store at <paramref name="path"/>, setting a corrupt file aside.</summary>
    /// <param name="maxRows">See <see cref="MaxRows"/>; older rows are deleted here already.</param>
    public static VerdictStore Open(string path, TimeProvider? clock = null, int maxRows = DefaultMaxRows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        string full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        string? setAside = null, problem = null;
        if (File.Exists(full) && new FileInfo(full).Length > 0)
        {
            problem = Check(full);
            if (problem is not null)
            {
                string stamp = (clock ?? TimeProvider.System).GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'");
                setAside = $"{full}.corrupt-{stamp}";
                for (int n = 1; File.Exists(setAside); n++)
                    setAside = $"{full}.corrupt-{stamp}-{n}";
                File.Move(full, setAside);
                foreach (string suffix in new[] { "-wal", "-shm", "-journal" })
                    if (File.Exists(full + suffix))
                        File.Move(full + suffix, setAside + suffix);
            }
        }
        SqliteConnection connection = Connect(full);
        try
        {
            if (ReadOnlyFile(connection) is { } why)
            {
                connection.Dispose();
                return OpenReadOnly(full, setAside, problem, maxRows, why);
            }
            Execute(connection, """
                CREATE TABLE IF NOT EXISTS verdicts (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    container TEXT NOT NULL,
                    domain TEXT,
                    abnormal INTEGER NOT NULL CHECK (abnormal IN (0, 1)),
                    kind TEXT,
                    metrics BLOB,
                    window_end TEXT,
                    recorded_at TEXT NOT NULL,
                    peer_medians BLOB,
                    peer_scales BLOB);
                CREATE INDEX IF NOT EXISTS verdicts_domain ON verdicts(domain);
                """);
            if (!HasColumn(connection, "peer_medians"))
                Execute(connection, "ALTER TABLE verdicts ADD COLUMN peer_medians BLOB;");
            if (!HasColumn(connection, "peer_scales"))
                Execute(connection, "ALTER TABLE verdicts ADD COLUMN peer_scales BLOB;");
            if (UserVersion(connection) != SchemaVersion) // a write: a full disk must not stop a sound file from opening
                Execute(connection, $"PRAGMA user_version = {SchemaVersion};");
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        var store = new VerdictStore(full, connection, setAside, problem, maxRows);
        store.TrimQuietly();
        return store;
    }

    /// <summary>
    /// Why SQLite opened the file read-only although write access was asked for (it does so for a
    /// file on a read-only mount or without write permission), or null when it can be written.
    /// </summary>
    private static string? ReadOnlyFile(SqliteConnection c)
    {
        return SQLitePCL.raw.sqlite3_db_readonly(c.Handle, "main") == 1
            ? "the file or its directory cannot be written (a read-only mount or file)"
            : null;
    }

    private static VerdictStore OpenReadOnly(string full, string? setAside, string? problem, int maxRows, string why)
    {
        SqliteConnection connection = Connect(full, readOnly: true);
        try
        {
            if (!HasTable(connection))
                throw new VerdictStoreException($"verdict store '{full}' is read-only and holds no verdicts table: {why}", null) { ReadOnly = true };
            if (!HasColumn(connection, "peer_medians"))
                throw new VerdictStoreException($"verdict store '{full}' is read-only and of schema version 1, which needs one write to be read: {why}", null) { ReadOnly = true };
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        return new VerdictStore(full, connection, setAside, problem, maxRows) { ReadOnlyReason = why };
    }

    private static long UserVersion(SqliteConnection c)
    {
        using SqliteCommand command = c.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        return (long)command.ExecuteScalar()!;
    }

    private static bool HasTable(SqliteConnection c)
    {
        using SqliteCommand command = c.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'verdicts';";
        return (long)command.ExecuteScalar()! > 0;
    }

    /// <summary>Null when the file is a sound database of ours; else what is wrong with it.</summary>
    private static string? Check(string path)
    {
        try
        {
            using SqliteConnection c = Connect(path, readOnly: true);
            using SqliteCommand check = c.CreateCommand();
            check.CommandText = "PRAGMA integrity_check;";
            string? result = check.ExecuteScalar() as string;
            if (result != "ok")
                return $"integrity check failed: {result}";
            using SqliteCommand version = c.CreateCommand();
            version.CommandText = "PRAGMA user_version;";
            long v = (long)version.ExecuteScalar()!;
            return v > SchemaVersion ? $"schema version {v} is newer than this build's {SchemaVersion}" : null;
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteBusy or SqliteLocked)
        {
            return null; // another process is writing it: busy is not corrupt, and the file is never set aside for it
        }
        catch (SqliteException e)
        {
            return $"not a readable SQLite database: {e.Message}";
        }
    }

    private static SqliteConnection Connect(string path, bool readOnly = false)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            Pooling = false, // a pooled handle would keep the file open after Dispose, and block setting it aside
        }.ToString());
        c.Open();
        return c;
    }

    private static bool HasColumn(SqliteConnection c, string column)
    {
        using SqliteCommand command = c.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM pragma_table_info('verdicts') WHERE name = $name;";
        command.Parameters.AddWithValue("$name", column);
        return (long)command.ExecuteScalar()! > 0;
    }

    private static void Execute(SqliteConnection c, string sql)
    {
        using SqliteCommand command = c.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    /// <summary>Stores a verdict and returns it with its row id.</summary>
    /// <exception cref="VerdictStoreException">Nothing was stored: the disk is full, the store is read-only, or SQLite refused the write.</exception>
    public OperatorVerdict Record(OperatorVerdict verdict)
    {
        ArgumentException.ThrowIfNullOrEmpty(verdict.Container);
        if (ReadOnlyReason is { } why)
            throw new VerdictStoreException($"verdict store '{Path}' is read-only ({why}): the verdict was not stored") { ReadOnly = true };
        try
        {
            OperatorVerdict stored = WhileBusy(() => Insert(verdict));
            if (stored.Id > MaxRows)
                TrimQuietly();
            return stored;
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteFull)
        {
            throw new VerdictStoreException($"verdict store '{Path}' is full: its disk has no space left, the verdict was not stored", e) { Full = true };
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteReadOnly)
        {
            throw new VerdictStoreException($"verdict store '{Path}' became read-only: the verdict was not stored", e) { ReadOnly = true };
        }
        catch (SqliteException e)
        {
            throw new VerdictStoreException($"verdict store '{Path}' refused the verdict ({e.Message.ReplaceLineEndings(" ")}): it was not stored", e);
        }
    }

    private const int SqliteBusy = 5, SqliteLocked = 6, SqliteReadOnly = 8, SqliteFull = 13;

    /// <summary>
    /// Runs <paramref name="write"/> again while another connection holds the file (`label` or
    /// `analyze` beside `serve`): SQLite answers SQLITE_BUSY at once where waiting could deadlock,
    /// so the wait is here, up to <see cref="BusyFor"/>.
    /// </summary>
    private static T WhileBusy<T>(Func<T> write)
    {
        long deadline = Environment.TickCount64 + (long)BusyFor.TotalMilliseconds;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return write();
            }
            catch (SqliteException e) when (e.SqliteErrorCode is SqliteBusy or SqliteLocked && Environment.TickCount64 < deadline)
            {
                Thread.Sleep(Math.Min(100, 5 * attempt));
            }
        }
    }

    /// <summary>How long a write waits for another connection to let go of the file.</summary>
    private static readonly TimeSpan BusyFor = TimeSpan.FromSeconds(10);

    private OperatorVerdict Insert(OperatorVerdict verdict)
    {
        using SqliteCommand c = _connection.CreateCommand();
        c.CommandText = """
            INSERT INTO verdicts (container, domain, abnormal, kind, metrics, window_end, recorded_at, peer_medians, peer_scales)
            VALUES ($container, $domain, $abnormal, $kind, $metrics, $window_end, $recorded_at, $peer_medians, $peer_scales)
            RETURNING id;
            """;
        c.Parameters.AddWithValue("$container", verdict.Container);
        c.Parameters.AddWithValue("$domain", (object?)verdict.Domain ?? DBNull.Value);
        c.Parameters.AddWithValue("$abnormal", verdict.Abnormal ? 1 : 0);
        c.Parameters.AddWithValue("$kind", (object?)verdict.Kind ?? DBNull.Value);
        c.Parameters.AddWithValue("$metrics", verdict.Metrics is null ? DBNull.Value : MemoryMarshal.AsBytes(verdict.Metrics.AsSpan()).ToArray());
        c.Parameters.AddWithValue("$window_end", verdict.WindowEnd is { } w ? w.ToString("O") : DBNull.Value);
        c.Parameters.AddWithValue("$recorded_at", verdict.RecordedAt.ToString("O"));
        c.Parameters.AddWithValue("$peer_medians", verdict.PeerMedians is null ? DBNull.Value : MemoryMarshal.AsBytes(verdict.PeerMedians.AsSpan()).ToArray());
        c.Parameters.AddWithValue("$peer_scales", verdict.PeerScales is null ? DBNull.Value : MemoryMarshal.AsBytes(verdict.PeerScales.AsSpan()).ToArray());
        long id = (long)c.ExecuteScalar()!;
        return verdict with { Id = id };
    }

    /// <summary>Stored verdicts, oldest first; only one domain's or one container's when given.</summary>
    /// <remarks>
    /// A row this build cannot read (a date that is no date, a vector stored as text: another tool
    /// or a hand edit wrote it) is skipped and counted in <see cref="UnreadableRows"/>, never a crash
    /// of the sidecar that opens the file at start.
    /// </remarks>
    public IReadOnlyList<OperatorVerdict> Verdicts(string? domain = null, string? container = null)
    {
        (List<OperatorVerdict> list, int unreadable) = WhileBusy(() =>
        {
            var read = new List<OperatorVerdict>();
            int skipped = 0;
            foreach (OperatorVerdict? v in Read(domain, container, newest: null))
            {
                if (v is null) skipped++;
                else read.Add(v);
            }
            return (read, skipped);
        });
        UnreadableRows = unreadable;
        return list;
    }

    /// <summary>Rows the last read skipped because they do not hold a verdict this build can read.</summary>
    public int UnreadableRows { get; private set; }

    /// <summary>The rows in order of id (the newest <paramref name="newest"/> of them when given); null for a row that cannot be read.</summary>
    private IEnumerable<OperatorVerdict?> Read(string? domain, string? container, int? newest)
    {
        using SqliteCommand c = _connection.CreateCommand();
        // A read-only file of schema version 2 has no peer_scales column (it gains one at its next writable open).
        c.CommandText = $"""
            SELECT id, container, domain, abnormal, kind, metrics, window_end, recorded_at, peer_medians,
                   {(_hasPeerScales ? "peer_scales" : "NULL")} FROM verdicts
            WHERE ($domain IS NULL OR domain = $domain) AND ($container IS NULL OR container = $container)
              AND ($newest IS NULL OR id > (SELECT COALESCE(MAX(id), 0) FROM verdicts) - $newest)
            ORDER BY id;
            """;
        c.Parameters.AddWithValue("$domain", (object?)domain ?? DBNull.Value);
        c.Parameters.AddWithValue("$container", (object?)container ?? DBNull.Value);
        c.Parameters.AddWithValue("$newest", (object?)newest ?? DBNull.Value);
        using SqliteDataReader r = c.ExecuteReader();
        while (r.Read())
            yield return TryDecodeRow(r);
    }

    private static OperatorVerdict? TryDecodeRow(SqliteDataReader r)
    {
        if (r.GetFieldType(1) != typeof(string) || r.GetFieldType(7) != typeof(string)
            || !TryVector(r, 5, out double[]? metrics) || !TryVector(r, 8, out double[]? peerMedians) || !TryVector(r, 9, out double[]? peerScales)
            || !TryDate(r, 6, out DateTimeOffset? windowEnd) || !TryDate(r, 7, out DateTimeOffset? recordedAt) || recordedAt is null
            || r.GetFieldType(3) != typeof(long)
            || !r.IsDBNull(2) && r.GetFieldType(2) != typeof(string) || !r.IsDBNull(4) && r.GetFieldType(4) != typeof(string))
            return null;
        return new OperatorVerdict(r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetInt64(3) == 1,
            r.IsDBNull(4) ? null : r.GetString(4), metrics, windowEnd, recordedAt.Value, r.GetInt64(0), peerMedians, peerScales);
    }

    private static bool TryDate(SqliteDataReader r, int column, out DateTimeOffset? date)
    {
        date = null;
        if (r.IsDBNull(column))
            return true;
        if (r.GetFieldType(column) != typeof(string)
            || !DateTimeOffset.TryParse(r.GetString(column), System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.RoundtripKind, out DateTimeOffset d))
            return false;
        date = d;
        return true;
    }

    private static bool TryVector(SqliteDataReader r, int column, out double[]? vector)
    {
        vector = null;
        if (r.IsDBNull(column))
            return true;
        if (r[column] is not byte[] blob || blob.Length % sizeof(double) != 0 || blob.Length > MaxVectorBytes)
            return false;
        vector = Decode(blob);
        return true;
    }

    /// <summary>Longer than any vector this build writes by far: a bigger blob is not one of ours.</summary>
    private const int MaxVectorBytes = 64 * 1024;

    /// <summary>
    /// Feeds stored verdicts that have a domain and a metric vector into the analyzer's training
    /// sets, oldest first (so a bounded set keeps the newest). Only the newest
    /// <see cref="MaxRows"/> rows are read, one at a time. Returns how many were fed.
    /// </summary>
    public int FeedInto(AnomalyAnalyzer analyzer)
    {
        int fed = 0, unreadable = 0;
        foreach (OperatorVerdict? v in Read(null, null, MaxRows))
        {
            if (v is null) { unreadable++; continue; }
            if (v.Domain is null || v.Metrics is null) continue;
            analyzer.Learn(v.Domain, new TrainingSample(v.Metrics, v.Abnormal, v.Kind, Verified: true, v.PeerMedians, v.PeerScales));
            fed++;
        }
        UnreadableRows = unreadable;
        return fed;
    }

    /// <summary>Rows kept: the newest this many row ids; recording one more deletes the oldest (retention by count, so the file stays bounded).</summary>
    public int MaxRows { get; }

    /// <summary>The default of <see cref="MaxRows"/>: 100 labels a day for almost three years.</summary>
    public const int DefaultMaxRows = 100_000;

    /// <summary>
    /// <see cref="Trim"/>, put off on a full disk or while another connection writes: the old rows
    /// stay until the next trim (every Record past <see cref="MaxRows"/> trims), nothing is lost.
    /// </summary>
    private void TrimQuietly()
    {
        try
        {
            Trim();
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteFull or SqliteBusy or SqliteLocked)
        {
        }
    }

    /// <summary>Deletes the oldest rows beyond <see cref="MaxRows"/>; returns how many went.</summary>
    public int Trim()
    {
        using SqliteCommand c = _connection.CreateCommand();
        c.CommandText = "DELETE FROM verdicts WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM verdicts) - $keep;";
        c.Parameters.AddWithValue("$keep", MaxRows);
        return c.ExecuteNonQuery();
    }

    /// <summary>A stored vector; one written when there were fewer slots is padded with NaN.</summary>
    private static double[] Decode(byte[] blob)
    {
        double[] stored = MemoryMarshal.Cast<byte, double>(blob).ToArray();
        if (stored.Length >= Metrics.Count) return stored;
        double[] padded = new double[Metrics.Count];
        Array.Fill(padded, double.NaN);
        stored.CopyTo(padded, 0);
        return padded;
    }

    public void Dispose() => _connection.Dispose();
}
