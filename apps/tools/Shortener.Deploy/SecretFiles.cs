using CliWrap;
using CliWrap.Buffered;

namespace Shortener.Deploy;

/// <summary>
/// Production secrets are committed only age-encrypted (deploy/secrets/production/*.age) to the VM's
/// public key; on the VM they are decrypted with its identity into the compose secrets directory,
/// each file 0400 and owned by the user of the service that reads it.
/// </summary>
public static partial class SecretFiles
{
    /// <summary>Decrypts every NAME.age of <paramref name="from"/> into <paramref name="to"/>/NAME; returns the names.</summary>
    public static async Task<IReadOnlyList<string>> DecryptAsync(string identity, string from, string to,
        IReadOnlyDictionary<string, (int Uid, int Gid)> owners, CancellationToken cancellationToken = default)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("secrets are decrypted on the Linux VM");
        Directory.CreateDirectory(to);
        File.SetUnixFileMode(to, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var names = new List<string>();
        foreach (var encrypted in Directory.EnumerateFiles(from, "*.age").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(encrypted);
            var target = Path.Combine(to, name);
            var temporary = target + ".tmp";
            // Created 0600 before age writes a byte, so the plaintext is never world-readable.
            new FileStream(temporary, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }).Dispose();
            var result = await Cli.Wrap("age").WithArguments(["--decrypt", "--identity", identity, "--output", temporary, encrypted])
                .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(cancellationToken);
            if (result.ExitCode != 0)
            {
                File.Delete(temporary);
                throw new InvalidOperationException($"age could not decrypt {encrypted}: {result.StandardError.Trim()}");
            }
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead);
            if (owners.TryGetValue(name, out var owner)) Chown(temporary, owner.Uid, owner.Gid);
            File.Move(temporary, target, overwrite: true);
            names.Add(name);
        }
        return names;
    }

    /// <summary>Reads "name uid:gid" lines (# comments allowed).</summary>
    public static IReadOnlyDictionary<string, (int Uid, int Gid)> ReadOwners(string? path)
    {
        var owners = new Dictionary<string, (int, int)>();
        if (path is null) return owners;
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Split('#')[0].Trim();
            if (line.Length == 0) continue;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var ids = parts[1].Split(':');
            owners[parts[0]] = (int.Parse(ids[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(ids[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        return owners;
    }

    private static void Chown(string path, int uid, int gid)
    {
        if (NativeMethods.chown(path, uid, gid) != 0)
        {
            throw new InvalidOperationException($"chown {uid}:{gid} {path} failed (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}); run as root");
        }
    }

    private static partial class NativeMethods
    {
        [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
        internal static partial int chown(string path, int owner, int group);
    }
}
