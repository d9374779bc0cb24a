using System.Security.Cryptography;
using System.Text;

namespace AIOps.Trace.Server.Security;

/// <summary>
/// Checks <c>Authorization: Bearer</c> against the configured token in constant time: both are
/// hashed first, so neither the content nor the length of the token leaks through timing.
/// </summary>
public sealed class BearerToken(string token)
{
    private readonly byte[] _digest = SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>Whether an Authorization header value carries the token.</summary>
    public bool Accepts(string? authorization)
    {
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(authorization[Scheme.Length..].Trim()), presented);
        return CryptographicOperations.FixedTimeEquals(presented, _digest);
    }
}
