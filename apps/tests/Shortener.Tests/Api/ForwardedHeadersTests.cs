using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Shortener.ServiceDefaults;

namespace Shortener.Tests.Api;

/// <summary>
/// The client address the API (and the console) derive behind Traefik, with ASP.NET's own forwarded-headers
/// middleware configured as compose configures it: directly, and behind Cloudflare, where Traefik keeps
/// Cloudflare's X-Forwarded-For ("whatever the client sent, client, …") and appends the edge's address.
/// </summary>
public sealed class ForwardedHeadersTests
{
    private const string Traefik = "10.242.0.200";
    private const string CloudflareEdge = "172.70.1.2";
    private const string Cloudflare = "173.245.48.0/20,103.21.244.0/22,172.64.0.0/13,2400:cb00::/32";

    [Theory]
    // Direct clients: Traefik strips what the client sent and appends the client's address.
    [InlineData(null, null, Traefik, "203.0.113.7", "203.0.113.7")]
    // Behind Cloudflare, without the CDN settings: the edge's address, every client behind one edge shares it.
    [InlineData(null, null, Traefik, "203.0.113.7, " + CloudflareEdge, CloudflareEdge)]
    // With them: the address Cloudflare appended, not the forged entry the client put in front of it.
    [InlineData(Cloudflare, "2", Traefik, "6.6.6.6, 203.0.113.7, " + CloudflareEdge, "203.0.113.7")]
    [InlineData(Cloudflare, "2", Traefik, "203.0.113.7", "203.0.113.7")]
    // A client inside Cloudflare's ranges (a Worker) does not move the read further left than the limit.
    [InlineData(Cloudflare, "2", Traefik, "6.6.6.6, 172.64.9.9, " + CloudflareEdge, "172.64.9.9")]
    // Only Traefik may forward: from anyone else the header is ignored.
    [InlineData(Cloudflare, "2", "10.242.0.9", "203.0.113.7, " + CloudflareEdge, "10.242.0.9")]
    public async Task TheClientAddressIsTheOneTheLastTrustedHopSaw(string? cdnNetworks, string? forwardLimit, string peer,
        string forwardedFor, string expected)
    {
        var settings = new Dictionary<string, string?> { ["ForwardedHeaders:KnownNetworks:0"] = Traefik + "/32" };
        if (cdnNetworks is not null) settings["ForwardedHeaders:CdnNetworks"] = cdnNetworks;
        if (forwardLimit is not null) settings["ForwardedHeaders:ForwardLimit"] = forwardLimit;
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddForwardedHeaders(ForwardedHeaders.XForwardedFor);
        using var host = builder.Build();

        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        var middleware = new ForwardedHeadersMiddleware(_ => Task.CompletedTask, NullLoggerFactory.Instance,
            host.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>());
        await middleware.Invoke(context);

        Assert.Equal(IPAddress.Parse(expected), context.Connection.RemoteIpAddress);
    }
}
