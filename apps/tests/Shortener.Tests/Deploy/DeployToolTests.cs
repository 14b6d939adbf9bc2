extern alias deploy;
using deploy::Shortener.Deploy;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Deploy;

/// <summary>The deploy tool's checks that need no running service: digests only, migration safety, age secrets.</summary>
public sealed class DeployToolTests
{
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData("ghcr.io/acme/shortener-api:v1.2.3")]
    [InlineData("ghcr.io/acme/shortener-api:latest")]
    [InlineData("ghcr.io/acme/shortener-api")]
    [InlineData("ghcr.io/Acme/shortener-api@" + Digest)]
    [InlineData("ghcr.io/acme/shortener-api@sha256:0123")]
    [InlineData("ghcr.io/acme/shortener-api@" + Digest + "; rm -rf /")]
    public void AnImageThatIsNotAFullDigestReferenceIsRefused(string reference) =>
        Assert.Throws<ArgumentException>(() => ImageReference.Parse(reference));

    [Fact]
    public void AnImageByDigestIsAccepted() =>
        Assert.Equal("ghcr.io/acme/shortener-api@" + Digest, ImageReference.Parse("ghcr.io/acme/shortener-api@" + Digest).Value);

    [Theory]
    [InlineData("ALTER TABLE links DROP COLUMN target_url;", "target_url")]
    [InlineData("alter table links rename column target_url to destination;", "target_url")]
    [InlineData("ALTER TABLE links ALTER COLUMN target_url TYPE varchar(100);", "target_url")]
    [InlineData("DROP TABLE IF EXISTS links;", "links")]
    [InlineData("ALTER TABLE links RENAME TO short_links;", "links")]
    public void AMigrationThatBreaksWhatThePreviousReleaseUsesIsFlagged(string sql, string identifier)
    {
        var findings = MigrationSafety.Check([WriteMigration(sql)], Path.Combine(ServiceProcess.RepoRoot(), "apps", "src"));
        var finding = Assert.Single(findings);
        Assert.Equal(identifier, finding.Identifier);
        Assert.StartsWith("Shortener.", finding.UsedAt, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ALTER TABLE links ADD COLUMN notes text;")]
    [InlineData("ALTER TABLE links DROP COLUMN legacy_notes_never_used;")]
    [InlineData("-- DROP COLUMN target_url is for the next release\nCREATE INDEX links_created ON links (created_at);")]
    public void ExpandStepsAndDropsOfWhatNobodyUsesPass(string sql) =>
        Assert.Empty(MigrationSafety.Check([WriteMigration(sql)], Path.Combine(ServiceProcess.RepoRoot(), "apps", "src")));

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task SecretsEncryptedWithAgeDecryptIntoFilesOnlyTheirOwnerCanRead()
    {
        if (!File.Exists("/usr/bin/age")) Assert.Fail("age is missing: apt-get install age (make test installs it)");
        var work = Directory.CreateTempSubdirectory("shortener-age-");
        try
        {
            var identity = Path.Combine(work.FullName, "age.key");
            await LocalProcess.RunAsync("age-keygen", "-o", identity);
            var recipient = File.ReadAllLines(identity).Single(l => l.StartsWith("# public key: ", StringComparison.Ordinal))["# public key: ".Length..];
            var encrypted = Directory.CreateDirectory(Path.Combine(work.FullName, "encrypted")).FullName;
            var plain = Path.Combine(work.FullName, "postgres_password.plain");
            await File.WriteAllTextAsync(plain, "s3cret-value");
            await LocalProcess.RunAsync("age", "--encrypt", "--recipient", recipient, "--output", Path.Combine(encrypted, "postgres_password.age"), plain);
            Assert.StartsWith("age-encryption.org/v1", await File.ReadAllTextAsync(Path.Combine(encrypted, "postgres_password.age")), StringComparison.Ordinal);

            var secrets = Path.Combine(work.FullName, "secrets");
            var names = await SecretFiles.DecryptAsync(identity, encrypted, secrets, new Dictionary<string, (int, int)>());

            Assert.Equal("postgres_password", Assert.Single(names));
            Assert.Equal("s3cret-value", await File.ReadAllTextAsync(Path.Combine(secrets, "postgres_password")));
            Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(Path.Combine(secrets, "postgres_password")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(secrets));

            // A file encrypted to another key is refused, and leaves nothing behind.
            var other = Path.Combine(work.FullName, "other.key");
            await LocalProcess.RunAsync("age-keygen", "-o", other);
            var wrong = Directory.CreateDirectory(Path.Combine(work.FullName, "wrong")).FullName;
            File.Copy(Path.Combine(encrypted, "postgres_password.age"), Path.Combine(wrong, "redis_password.age"));
            await Assert.ThrowsAsync<InvalidOperationException>(() => SecretFiles.DecryptAsync(other, wrong, secrets, new Dictionary<string, (int, int)>()));
            Assert.False(File.Exists(Path.Combine(secrets, "redis_password")));
            Assert.False(File.Exists(Path.Combine(secrets, "redis_password.tmp")));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static string WriteMigration(string sql)
    {
        var path = Path.Combine(Path.GetTempPath(), $"migration-{Guid.NewGuid():N}.sql");
        File.WriteAllText(path, sql);
        return path;
    }
}
